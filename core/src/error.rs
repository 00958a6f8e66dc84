//! Typed errors: one [`ErrorKind`] per way an operation can fail, with the cause.
//!
//! Nothing in an error ever holds a token: causes carry static descriptions,
//! numbers, and the code, message and trace of IBM error bodies.

use core::fmt;

use heapless::String;

use crate::text::Text;

/// What went wrong, coarsely; bindings map each kind to an exception or error class
/// and the command line maps each to an exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The caller's input was rejected before anything was sent.
    InvalidInput,
    /// Nothing accepted the connection (refused, or no route to the service).
    Refused,
    /// A connect, a response or the whole operation took longer than allowed.
    TimedOut,
    /// The connection closed or reset before a whole response arrived, on every attempt.
    ConnectionLost,
    /// The service rejected the credentials (HTTP 401) or the access (HTTP 403).
    Unauthorized,
    /// The resource or path does not exist (HTTP 404).
    NotFound,
    /// The service kept answering 429 until retries or time ran out.
    RateLimited,
    /// The service kept failing with 5xx until retries or time ran out.
    ServerError,
    /// The service refused the request as invalid (other 4xx, e.g. `profile_not_linked`).
    Rejected,
    /// The response broke HTTP framing, a size limit, or the documented JSON shape.
    BadResponse,
}

impl ErrorKind {
    /// Every kind, in a stable order.
    pub const ALL: [ErrorKind; 10] = [
        ErrorKind::InvalidInput,
        ErrorKind::Refused,
        ErrorKind::TimedOut,
        ErrorKind::ConnectionLost,
        ErrorKind::Unauthorized,
        ErrorKind::NotFound,
        ErrorKind::RateLimited,
        ErrorKind::ServerError,
        ErrorKind::Rejected,
        ErrorKind::BadResponse,
    ];

    /// A stable snake_case name, the same in every binding and in test vectors.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Refused => "refused",
            ErrorKind::TimedOut => "timed_out",
            ErrorKind::ConnectionLost => "connection_lost",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::NotFound => "not_found",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::ServerError => "server_error",
            ErrorKind::Rejected => "rejected",
            ErrorKind::BadResponse => "bad_response",
        }
    }

    /// The kind named by [`as_str`](Self::as_str).
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The process exit code the `vpc-imds` command line uses for this kind.
    pub const fn exit_code(self) -> u8 {
        match self {
            ErrorKind::InvalidInput => 2,
            ErrorKind::Refused => 3,
            ErrorKind::TimedOut => 4,
            ErrorKind::ConnectionLost => 5,
            ErrorKind::Unauthorized => 6,
            ErrorKind::NotFound => 7,
            ErrorKind::RateLimited => 8,
            ErrorKind::ServerError => 9,
            ErrorKind::Rejected => 10,
            ErrorKind::BadResponse => 11,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    cause: Cause,
    /// A `wait_until_ready` that ran out: its limit.
    not_ready_within: Option<core::time::Duration>,
}

/// Why an operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cause {
    /// The caller's input was invalid.
    Input(InputError),
    /// The host's transport reported a failure.
    Transport(TransportError),
    /// The operation's overall deadline passed.
    DeadlineExceeded,
    /// The response broke HTTP/1.1 framing or a size limit.
    Http(crate::response::ResponseError),
    /// The response body did not have the documented JSON shape.
    Body(BodyError),
    /// The service answered with an error status.
    Api(ApiError),
    /// A response needed to continue (a token, a next page) was unusable.
    Protocol(&'static str),
    /// The host called the session out of order (e.g. fed a response nothing asked for).
    Misuse(&'static str),
}

impl Cause {
    /// A stable word for the cause, the same in every binding and in test vectors:
    /// `input`, `transport`, `deadline`, `http`, `body`, `api`, `protocol`, `misuse`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Cause::Input(_) => "input",
            Cause::Transport(_) => "transport",
            Cause::DeadlineExceeded => "deadline",
            Cause::Http(_) => "http",
            Cause::Body(_) => "body",
            Cause::Api(_) => "api",
            Cause::Protocol(_) => "protocol",
            Cause::Misuse(_) => "misuse",
        }
    }

    /// The transport error, if that is the cause.
    pub const fn transport(&self) -> Option<TransportError> {
        match self {
            Cause::Transport(t) => Some(*t),
            _ => None,
        }
    }
}

impl Error {
    /// An error of `kind` caused by `cause`.
    pub const fn new(kind: ErrorKind, cause: Cause) -> Self {
        Error {
            kind,
            cause,
            not_ready_within: None,
        }
    }

    /// A wait until the service is ready that ran out of its `max`: `timed_out`,
    /// caused as its last attempt failed (`DeadlineExceeded` when none ended). Every
    /// host reports it with the same message:
    ///
    /// ```
    /// use core::time::Duration;
    /// use vpc_imds_core::error::{Cause, Error, TransportError};
    /// let e = Error::not_ready(Duration::from_millis(1500), Cause::Transport(TransportError::Refused));
    /// assert_eq!(e.kind(), vpc_imds_core::ErrorKind::TimedOut);
    /// assert_eq!(
    ///     e.to_string(),
    ///     "the metadata service was not ready within 1.5 s (last attempt: connection refused by the metadata service endpoint)"
    /// );
    /// let within = |ms| Error::not_ready(Duration::from_millis(ms), Cause::DeadlineExceeded).to_string();
    /// assert_eq!(within(60_000), "the metadata service was not ready within 60.0 s");
    /// assert_eq!(within(250), "the metadata service was not ready within 0.25 s");
    /// assert_eq!(within(1), "the metadata service was not ready within 0.001 s");
    /// ```
    pub const fn not_ready(max: core::time::Duration, last: Cause) -> Self {
        Error {
            kind: ErrorKind::TimedOut,
            cause: last,
            not_ready_within: Some(max),
        }
    }

    /// For a [`not_ready`](Self::not_ready) error, the wait's limit.
    pub const fn not_ready_within(&self) -> Option<core::time::Duration> {
        self.not_ready_within
    }

    /// What went wrong, coarsely.
    pub const fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Why, in detail.
    pub const fn cause(&self) -> &Cause {
        &self.cause
    }

    /// The service's error details, if it answered with an error status.
    pub fn api(&self) -> Option<&ApiError> {
        match &self.cause {
            Cause::Api(api) => Some(api),
            _ => None,
        }
    }

    /// The HTTP status the service answered with, if any.
    pub fn status(&self) -> Option<u16> {
        self.api().map(|a| a.status)
    }
}

impl From<InputError> for Error {
    fn from(e: InputError) -> Self {
        Error::new(ErrorKind::InvalidInput, Cause::Input(e))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(max) = self.not_ready_within else {
            return self.fmt_cause(f);
        };
        // Seconds to the millisecond, digit by digit: float (or u128) formatting
        // would cost a static binary kilobytes.
        let ms = max.subsec_millis();
        let (tenths, hundredths, thousandths) = (ms / 100, ms / 10 % 10, ms % 10);
        let secs = max.as_secs();
        write!(
            f,
            "the metadata service was not ready within {secs}.{tenths}"
        )?;
        if hundredths + thousandths > 0 {
            write!(f, "{hundredths}")?;
        }
        if thousandths > 0 {
            write!(f, "{thousandths}")?;
        }
        f.write_str(" s")?;
        if self.cause == Cause::DeadlineExceeded {
            return Ok(());
        }
        f.write_str(" (last attempt: ")?;
        self.fmt_cause(f)?;
        f.write_str(")")
    }
}

impl Error {
    fn fmt_cause(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cause {
            Cause::Input(e) => write!(f, "invalid input: {e}"),
            Cause::Transport(e) => write!(f, "{e}"),
            Cause::DeadlineExceeded => f.write_str("the operation's deadline passed"),
            Cause::Http(e) => write!(f, "bad response: {e}"),
            Cause::Body(e) => write!(f, "bad response: {e}"),
            Cause::Api(e) => write!(f, "{e}"),
            Cause::Protocol(what) => write!(f, "bad response: {what}"),
            Cause::Misuse(what) => write!(f, "session misuse: {what}"),
        }
    }
}

impl core::error::Error for Error {}
impl core::error::Error for InputError {}
impl core::error::Error for TransportError {}
impl core::error::Error for BodyError {}

/// Input the core refused before building a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputError {
    /// A required value was empty.
    Empty {
        /// Which value.
        what: &'static str,
    },
    /// A value was longer than allowed.
    TooLong {
        /// Which value.
        what: &'static str,
        /// The limit in bytes.
        max: usize,
    },
    /// A value contained a character that is not allowed there (e.g. CR, LF, `/`, `?`, `#`).
    ForbiddenCharacter {
        /// Which value.
        what: &'static str,
    },
    /// A number was outside its allowed range.
    OutOfRange {
        /// Which value.
        what: &'static str,
        /// Smallest allowed.
        min: u64,
        /// Largest allowed.
        max: u64,
    },
    /// A value did not have the expected form.
    Malformed {
        /// Which value.
        what: &'static str,
        /// The expected form.
        expected: &'static str,
    },
    /// An operation was started while another was still running.
    Busy,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            InputError::Empty { what } => write!(f, "{what} must not be empty"),
            InputError::TooLong { what, max } => write!(f, "{what} is longer than {max} bytes"),
            InputError::ForbiddenCharacter { what } => {
                write!(f, "{what} contains a character that is not allowed there")
            }
            InputError::OutOfRange { what, min, max } => {
                write!(f, "{what} must be between {min} and {max}")
            }
            InputError::Malformed { what, expected } => {
                write!(f, "{what} is malformed: expected {expected}")
            }
            InputError::Busy => f.write_str("another operation is still running on this session"),
        }
    }
}

/// Transport failures the host reports to the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportError {
    /// The connection was refused (nothing listens there).
    Refused,
    /// No route to the service (network or host unreachable, no address).
    Unreachable,
    /// The connection was not established within the connect timeout.
    ConnectTimeout,
    /// The request was sent but no whole response arrived within the request timeout.
    ResponseTimeout,
    /// The connection closed or reset before a whole response arrived.
    ConnectionLost,
    /// The TLS handshake failed (certificate not trusted, wrong name, protocol error).
    Tls,
}

impl TransportError {
    /// A stable snake_case name, as used in test vectors.
    pub const fn as_str(self) -> &'static str {
        match self {
            TransportError::Refused => "refused",
            TransportError::Unreachable => "unreachable",
            TransportError::ConnectTimeout => "connect_timeout",
            TransportError::ResponseTimeout => "response_timeout",
            TransportError::ConnectionLost => "connection_lost",
            TransportError::Tls => "tls",
        }
    }

    /// Every transport error, in a stable order.
    pub const ALL: [TransportError; 6] = [
        TransportError::Refused,
        TransportError::Unreachable,
        TransportError::ConnectTimeout,
        TransportError::ResponseTimeout,
        TransportError::ConnectionLost,
        TransportError::Tls,
    ];

    /// The error named by [`as_str`](Self::as_str).
    pub fn from_name(name: &str) -> Option<Self> {
        TransportError::ALL.into_iter().find(|e| e.as_str() == name)
    }

    /// How a failed socket call reads, from its errno name (`ECONNREFUSED`, as
    /// `<errno.h>`, Node's `err.code` and Python's `errno.errorcode` spell it; any
    /// other text, a resolver's failure included, counts as an unlisted errno) and
    /// whether the connection had been established: the one table every socket host
    /// uses, so that one failure ends as one error kind in every language.
    ///
    /// ```
    /// use vpc_imds_core::error::TransportError;
    ///
    /// assert_eq!(TransportError::from_errno("ECONNREFUSED", false), TransportError::Refused);
    /// assert_eq!(TransportError::from_errno("ETIMEDOUT", false), TransportError::ConnectTimeout);
    /// // A firewall's EPERM, a resolver's failure: not reachable by this route.
    /// assert_eq!(TransportError::from_errno("EPERM", false), TransportError::Unreachable);
    /// assert_eq!(TransportError::from_errno("EINVAL", true), TransportError::ConnectionLost);
    /// // Node's word for a TLS handshake (or record) that failed: not retried.
    /// assert_eq!(TransportError::from_errno("EPROTO", false), TransportError::Tls);
    /// ```
    pub fn from_errno(name: &str, connected: bool) -> TransportError {
        match name {
            "ECONNREFUSED" => TransportError::Refused,
            // A TCP socket never fails with EPROTO; Node's TLS layer does (a server
            // that does not speak TLS, a record that does not decrypt).
            "EPROTO" => TransportError::Tls,
            "ENETUNREACH" | "EHOSTUNREACH" | "ENETDOWN" | "EHOSTDOWN" | "EADDRNOTAVAIL" => {
                TransportError::Unreachable
            }
            "ETIMEDOUT" if !connected => TransportError::ConnectTimeout,
            "ECONNRESET" | "ECONNABORTED" | "EPIPE" => TransportError::ConnectionLost,
            _ if connected => TransportError::ConnectionLost,
            _ => TransportError::Unreachable,
        }
    }

    /// The error kind an operation ends with when this is its last failure.
    pub const fn kind(self) -> ErrorKind {
        match self {
            TransportError::Refused | TransportError::Unreachable => ErrorKind::Refused,
            TransportError::ConnectTimeout | TransportError::ResponseTimeout => ErrorKind::TimedOut,
            TransportError::ConnectionLost => ErrorKind::ConnectionLost,
            TransportError::Tls => ErrorKind::Refused,
        }
    }

    /// Whether another attempt may succeed.
    ///
    /// A refusal is final: on an instance the service never refuses, so a refusal
    /// means a wrong endpoint, and waiting for the service is `wait`'s job.
    pub const fn is_retryable(self) -> bool {
        matches!(
            self,
            TransportError::Unreachable
                | TransportError::ConnectTimeout
                | TransportError::ResponseTimeout
                | TransportError::ConnectionLost
        )
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportError::Refused => "connection refused by the metadata service endpoint",
            TransportError::Unreachable => "the metadata service endpoint is unreachable",
            TransportError::ConnectTimeout => "timed out connecting to the metadata service",
            TransportError::ResponseTimeout => {
                "timed out waiting for the metadata service to answer"
            }
            TransportError::ConnectionLost => {
                "the connection closed before a whole response arrived"
            }
            TransportError::Tls => "the TLS handshake with the metadata service failed",
        })
    }
}

/// A response body did not have the documented shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyError {
    /// What was being parsed, e.g. `"instance"`.
    pub what: &'static str,
    /// What was wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed {} body: {}", self.what, self.reason)
    }
}

/// Bytes kept of an IBM error code.
pub const API_CODE_CAPACITY: usize = 48;
/// Bytes kept of an IBM error message (longer messages are cut at a character boundary).
pub const API_MESSAGE_CAPACITY: usize = 256;
/// Bytes kept of a trace id or target name.
pub const API_TRACE_CAPACITY: usize = 64;

/// The service answered with an error status; the first entry of IBM's `errors[]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// IBM error code, e.g. `not_found`; empty if the body had none.
    pub code: String<API_CODE_CAPACITY>,
    /// Human-readable message from the service; empty if none.
    pub message: String<API_MESSAGE_CAPACITY>,
    /// Trace id to quote to IBM support; empty if none.
    pub trace: String<API_TRACE_CAPACITY>,
    /// Name of the field, header or parameter at fault (`target.name`); empty if none.
    pub target: String<API_TRACE_CAPACITY>,
    /// The `Retry-After` delay in seconds the service asked for, if any.
    pub retry_after: Option<u32>,
}

impl ApiError {
    /// Builds the error for `status` from an error body, keeping what parses.
    ///
    /// A body that is not an IBM error document still yields the status.
    pub fn from_body(status: u16, body: &[u8]) -> Self {
        let mut api = ApiError {
            status,
            ..ApiError::default()
        };
        if let Ok(doc) = crate::model::ErrorBody::parse(body) {
            if let Some(first) = doc.errors.first() {
                copy_text(&mut api.code, first.code);
                if let Some(message) = first.message {
                    copy_text(&mut api.message, message);
                }
                if let Some(target) = first.target {
                    copy_text(&mut api.target, target.name);
                }
            }
            if let Some(trace) = doc.trace {
                copy_text(&mut api.trace, trace);
            }
        }
        api
    }
}

/// Copies decoded text, stopping at the first character that does not fit.
fn copy_text<const N: usize>(dst: &mut String<N>, src: Text<'_>) {
    for c in src.chars() {
        let Ok(c) = c else { break };
        let c = if c.is_control() { ' ' } else { c };
        if dst.push(c).is_err() {
            break;
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the metadata service answered HTTP {}", self.status)?;
        if !self.code.is_empty() {
            write!(f, " {}", self.code)?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if !self.target.is_empty() {
            write!(f, " (target {})", self.target)?;
        }
        if !self.trace.is_empty() {
            write!(f, " [trace {}]", self.trace)?;
        }
        Ok(())
    }
}
