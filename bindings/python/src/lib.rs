//! `vpc_imds._core`: the Rust half of the `vpc-imds` Python package.
//!
//! Glue over `vpc-imds-driver`'s client machine ([`machine`]): the conversion of
//! its records into the package's Python classes ([`convert`], [`registry`]) and of
//! its errors into exceptions ([`errors`]). Python (`python/vpc_imds/`) owns
//! sockets, asyncio and sleeping; the machine decides everything else.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyBytes;
use vpc_imds_driver::core::error::{ErrorKind, TransportError};
use vpc_imds_driver::core::Endpoint;

mod convert;
mod errors;
mod machine;
mod registry;

use errors::{to_pyerr, unrepresentable, user_data_error};

static JSON_LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// A JSON document the machine handed over (a generic GET's body, `get_all`'s
/// merged parts) as Python data. The machine has checked that every host's parser
/// reads it alike, so Python's own `json.loads`, the fastest it has, reads it.
#[pyfunction]
pub(crate) fn loads<'py>(py: Python<'py>, json: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let json_loads = JSON_LOADS.get_or_try_init(py, || {
        Ok::<_, PyErr>(py.import("json")?.getattr("loads")?.unbind())
    })?;
    json_loads
        .bind(py)
        .call1((PyBytes::new(py, json),))
        .map_err(|_| unrepresentable(py))
}

/// Merges a list's pages into one document as `get_all` does (the vectors' cases).
#[pyfunction]
fn merge_pages(py: Python<'_>, pages: Vec<Vec<u8>>) -> PyResult<Bound<'_, PyAny>> {
    match vpc_imds_driver::merge_pages(pages.iter().map(Vec::as_slice)) {
        Ok(merged) => loads(py, &merged),
        Err(e) => Err(to_pyerr(py, &e.into())),
    }
}

/// Decompresses gzip user data, at most `limit` bytes (the driver's limit, 16 MiB,
/// by default); `BadResponse` says why not.
#[pyfunction]
#[pyo3(signature = (data, limit=vpc_imds_driver::mime::DEFAULT_GUNZIP_LIMIT))]
fn gunzip<'py>(py: Python<'py>, data: &[u8], limit: usize) -> PyResult<Bound<'py, PyBytes>> {
    let out = py.detach(|| vpc_imds_driver::gunzip(data, limit));
    let out = out.map_err(|e| user_data_error(py, &e))?;
    Ok(PyBytes::new(py, &out))
}

/// The parts of user data (the driver's `user_data_parts`: gzip removed, MIME leaves
/// or the whole data as one part) as `(content_type, filename, charset, payload)`;
/// `BadResponse` says why not.
#[pyfunction]
#[allow(clippy::type_complexity)]
fn user_data_parts(
    py: Python<'_>,
    data: &[u8],
) -> PyResult<Vec<(Option<String>, Option<String>, Option<String>, Vec<u8>)>> {
    let parts = py.detach(|| vpc_imds_driver::user_data_parts(data));
    let parts = parts.map_err(|e| user_data_error(py, &e))?;
    Ok(parts
        .into_iter()
        .map(|p| (p.content_type, p.filename, p.charset, p.payload))
        .collect())
}

/// The transport failure a socket error names (the core's table): `name` is the
/// errno's name (`ECONNREFUSED`), `connected` whether the connection was made.
#[pyfunction]
fn transport_failure(name: &str, connected: bool) -> &'static str {
    TransportError::from_errno(name, connected).as_str()
}

/// Whether user data (gzip removed) is a well-formed MIME multi-part document.
#[pyfunction]
fn is_multipart(py: Python<'_>, data: &[u8]) -> bool {
    py.detach(|| vpc_imds_driver::is_multipart(data))
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<machine::Machine>()?;
    m.add_class::<machine::Request>()?;
    m.add_function(wrap_pyfunction!(registry::_register, m)?)?;
    m.add_function(wrap_pyfunction!(loads, m)?)?;
    m.add_function(wrap_pyfunction!(merge_pages, m)?)?;
    m.add_function(wrap_pyfunction!(gunzip, m)?)?;
    m.add_function(wrap_pyfunction!(user_data_parts, m)?)?;
    m.add_function(wrap_pyfunction!(is_multipart, m)?)?;
    m.add_function(wrap_pyfunction!(transport_failure, m)?)?;
    m.add("ERROR_KINDS", ErrorKind::ALL.map(ErrorKind::as_str))?;
    let transport_errors = TransportError::ALL.map(TransportError::as_str);
    m.add("TRANSPORT_ERRORS", transport_errors)?;
    m.add("DEFAULT_ENDPOINT", Endpoint::plain().to_string())?;
    m.add("SECURE_ENDPOINT", Endpoint::secure().to_string())?;
    m.add("ENDPOINT_ENV", vpc_imds_driver::ENDPOINT_ENV)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
