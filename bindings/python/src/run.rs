//! The driver, driven from Python: `Config` (validated settings), `Tokens` (a
//! shared token cache), `Run` (one operation at a time) and the steps it returns.
//!
//! Python owns sockets, asyncio, sleeping and the clock; the loop's rules (request
//! ids, the shared token, deadlines, retries, pages) are `vpc-imds-driver`'s.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyList, PyString};
use vpc_imds_driver::core::error::{Cause, Error, ErrorKind, InputError, TransportError};
use vpc_imds_driver::core::output::Output;
use vpc_imds_driver::core::response::{parse_retry_after, Response};
use vpc_imds_driver::core::token::Freshness;
use vpc_imds_driver::{
    Args, Driver, DriverConfig, Input, Instant, Operation, OwnedRequest, Reply, RequestId,
    Settings, Step, ThreadTokens, TokenShare, TrustedProfile,
};

use crate::convert::to_python;
use crate::errors::{input_error, to_pyerr};
use crate::registry::Registry;

/// Bodies at least this large are handled with the GIL released.
const DETACH_LEN: usize = 64 * 1024;

/// A text argument: a `str` that can be UTF-8 (a lone surrogate cannot), else
/// `invalid_input` naming it.
fn text<'a>(
    value: Option<&'a Bound<'_, PyAny>>,
    what: &'static str,
) -> PyResult<Option<Cow<'a, str>>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    let py = value.py();
    let s = value.cast::<PyString>().map_err(|_| {
        input_error(
            py,
            InputError::Malformed {
                what,
                expected: "a string",
            },
        )
    })?;
    match s.to_cow() {
        Ok(s) => Ok(Some(Cow::Owned(s.into_owned()))),
        Err(_) => Err(input_error(py, InputError::ForbiddenCharacter { what })),
    }
}

/// An integer argument, saturated into `u64` (the driver or core then names the
/// allowed range): a negative number becomes 0, a huge one `u64::MAX`.
fn int(value: Option<&Bound<'_, PyAny>>, what: &'static str) -> PyResult<Option<u64>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    let py = value.py();
    let bad = || {
        input_error(
            py,
            InputError::Malformed {
                what,
                expected: "a whole number",
            },
        )
    };
    if value.is_instance_of::<pyo3::types::PyBool>() {
        return Err(bad());
    }
    let n = value.cast::<pyo3::types::PyInt>().map_err(|_| bad())?;
    if let Ok(v) = n.extract::<u64>() {
        return Ok(Some(v));
    }
    let negative = n.lt(0).unwrap_or(false);
    Ok(Some(if negative { 0 } else { u64::MAX }))
}

fn int_u32(value: Option<&Bound<'_, PyAny>>, what: &'static str) -> PyResult<Option<u32>> {
    Ok(int(value, what)?.map(|n| u32::try_from(n).unwrap_or(u32::MAX)))
}

/// Seconds as a Python `int` or `float`, checked by the driver's rule.
fn seconds(value: Option<&Bound<'_, PyAny>>, what: &'static str) -> PyResult<Option<Duration>> {
    number_of_seconds(value, what, vpc_imds_driver::seconds)
}

/// A backoff step in seconds: 0 allowed (the driver's `delay_seconds`).
fn delay(value: Option<&Bound<'_, PyAny>>, what: &'static str) -> PyResult<Option<Duration>> {
    number_of_seconds(value, what, vpc_imds_driver::settings::delay_seconds)
}

/// An `int` or `float` of seconds (not a `bool`), checked by the driver's `rule`.
fn number_of_seconds(
    value: Option<&Bound<'_, PyAny>>,
    what: &'static str,
    rule: fn(&'static str, f64) -> Result<Duration, InputError>,
) -> PyResult<Option<Duration>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    let py = value.py();
    let secs = if value.is_instance_of::<pyo3::types::PyBool>() {
        None
    } else {
        value.extract::<f64>().ok()
    };
    let secs = secs.ok_or_else(|| {
        input_error(
            py,
            InputError::Malformed {
                what,
                expected: "a number of seconds",
            },
        )
    })?;
    rule(what, secs).map(Some).map_err(|e| input_error(py, e))
}

/// The settings every operation of a client runs with, validated once.
#[pyclass(frozen, module = "vpc_imds._core")]
pub struct Config {
    pub(crate) inner: DriverConfig,
}

#[pymethods]
impl Config {
    /// `endpoint` (`http://HOST[:PORT]` / `https://...`) or else `env_endpoint`
    /// (the `VPC_IMDS_ENDPOINT` value the package read) or else the default; every
    /// value is checked here, with the limits every binding shares. Times are
    /// seconds.
    #[new]
    #[pyo3(signature = (
        endpoint=None, *, secure=false, version=None, token_lifetime=None, timeout=None,
        connect_timeout=None, request_timeout=None, max_attempts=None, base_delay=None,
        max_delay=None, max_response_bytes=None, env_endpoint=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        endpoint: Option<&Bound<'_, PyAny>>,
        secure: bool,
        version: Option<&Bound<'_, PyAny>>,
        token_lifetime: Option<&Bound<'_, PyAny>>,
        timeout: Option<&Bound<'_, PyAny>>,
        connect_timeout: Option<&Bound<'_, PyAny>>,
        request_timeout: Option<&Bound<'_, PyAny>>,
        max_attempts: Option<&Bound<'_, PyAny>>,
        base_delay: Option<&Bound<'_, PyAny>>,
        max_delay: Option<&Bound<'_, PyAny>>,
        max_response_bytes: Option<&Bound<'_, PyAny>>,
        env_endpoint: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let settings = Settings {
            endpoint: text(endpoint, "endpoint")?.map(Cow::into_owned),
            env_endpoint: text(env_endpoint, vpc_imds_driver::ENDPOINT_ENV)?.map(Cow::into_owned),
            secure,
            version: text(version, "version")?.map(Cow::into_owned),
            token_lifetime: int_u32(token_lifetime, "token_lifetime")?,
            timeout: seconds(timeout, "timeout")?,
            connect_timeout: seconds(connect_timeout, "connect_timeout")?,
            request_timeout: seconds(request_timeout, "request_timeout")?,
            max_attempts: int_u32(max_attempts, "max_attempts")?,
            base_delay: delay(base_delay, "base_delay")?,
            max_delay: delay(max_delay, "max_delay")?,
            max_response_bytes: int(max_response_bytes, "max_response_bytes")?
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        };
        let inner = settings.build().map_err(|e| input_error(py, e))?;
        Ok(Config { inner })
    }

    /// `(scheme, host, port)`; an IPv6 host keeps its brackets.
    #[getter]
    fn endpoint(&self) -> (&'static str, String, u16) {
        let e = self.inner.endpoint();
        (e.scheme().as_str(), e.host().to_owned(), e.port())
    }

    /// The endpoint as a URL, e.g. `http://169.254.169.254`.
    #[getter]
    fn url(&self) -> String {
        self.inner.endpoint().to_string()
    }

    /// The API version date.
    #[getter]
    fn version(&self) -> String {
        self.inner.core().version().to_string()
    }

    /// Whole-operation deadline in seconds.
    #[getter]
    fn timeout(&self) -> f64 {
        self.inner.timeouts().operation.as_secs_f64()
    }

    /// Largest response accepted, in bytes.
    #[getter]
    fn max_response_bytes(&self) -> usize {
        self.inner.max_response_bytes()
    }

    fn __repr__(&self) -> String {
        format!(
            "Config(endpoint={}, version={})",
            self.inner.endpoint(),
            self.inner.core().version()
        )
    }
}

/// A token cache shared by every operation of a client (and its threads): the
/// identity token, or a cached IAM token.
#[pyclass(frozen, module = "vpc_imds._core")]
pub struct Tokens {
    pub(crate) inner: Arc<ThreadTokens>,
}

#[pymethods]
impl Tokens {
    #[new]
    fn new() -> Self {
        Tokens {
            inner: Arc::new(ThreadTokens::new()),
        }
    }

    /// How many times the cache changed.
    #[getter]
    fn generation(&self) -> u64 {
        self.inner.generation()
    }

    /// Blocks (without the GIL) until the cache changes after `generation`, or
    /// `timeout` seconds pass.
    fn wait(&self, py: Python<'_>, generation: u64, timeout: f64) {
        let timeout = Duration::try_from_secs_f64(timeout.max(0.0)).unwrap_or(Duration::MAX);
        let inner = self.inner.clone();
        py.detach(move || inner.wait(generation, timeout));
    }

    /// `missing`, `fresh`, `stale` or `expired` at `now_ms`.
    fn freshness(&self, now_ms: u64) -> &'static str {
        match self
            .inner
            .with(|c, _| c.freshness(Instant::from_millis(now_ms)))
        {
            Freshness::Missing => "missing",
            Freshness::Fresh => "fresh",
            Freshness::Stale => "stale",
            Freshness::Expired => "expired",
        }
    }

    /// Forgets the token (e.g. after it was rejected).
    fn clear(&self) {
        self.inner.with(|c, _| c.clear());
        self.inner.changed();
    }

    fn __repr__(&self) -> String {
        self.inner
            .with(|c, g| format!("Tokens({c:?}, generation={g})"))
    }
}

/// One operation at a time of a client: `start`, then `step` / `feed` / `respond` /
/// `fail`, each returning the next step (`Send`, `Read`, `Wait`, `WaitForToken`,
/// `Page`, `Done`, `Failed`, `Stale`).
#[pyclass(module = "vpc_imds._core")]
pub struct Run {
    driver: Driver<Arc<ThreadTokens>>,
    tokens: Py<Tokens>,
    iam: Option<Py<Tokens>>,
    /// Pages and results as their JSON bytes, not converted.
    raw: bool,
}

#[pymethods]
impl Run {
    /// A run of `config`'s client over its shared `tokens`; `seed` feeds jitter.
    #[new]
    fn new(config: &Config, tokens: Bound<'_, Tokens>, seed: u64) -> Self {
        let share = tokens.get().inner.clone();
        Run {
            driver: Driver::new(config.inner.clone(), share, seed),
            tokens: tokens.unbind(),
            iam: None,
            raw: false,
        }
    }

    /// Whether an operation is running.
    #[getter]
    fn busy(&self) -> bool {
        self.driver.is_busy()
    }

    /// Whether the connection of the last complete response (fed as bytes) may be
    /// reused.
    #[getter]
    fn keep_alive(&self) -> bool {
        self.driver.keep_alive()
    }

    /// Starts operation `op` at `now_ms` (names as in the test vectors); invalid
    /// input raises `InvalidArgument` and sends nothing. With `iam_cache`, an
    /// `iam_token` operation is answered from that cache while its token is fresh.
    /// With `raw`, pages and results come as their JSON bytes (`body`).
    #[pyo3(signature = (op, now_ms, *, id=None, profile_id=None, profile_crn=None, profile_name=None, expires_in=None, csr=None, path=None, all_pages=false, iam_cache=None, raw=false))]
    #[allow(clippy::too_many_arguments)]
    fn start(
        &mut self,
        py: Python<'_>,
        op: &str,
        now_ms: u64,
        id: Option<&Bound<'_, PyAny>>,
        profile_id: Option<&Bound<'_, PyAny>>,
        profile_crn: Option<&Bound<'_, PyAny>>,
        profile_name: Option<&Bound<'_, PyAny>>,
        expires_in: Option<&Bound<'_, PyAny>>,
        csr: Option<&Bound<'_, PyAny>>,
        path: Option<&Bound<'_, PyAny>>,
        all_pages: bool,
        iam_cache: Option<Bound<'_, Tokens>>,
        raw: bool,
    ) -> PyResult<()> {
        let (id, profile_id, profile_crn, profile_name, csr, path) = (
            text(id, "id")?,
            text(profile_id, "trusted profile id")?,
            text(profile_crn, "trusted profile crn")?,
            text(profile_name, "trusted profile name")?,
            text(csr, "csr")?,
            text(path, "path")?,
        );
        let args = Args {
            id: id.as_deref(),
            expires_in: int_u32(expires_in, "expires_in")?,
            profile_id: profile_id.as_deref(),
            profile_crn: profile_crn.as_deref(),
            profile_name: profile_name.as_deref(),
            csr: csr.as_deref(),
            path: path.as_deref(),
            all_pages,
        };
        let now = Instant::from_millis(now_ms);
        let op = Operation::from_name(op, &args).map_err(|e| input_error(py, e))?;
        self.raw = raw;
        let started = match (op, iam_cache) {
            (Operation::IamToken { profile }, Some(cache)) => {
                let share = cache.get().inner.clone();
                self.iam = Some(cache.unbind());
                self.driver.start_cached_iam_token(profile, share, now)
            }
            (op, _) => {
                self.iam = None;
                self.driver.start(op, now)
            }
        };
        started.map_err(|e| to_pyerr(py, &e))
    }

    /// Starts waiting until the service answers, for at most `max` seconds.
    fn start_wait_until_ready(&mut self, py: Python<'_>, max: f64, now_ms: u64) -> PyResult<()> {
        let max = vpc_imds_driver::seconds("max", max).map_err(|e| input_error(py, e))?;
        self.iam = None;
        self.raw = false;
        self.driver
            .start_wait_until_ready(max, Instant::from_millis(now_ms))
            .map_err(|e| to_pyerr(py, &e))
    }

    /// Abandons the running operation, if any.
    fn cancel(&mut self) {
        self.driver.cancel();
    }

    /// The next step at `now_ms`.
    fn step(&mut self, py: Python<'_>, now_ms: u64) -> PyResult<Py<PyAny>> {
        let step = self.driver.step(Instant::from_millis(now_ms), Input::Tick);
        convert(py, step, &self.tokens, self.iam.as_ref(), self.raw)
    }

    /// Feeds bytes received for request `id` (`b""`: the peer closed the connection).
    fn feed(&mut self, py: Python<'_>, id: u64, data: &[u8], now_ms: u64) -> PyResult<Py<PyAny>> {
        let input = Input::Bytes(RequestId(id), data);
        let now = Instant::from_millis(now_ms);
        let (driver, tokens, iam, raw) =
            (&mut self.driver, &self.tokens, self.iam.as_ref(), self.raw);
        if data.len() >= DETACH_LEN {
            let step = py.detach(|| driver.step(now, input));
            convert(py, step, tokens, iam, raw)
        } else {
            convert(py, driver.step(now, input), tokens, iam, raw)
        }
    }

    /// Feeds a whole response to request `id` from a host's own HTTP stack: status,
    /// the de-chunked body, and `Retry-After` (its raw value, or seconds).
    #[pyo3(signature = (id, status, body, now_ms, retry_after=None))]
    fn respond(
        &mut self,
        py: Python<'_>,
        id: u64,
        status: u16,
        body: &[u8],
        now_ms: u64,
        retry_after: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let retry_after = match retry_after.filter(|v| !v.is_none()) {
            None => None,
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
        let input = Input::Response(
            RequestId(id),
            Response::from_parts(status, retry_after, body),
        );
        let now = Instant::from_millis(now_ms);
        let (driver, tokens, iam, raw) =
            (&mut self.driver, &self.tokens, self.iam.as_ref(), self.raw);
        if body.len() >= DETACH_LEN {
            let step = py.detach(|| driver.step(now, input));
            convert(py, step, tokens, iam, raw)
        } else {
            convert(py, driver.step(now, input), tokens, iam, raw)
        }
    }

    /// Reports that request `id` failed in transport: `refused`, `unreachable`,
    /// `connect_timeout`, `response_timeout`, `connection_lost` or `tls`.
    fn fail(&mut self, py: Python<'_>, id: u64, error: &str, now_ms: u64) -> PyResult<Py<PyAny>> {
        let Some(error) = TransportError::from_name(error) else {
            return Err(input_error(
                py,
                InputError::Malformed {
                    what: "transport error",
                    expected: "refused, unreachable, connect_timeout, response_timeout, connection_lost or tls",
                },
            ));
        };
        let step = self.driver.step(
            Instant::from_millis(now_ms),
            Input::TransportError(RequestId(id), error),
        );
        convert(py, step, &self.tokens, self.iam.as_ref(), self.raw)
    }

    fn __repr__(&self) -> String {
        format!("Run({:?})", self.driver)
    }
}

/// The Python object for a step.
fn convert(
    py: Python<'_>,
    step: Step<'_>,
    tokens: &Py<Tokens>,
    iam: Option<&Py<Tokens>>,
    raw: bool,
) -> PyResult<Py<PyAny>> {
    Ok(match step {
        Step::Send(request) => Py::new(
            py,
            Send {
                request: Py::new(py, Request::from(request))?,
            },
        )?
        .into_any(),
        Step::Read => singleton(py, &READ, || Read)?,
        Step::Stale => singleton(py, &STALE, || Stale)?,
        Step::Idle => singleton(py, &IDLE, || Idle)?,
        Step::Wait(until) => Py::new(
            py,
            Wait {
                until_ms: until.as_millis(),
            },
        )?
        .into_any(),
        Step::WaitForToken {
            until,
            generation,
            iam: on_iam,
        } => {
            let share = match (on_iam, iam) {
                (true, Some(iam)) => iam.clone_ref(py),
                _ => tokens.clone_ref(py),
            };
            Py::new(
                py,
                WaitForToken {
                    until_ms: until.as_millis(),
                    generation,
                    tokens: share,
                },
            )?
            .into_any()
        }
        Step::Page(reply) => {
            let (value, body) = value(py, &reply, raw)?;
            Py::new(
                py,
                Page {
                    value,
                    body,
                    type_name: reply.type_name(),
                },
            )?
            .into_any()
        }
        Step::Done(reply) => {
            let (value, body) = value(py, &reply, raw)?;
            Py::new(
                py,
                Done {
                    value,
                    body,
                    type_name: reply.type_name(),
                },
            )?
            .into_any()
        }
        Step::Failed(e) => Py::new(
            py,
            Failed {
                error: crate::errors::exception(py, &e)?.unbind(),
            },
        )?
        .into_any(),
    })
}

fn singleton<T: pyo3::PyClass + Into<pyo3::PyClassInitializer<T>>>(
    py: Python<'_>,
    cell: &'static PyOnceLock<Py<PyAny>>,
    make: impl FnOnce() -> T,
) -> PyResult<Py<PyAny>> {
    Ok(cell
        .get_or_try_init(py, || Py::new(py, make()).map(Py::into_any))?
        .clone_ref(py))
}

static READ: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static STALE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static IDLE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// A reply as the registered model object (plain data for generic GETs), or
/// with `raw` as its JSON bytes.
fn value(
    py: Python<'_>,
    reply: &Reply<'_>,
    raw: bool,
) -> PyResult<(Py<PyAny>, Option<Py<PyBytes>>)> {
    if raw {
        return Ok((py.None(), Some(PyBytes::new(py, reply.body()).unbind())));
    }
    let r = Registry::get(py)?;
    let object = match to_python(py, r, reply) {
        Ok(object) => object,
        // A number Python's JSON could hold but the driver's reader cannot.
        Err(_) if matches!(reply.output(), Output::Raw(_)) => {
            return Err(to_pyerr(
                py,
                &Error::new(
                    ErrorKind::BadResponse,
                    Cause::Protocol("the JSON document holds a value that cannot be represented"),
                ),
            ))
        }
        Err(e) => return Err(e),
    };
    match reply.output() {
        Output::IdentityToken(_) | Output::IamToken(_) => {
            object.setattr("lifetime", reply.token_lifetime())?;
        }
        Output::Initialization(init) => {
            let bytes = vpc_imds_driver::user_data(init).map_err(|e| to_pyerr(py, &e))?;
            object.setattr("_user_data", PyBytes::new(py, &bytes))?;
        }
        _ => {}
    }
    Ok((object.unbind(), None))
}

/// Send this request, then feed back what came of it with its `id`.
#[pyclass(frozen, module = "vpc_imds._core")]
pub struct Send {
    #[pyo3(get)]
    request: Py<Request>,
}

/// The response is not complete: read more bytes and `feed` them.
#[pyclass(frozen, module = "vpc_imds._core")]
pub struct Read;

/// The answer was for a request no longer awaited; it was ignored.
#[pyclass(frozen, module = "vpc_imds._core")]
pub struct Stale;

/// No operation is running.
#[pyclass(frozen, module = "vpc_imds._core")]
pub struct Idle;

/// Sleep until `until_ms`, then `step`.
#[pyclass(frozen, module = "vpc_imds._core")]
pub struct Wait {
    #[pyo3(get)]
    until_ms: u64,
}

/// Another operation is fetching the token: `tokens.wait(generation, ...)` until
/// `until_ms` at most, then `step`.
#[pyclass(frozen, module = "vpc_imds._core")]
pub struct WaitForToken {
    #[pyo3(get)]
    until_ms: u64,
    #[pyo3(get)]
    generation: u64,
    #[pyo3(get)]
    tokens: Py<Tokens>,
}

/// One page of a list; `step` for the next.
#[pyclass(frozen, module = "vpc_imds._core")]
pub struct Page {
    #[pyo3(get)]
    value: Py<PyAny>,
    #[pyo3(get)]
    body: Option<Py<PyBytes>>,
    #[pyo3(get, name = "type")]
    type_name: &'static str,
}

/// The operation's result.
#[pyclass(frozen, module = "vpc_imds._core")]
pub struct Done {
    #[pyo3(get)]
    value: Py<PyAny>,
    #[pyo3(get)]
    body: Option<Py<PyBytes>>,
    #[pyo3(get, name = "type")]
    type_name: &'static str,
}

/// The operation failed with `error` (an `ImdsError`).
#[pyclass(frozen, module = "vpc_imds._core")]
pub struct Failed {
    #[pyo3(get)]
    error: Py<PyAny>,
}

/// A request: HTTP/1.1 bytes (`wire`) for a socket, or parts (`method`, `url`,
/// `headers`, `body`) for a host's own HTTP stack. Never sent through a proxy.
/// `repr` redacts the token.
#[pyclass(frozen, module = "vpc_imds._core")]
pub struct Request {
    inner: OwnedRequest,
}

impl From<&OwnedRequest> for Request {
    fn from(r: &OwnedRequest) -> Self {
        Request { inner: r.clone() }
    }
}

#[pymethods]
impl Request {
    /// Which request this is (feed its answer back with it).
    #[getter]
    fn id(&self) -> u64 {
        self.inner.id().0
    }

    /// `GET`, `PUT` or `POST`.
    #[getter]
    fn method(&self) -> &'static str {
        self.inner.method().as_str()
    }

    /// The absolute URL.
    #[getter]
    fn url(&self) -> &str {
        self.inner.url()
    }

    /// Path and query.
    #[getter]
    fn target(&self) -> &str {
        self.inner.target()
    }

    /// `[(name, value), ...]` to set, in order (`Host` and `Content-Length`
    /// excluded; the `Authorization` value carries the token).
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(
            py,
            self.inner
                .headers()
                .iter()
                .map(|h| (h.name, h.value.as_str())),
        )
    }

    /// The JSON body, or `None`.
    #[getter]
    fn body<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.inner.body().map(|b| PyBytes::new(py, b.as_bytes()))
    }

    /// When to give up on this request, on the client's clock (ms).
    #[getter]
    fn deadline_ms(&self) -> u64 {
        self.inner.deadline().as_millis()
    }

    /// Seconds left for the whole exchange when the request was issued.
    #[getter]
    fn timeout(&self) -> f64 {
        self.inner.timeout().as_secs_f64()
    }

    /// The connect timeout in seconds (never more than `timeout`).
    #[getter]
    fn connect_timeout(&self) -> f64 {
        self.inner.connect_timeout().as_secs_f64()
    }

    /// The complete HTTP/1.1 request.
    #[getter]
    fn wire<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.wire())
    }

    fn __repr__(&self) -> String {
        let mut s = String::new();
        let _ = write!(s, "{:?}", self.inner);
        s
    }
}

/// Checks at most one of a trusted profile's id, CRN and name, and each value's
/// form, as starting an `iam_token` operation would (raises `InvalidArgument`).
#[pyfunction]
#[pyo3(signature = (profile_id=None, profile_crn=None, profile_name=None))]
pub(crate) fn check_profile(
    py: Python<'_>,
    profile_id: Option<&Bound<'_, PyAny>>,
    profile_crn: Option<&Bound<'_, PyAny>>,
    profile_name: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let (id, crn, name) = (
        text(profile_id, "trusted profile id")?,
        text(profile_crn, "trusted profile crn")?,
        text(profile_name, "trusted profile name")?,
    );
    let profile = TrustedProfile::from_parts(id.as_deref(), crn.as_deref(), name.as_deref())
        .map_err(|e| input_error(py, e))?;
    Operation::IamToken { profile }
        .validate()
        .map_err(|e| input_error(py, e))
}

/// Merges a list's pages (JSON bytes) into one document, as `get --all` does,
/// and returns it as Python data.
#[pyfunction]
pub(crate) fn merge_pages(py: Python<'_>, pages: Vec<Vec<u8>>) -> PyResult<Py<PyAny>> {
    let bad = |what| {
        to_pyerr(
            py,
            &Error::new(ErrorKind::BadResponse, Cause::Protocol(what)),
        )
    };
    let merged = vpc_imds_driver::merge_pages(pages.iter().map(Vec::as_slice))
        .map_err(|_| bad("a page is not a JSON object"))?;
    let r = Registry::get(py)?;
    let doc = vpc_imds_driver::JsonValue(&merged);
    to_python(py, r, &doc)
        .map(Bound::unbind)
        .map_err(|_| bad("the JSON document holds a value that cannot be represented"))
}

/// Decompresses gzip user data (every member, CRC checked), refusing more than
/// `limit` bytes; `ValueError` says why.
#[pyfunction]
pub(crate) fn gunzip<'py>(
    py: Python<'py>,
    data: &[u8],
    limit: usize,
) -> PyResult<Bound<'py, PyBytes>> {
    let out = py
        .detach(|| vpc_imds_driver::gunzip(data, limit))
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    Ok(PyBytes::new(py, &out))
}

/// The leaf parts of MIME multi-part user data as `(content_type, filename, charset,
/// payload)`; `None` when the data is not multi-part; `ValueError` when it is
/// malformed.
#[pyfunction]
#[allow(clippy::type_complexity)]
pub(crate) fn mime_parts(
    data: &[u8],
) -> PyResult<Option<Vec<(String, Option<String>, Option<String>, Vec<u8>)>>> {
    match vpc_imds_driver::leaf_parts(data) {
        Ok(parts) => Ok(Some(
            parts
                .into_iter()
                .map(|p| (p.content_type, p.filename, p.charset, p.payload))
                .collect(),
        )),
        Err(vpc_imds_driver::UserDataError::NotMultipart) => Ok(None),
        Err(e) => Err(pyo3::exceptions::PyValueError::new_err(e.to_string())),
    }
}
