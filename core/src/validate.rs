//! Checks on caller input that ends up in a request line, a header or a body.
//!
//! Anything that could change the request's meaning (CR/LF, `/`, `?`, `#`, `%`,
//! dot segments, control characters) is refused with an error, never escaped into
//! something the caller did not mean.

use crate::error::InputError;

/// Longest resource id accepted.
pub const MAX_ID_LEN: usize = 128;
/// Longest trusted profile id, CRN or name accepted.
pub const MAX_PROFILE_LEN: usize = 512;
/// Longest metadata path (with query) accepted for a generic GET.
pub const MAX_PATH_LEN: usize = 512;

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// A resource id for a `/{id}` path segment: 1..=128 of `A-Z a-z 0-9 - . _ ~`,
/// and not `.` or `..`.
pub fn resource_id(id: &str) -> Result<&str, InputError> {
    const WHAT: &str = "id";
    if id.is_empty() {
        return Err(InputError::Empty { what: WHAT });
    }
    if id.len() > MAX_ID_LEN {
        return Err(InputError::TooLong {
            what: WHAT,
            max: MAX_ID_LEN,
        });
    }
    if !id.bytes().all(unreserved) || id == "." || id == ".." {
        return Err(InputError::ForbiddenCharacter { what: WHAT });
    }
    Ok(id)
}

/// A trusted profile id, CRN or name for a JSON body: 1..=512 printable characters.
pub fn profile_value<'a>(value: &'a str, what: &'static str) -> Result<&'a str, InputError> {
    if value.is_empty() {
        return Err(InputError::Empty { what });
    }
    if value.len() > MAX_PROFILE_LEN {
        return Err(InputError::TooLong {
            what,
            max: MAX_PROFILE_LEN,
        });
    }
    if value.chars().any(char::is_control) {
        return Err(InputError::ForbiddenCharacter { what });
    }
    Ok(value)
}

/// Longest identity token `nonce` accepted, in bytes.
pub const MAX_NONCE_LEN: usize = 256;

/// An identity token's `nonce`: 1..=[`MAX_NONCE_LEN`] bytes of visible ASCII (it is
/// echoed into a JWT claim a relying party compares byte for byte).
///
/// ```
/// use vpc_imds_core::validate::nonce;
/// assert!(nonce("a1b2-c3").is_ok());
/// assert!(nonce("").is_err());
/// assert!(nonce("two words").is_err());
/// assert!(nonce(&"n".repeat(257)).is_err());
/// ```
pub fn nonce(value: &str) -> Result<&str, InputError> {
    const WHAT: &str = "nonce";
    if value.is_empty() {
        return Err(InputError::Empty { what: WHAT });
    }
    if value.len() > MAX_NONCE_LEN {
        return Err(InputError::TooLong {
            what: WHAT,
            max: MAX_NONCE_LEN,
        });
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(InputError::ForbiddenCharacter { what: WHAT });
    }
    Ok(value)
}

/// A path under `/metadata/v1/`, as given to a generic GET, split into the path
/// below the prefix and an optional query.
///
/// Accepts `instance`, `/metadata/v1/keys`, `keys?limit=1`; refuses dot segments,
/// empty segments, fragments, percent signs in the path, control characters, and a
/// `version` parameter (the session sets it).
pub fn metadata_path(path: &str) -> Result<(&str, Option<&str>), InputError> {
    const WHAT: &str = "path";
    if path.len() > MAX_PATH_LEN {
        return Err(InputError::TooLong {
            what: WHAT,
            max: MAX_PATH_LEN,
        });
    }
    let rel = path
        .strip_prefix("/metadata/v1/")
        .or_else(|| path.strip_prefix("metadata/v1/"))
        .or_else(|| path.strip_prefix('/'))
        .unwrap_or(path);
    let (rel, query) = match rel.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rel, None),
    };
    let rel = rel.strip_suffix('/').unwrap_or(rel);
    if rel.is_empty() {
        return Err(InputError::Empty { what: WHAT });
    }
    for seg in rel.split('/') {
        if seg.is_empty() || seg == "." || seg == ".." || !seg.bytes().all(unreserved) {
            return Err(InputError::ForbiddenCharacter { what: WHAT });
        }
    }
    if let Some(q) = query {
        query_string(q)?;
    }
    Ok((rel, query.filter(|q| !q.is_empty())))
}

/// A query string of `name=value` pairs joined by `&`, without `version`.
pub fn query_string(q: &str) -> Result<&str, InputError> {
    const WHAT: &str = "query";
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if name.is_empty() || !name.bytes().all(unreserved) {
            return Err(InputError::ForbiddenCharacter { what: WHAT });
        }
        if name == "version" {
            return Err(InputError::Malformed {
                what: WHAT,
                expected: "no version parameter (the client sets it)",
            });
        }
        percent_encoded(value).map_err(|_| InputError::ForbiddenCharacter { what: WHAT })?;
    }
    Ok(q)
}

/// A query value made of unreserved characters and well-formed `%XX` escapes.
pub(crate) fn percent_encoded(s: &str) -> Result<(), ()> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let ok = b
                    .get(i + 1..i + 3)
                    .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
                if !ok {
                    return Err(());
                }
                i += 3;
            }
            c if unreserved(c)
                || matches!(
                    c,
                    b'+' | b':' | b',' | b'!' | b'*' | b'\'' | b'(' | b')' | b'@' | b'$' | b';'
                ) =>
            {
                i += 1
            }
            _ => return Err(()),
        }
    }
    Ok(())
}

/// A query value from the service (e.g. an opaque `start` token): what
/// [`percent_encoded`] allows plus `=`, `/`, `?` and `:`, which RFC 3986 permits there.
pub(crate) fn query_value(s: &str) -> Result<(), ()> {
    s.split(['=', '/', '?', ':']).try_for_each(percent_encoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(resource_id("0717-4c3d8a2e-1b2c-4d5e-8f90-1234567890ab").is_ok());
        for bad in [
            "", ".", "..", "a/b", "a?b", "a#b", "a b", "a\r\nb", "a%2Fb", "ü",
        ] {
            assert!(resource_id(bad).is_err(), "{bad:?}");
        }
        assert!(resource_id(&"a".repeat(129)).is_err());
    }

    #[test]
    fn paths() {
        assert_eq!(metadata_path("instance"), Ok(("instance", None)));
        assert_eq!(
            metadata_path("/metadata/v1/keys?limit=1"),
            Ok(("keys", Some("limit=1")))
        );
        assert_eq!(
            metadata_path("instance/network_interfaces/"),
            Ok(("instance/network_interfaces", None))
        );
        for bad in [
            "",
            "/",
            "../x",
            "a//b",
            "a/./b",
            "a#f",
            "a b",
            "a\nb",
            "keys?version=2020-01-01",
            "keys?limit=1\r\nX: y",
            "keys?a=%zz",
            "a%2e%2e",
        ] {
            assert!(metadata_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn profiles() {
        assert!(profile_value(
            "crn:v1:bluemix:public:iam-identity::a/123::profile:Profile-1",
            "crn"
        )
        .is_ok());
        assert!(profile_value("x\ny", "id").is_err());
        assert!(profile_value("", "id").is_err());
    }
}
