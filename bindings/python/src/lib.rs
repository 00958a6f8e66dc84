//! `vpc_imds._core`: the Rust half of the `vpc-imds` Python package.
//!
//! A thin pyo3 layer over `vpc-imds-core`: the sans-IO session ([`session`]), the
//! shared token cache ([`tokens`]), conversion of the core's models into the
//! package's Python classes ([`convert`], [`registry`]) and of its errors into
//! exceptions ([`errors`]). Python (`python/vpc_imds/`) owns sockets, asyncio,
//! sleeping and the clock; every protocol decision is the core's.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use pyo3::prelude::*;
use vpc_imds_core::error::TransportError;
use vpc_imds_core::ErrorKind;

mod convert;
mod errors;
mod registry;
mod session;
mod tokens;

/// Parses a `Retry-After` header value (delta-seconds only, as the core does).
#[pyfunction]
fn parse_retry_after(value: &str) -> Option<u32> {
    vpc_imds_core::response::parse_retry_after(value.as_bytes())
}

/// `(refresh_after_ms, expire_after_ms)` the core's token policy gives a token
/// living `lifetime` seconds.
#[pyfunction]
fn token_schedule(lifetime: u32) -> (u64, u64) {
    let s = vpc_imds_core::token::Schedule::for_lifetime(lifetime);
    let ms = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    (ms(s.refresh_after), ms(s.expire_after))
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<session::Session>()?;
    m.add_class::<session::Request>()?;
    m.add_class::<tokens::TokenStore>()?;
    m.add_function(wrap_pyfunction!(registry::_register, m)?)?;
    m.add_function(wrap_pyfunction!(parse_retry_after, m)?)?;
    m.add_function(wrap_pyfunction!(token_schedule, m)?)?;
    m.add("ACTION_SEND", session::ACTION_SEND)?;
    m.add("ACTION_WAIT", session::ACTION_WAIT)?;
    m.add("ACTION_FAILED", session::ACTION_FAILED)?;
    m.add("ACTION_IDLE", session::ACTION_IDLE)?;
    m.add("EVENT_PENDING", session::EVENT_PENDING)?;
    m.add("EVENT_PAGE", session::EVENT_PAGE)?;
    m.add("EVENT_DONE", session::EVENT_DONE)?;
    m.add("EVENT_FAILED", session::EVENT_FAILED)?;
    m.add("PROCEED", tokens::PROCEED)?;
    m.add("PROCEED_LEASED", tokens::PROCEED_LEASED)?;
    m.add("WAIT", tokens::WAIT)?;
    m.add("USE", tokens::USE)?;
    m.add("REFRESH", tokens::REFRESH)?;
    m.add("DEFAULT_MAX_RESPONSE", session::DEFAULT_MAX_RESPONSE)?;
    let kinds: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
    m.add("ERROR_KINDS", kinds)?;
    let transport = [
        TransportError::Refused,
        TransportError::Unreachable,
        TransportError::ConnectTimeout,
        TransportError::ResponseTimeout,
        TransportError::ConnectionLost,
        TransportError::Tls,
    ];
    let names: Vec<&str> = transport.iter().map(|t| t.as_str()).collect();
    m.add("TRANSPORT_ERRORS", names)?;
    m.add(
        "DEFAULT_ENDPOINT",
        vpc_imds_core::Endpoint::plain().to_string(),
    )?;
    m.add(
        "SECURE_ENDPOINT",
        vpc_imds_core::Endpoint::secure().to_string(),
    )?;
    m.add(
        "DEFAULT_VERSION",
        vpc_imds_core::ApiVersion::DEFAULT.to_string(),
    )?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
