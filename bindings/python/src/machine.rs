//! `Machine`: the driver's client machine for Python hosts, and the `Request` it
//! hands out. The machine decides everything; this is glue: argument conversion,
//! one monotonic clock, the lock, and steps as tuples of Python values.
//!
//! Blocking hosts (threads) step their own operation each; a step that must wait
//! for a token waits here on a condition variable tied to the machine's lock,
//! without the GIL, so no wake is lost. Asyncio hosts (`on_woken`) get the
//! token wait back as a step and are told which operations the machine woke.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyInt, PyList, PyString, PyTuple};
use vpc_imds_driver::core::error::{InputError, TransportError};
use vpc_imds_driver::core::response::{parse_retry_after, Response};
use vpc_imds_driver::{
    Args, DriverConfig, Instant, MachineInput as Input, MachineStep as Step, OpId, OwnedRequest,
    Record, Settings, SyncMachine,
};

use crate::errors::{exception, input_error, to_pyerr, unrepresentable};

/// Step kinds, the first item of every step tuple.
const SEND: u8 = 0;
const CLOSE: u8 = 2;
const BACKOFF: u8 = 3;
const AWAIT: u8 = 4;
const PAGE: u8 = 5;
const DONE: u8 = 6;
const FAILED: u8 = 7;
/// Steps that carry no value are shared tuples.
const READ: u8 = 1;

/// A text argument: a `str` that can be UTF-8 (a lone surrogate cannot).
fn text(value: Option<&Bound<'_, PyAny>>, what: &'static str) -> PyResult<Option<String>> {
    let Some(v) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    let s = v.cast::<PyString>().map_err(|_| {
        let expected = "a string";
        input_error(v.py(), InputError::Malformed { what, expected })
    })?;
    let s = s
        .to_cow()
        .map_err(|_| input_error(v.py(), InputError::ForbiddenCharacter { what }))?;
    Ok(Some(s.into_owned()))
}

/// A whole number (not a `bool`), saturated into `u64`: the driver names the range.
fn int(value: Option<&Bound<'_, PyAny>>, what: &'static str) -> PyResult<Option<u64>> {
    let Some(v) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    let expected = "a whole number";
    let bad = || input_error(v.py(), InputError::Malformed { what, expected });
    let n = v
        .cast::<PyInt>()
        .ok()
        .filter(|_| !v.is_instance_of::<PyBool>())
        .ok_or_else(bad)?;
    Ok(Some(n.extract::<u64>().unwrap_or(if n.lt(0)? {
        0
    } else {
        u64::MAX
    })))
}

fn int32(value: Option<&Bound<'_, PyAny>>, what: &'static str) -> PyResult<Option<u32>> {
    Ok(int(value, what)?.map(|n| u32::try_from(n).unwrap_or(u32::MAX)))
}

/// Seconds (an `int` or `float`, not a `bool`), checked by the driver's `rule`.
fn seconds(
    value: Option<&Bound<'_, PyAny>>,
    what: &'static str,
    rule: fn(&'static str, f64) -> Result<Duration, InputError>,
) -> PyResult<Option<Duration>> {
    let Some(v) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    let secs = Some(v)
        .filter(|v| !v.is_instance_of::<PyBool>())
        .and_then(|v| v.extract::<f64>().ok());
    let expected = "a number of seconds";
    let secs = secs.ok_or_else(|| input_error(v.py(), InputError::Malformed { what, expected }))?;
    rule(what, secs)
        .map(Some)
        .map_err(|e| input_error(v.py(), e))
}

/// The client machine (see the module docs).
#[pyclass(frozen, module = "vpc_imds._core")]
pub struct Machine {
    machine: Mutex<SyncMachine>,
    woken: Condvar,
    config: DriverConfig,
    on_woken: Option<Py<PyAny>>,
    origin: std::time::Instant,
    /// Milliseconds added to the clock (tests make time pass with it).
    skew: AtomicU64,
    /// A fixed clock for the test vectors; `u64::MAX`: the monotonic clock.
    fixed: AtomicU64,
}

#[pymethods]
impl Machine {
    /// Settings as keywords (`secure`, `version`, `token_lifetime`, `timeout`,
    /// `connect_timeout`, `request_timeout`, `max_attempts`, `base_delay`,
    /// `max_delay`, `max_response_bytes`, `env_endpoint`), validated by the driver.
    /// Without `on_woken` the machine is for threads (token waits block here);
    /// with it, `on_woken(op_ids)` is called for operations whose token wait ended.
    #[new]
    #[pyo3(signature = (endpoint=None, *, on_woken=None, seed=0, **settings))]
    fn new(
        py: Python<'_>,
        endpoint: Option<&Bound<'_, PyAny>>,
        on_woken: Option<Py<PyAny>>,
        seed: u64,
        settings: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let mut s = Settings {
            endpoint: text(endpoint, "endpoint")?,
            ..Settings::default()
        };
        for (key, v) in settings.into_iter().flatten() {
            let v = Some(&v);
            let rule = vpc_imds_driver::seconds;
            let delay = vpc_imds_driver::settings::delay_seconds;
            match key.extract::<String>()?.as_str() {
                "secure" => s.secure = v.is_some_and(|v| v.is_truthy().unwrap_or(false)),
                "env_endpoint" => s.env_endpoint = text(v, vpc_imds_driver::ENDPOINT_ENV)?,
                "version" => s.version = text(v, "version")?,
                "token_lifetime" => s.token_lifetime = int32(v, "token_lifetime")?,
                "timeout" => s.timeout = seconds(v, "timeout", rule)?,
                "connect_timeout" => s.connect_timeout = seconds(v, "connect_timeout", rule)?,
                "request_timeout" => s.request_timeout = seconds(v, "request_timeout", rule)?,
                "max_attempts" => s.max_attempts = int32(v, "max_attempts")?,
                "base_delay" => s.base_delay = seconds(v, "base_delay", delay)?,
                "max_delay" => s.max_delay = seconds(v, "max_delay", delay)?,
                "max_response_bytes" => {
                    let n = int(v, "max_response_bytes")?;
                    s.max_response_bytes = n.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
                }
                other => return Err(PyTypeError::new_err(format!("unknown setting {other}"))),
            }
        }
        let config = s.build().map_err(|e| input_error(py, e))?;
        Ok(Machine {
            machine: Mutex::new(SyncMachine::new(config.clone(), seed)),
            woken: Condvar::new(),
            config,
            on_woken,
            origin: std::time::Instant::now(),
            skew: AtomicU64::new(0),
            fixed: AtomicU64::new(u64::MAX),
        })
    }

    /// `(scheme, host, port)`; an IPv6 host keeps its brackets.
    #[getter]
    fn endpoint(&self) -> (&'static str, String, u16) {
        let e = self.config.endpoint();
        (e.scheme().as_str(), e.host().to_owned(), e.port())
    }

    /// The endpoint as a URL.
    #[getter]
    fn url(&self) -> String {
        self.config.endpoint().to_string()
    }

    /// The API version date.
    #[getter]
    fn version(&self) -> String {
        self.config.core().version().to_string()
    }

    /// Operations in progress.
    #[getter]
    fn operations(&self) -> usize {
        self.lock().operations()
    }

    /// Starts operation `op` (`instance`, ..., `get`, `get_all`, `user_data`,
    /// `ssh_keys`, `wait_until_ready`) and returns its id; bad input raises
    /// `InvalidArgument` with nothing sent.
    #[pyo3(signature = (op, **args))]
    fn start(&self, py: Python<'_>, op: &str, args: Option<&Bound<'_, PyDict>>) -> PyResult<u64> {
        let get = |k: &str| args.and_then(|a| a.get_item(k).ok().flatten());
        let started = if op == "wait_until_ready" {
            let rule = vpc_imds_driver::seconds;
            let max = seconds(get("max").as_ref(), "max", rule)?;
            let now = self.now();
            self.lock().start_wait_until_ready(max, now)
        } else {
            let t = |k: &str, what| text(get(k).as_ref(), what);
            let (id, csr, path) = (t("id", "id")?, t("csr", "csr")?, t("path", "path")?);
            let pid = t("profile_id", "trusted profile id")?;
            let crn = t("profile_crn", "trusted profile crn")?;
            let name = t("profile_name", "trusted profile name")?;
            let args = Args {
                id: id.as_deref(),
                expires_in: int32(get("expires_in").as_ref(), "expires_in")?,
                profile_id: pid.as_deref(),
                profile_crn: crn.as_deref(),
                profile_name: name.as_deref(),
                csr: csr.as_deref(),
                path: path.as_deref(),
                all_pages: get("all_pages").is_some_and(|v| v.is_truthy().unwrap_or(false)),
            };
            let now = self.now();
            self.lock().start(op, &args, now)
        };
        let id = started.map_err(|e| to_pyerr(py, &e))?;
        self.wake(py)?;
        Ok(id.0)
    }

    /// The next step of `op`.
    fn step(&self, py: Python<'_>, op: u64) -> PyResult<Py<PyAny>> {
        self.advance(py, op, Input::Tick)
    }

    /// Feeds bytes read from `op`'s connection (`b""`: the peer closed it).
    fn feed(&self, py: Python<'_>, op: u64, data: &[u8]) -> PyResult<Py<PyAny>> {
        self.advance(py, op, Input::Bytes(data))
    }

    /// Feeds a whole response from a host's own HTTP stack: status, the de-chunked
    /// body, and `Retry-After` (its header value, or seconds).
    #[pyo3(signature = (op, status, body, retry_after=None))]
    fn respond(
        &self,
        py: Python<'_>,
        op: u64,
        status: u16,
        body: &[u8],
        retry_after: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let retry_after = match retry_after {
            Some(v) if v.is_instance_of::<PyString>() => {
                parse_retry_after(v.extract::<String>()?.as_bytes())
            }
            Some(v) => v.extract::<Option<u32>>().unwrap_or(None),
            None => None,
        };
        self.advance(
            py,
            op,
            Input::Response(Response::from_parts(status, retry_after, body)),
        )
    }

    /// Reports that `op`'s request failed in transport (`refused`, `unreachable`,
    /// `connect_timeout`, `response_timeout`, `connection_lost` or `tls`).
    fn fail(&self, py: Python<'_>, op: u64, error: &str) -> PyResult<Py<PyAny>> {
        let error = TransportError::from_name(error).unwrap_or(TransportError::ConnectionLost);
        self.advance(py, op, Input::Failed(error))
    }

    /// Abandons `op`; returns the connection to close, if it had a request in flight.
    fn cancel(&self, py: Python<'_>, op: u64) -> PyResult<Option<u64>> {
        let conn = self.lock().cancel(OpId(op));
        self.wake(py)?;
        Ok(conn.map(|c| c.0))
    }

    /// Tests: fixes the clock at `ms` (the vectors' clock), or moves it on by `ms`.
    #[pyo3(signature = (*, fix=None, advance=0))]
    fn clock(&self, fix: Option<u64>, advance: u64) {
        self.fixed.store(fix.unwrap_or(u64::MAX), Ordering::Relaxed);
        self.skew.fetch_add(advance, Ordering::Relaxed);
    }

    fn __repr__(&self) -> String {
        format!("Machine({:?})", *self.lock())
    }
}

impl Machine {
    fn lock(&self) -> MutexGuard<'_, SyncMachine> {
        self.machine.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now(&self) -> Instant {
        let fixed = self.fixed.load(Ordering::Relaxed);
        let ms = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        let ms = if fixed == u64::MAX { ms } else { fixed };
        Instant::from_millis(ms.saturating_add(self.skew.load(Ordering::Relaxed)))
    }

    /// Seconds from now until `at`.
    fn left(&self, at: Instant) -> f64 {
        at.as_millis().saturating_sub(self.now().as_millis()) as f64 / 1000.0
    }

    /// Wakes the operations whose token wait ended: threads on the condition
    /// variable, an asyncio host through `on_woken`.
    fn wake(&self, py: Python<'_>) -> PyResult<()> {
        let woken = drain(&mut self.lock());
        if !woken.is_empty() {
            self.woken.notify_all();
            if let Some(f) = &self.on_woken {
                f.call1(py, (woken,))?;
            }
        }
        Ok(())
    }

    fn advance(&self, py: Python<'_>, op: u64, input: Input<'_>) -> PyResult<Py<PyAny>> {
        let blocking = self.on_woken.is_none();
        let step = py.detach(|| {
            let mut machine = self.lock();
            let mut input = input;
            loop {
                let step = machine.step(OpId(op), self.now(), input);
                if blocking && !drain(&mut machine).is_empty() {
                    self.woken.notify_all();
                }
                match step {
                    // The wait is on the machine's own lock: no wake can be missed.
                    Step::AwaitToken(until) if blocking => {
                        let left = Duration::from_secs_f64(self.left(until));
                        machine = match self.woken.wait_timeout(machine, left) {
                            Ok((guard, _)) => guard,
                            Err(p) => p.into_inner().0,
                        };
                        input = Input::Tick;
                    }
                    step => break step,
                }
            }
        });
        self.wake(py)?;
        self.convert(py, step)
    }

    fn convert(&self, py: Python<'_>, step: Step) -> PyResult<Py<PyAny>> {
        let tuple = match step {
            Step::Send(t) => {
                let request = Py::new(py, Request { inner: t.request })?;
                (SEND, t.conn.0, t.fresh, request).into_pyobject(py)?
            }
            Step::Read => (READ,).into_pyobject(py)?,
            Step::Close(conn) => (CLOSE, conn.0).into_pyobject(py)?,
            Step::Backoff(until) => {
                (BACKOFF, self.left(until), until.as_millis()).into_pyobject(py)?
            }
            Step::AwaitToken(until) => {
                (AWAIT, self.left(until), until.as_millis()).into_pyobject(py)?
            }
            Step::Page(r) => (PAGE, value(py, &r)?, r.type_name()).into_pyobject(py)?,
            Step::Done(r) => (DONE, value(py, &r)?, r.type_name()).into_pyobject(py)?,
            Step::Failed(e) => (FAILED, exception(py, &e)?).into_pyobject(py)?,
        };
        Ok(tuple.cast_into::<PyTuple>()?.into_any().unbind())
    }
}

fn drain(machine: &mut SyncMachine) -> Vec<u64> {
    std::iter::from_fn(|| machine.poll_woken().map(|o| o.0)).collect()
}

/// A record as Python values: a document as its model object (plain data for a
/// generic GET), a part of `get_all`'s document as bytes, user data as bytes,
/// SSH keys as a list of lines, `None` for `wait_until_ready`.
fn value<'py>(py: Python<'py>, record: &Record) -> PyResult<Bound<'py, PyAny>> {
    if record.type_name() == "json" {
        return Ok(PyBytes::new(py, record.body()).into_any());
    }
    let registry = crate::registry::Registry::get(py)?;
    let object =
        crate::convert::to_python(py, registry, record).map_err(|_| unrepresentable(py))?;
    if let Some(lifetime) = record.token_lifetime() {
        object.setattr("lifetime", lifetime)?;
    }
    Ok(object)
}

/// A request: HTTP/1.1 bytes (`wire`) for a socket, or parts (`method`, `url`,
/// `headers`, `body`) for a host's own HTTP stack. `repr` redacts the token.
#[pyclass(frozen, module = "vpc_imds._core")]
pub struct Request {
    inner: OwnedRequest,
}

#[pymethods]
impl Request {
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

    /// `[(name, value), ...]` (`Host` and `Content-Length` excluded).
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

    /// Seconds left for the whole exchange when the request was issued.
    #[getter]
    fn timeout(&self) -> f64 {
        self.inner.timeout().as_secs_f64()
    }

    /// The connect timeout in seconds.
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
        format!("{:?}", self.inner)
    }
}
