//! `vpc_imds._core.Session`: the core session, driven from Python.
//!
//! Python owns the I/O and the clock; every protocol decision stays in
//! [`vpc_imds_core::Session`]. The loop is the core's: `start`, then `poll` until
//! it says to send (a [`Request`]), wait, or that the operation failed; the
//! response goes back through `feed` (raw HTTP/1.1 bytes, parsed by the core's
//! reader) or `on_response` (a host's own HTTP stack), and a failed exchange
//! through `on_transport_error`.

use std::fmt::Write as _;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use vpc_imds_core::config::{ApiVersion, Config, Endpoint};
use vpc_imds_core::error::TransportError;
use vpc_imds_core::response::{
    parse_retry_after, Progress, Response, ResponseError, ResponseReader,
};
use vpc_imds_core::session::{
    Action, Event, Operation, Output, Session as CoreSession, TrustedProfile,
};
use vpc_imds_core::text::Text;
use vpc_imds_core::time::Instant;

use crate::convert::{json_to_python, to_python};
use crate::errors::{exception, input_error, misuse};
use crate::registry::Registry;

/// `poll` result: send the request in the second item.
pub(crate) const ACTION_SEND: u8 = 0;
/// `poll` result: call `poll` again at the time (ms) in the second item.
pub(crate) const ACTION_WAIT: u8 = 1;
/// `poll` result: the operation failed with the exception in the second item.
pub(crate) const ACTION_FAILED: u8 = 2;
/// `poll` result: no operation is running.
pub(crate) const ACTION_IDLE: u8 = 3;

/// Event: nothing for the caller yet; poll again.
pub(crate) const EVENT_PENDING: u8 = 0;
/// Event: one page of a list (second item); poll again for the next.
pub(crate) const EVENT_PAGE: u8 = 1;
/// Event: the operation's result (second item).
pub(crate) const EVENT_DONE: u8 = 2;
/// Event: the operation failed with the exception in the second item.
pub(crate) const EVENT_FAILED: u8 = 3;

/// Default limit on one response, in bytes (the core's default `max_body_bytes`).
pub(crate) const DEFAULT_MAX_RESPONSE: usize = vpc_imds_core::config::DEFAULT_MAX_BODY_BYTES;
/// Bodies at least this large are parsed with the GIL released.
const DETACH_BODY_LEN: usize = 64 * 1024;

/// One core session with its response reader and buffer.
///
/// Not shared between threads: the clients keep a pool and give each running
/// operation its own session (they share the token through a `TokenStore`).
#[pyclass(module = "vpc_imds._core")]
pub struct Session {
    pub(crate) core: Box<CoreSession>,
    reader: ResponseReader,
    buf: Vec<u8>,
    keep_alive: bool,
    /// The core's type name of the last output (`instance`, `iam_token`, ...).
    output_type: &'static str,
}

fn ms(d: Option<u64>, default: Duration) -> Duration {
    d.map(Duration::from_millis).unwrap_or(default)
}

impl Session {
    fn with_config(config: Config, seed: u64) -> Self {
        Session {
            core: Box::new(CoreSession::new(config, seed)),
            reader: ResponseReader::new(),
            buf: Vec::new(),
            keep_alive: false,
            output_type: "",
        }
    }
}

/// Converts an event to `(kind, value)`, noting the output's type name.
fn event_tuple<'py>(
    py: Python<'py>,
    event: Event<'_>,
    output_type: &mut &'static str,
) -> PyResult<Bound<'py, PyTuple>> {
    let (kind, value) = match event {
        Event::Pending => (EVENT_PENDING, py.None().into_bound(py)),
        Event::Page(out) => {
            *output_type = out.type_name();
            (EVENT_PAGE, output(py, &out)?)
        }
        Event::Done(out) => {
            *output_type = out.type_name();
            (EVENT_DONE, output(py, &out)?)
        }
        Event::Failed(e) => (EVENT_FAILED, exception(py, &e)?),
    };
    PyTuple::new(py, [kind.into_pyobject(py)?.into_any(), value])
}

/// An operation's output as the registered model object (a dict for generic GETs).
fn output<'py>(py: Python<'py>, out: &Output<'_>) -> PyResult<Bound<'py, PyAny>> {
    let r = Registry::get(py)?;
    Ok(match out {
        Output::IdentityToken(t) | Output::IamToken(t) => {
            let token = to_python(py, r, t)?;
            token.setattr("lifetime", t.lifetime_secs())?;
            token
        }
        Output::Instance(x) => to_python(py, r, x)?,
        Output::Initialization(x) => {
            let init = to_python(py, r, x)?;
            init.setattr("_user_data", user_data(py, x.user_data.as_ref())?)?;
            init
        }
        Output::NetworkInterfaces(x) => to_python(py, r, x)?,
        Output::NetworkInterface(x) => to_python(py, r, x)?,
        Output::VolumeAttachments(x) => to_python(py, r, x)?,
        Output::VolumeAttachment(x) => to_python(py, r, x)?,
        Output::Keys(x) => to_python(py, r, x)?,
        Output::Key(x) => to_python(py, r, x)?,
        Output::PlacementGroups(x) => to_python(py, r, x)?,
        Output::PlacementGroup(x) => to_python(py, r, x)?,
        Output::IdentityCertificate(x) => to_python(py, r, x)?,
        Output::Raw(body) => json_to_python(py, body)?,
        _ => {
            return Err(misuse(
                py,
                "the core returned an output this binding does not know",
            ))
        }
    })
}

/// The bytes of an initialization document's `user_data`, as the core's
/// `Text::user_data_into` decides them (empty when absent).
fn user_data<'py>(py: Python<'py>, text: Option<&Text<'_>>) -> PyResult<Bound<'py, PyBytes>> {
    let Some(text) = text else {
        return Ok(PyBytes::new(py, b""));
    };
    // The UTF-8 length bounds the Latin-1 one (one byte per character).
    let mut buf = vec![0u8; text.decoded_len().unwrap_or(0)];
    match text.user_data_into(&mut buf) {
        Some(bytes) => Ok(PyBytes::new(py, bytes)),
        None => Err(misuse(py, "the core could not decode the user data")),
    }
}

/// Feeds a complete response to the core, with the GIL released for large bodies.
fn respond<'b>(
    py: Python<'_>,
    core: &mut CoreSession,
    response: &Response<'b>,
    now: Instant,
) -> Event<'b> {
    if response.body().len() >= DETACH_BODY_LEN {
        py.detach(|| core.on_response(response, now))
    } else {
        core.on_response(response, now)
    }
}

#[pymethods]
impl Session {
    /// A session for `endpoint` (`http://HOST[:PORT]` or `https://...`; `None` for
    /// `http://169.254.169.254`, or `https://api.metadata.cloud.ibm.com` with
    /// `secure`). Times are milliseconds; `None` keeps the core's default.
    #[new]
    #[pyo3(signature = (
        endpoint=None, *, secure=false, version=None, token_lifetime=None,
        connect_timeout_ms=None, request_timeout_ms=None, operation_timeout_ms=None,
        max_attempts=None, base_delay_ms=None, max_delay_ms=None, seed=0,
        max_response_bytes=DEFAULT_MAX_RESPONSE
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        endpoint: Option<&str>,
        secure: bool,
        version: Option<&str>,
        token_lifetime: Option<u32>,
        connect_timeout_ms: Option<u64>,
        request_timeout_ms: Option<u64>,
        operation_timeout_ms: Option<u64>,
        max_attempts: Option<u8>,
        base_delay_ms: Option<u64>,
        max_delay_ms: Option<u64>,
        seed: u64,
        max_response_bytes: usize,
    ) -> PyResult<Self> {
        let mut config = Config::default();
        let endpoint = match endpoint {
            Some(url) => Endpoint::parse(url).map_err(|e| input_error(py, e))?,
            None if secure => Endpoint::secure(),
            None => Endpoint::plain(),
        };
        config.set_endpoint(endpoint);
        if let Some(v) = version {
            config.set_version(ApiVersion::parse(v).map_err(|e| input_error(py, e))?);
        }
        if let Some(s) = token_lifetime {
            config
                .set_token_lifetime(s)
                .map_err(|e| input_error(py, e))?;
        }
        let t = &mut config.timeouts;
        t.connect = ms(connect_timeout_ms, t.connect);
        t.request = ms(request_timeout_ms, t.request);
        t.operation = ms(operation_timeout_ms, t.operation);
        if [t.connect, t.request, t.operation]
            .iter()
            .any(Duration::is_zero)
        {
            return Err(misuse_value(py, "timeouts must be positive"));
        }
        let r = &mut config.retry;
        if let Some(n) = max_attempts {
            if n == 0 {
                return Err(misuse_value(py, "max_attempts must be at least 1"));
            }
            r.max_attempts = n;
        }
        r.base_delay = ms(base_delay_ms, r.base_delay);
        r.max_delay = ms(max_delay_ms, r.max_delay);
        if max_response_bytes == 0 {
            return Err(misuse_value(py, "max_response_bytes must be positive"));
        }
        config.max_body_bytes = max_response_bytes;
        Ok(Session::with_config(config, seed))
    }

    /// A new, idle session with this one's configuration and the jitter `seed`.
    fn fork(&self, seed: u64) -> Session {
        Session::with_config(self.core.config().clone(), seed)
    }

    /// `(scheme, host, port)`; an IPv6 host keeps its brackets.
    #[getter]
    fn endpoint(&self) -> (&'static str, String, u16) {
        let e = self.core.config().endpoint();
        (e.scheme().as_str(), e.host().to_owned(), e.port())
    }

    /// The endpoint as a URL, e.g. `http://169.254.169.254`.
    #[getter]
    fn url(&self) -> String {
        self.core.config().endpoint().to_string()
    }

    /// The API version date.
    #[getter]
    fn version(&self) -> String {
        self.core.config().version().to_string()
    }

    /// Connect timeout in milliseconds (the host enforces it).
    #[getter]
    fn connect_timeout_ms(&self) -> u64 {
        duration_ms(self.core.config().timeouts.connect)
    }

    /// Whole-operation deadline in milliseconds (the session enforces it).
    #[getter]
    fn operation_timeout_ms(&self) -> u64 {
        duration_ms(self.core.config().timeouts.operation)
    }

    /// Limit on one response in bytes (the core's `max_body_bytes`, and the size of
    /// the reader's buffer).
    #[getter]
    fn max_response_bytes(&self) -> usize {
        self.core.config().max_body_bytes
    }

    /// Whether this session holds a `TokenStore`'s refresh lease.
    #[getter]
    fn holds_lease(&self) -> bool {
        self.core.holds_lease()
    }

    /// Whether an operation is running.
    #[getter]
    fn busy(&self) -> bool {
        self.core.is_busy()
    }

    /// The core's type name of the last page or result: `identity_token`,
    /// `iam_token`, `instance`, ..., `raw` (as the test vectors name them).
    #[getter]
    fn output_type(&self) -> &'static str {
        self.output_type
    }

    /// Whether the connection of the last complete response may be reused.
    #[getter]
    fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// Abandons the running operation, if any.
    fn cancel(&mut self) {
        self.core.cancel();
    }

    /// Starts operation `op` at `now_ms`; input is validated here (an invalid one
    /// raises `InvalidArgument`). Names: `identity_token` (`expires_in`),
    /// `iam_token` (at most one of `profile_id`, `profile_crn`, `profile_name`), `instance`, `initialization`,
    /// `network_interfaces`, `network_interface` (`id`), `volume_attachments`,
    /// `volume_attachment` (`id`), `keys`, `key` (`id`), `placement_groups`,
    /// `placement_group` (`id`), `identity_certificate` (`csr`, `expires_in`),
    /// `get` (`path`, `all_pages`).
    #[pyo3(signature = (op, now_ms, *, id=None, profile_id=None, profile_crn=None, profile_name=None, expires_in=None, csr=None, path=None, all_pages=false))]
    #[allow(clippy::too_many_arguments)]
    fn start(
        &mut self,
        py: Python<'_>,
        op: &str,
        now_ms: u64,
        id: Option<&str>,
        profile_id: Option<&str>,
        profile_crn: Option<&str>,
        profile_name: Option<&str>,
        expires_in: Option<u32>,
        csr: Option<&str>,
        path: Option<&str>,
        all_pages: bool,
    ) -> PyResult<()> {
        let id = id.unwrap_or("");
        let operation = match op {
            "identity_token" => Operation::IdentityToken { expires_in },
            "iam_token" => Operation::IamToken {
                profile: match (profile_id, profile_crn, profile_name) {
                    (Some(v), None, None) => TrustedProfile::Id(v),
                    (None, Some(v), None) => TrustedProfile::Crn(v),
                    (None, None, Some(v)) => TrustedProfile::Name(v),
                    (None, None, None) => TrustedProfile::Default,
                    _ => {
                        return Err(misuse_value(
                            py,
                            "at most one of profile_id, profile_crn and profile_name",
                        ))
                    }
                },
            },
            "instance" => Operation::Instance,
            "initialization" => Operation::Initialization,
            "network_interfaces" => Operation::NetworkInterfaces,
            "network_interface" => Operation::NetworkInterface { id },
            "volume_attachments" => Operation::VolumeAttachments,
            "volume_attachment" => Operation::VolumeAttachment { id },
            "keys" => Operation::Keys,
            "key" => Operation::Key { id },
            "placement_groups" => Operation::PlacementGroups,
            "placement_group" => Operation::PlacementGroup { id },
            "identity_certificate" => Operation::IdentityCertificate {
                csr: csr.unwrap_or(""),
                expires_in,
            },
            "get" => Operation::Get {
                path: path.unwrap_or(""),
                all_pages,
            },
            _ => return Err(misuse_value(py, "unknown operation name")),
        };
        self.core
            .start(operation, Instant::from_millis(now_ms))
            .map_err(|e| crate::errors::to_pyerr(py, &e))
    }

    /// What to do next at `now_ms`: `(ACTION_SEND, Request)`,
    /// `(ACTION_WAIT, until_ms)`, `(ACTION_FAILED, exception)` or `(ACTION_IDLE, None)`.
    fn poll<'py>(&mut self, py: Python<'py>, now_ms: u64) -> PyResult<Bound<'py, PyTuple>> {
        let now = Instant::from_millis(now_ms);
        let connect = self.core.config().timeouts.connect;
        let (kind, value) = match self.core.poll(now) {
            Action::Send(request) => {
                let mut wire = vec![0u8; request.encoded_len()];
                let len = request.write_into(&mut wire).unwrap_or(0);
                wire.truncate(len);
                let mut url = String::new();
                let _ = request.write_url(&mut url);
                let headers = request
                    .headers()
                    .map(|h| {
                        let mut value = String::new();
                        let _ = h.write_value(&mut value);
                        (h.name(), value, h.is_secret())
                    })
                    .collect();
                let deadline = request.deadline().as_millis();
                let req = Request {
                    method: request.method().as_str(),
                    url,
                    target: request.target().to_owned(),
                    headers,
                    body: request.body().map(str::to_owned),
                    deadline_ms: deadline,
                    timeout_ms: deadline.saturating_sub(now_ms),
                    connect_timeout_ms: duration_ms(connect),
                    wire,
                };
                self.reader = ResponseReader::new();
                self.keep_alive = false;
                (ACTION_SEND, Bound::new(py, req)?.into_any())
            }
            Action::Wait(until) => (ACTION_WAIT, until.as_millis().into_pyobject(py)?.into_any()),
            Action::Failed(e) => (ACTION_FAILED, exception(py, &e)?),
            Action::Idle => (ACTION_IDLE, py.None().into_bound(py)),
        };
        PyTuple::new(py, [kind.into_pyobject(py)?.into_any(), value])
    }

    /// Feeds bytes received for the request last sent; `b""` means the peer closed
    /// the connection. Returns `None` while the core's reader wants more, else the
    /// event `(EVENT_*, value)`.
    fn feed<'py>(
        &mut self,
        py: Python<'py>,
        data: &[u8],
        now_ms: u64,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let now = Instant::from_millis(now_ms);
        let max_response = self.core.config().max_body_bytes;
        if self.buf.len() != max_response {
            self.buf = vec![0u8; max_response];
        }
        let Session {
            core,
            reader,
            buf,
            keep_alive,
            output_type,
            ..
        } = self;
        let mut rest = data;
        loop {
            let space = match reader.unfilled(buf) {
                Ok(space) => space,
                Err(e) => {
                    return event_tuple(py, core.on_response_error(e, now), output_type).map(Some)
                }
            };
            let n = space.len().min(rest.len());
            space[..n].copy_from_slice(&rest[..n]);
            rest = &rest[n..];
            match reader.advance(buf, n) {
                Ok(Progress::NeedMore) if n == 0 => {
                    // Unreachable for a reader that reports end of stream, kept total.
                    let event = core.on_response_error(ResponseError::Truncated, now);
                    return event_tuple(py, event, output_type).map(Some);
                }
                Ok(Progress::NeedMore) if rest.is_empty() => return Ok(None),
                Ok(Progress::NeedMore) => continue,
                Ok(Progress::Complete(response)) => {
                    // Bytes past the response: the connection cannot be trusted again.
                    *keep_alive = response.keep_alive() && rest.is_empty();
                    let event = respond(py, core, &response, now);
                    return event_tuple(py, event, output_type).map(Some);
                }
                Err(e) => {
                    return event_tuple(py, core.on_response_error(e, now), output_type).map(Some)
                }
            }
        }
    }

    /// Feeds a response a host's own HTTP stack parsed: status, the de-chunked body
    /// and the `Retry-After` header (its raw value, or seconds). The core rejects a
    /// body over `max_response_bytes` as a bad response, as with `feed`.
    #[pyo3(signature = (status, body, now_ms, retry_after=None))]
    fn on_response<'py>(
        &mut self,
        py: Python<'py>,
        status: u16,
        body: &[u8],
        now_ms: u64,
        retry_after: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let now = Instant::from_millis(now_ms);
        self.keep_alive = false;
        let retry_after = match retry_after {
            None => None,
            Some(v) if v.is_none() => None,
            Some(v) => match v.extract::<u32>() {
                Ok(secs) => Some(secs),
                Err(_) => {
                    if let Ok(s) = v.cast::<PyString>() {
                        parse_retry_after(s.to_cow()?.as_bytes())
                    } else if let Ok(b) = v.cast::<PyBytes>() {
                        parse_retry_after(b.as_bytes())
                    } else {
                        None
                    }
                }
            },
        };
        let response = Response::from_parts(status, retry_after, body);
        let event = respond(py, &mut self.core, &response, now);
        event_tuple(py, event, &mut self.output_type)
    }

    /// Reports that the request last sent failed in transport: `refused`,
    /// `unreachable`, `connect_timeout`, `response_timeout`, `connection_lost` or `tls`.
    fn on_transport_error<'py>(
        &mut self,
        py: Python<'py>,
        error: &str,
        now_ms: u64,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let Some(error) = TransportError::from_name(error) else {
            return Err(misuse_value(py, "unknown transport error name"));
        };
        self.keep_alive = false;
        let event = self
            .core
            .on_transport_error(error, Instant::from_millis(now_ms));
        event_tuple(py, event, &mut self.output_type)
    }

    fn __repr__(&self) -> String {
        format!(
            "Session(endpoint={}, version={}, busy={})",
            self.core.config().endpoint(),
            self.core.config().version(),
            self.core.is_busy()
        )
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn misuse_value(py: Python<'_>, what: &'static str) -> PyErr {
    input_error(
        py,
        vpc_imds_core::error::InputError::Malformed {
            what: "argument",
            expected: what,
        },
    )
}

/// A request the session wants sent: HTTP/1.1 bytes (`wire`) for a socket, or parts
/// (`method`, `url`, `headers`, `body`) for a host's own HTTP stack. Never sent
/// through a proxy. `repr` redacts the token.
#[pyclass(frozen, module = "vpc_imds._core")]
pub struct Request {
    method: &'static str,
    url: String,
    target: String,
    headers: Vec<(&'static str, String, bool)>,
    body: Option<String>,
    deadline_ms: u64,
    timeout_ms: u64,
    connect_timeout_ms: u64,
    wire: Vec<u8>,
}

#[pymethods]
impl Request {
    /// `GET`, `PUT` or `POST`.
    #[getter]
    fn method(&self) -> &'static str {
        self.method
    }

    /// The absolute URL, e.g. `http://169.254.169.254/metadata/v1/instance?version=2025-08-26`.
    #[getter]
    fn url(&self) -> &str {
        &self.url
    }

    /// Path and query.
    #[getter]
    fn target(&self) -> &str {
        &self.target
    }

    /// `[(name, value), ...]` to set, in order (`Host` and `Content-Length` excluded;
    /// the `Authorization` value carries the token).
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.headers.iter().map(|(n, v, _)| (*n, v.as_str())))
    }

    /// The JSON body, or `None`.
    #[getter]
    fn body<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.body.as_ref().map(|b| PyBytes::new(py, b.as_bytes()))
    }

    /// When to give up on this request, on the session's clock (ms).
    #[getter]
    fn deadline_ms(&self) -> u64 {
        self.deadline_ms
    }

    /// Seconds left for the whole exchange when the request was issued.
    #[getter]
    fn timeout(&self) -> f64 {
        self.timeout_ms as f64 / 1000.0
    }

    /// The connect timeout in seconds (never more than `timeout`).
    #[getter]
    fn connect_timeout(&self) -> f64 {
        self.connect_timeout_ms.min(self.timeout_ms) as f64 / 1000.0
    }

    /// The complete HTTP/1.1 request.
    #[getter]
    fn wire<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.wire)
    }

    fn __repr__(&self) -> String {
        let mut s = format!("Request({} {}", self.method, self.url);
        for (name, value, secret) in &self.headers {
            if *secret {
                let scheme = value.split(' ').next().unwrap_or("");
                let _ = write!(s, ", {name}: {scheme} <redacted>");
            } else {
                let _ = write!(s, ", {name}: {value}");
            }
        }
        if let Some(b) = &self.body {
            let _ = write!(s, ", body={b}");
        }
        s.push(')');
        s
    }
}
