//! Where the service is, which API version to speak, and how long to wait.

use core::fmt;
use core::time::Duration;

use heapless::String;

use crate::error::InputError;
use crate::retry::RetryPolicy;

/// `http` or `https`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP (the instance's `metadata_service.protocol` is `http`).
    Http,
    /// HTTPS (the instance's `metadata_service.protocol` is `https`).
    Https,
}

impl Scheme {
    /// `"http"` or `"https"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    /// 80 or 443.
    pub const fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// Longest host name or address kept (DNS names are at most 253 bytes).
pub const HOST_CAPACITY: usize = 256;

/// The service's base URL: scheme, host and port. Never a proxy.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    scheme: Scheme,
    host: String<HOST_CAPACITY>,
    port: u16,
}

/// The link-local address of the service.
pub const DEFAULT_HOST: &str = "169.254.169.254";
/// The host name of the service for secure (HTTPS) access.
pub const SECURE_HOST: &str = "api.metadata.cloud.ibm.com";

impl Endpoint {
    /// `http://169.254.169.254`, the default.
    pub fn plain() -> Self {
        Endpoint {
            scheme: Scheme::Http,
            host: host_string(DEFAULT_HOST),
            port: 80,
        }
    }

    /// `https://api.metadata.cloud.ibm.com`, for instances whose protocol is `https`.
    pub fn secure() -> Self {
        Endpoint {
            scheme: Scheme::Https,
            host: host_string(SECURE_HOST),
            port: 443,
        }
    }

    /// Parses `scheme://host[:port][/]`; the host may be a name, IPv4, or `[IPv6]`.
    ///
    /// ```
    /// use vpc_imds_core::config::{Endpoint, Scheme};
    /// let e = Endpoint::parse("http://127.0.0.1:8080/").unwrap();
    /// assert_eq!((e.scheme(), e.host(), e.port()), (Scheme::Http, "127.0.0.1", 8080));
    /// assert!(Endpoint::parse("http://user@host").is_err());
    /// ```
    pub fn parse(url: &str) -> Result<Self, InputError> {
        const WHAT: &str = "endpoint";
        const FORM: &str = "http://HOST[:PORT] or https://HOST[:PORT], PORT 1-65535, no path";
        let bad = InputError::Malformed {
            what: WHAT,
            expected: FORM,
        };
        let (scheme, rest) = if let Some(rest) = strip_prefix_ci(url, "http://") {
            (Scheme::Http, rest)
        } else if let Some(rest) = strip_prefix_ci(url, "https://") {
            (Scheme::Https, rest)
        } else {
            return Err(bad);
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        // A path, query or fragment is the whole form's mistake, not the port's.
        if authority.bytes().any(|b| matches!(b, b'/' | b'?' | b'#')) {
            return Err(bad);
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (addr, after) = v6.split_once(']').ok_or(bad)?;
            if addr.is_empty()
                || !addr
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
            {
                return Err(bad);
            }
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or(bad)?),
            };
            (&authority[..addr.len() + 2], port)
        } else {
            match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(InputError::Empty { what: WHAT });
        }
        let plain_host = host.starts_with('[')
            || host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if !plain_host {
            return Err(InputError::ForbiddenCharacter { what: WHAT });
        }
        let port = match port {
            None => scheme.default_port(),
            Some(p) => match p.parse::<u16>() {
                // Digits only, no sign or leading zero: one spelling per port.
                Ok(n) if n != 0 && !p.starts_with(['0', '+']) => n,
                _ => return Err(bad),
            },
        };
        let mut h = String::new();
        h.push_str(host).map_err(|_| InputError::TooLong {
            what: WHAT,
            max: HOST_CAPACITY,
        })?;
        Ok(Endpoint {
            scheme,
            host: h,
            port,
        })
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Host name or address; IPv6 addresses keep their brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The host as a socket or a TLS server name takes it: an IPv6 address
    /// without its brackets.
    pub fn bare_host(&self) -> &str {
        let host = self.host.as_str();
        let inner = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
        inner.unwrap_or(host)
    }

    /// TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the port is the scheme's default (then `Host` omits it).
    pub fn has_default_port(&self) -> bool {
        self.port == self.scheme.default_port()
    }

    /// Writes the `Host` header value: host, and `:port` unless it is the default.
    pub fn write_authority<W: fmt::Write>(&self, w: &mut W) -> fmt::Result {
        w.write_str(&self.host)?;
        if !self.has_default_port() {
            write!(w, ":{}", self.port)?;
        }
        Ok(())
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

fn host_string(s: &str) -> String<HOST_CAPACITY> {
    let mut h = String::new();
    // Both constants are far shorter than the capacity.
    let _ = h.push_str(s);
    h
}

impl Default for Endpoint {
    fn default() -> Self {
        Endpoint::plain()
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme.as_str())?;
        self.write_authority(f)
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({self})")
    }
}

/// The API version date sent as `?version=YYYY-MM-DD` on every request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion {
    year: u16,
    month: u8,
    day: u8,
}

/// Which family of identity paths a version date selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdentityApi {
    /// `/instance_identity/v1/token`, `/iam_token`, `/certificates` (version <= 2025-08-25).
    Legacy,
    /// `/identity/v1/token`, `/iam_tokens`, `/certificates` (required from 2025-08-26).
    Current,
}

impl IdentityApi {
    /// Path of "create identity token".
    pub const fn token_path(self) -> &'static str {
        match self {
            IdentityApi::Legacy => "/instance_identity/v1/token",
            IdentityApi::Current => "/identity/v1/token",
        }
    }

    /// Path of "create IAM token" (singular in the legacy family, plural in the current).
    pub const fn iam_token_path(self) -> &'static str {
        match self {
            IdentityApi::Legacy => "/instance_identity/v1/iam_token",
            IdentityApi::Current => "/identity/v1/iam_tokens",
        }
    }

    /// Path of "create identity certificate".
    pub const fn certificates_path(self) -> &'static str {
        match self {
            IdentityApi::Legacy => "/instance_identity/v1/certificates",
            IdentityApi::Current => "/identity/v1/certificates",
        }
    }
}

impl ApiVersion {
    /// `2025-08-26`: the first date on which `/instance_identity/*` is gone.
    pub const IDENTITY_CUTOVER: ApiVersion = ApiVersion {
        year: 2025,
        month: 8,
        day: 26,
    };
    /// `2022-03-01`: the identity token's general-availability date, the oldest IBM's SDKs use.
    pub const GA: ApiVersion = ApiVersion {
        year: 2022,
        month: 3,
        day: 1,
    };
    /// The default: `2025-08-26`, which selects the current `/identity/v1/*` paths.
    pub const DEFAULT: ApiVersion = ApiVersion::IDENTITY_CUTOVER;

    /// Parses `YYYY-MM-DD` (a real calendar date).
    ///
    /// ```
    /// use vpc_imds_core::config::{ApiVersion, IdentityApi};
    /// let v = ApiVersion::parse("2022-03-01").unwrap();
    /// assert_eq!(v.identity_api(), IdentityApi::Legacy);
    /// assert!(ApiVersion::parse("2022-02-30").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self, InputError> {
        let bad = InputError::Malformed {
            what: "version",
            expected: "a date YYYY-MM-DD",
        };
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad);
        }
        let num = |r: core::ops::Range<usize>| -> Result<u16, InputError> {
            let part = s.get(r).ok_or(bad)?;
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad);
            }
            part.parse::<u16>().map_err(|_| bad)
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return Err(bad),
        };
        if year < 2000 || day == 0 || day > days {
            return Err(bad);
        }
        Ok(ApiVersion {
            year,
            month: month as u8,
            day: day as u8,
        })
    }

    /// The identity path family this date selects.
    pub fn identity_api(self) -> IdentityApi {
        if self >= ApiVersion::IDENTITY_CUTOVER {
            IdentityApi::Current
        } else {
            IdentityApi::Legacy
        }
    }
}

impl Default for ApiVersion {
    fn default() -> Self {
        ApiVersion::DEFAULT
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// How long the host's transport and the session may wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a connection (default 1 s). Enforced by the host.
    pub connect: Duration,
    /// One request, from send to the whole response (default 5 s). Enforced by the host.
    pub request: Duration,
    /// A whole operation, retries and waits included (default 15 s). Enforced by the session.
    pub operation: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(1),
            request: Duration::from_secs(5),
            operation: Duration::from_secs(15),
        }
    }
}

/// Shortest identity token lifetime the service grants, in seconds.
pub const MIN_TOKEN_LIFETIME: u32 = 5;
/// Longest identity token lifetime the service grants, in seconds.
pub const MAX_TOKEN_LIFETIME: u32 = 3600;
/// The service's default identity token lifetime, in seconds.
pub const DEFAULT_TOKEN_LIFETIME: u32 = 300;

/// Everything a session needs to know before it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    endpoint: Endpoint,
    version: ApiVersion,
    token_lifetime: u32,
    /// Deadlines.
    pub timeouts: Timeouts,
    /// Retry limits and backoff.
    pub retry: RetryPolicy,
    /// Largest response body accepted (default 1 MiB), also for responses a host's
    /// own HTTP stack read and handed over as parts.
    pub max_body_bytes: usize,
}

/// The default [`Config::max_body_bytes`]: 1 MiB (user data is at most 64 KiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

impl Default for Config {
    fn default() -> Self {
        Config {
            endpoint: Endpoint::default(),
            version: ApiVersion::DEFAULT,
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

impl Config {
    /// The service's base URL.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Sets the service's base URL.
    pub fn set_endpoint(&mut self, endpoint: Endpoint) -> &mut Self {
        self.endpoint = endpoint;
        self
    }

    /// The API version date.
    pub fn version(&self) -> ApiVersion {
        self.version
    }

    /// Sets the API version date (which also selects the identity path family).
    pub fn set_version(&mut self, version: ApiVersion) -> &mut Self {
        self.version = version;
        self
    }

    /// Requested identity token lifetime in seconds.
    pub fn token_lifetime(&self) -> u32 {
        self.token_lifetime
    }

    /// Sets the requested identity token lifetime (5..=3600 seconds).
    pub fn set_token_lifetime(&mut self, seconds: u32) -> Result<&mut Self, InputError> {
        check_lifetime(seconds)?;
        self.token_lifetime = seconds;
        Ok(self)
    }
}

pub(crate) fn check_lifetime(seconds: u32) -> Result<(), InputError> {
    if (MIN_TOKEN_LIFETIME..=MAX_TOKEN_LIFETIME).contains(&seconds) {
        Ok(())
    } else {
        Err(InputError::OutOfRange {
            what: "token lifetime (expires_in)",
            min: MIN_TOKEN_LIFETIME as u64,
            max: MAX_TOKEN_LIFETIME as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_forms() {
        let e = Endpoint::parse("https://[::1]:8443").unwrap();
        assert_eq!(
            (e.scheme(), e.host(), e.port()),
            (Scheme::Https, "[::1]", 8443)
        );
        assert_eq!(e.bare_host(), "::1");
        let e = Endpoint::parse("HTTP://api.metadata.cloud.ibm.com").unwrap();
        assert_eq!((e.host(), e.port()), ("api.metadata.cloud.ibm.com", 80));
        assert_eq!(e.bare_host(), "api.metadata.cloud.ibm.com");
        for bad in [
            "ftp://x",
            "http://",
            "http://a b",
            "http://h:0",
            "http://h:65536",
            "http://h:+80",
            "http://h:080",
            "http://h/path",
            "http://h:8080/metadata/v1",
            "http://h:80?x=1",
            "http://h#f",
            "http://h\r\nX: y",
            "http://[zz]",
            "http://[::1]x",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
        // A path is named as the form's mistake (it was read as a bad port).
        for path in ["http://h:8080/metadata/v1", "http://h:80?x=1", "http://h#f"] {
            let e = Endpoint::parse(path);
            assert!(
                matches!(
                    e,
                    Err(InputError::Malformed {
                        what: "endpoint",
                        ..
                    })
                ),
                "{path}: {e:?}"
            );
        }
    }

    #[test]
    fn version_dates_choose_paths() {
        assert_eq!(
            ApiVersion::parse("2025-08-25").unwrap().identity_api(),
            IdentityApi::Legacy
        );
        assert_eq!(
            ApiVersion::parse("2025-08-26").unwrap().identity_api(),
            IdentityApi::Current
        );
        assert!(ApiVersion::parse("2024-02-29").is_ok());
        for bad in [
            "2023-02-29",
            "2025-13-01",
            "2025-1-01",
            "20250826",
            "2025-08-2x",
            "",
        ] {
            assert!(ApiVersion::parse(bad).is_err(), "{bad}");
        }
    }
}
