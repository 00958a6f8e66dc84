//! `vpc_imds._core`: the Rust half of the `vpc-imds` Python package.
//!
//! A thin pyo3 layer over `vpc-imds-driver` (the host loop every binding shares)
//! and `vpc-imds-core`: validated settings, the shared token cache and one
//! operation's run ([`run`]), the conversion of replies into the package's Python
//! classes ([`convert`], [`registry`]) and of errors into exceptions ([`errors`]).
//! Python (`python/vpc_imds/`) owns sockets, asyncio, sleeping and the clock.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use pyo3::prelude::*;
use vpc_imds_driver::core::error::TransportError;
use vpc_imds_driver::ErrorKind;

mod convert;
mod errors;
mod registry;
mod run;

/// Parses a `Retry-After` header value (delta-seconds only, as the core does).
#[pyfunction]
fn parse_retry_after(value: &str) -> Option<u32> {
    vpc_imds_driver::core::response::parse_retry_after(value.as_bytes())
}

/// `(refresh_after_ms, expire_after_ms)` the core's token policy gives a token
/// living `lifetime` seconds.
#[pyfunction]
fn token_schedule(lifetime: u32) -> (u64, u64) {
    let s = vpc_imds_driver::core::token::Schedule::for_lifetime(lifetime);
    let ms = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    (ms(s.refresh_after), ms(s.expire_after))
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<run::Config>()?;
    m.add_class::<run::Tokens>()?;
    m.add_class::<run::Run>()?;
    m.add_class::<run::Request>()?;
    m.add_class::<run::Send>()?;
    m.add_class::<run::Read>()?;
    m.add_class::<run::Wait>()?;
    m.add_class::<run::WaitForToken>()?;
    m.add_class::<run::Page>()?;
    m.add_class::<run::Done>()?;
    m.add_class::<run::Failed>()?;
    m.add_class::<run::Stale>()?;
    m.add_class::<run::Idle>()?;
    m.add_function(wrap_pyfunction!(registry::_register, m)?)?;
    m.add_function(wrap_pyfunction!(run::check_profile, m)?)?;
    m.add_function(wrap_pyfunction!(run::merge_pages, m)?)?;
    m.add_function(wrap_pyfunction!(run::gunzip, m)?)?;
    m.add_function(wrap_pyfunction!(run::mime_parts, m)?)?;
    m.add_function(wrap_pyfunction!(parse_retry_after, m)?)?;
    m.add_function(wrap_pyfunction!(token_schedule, m)?)?;
    m.add(
        "DEFAULT_MAX_RESPONSE",
        vpc_imds_driver::settings::DEFAULT_RESPONSE_BYTES,
    )?;
    let kinds: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
    m.add("ERROR_KINDS", kinds)?;
    let names: Vec<&str> = TransportError::ALL.iter().map(|t| t.as_str()).collect();
    m.add("TRANSPORT_ERRORS", names)?;
    m.add(
        "DEFAULT_ENDPOINT",
        vpc_imds_driver::core::Endpoint::plain().to_string(),
    )?;
    m.add(
        "SECURE_ENDPOINT",
        vpc_imds_driver::core::Endpoint::secure().to_string(),
    )?;
    m.add(
        "DEFAULT_VERSION",
        vpc_imds_driver::core::ApiVersion::DEFAULT.to_string(),
    )?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
