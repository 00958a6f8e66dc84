//! `VPC_IMDS_ENDPOINT` that is not UTF-8. Its own test binary: it sets the variable
//! for the whole process, and nothing else runs here. Building a client sends
//! nothing, so no request can leave even if the value were read as unset.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use vpc_imds::{Client, ErrorKind, ENDPOINT_ENV};

#[test]
fn an_endpoint_variable_that_is_not_utf8_is_refused_not_read_as_unset() {
    // SAFETY: the only test of this binary; no other thread reads the environment.
    unsafe { std::env::set_var(ENDPOINT_ENV, OsStr::from_bytes(b"http://127.0.0.1:\xff9")) };
    let err = Client::builder()
        .build()
        .expect_err("a mangled endpoint was taken for none (the default endpoint)");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains(ENDPOINT_ENV), "{err}");
    // Unset, the default endpoint builds (and sends nothing).
    unsafe { std::env::remove_var(ENDPOINT_ENV) };
    assert!(Client::builder().build().is_ok());
}
