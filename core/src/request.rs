//! Requests as parts (for hosts with their own HTTP) or as HTTP/1.1 bytes.

use core::fmt;

use crate::config::Endpoint;
use crate::text::Decimal;
use crate::time::Instant;
use crate::token::Secret;

/// Longest request target (path and query) kept, in bytes.
pub const TARGET_CAPACITY: usize = 1024;
/// Longest request body kept, in bytes.
pub const BODY_CAPACITY: usize = 4096;

/// Which request of a session a response answers: the session numbers its
/// requests, and refuses a response to any but the one it awaits (a late answer to
/// a request it already gave up on must not pass for the answer to the next).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// HTTP method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`: metadata reads.
    Get,
    /// `PUT`: create identity token.
    Put,
    /// `POST`: create IAM token, create certificate.
    Post,
}

impl Method {
    /// The method's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
        }
    }
}

/// A request the session wants sent. It borrows the session; send it, then feed
/// the response back.
#[derive(Clone, Copy)]
pub struct Request<'s> {
    pub(crate) id: RequestId,
    pub(crate) method: Method,
    pub(crate) endpoint: &'s Endpoint,
    pub(crate) target: &'s str,
    pub(crate) authorization: Option<Secret<'s>>,
    pub(crate) metadata_flavor: bool,
    pub(crate) body: Option<&'s str>,
    pub(crate) deadline: Instant,
}

/// One header: a fixed name and a value in up to two parts (`"Bearer "` + token).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Header<'s> {
    name: &'static str,
    prefix: &'static str,
    value: &'s str,
    secret: bool,
}

impl<'s> Header<'s> {
    /// Header name, in canonical case.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The value as two pieces to concatenate; for `Authorization` this exposes the token.
    pub const fn value_parts(&self) -> (&'static str, &'s str) {
        (self.prefix, self.value)
    }

    /// Whether the value carries a secret (it is redacted in `Debug`).
    pub const fn is_secret(&self) -> bool {
        self.secret
    }

    /// Writes the whole value (secret included) to `w`.
    pub fn write_value<W: fmt::Write>(&self, w: &mut W) -> fmt::Result {
        w.write_str(self.prefix)?;
        w.write_str(self.value)
    }
}

impl fmt::Debug for Header<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.secret {
            write!(f, "{}: {}<redacted>", self.name, self.prefix)
        } else {
            write!(f, "{}: {}{}", self.name, self.prefix, self.value)
        }
    }
}

impl<'s> Request<'s> {
    /// Which request this is; feed its response back with this id.
    pub const fn id(&self) -> RequestId {
        self.id
    }

    /// The method.
    pub const fn method(&self) -> Method {
        self.method
    }

    /// The request target: path and query, e.g. `/metadata/v1/instance?version=2025-08-26`.
    pub const fn target(&self) -> &'s str {
        self.target
    }

    /// The endpoint to send it to.
    pub const fn endpoint(&self) -> &'s Endpoint {
        self.endpoint
    }

    /// The JSON body, if any.
    pub const fn body(&self) -> Option<&'s str> {
        self.body
    }

    /// When the host should give up on this request (request timeout, capped by
    /// the operation's deadline), and report [`TransportError::ResponseTimeout`](crate::error::TransportError::ResponseTimeout).
    pub const fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Writes the absolute URL (`http://host[:port]/path?query`) to `w`.
    pub fn write_url<W: fmt::Write>(&self, w: &mut W) -> fmt::Result {
        write!(w, "{}{}", self.endpoint, self.target)
    }

    /// The headers a host with its own HTTP stack must set, in order. `Host` and
    /// `Content-Length` are not among them: the host's HTTP library writes both (a
    /// POST with no body still needs `Content-Length: 0`).
    pub fn headers(&self) -> impl Iterator<Item = Header<'s>> + '_ {
        let auth = self.authorization.map(|t| Header {
            name: "Authorization",
            prefix: "Bearer ",
            value: t.expose(),
            secret: true,
        });
        let flavor = self.metadata_flavor.then_some(Header {
            name: "Metadata-Flavor",
            prefix: "",
            value: "ibm",
            secret: false,
        });
        let content_type = self.body.map(|_| Header {
            name: "Content-Type",
            prefix: "",
            value: "application/json",
            secret: false,
        });
        [
            Some(Header {
                name: "Accept",
                prefix: "",
                value: "application/json",
                secret: false,
            }),
            auth,
            flavor,
            content_type,
        ]
        .into_iter()
        .flatten()
    }

    /// Writes the complete HTTP/1.1 request.
    pub fn write_to<W: embedded_io::Write>(&self, w: &mut W) -> Result<(), W::Error> {
        w.write_all(self.method.as_str().as_bytes())?;
        w.write_all(b" ")?;
        w.write_all(self.target.as_bytes())?;
        w.write_all(b" HTTP/1.1\r\nHost: ")?;
        w.write_all(self.endpoint.host().as_bytes())?;
        if !self.endpoint.has_default_port() {
            w.write_all(b":")?;
            w.write_all(
                Decimal::new(self.endpoint.port().into())
                    .as_str()
                    .as_bytes(),
            )?;
        }
        w.write_all(b"\r\n")?;
        for h in self.headers() {
            let (prefix, value) = h.value_parts();
            w.write_all(h.name().as_bytes())?;
            w.write_all(b": ")?;
            w.write_all(prefix.as_bytes())?;
            w.write_all(value.as_bytes())?;
            w.write_all(b"\r\n")?;
        }
        let body = self.body.unwrap_or("");
        if self.body.is_some() || self.method != Method::Get {
            w.write_all(b"Content-Length: ")?;
            w.write_all(Decimal::new(body.len() as u64).as_str().as_bytes())?;
            w.write_all(b"\r\n")?;
        }
        w.write_all(b"\r\n")?;
        w.write_all(body.as_bytes())
    }

    /// Writes the complete HTTP/1.1 request into `buf`; returns its length, or
    /// `None` (and nothing usable) if `buf` is too small.
    pub fn write_into(&self, buf: &mut [u8]) -> Option<usize> {
        let total = buf.len();
        let mut rest = &mut buf[..];
        self.write_to(&mut rest).ok()?;
        Some(total - rest.len())
    }

    /// Exact length of what [`write_to`](Self::write_to) writes.
    pub fn encoded_len(&self) -> usize {
        let mut counter = Counter(0);
        match self.write_to(&mut counter) {
            Ok(()) => counter.0,
            Err(never) => match never {},
        }
    }
}

struct Counter(usize);

impl embedded_io::ErrorType for Counter {
    type Error = core::convert::Infallible;
}

impl embedded_io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_struct("Request");
        list.field("method", &self.method)
            .field("url", &format_args!("{}{}", self.endpoint, self.target));
        for h in self.headers() {
            list.field("header", &h);
        }
        list.field("body", &self.body).finish()
    }
}
