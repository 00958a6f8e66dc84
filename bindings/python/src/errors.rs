//! Core errors as Python exceptions: the class is the one registered for the
//! error's kind; its message is the core's `Display` (which never holds a token).

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyString;
use vpc_imds_driver::core::error::{Cause, Error, InputError};

use crate::registry::Registry;

fn non_empty<'py>(py: Python<'py>, s: &str) -> Bound<'py, PyAny> {
    if s.is_empty() {
        py.None().into_bound(py)
    } else {
        PyString::new(py, s).into_any()
    }
}

/// The exception object for `err`.
pub(crate) fn exception<'py>(py: Python<'py>, err: &Error) -> PyResult<Bound<'py, PyAny>> {
    let registry = Registry::get(py)?;
    let Some(class) = registry.error(py, err.kind()) else {
        return Ok(PyRuntimeError::new_err(err.to_string())
            .into_value(py)
            .into_bound(py)
            .into_any());
    };
    let exc = class.call1((err.to_string(),))?;
    exc.setattr("kind", err.kind().as_str())?;
    exc.setattr("cause", err.cause().as_str())?;
    let none = || py.None().into_bound(py);
    let transport = match err.cause() {
        Cause::Transport(t) => PyString::new(py, t.as_str()).into_any(),
        _ => none(),
    };
    exc.setattr("transport", transport)?;
    match err.api() {
        Some(api) => {
            exc.setattr("status", api.status)?;
            exc.setattr("code", non_empty(py, &api.code))?;
            exc.setattr("message", non_empty(py, &api.message))?;
            exc.setattr("trace", non_empty(py, &api.trace))?;
            exc.setattr("target", non_empty(py, &api.target))?;
            exc.setattr("retry_after", api.retry_after)?;
        }
        None => {
            for name in [
                "status",
                "code",
                "message",
                "trace",
                "target",
                "retry_after",
            ] {
                exc.setattr(name, none())?;
            }
        }
    }
    Ok(exc)
}

/// `err` as a raisable `PyErr`.
pub(crate) fn to_pyerr(py: Python<'_>, err: &Error) -> PyErr {
    match exception(py, err) {
        Ok(exc) => PyErr::from_value(exc),
        Err(e) => e,
    }
}

/// An invalid-input error (raised before anything is sent).
pub(crate) fn input_error(py: Python<'_>, e: InputError) -> PyErr {
    to_pyerr(py, &Error::from(e))
}
