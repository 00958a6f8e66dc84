//! Errors as Python exceptions: the class registered for the error's kind, its
//! attributes the driver's `ErrorRecord` (the message never holds a token).

use pyo3::prelude::*;
use pyo3::types::PyDict;
use vpc_imds_driver::core::error::{Cause, Error, ErrorKind, InputError};
use vpc_imds_driver::{ErrorRecord, UserDataError};

use crate::registry::Registry;

/// The exception object for `err`.
pub(crate) fn exception<'py>(py: Python<'py>, err: &Error) -> PyResult<Bound<'py, PyAny>> {
    record_exception(py, err.kind(), &ErrorRecord::from(err))
}

/// User data that cannot be decompressed or split: the driver's `bad_response`
/// record, as every host reports it.
pub(crate) fn user_data_error(py: Python<'_>, e: &UserDataError) -> PyErr {
    let exc = record_exception(py, ErrorKind::BadResponse, &ErrorRecord::from(e));
    exc.map_or_else(|e| e, PyErr::from_value)
}

/// The exception object of the class registered for `kind`, its attributes `record`.
fn record_exception<'py>(
    py: Python<'py>,
    kind: ErrorKind,
    record: &ErrorRecord,
) -> PyResult<Bound<'py, PyAny>> {
    let registry = Registry::get(py)?;
    let exc = registry.error(py, kind).call1((&record.message,))?;
    let fields = crate::convert::to_python(py, registry, record)?.cast_into::<PyDict>()?;
    // The package's `message` is IBM's own (errors[0].message); str(exc) is the line.
    fields.set_item("message", &record.api_message)?;
    exc.getattr("__dict__")?.call_method1("update", (fields,))?;
    Ok(exc)
}

/// `err` as a raisable `PyErr`.
pub(crate) fn to_pyerr(py: Python<'_>, err: &Error) -> PyErr {
    exception(py, err).map_or_else(|e| e, PyErr::from_value)
}

/// An invalid-input error (raised before anything is sent).
pub(crate) fn input_error(py: Python<'_>, e: InputError) -> PyErr {
    to_pyerr(py, &Error::from(e))
}

/// A document that Python values cannot hold (a number beyond `f64`).
pub(crate) fn unrepresentable(py: Python<'_>) -> PyErr {
    let what = "the JSON document holds a value that cannot be represented";
    to_pyerr(
        py,
        &Error::new(ErrorKind::BadResponse, Cause::Protocol(what)),
    )
}
