//! What an operation does on the wire, for `--verbose`, the demo and your own logs.
//!
//! Nothing here can show a token: requests print through the core's redacting
//! header formatter, and responses are reported by status and size only.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use vpc_imds_core::error::TransportError;
use vpc_imds_core::response::ResponseError;
use vpc_imds_driver::OwnedRequest;

/// One step of an operation. `Display` renders it as one line.
#[derive(Debug)]
#[non_exhaustive]
pub enum Trace<'a> {
    /// A request is about to be sent.
    Request(&'a OwnedRequest),
    /// A new connection was established (kept-alive connections are reused silently).
    Connected {
        /// The peer.
        addr: SocketAddr,
        /// Time the connect (and TLS handshake) took.
        elapsed: Duration,
    },
    /// A whole response arrived.
    Response {
        /// HTTP status.
        status: u16,
        /// Body length in bytes (the body itself may hold a token and is never traced).
        body_len: usize,
        /// From sending the request to the end of the response.
        elapsed: Duration,
    },
    /// The request failed before a whole response arrived.
    TransportError {
        /// What the session is told.
        error: TransportError,
        /// The operating system's or TLS library's error, if any.
        detail: Option<&'a io::Error>,
    },
    /// The response could not be read (it was cut off, too large, or not HTTP).
    ResponseError(ResponseError),
    /// Waiting before the next attempt (backoff or `Retry-After`).
    Backoff(Duration),
}

impl fmt::Display for Trace<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trace::Request(r) => {
                write!(f, "> {} {}", r.method().as_str(), r.url())?;
                for h in r.headers() {
                    // Header's Debug shows `Name: value`, with secrets redacted.
                    write!(f, " | {h:?}")?;
                }
                if let Some(body) = r.body() {
                    f.write_str(" | body ")?;
                    for c in body.chars() {
                        // Keep the line one line.
                        if c.is_control() {
                            write!(f, "{}", c.escape_default())?;
                        } else {
                            write!(f, "{c}")?;
                        }
                    }
                }
                Ok(())
            }
            Trace::Connected { addr, elapsed } => {
                write!(f, "* connected to {addr} in {} ms", millis(*elapsed))
            }
            Trace::Response {
                status,
                body_len,
                elapsed,
            } => write!(
                f,
                "< HTTP {status}, {body_len} bytes of body, {} ms",
                millis(*elapsed)
            ),
            Trace::TransportError { error, detail } => {
                write!(f, "! {error}")?;
                if let Some(d) = detail {
                    write!(f, " ({d})")?;
                }
                Ok(())
            }
            Trace::ResponseError(e) => write!(f, "! {e}"),
            Trace::Backoff(d) => write!(f, "* waiting {} ms before trying again", millis(*d)),
        }
    }
}

/// A hook that receives every [`Trace`] of every operation of a client.
pub type TraceHook = std::sync::Arc<dyn Fn(&Trace<'_>) + Send + Sync>;

/// `d` in whole milliseconds (u64: no 128-bit formatting in the size build).
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
