//! A request as a host sends it: owned, numbered, both as HTTP/1.1 bytes and as
//! parts, with the deadlines that apply to it.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::{self, Write as _};
use core::time::Duration;

use vpc_imds_core::request::{Method, Request, RequestId};
use vpc_imds_core::time::Instant;

/// One header a host with its own HTTP stack sets (`Host` and `Content-Length`
/// excluded; its library sets them).
#[derive(Clone, PartialEq, Eq)]
pub struct Header {
    /// Canonical name, e.g. `Authorization`.
    pub name: &'static str,
    /// The value; for `Authorization` it holds the token.
    pub value: String,
    /// Whether the value is a secret (redacted in `Debug`).
    pub secret: bool,
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_header(f, self.name, &self.value, self.secret)
    }
}

/// Writes a header as `Name: value`, a secret one as `Name: Scheme <redacted>`: the
/// one redaction rule for every host that shows headers (its `toString`, `repr`).
///
/// ```
/// struct Shown;
/// impl core::fmt::Display for Shown {
///     fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
///         vpc_imds_driver::request::write_header(f, "Authorization", "Bearer eyJx.y.z", true)
///     }
/// }
/// assert_eq!(Shown.to_string(), "Authorization: Bearer <redacted>");
/// ```
pub fn write_header(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    value: &str,
    secret: bool,
) -> fmt::Result {
    if secret {
        let scheme = value.split(' ').next().unwrap_or("");
        write!(f, "{name}: {scheme} <redacted>")
    } else {
        write!(f, "{name}: {value}")
    }
}

/// A request the driver wants sent. Feed its answer back with [`id`](Self::id).
///
/// Never sent through a proxy, never redirected: it goes to the configured
/// endpoint only. `Debug` redacts the token; [`wire`](Self::wire) holds it.
#[derive(Clone, PartialEq, Eq)]
pub struct OwnedRequest {
    id: RequestId,
    method: Method,
    url: String,
    target_start: usize,
    headers: Vec<Header>,
    body: Option<String>,
    wire: Vec<u8>,
    deadline: Instant,
    timeout: Duration,
    connect_timeout: Duration,
}

impl OwnedRequest {
    pub(crate) fn new() -> Self {
        OwnedRequest {
            id: RequestId(0),
            method: Method::Get,
            url: String::new(),
            target_start: 0,
            headers: Vec::new(),
            body: None,
            wire: Vec::new(),
            deadline: Instant::ZERO,
            timeout: Duration::ZERO,
            connect_timeout: Duration::ZERO,
        }
    }

    /// Copies the core's request, reusing this one's allocations.
    pub(crate) fn fill(&mut self, request: &Request<'_>, now: Instant, connect: Duration) {
        self.id = request.id();
        self.method = request.method();
        self.url.clear();
        let _ = write!(self.url, "{}", request.endpoint());
        self.target_start = self.url.len();
        self.url.push_str(request.target());
        self.headers.clear();
        for h in request.headers() {
            let mut value = String::new();
            let _ = h.write_value(&mut value);
            self.headers.push(Header {
                name: h.name(),
                value,
                secret: h.is_secret(),
            });
        }
        self.body = request.body().map(String::from);
        self.wire.clear();
        self.wire.resize(request.encoded_len(), 0);
        let written = request.write_into(&mut self.wire).unwrap_or(0);
        self.wire.truncate(written);
        self.deadline = request.deadline();
        self.timeout = self.deadline.since(now);
        self.connect_timeout = connect.min(self.timeout);
    }

    /// Which request this is.
    pub fn id(&self) -> RequestId {
        self.id
    }

    /// `GET`, `PUT` or `POST`.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The absolute URL, e.g. `http://169.254.169.254/metadata/v1/instance?version=2025-08-26`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Path and query.
    pub fn target(&self) -> &str {
        self.url.get(self.target_start..).unwrap_or("")
    }

    /// The headers to set, in order.
    pub fn headers(&self) -> &[Header] {
        &self.headers
    }

    /// The JSON body, if any.
    pub fn body(&self) -> Option<&str> {
        self.body.as_deref()
    }

    /// The complete HTTP/1.1 request (it holds the token).
    pub fn wire(&self) -> &[u8] {
        &self.wire
    }

    /// When to give up on this request, on the host's clock.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Time left for the whole exchange when the request was issued.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The connect timeout (never more than [`timeout`](Self::timeout)).
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }
}

impl fmt::Debug for OwnedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Request(#{} {} {}",
            self.id.0,
            self.method.as_str(),
            self.url
        )?;
        for h in &self.headers {
            write!(f, ", {h:?}")?;
        }
        if let Some(b) = &self.body {
            write!(f, ", body={b}")?;
        }
        f.write_str(")")
    }
}
