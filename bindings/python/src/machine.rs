//! `Machine`: the driver's client machine for Python hosts, and the `Request` it
//! hands out. The machine decides everything; this is glue: argument conversion
//! and steps as tuples of Python values.
//!
//! The driver's [`SharedMachine`] holds the lock and the clock. Blocking hosts
//! (threads) step their own operation each, and a token wait blocks inside it
//! without the GIL. Asyncio hosts (`on_woken`) get the token wait back as a step
//! and are told which operations the machine woke.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyInt, PyList, PyString, PyTuple};
use vpc_imds_driver::core::error::InputError;
use vpc_imds_driver::{
    DriverConfig, Instant, MachineInput as Input, MachineStep as Step, NamedArgs, OpId,
    OwnedRequest, Record, Settings, SharedMachine, Value,
};
// Step kinds, the first item of every step tuple: the driver's numbers.
use vpc_imds_driver::step_record::kind::{AWAIT, BACKOFF, CLOSE, DONE, FAILED, PAGE, READ, SEND};

use crate::errors::{exception, input_error, to_pyerr, unrepresentable};

/// Sets every keyword of `kwargs` on `target` by name (`NamedArgs::set` or
/// `Settings::set`): the driver names, types and checks each one.
fn set_all<T>(
    py: Python<'_>,
    target: &mut T,
    set: Setter<T>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    for (key, v) in kwargs.into_iter().flatten() {
        set_one(py, target, set, &key.cast_into::<PyString>()?.to_cow()?, &v)?;
    }
    Ok(())
}

type Setter<T> = fn(&mut T, &str, Value<'_>) -> Result<(), InputError>;

/// Sets `name` to a Python value: `None`, `bool`, `int`, `str`, or a float.
fn set_one<T>(
    py: Python<'_>,
    target: &mut T,
    set: Setter<T>,
    name: &str,
    v: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let text;
    let value = if v.is_none() {
        Value::Null
    } else if let Ok(b) = v.cast::<PyBool>() {
        Value::Bool(b.is_true())
    } else if let Ok(n) = v.cast::<PyInt>() {
        // Beyond 64 bits: saturated, so the driver reports it out of range.
        Value::Int(
            n.extract()
                .unwrap_or(if n.lt(0)? { i64::MIN } else { i64::MAX }),
        )
    } else if let Ok(s) = v.cast::<PyString>() {
        // A lone surrogate cannot be UTF-8.
        text = s.to_cow().ok();
        text.as_deref().map_or(Value::NotUnicode, Value::Text)
    } else if let Ok(f) = v.extract::<f64>() {
        // A float, or anything with `__float__` (`Decimal`, NumPy scalars).
        Value::Float(f)
    } else {
        Value::Other
    };
    set(target, name, value).map_err(|e| input_error(py, e))
}

/// The client machine (see the module docs).
#[pyclass(frozen, module = "vpc_imds._core")]
pub struct Machine {
    machine: SharedMachine,
    config: DriverConfig,
    on_woken: Option<Py<PyAny>>,
}

#[pymethods]
impl Machine {
    /// Settings as keywords, by their names in `api/vpc-imds.json`, checked by the
    /// driver; `env_endpoint` is `VPC_IMDS_ENDPOINT` as the host read it.
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
        let mut s = Settings::default();
        if let Some(endpoint) = endpoint {
            set_one(py, &mut s, Settings::set, "endpoint", endpoint)?;
        }
        set_all(py, &mut s, Settings::set, settings)?;
        let config = s.build().map_err(|e| input_error(py, e))?;
        Ok(Machine {
            machine: SharedMachine::new(config.clone(), seed),
            config,
            on_woken,
        })
    }

    /// The `on_woken` callback for the garbage collector: an asyncio client passes its
    /// own bound method, a cycle (client, machine, method) only the collector can free.
    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        if let Some(on_woken) = &self.on_woken {
            visit.call(on_woken)?;
        }
        Ok(())
    }

    /// `(scheme, host, port)` to connect to (an IPv6 host without brackets).
    #[getter]
    fn endpoint(&self) -> (&'static str, String, u16) {
        let e = self.config.endpoint();
        (e.scheme().as_str(), e.bare_host().to_owned(), e.port())
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
        self.machine.operations()
    }

    /// Starts operation `op` (any name in `api/vpc-imds.json`'s machine operations,
    /// `wait_until_ready` included) with its arguments as keywords and returns its
    /// id; bad input raises `InvalidArgument` with nothing sent.
    #[pyo3(signature = (op, **args))]
    fn start(&self, py: Python<'_>, op: &str, args: Option<&Bound<'_, PyDict>>) -> PyResult<u64> {
        let mut named = NamedArgs::default();
        set_all(py, &mut named, NamedArgs::set, args)?;
        let started = self.machine.start_named(op, &named);
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
    /// body, and the `Retry-After` and `Transfer-Encoding` fields' values (each
    /// field's lines joined by ", ").
    #[pyo3(signature = (op, status, body, retry_after=None, transfer_encoding=None))]
    fn respond(
        &self,
        py: Python<'_>,
        op: u64,
        status: &Bound<'_, PyInt>,
        body: &[u8],
        retry_after: Option<&str>,
        transfer_encoding: Option<&str>,
    ) -> PyResult<Py<PyAny>> {
        // Any integer, however large: one out of range stays out of range, for the
        // core to refuse.
        let status = status.extract::<i64>().unwrap_or(i64::MAX);
        let status = status.clamp(0, i64::from(u16::MAX)) as u16;
        let input = Input::response(status, retry_after, transfer_encoding, body);
        self.advance(py, op, input)
    }

    /// Reports that `op`'s request failed in transport (`refused`, `unreachable`,
    /// `connect_timeout`, `response_timeout`, `connection_lost` or `tls`).
    fn fail(&self, py: Python<'_>, op: u64, error: &str) -> PyResult<Py<PyAny>> {
        self.advance(py, op, Input::failed(error))
    }

    /// Abandons `op`; returns the connection to close, if it had a request in flight.
    fn cancel(&self, py: Python<'_>, op: u64) -> PyResult<Option<u64>> {
        let conn = self.machine.cancel(OpId(op));
        self.wake(py)?;
        Ok(conn.map(|c| c.0))
    }

    /// The idle connections to close for the client's `close`, forgotten by the
    /// machine (one an operation is using is not among them).
    fn close_idle(&self) -> Vec<u64> {
        self.machine.close_idle().into_iter().map(|c| c.0).collect()
    }

    /// Tests: fixes the clock at `ms` (the vectors' clock), or moves it on by `ms`.
    #[pyo3(signature = (*, fix=None, advance=0))]
    fn clock(&self, fix: Option<u64>, advance: u64) {
        self.machine.set_clock(fix, advance);
    }

    fn __repr__(&self) -> String {
        format!("Machine({:?})", self.machine)
    }
}

impl Machine {
    /// Seconds from now until `at`.
    fn left(&self, at: Instant) -> f64 {
        self.machine.left(at).as_secs_f64()
    }

    /// Tells an asyncio host which operations' token waits ended.
    fn wake(&self, py: Python<'_>) -> PyResult<()> {
        if let Some(f) = &self.on_woken {
            let woken: Vec<u64> = self.machine.take_woken().iter().map(|o| o.0).collect();
            if !woken.is_empty() {
                f.call1(py, (woken,))?;
            }
        }
        Ok(())
    }

    fn advance(&self, py: Python<'_>, op: u64, input: Input<'_>) -> PyResult<Py<PyAny>> {
        let (m, op) = (&self.machine, OpId(op));
        let step = match self.on_woken {
            None => self.step_blocking(py, op, input)?,
            Some(_) => py.detach(|| m.step(op, input)),
        };
        self.wake(py)?;
        self.convert(py, step)
    }

    /// A thread's step: a token wait blocks here, without the GIL, until the machine
    /// wakes `op` or the wait ends; in slices, so that a signal (Ctrl-C) is raised
    /// within one (the caller's `finally` then cancels the operation).
    fn step_blocking(&self, py: Python<'_>, op: OpId, input: Input<'_>) -> PyResult<Step> {
        const SLICE: core::time::Duration = core::time::Duration::from_millis(100);
        let m = &self.machine;
        py.detach(|| {
            // No check while the interpreter finalizes (attaching would panic then).
            let check = || Python::try_attach(|py| py.check_signals()).unwrap_or(Ok(()));
            m.step_blocking_with(op, input, SLICE, check)
        })
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

/// A record as Python values: a document as its model object (plain data for a
/// generic GET), a part of `get_all`'s document as bytes, user data as bytes,
/// SSH keys as a list of lines, `None` for `wait_until_ready`.
fn value<'py>(py: Python<'py>, record: &Record) -> PyResult<Bound<'py, PyAny>> {
    match record.type_name() {
        "json" => return Ok(PyBytes::new(py, record.body()).into_any()),
        "raw" => return crate::loads(py, record.body()),
        _ => {}
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
