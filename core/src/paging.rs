//! Following a list's pages: `next.href` turned into a request on the configured
//! endpoint only.

use core::fmt::Write as _;

use heapless::String;

use crate::config::Config;
use crate::error::{Cause, Error, ErrorKind};
use crate::request::TARGET_CAPACITY;
use crate::text::Text;
use crate::validate;

/// Most pages followed in one list operation before the service is judged to loop.
pub const MAX_PAGES: u32 = 1000;

/// Turns a `next.href` into a request target on the configured endpoint.
///
/// Only the path and query are used, so a page link can never send the token to
/// another host. A path missing the `/metadata` prefix (as in one IBM doc example)
/// gets it back; a missing `version` is added.
pub(crate) fn next_target(
    href: Text<'_>,
    config: &Config,
    out: &mut String<TARGET_CAPACITY>,
) -> Result<(), Error> {
    let bad = || protocol("next.href is not a usable metadata link");
    let mut decoded = [0u8; TARGET_CAPACITY];
    let href = href.decode_into(&mut decoded).ok_or_else(bad)?;
    // Only a leading scheme and authority are dropped; "://" inside the query is data.
    let scheme_len = ["http://", "https://"]
        .iter()
        .find(|p| {
            href.get(..p.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(p))
        })
        .map(|p| p.len());
    let path_and_query = match scheme_len {
        Some(n) => {
            let after = &href[n..];
            let rest = &after[after.find(['/', '?']).ok_or_else(bad)?..];
            if !rest.starts_with('/') {
                return Err(bad());
            }
            rest
        }
        None if href.starts_with('/') => href,
        None => return Err(bad()),
    };
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let rel = path
        .strip_prefix("/metadata/v1/")
        .or_else(|| path.strip_prefix("/v1/"))
        .ok_or_else(bad)?;
    let mut has_version = false;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        has_version |= name == "version";
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
            || validate::query_value(value).is_err()
        {
            return Err(bad());
        }
    }
    validate::metadata_path(rel).map_err(|_| bad())?;
    out.clear();
    write!(out, "/metadata/v1/{rel}").map_err(|_| bad())?;
    let mut sep = '?';
    if !has_version {
        write!(out, "?version={}", config.version()).map_err(|_| bad())?;
        sep = '&';
    }
    if !query.is_empty() {
        write!(out, "{sep}{query}").map_err(|_| bad())?;
    }
    Ok(())
}

fn protocol(what: &'static str) -> Error {
    Error::new(ErrorKind::BadResponse, Cause::Protocol(what))
}
