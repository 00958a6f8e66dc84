//! Every limit a host lets its users set, validated in one place.
//!
//! Hosts collect what their users asked for (arguments, keyword arguments, the
//! `VPC_IMDS_ENDPOINT` environment variable, which the host reads) into
//! [`Settings`]; [`Settings::build`] checks it all and gives the [`DriverConfig`]
//! every operation runs with. Bad input is an [`InputError`] naming the setting.

use alloc::format;
use alloc::string::String;
use core::time::Duration;

use vpc_imds_core::config::{ApiVersion, Config, Endpoint, Scheme, Timeouts};
use vpc_imds_core::error::InputError;
use vpc_imds_core::retry::RetryPolicy;

/// The environment variable hosts read for the endpoint.
pub const ENDPOINT_ENV: &str = "VPC_IMDS_ENDPOINT";
/// Shortest timeout accepted.
pub const MIN_TIMEOUT: Duration = Duration::from_millis(1);
/// Longest timeout accepted (a day).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(86_400);
/// Smallest response size limit accepted, in bytes.
pub const MIN_RESPONSE_BYTES: usize = 1024;
/// Largest response size limit accepted, in bytes.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;
/// The default response size limit (the core's `max_body_bytes`), 1 MiB.
pub const DEFAULT_RESPONSE_BYTES: usize = vpc_imds_core::config::DEFAULT_MAX_BODY_BYTES;

/// What a user asked for; `None` keeps the default.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Settings {
    /// `http://HOST[:PORT]` or `https://HOST[:PORT]`, given by the user.
    pub endpoint: Option<String>,
    /// The value of `VPC_IMDS_ENDPOINT`, if the host read it (an empty value is unset).
    pub env_endpoint: Option<String>,
    /// Secure access: the default endpoint becomes `https://api.metadata.cloud.ibm.com`
    /// and an `http://` endpoint is upgraded to `https://` on the same host and port
    /// (port 80 becomes 443). Nothing is ever sent in clear once this is asked for.
    pub secure: bool,
    /// API version date `YYYY-MM-DD`.
    pub version: Option<String>,
    /// Identity token lifetime in seconds (5..=3600).
    pub token_lifetime: Option<u32>,
    /// Whole operation, retries included (default 15 s); also caps the others.
    pub timeout: Option<Duration>,
    /// One connect (default 1 s).
    pub connect_timeout: Option<Duration>,
    /// One request, sent to answered (default 5 s).
    pub request_timeout: Option<Duration>,
    /// Attempts per request, the first included (1..=255, default 4).
    pub max_attempts: Option<u32>,
    /// First backoff step (default 100 ms).
    pub base_delay: Option<Duration>,
    /// Largest backoff step (default 2 s).
    pub max_delay: Option<Duration>,
    /// Largest response accepted in bytes (1 KiB..=256 MiB, default 1 MiB).
    pub max_response_bytes: Option<usize>,
}

/// A validated configuration: the core's [`Config`] and what the driver adds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DriverConfig {
    core: Config,
}

impl DriverConfig {
    /// The core's configuration (endpoint, version, deadlines, retries, size limit).
    pub fn core(&self) -> &Config {
        &self.core
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        self.core.endpoint()
    }

    /// The deadlines.
    pub fn timeouts(&self) -> Timeouts {
        self.core.timeouts
    }

    /// The largest response accepted, in bytes (the read buffer's size, and the core's
    /// `max_body_bytes` for responses given as parts).
    pub fn max_response_bytes(&self) -> usize {
        self.core.max_body_bytes
    }

    /// The same configuration with the whole-operation deadline (and the others it
    /// caps) no longer than `left`.
    pub fn capped(&self, left: Duration) -> DriverConfig {
        let mut core = self.core.clone();
        let left = left.max(MIN_TIMEOUT);
        let t = &mut core.timeouts;
        t.operation = t.operation.min(left);
        t.request = t.request.min(left);
        t.connect = t.connect.min(left);
        DriverConfig { core }
    }
}

impl Settings {
    /// Checks everything and builds the configuration.
    ///
    /// ```
    /// use core::time::Duration;
    /// use vpc_imds_driver::Settings;
    /// let config = Settings {
    ///     endpoint: Some("http://127.0.0.1:8080".into()),
    ///     secure: true,
    ///     timeout: Some(Duration::from_secs(2)),
    ///     ..Settings::default()
    /// }
    /// .build()
    /// .unwrap();
    /// assert_eq!(config.endpoint().to_string(), "https://127.0.0.1:8080");
    /// assert_eq!(config.timeouts().request, Duration::from_secs(2));
    /// assert!(Settings { max_attempts: Some(0), ..Settings::default() }.build().is_err());
    /// ```
    pub fn build(&self) -> Result<DriverConfig, InputError> {
        let mut core = Config::default();
        let explicit = self.endpoint.as_deref().map(|u| ("endpoint", u));
        let env = self
            .env_endpoint
            .as_deref()
            .filter(|u| !u.is_empty())
            .map(|u| (ENDPOINT_ENV, u));
        let endpoint = match explicit.or(env) {
            Some((what, url)) => Endpoint::parse(url).map_err(|e| rename(e, what))?,
            None if self.secure => Endpoint::secure(),
            None => Endpoint::plain(),
        };
        let endpoint = if self.secure && endpoint.scheme() == Scheme::Http {
            upgrade(&endpoint)?
        } else {
            endpoint
        };
        core.set_endpoint(endpoint);
        if let Some(v) = &self.version {
            core.set_version(ApiVersion::parse(v)?);
        }
        if let Some(s) = self.token_lifetime {
            core.set_token_lifetime(s)?;
        }
        let t = &mut core.timeouts;
        if let Some(d) = self.timeout {
            t.operation = check_timeout("timeout", d)?;
            t.request = t.request.min(d);
            t.connect = t.connect.min(d);
        }
        if let Some(d) = self.request_timeout {
            t.request = check_timeout("request timeout", d)?.min(t.operation);
        }
        if let Some(d) = self.connect_timeout {
            t.connect = check_timeout("connect timeout", d)?.min(t.operation);
        }
        let r = &mut core.retry;
        if let Some(n) = self.max_attempts {
            r.max_attempts =
                u8::try_from(n)
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or(InputError::OutOfRange {
                        what: "max_attempts",
                        min: 1,
                        max: u8::MAX.into(),
                    })?;
        }
        if let Some(d) = self.base_delay {
            r.base_delay = check_delay("base delay", d)?;
        }
        if let Some(d) = self.max_delay {
            r.max_delay = check_delay("max delay", d)?;
        }
        if let Some(n) = self.max_response_bytes {
            if !(MIN_RESPONSE_BYTES..=MAX_RESPONSE_BYTES).contains(&n) {
                return Err(InputError::OutOfRange {
                    what: "max_response_bytes",
                    min: MIN_RESPONSE_BYTES as u64,
                    max: MAX_RESPONSE_BYTES as u64,
                });
            }
            core.max_body_bytes = n;
        }
        Ok(DriverConfig { core })
    }
}

/// Seconds as a host language's float (Python, JavaScript) turned into a duration:
/// finite and within [`MIN_TIMEOUT`]..=[`MAX_TIMEOUT`], else an error naming `what`.
///
/// ```
/// use vpc_imds_driver::settings::seconds;
/// assert_eq!(seconds("timeout", 0.25).unwrap().as_millis(), 250);
/// for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e99, 0.0001] {
///     assert!(seconds("timeout", bad).is_err(), "{bad}");
/// }
/// ```
pub fn seconds(what: &'static str, secs: f64) -> Result<Duration, InputError> {
    let range = InputError::OutOfRange {
        what,
        min: 0,
        max: MAX_TIMEOUT.as_secs(),
    };
    if !secs.is_finite() || secs <= 0.0 || secs > MAX_TIMEOUT.as_secs() as f64 {
        return Err(range);
    }
    // Rounded to the millisecond (no `f64::round` without std).
    let d = Duration::from_millis((secs * 1000.0 + 0.5) as u64);
    check_timeout(what, d).map_err(|_| range)
}

/// Seconds of a backoff step as a host float: finite, 0 (no backoff) up to a day.
///
/// ```
/// use vpc_imds_driver::settings::delay_seconds;
/// assert_eq!(delay_seconds("base delay", 0.0).unwrap().as_millis(), 0);
/// assert!(delay_seconds("base delay", -0.5).is_err());
/// ```
pub fn delay_seconds(what: &'static str, secs: f64) -> Result<Duration, InputError> {
    if !secs.is_finite() || secs < 0.0 || secs > MAX_TIMEOUT.as_secs() as f64 {
        return Err(InputError::OutOfRange {
            what,
            min: 0,
            max: MAX_TIMEOUT.as_secs(),
        });
    }
    check_delay(what, Duration::from_millis((secs * 1000.0 + 0.5) as u64))
}

fn check_timeout(what: &'static str, d: Duration) -> Result<Duration, InputError> {
    if (MIN_TIMEOUT..=MAX_TIMEOUT).contains(&d) {
        Ok(d)
    } else {
        Err(InputError::OutOfRange {
            what,
            min: 0,
            max: MAX_TIMEOUT.as_secs(),
        })
    }
}

fn check_delay(what: &'static str, d: Duration) -> Result<Duration, InputError> {
    if d <= MAX_TIMEOUT {
        Ok(d)
    } else {
        Err(InputError::OutOfRange {
            what,
            min: 0,
            max: MAX_TIMEOUT.as_secs(),
        })
    }
}

/// Names the setting an endpoint error came from.
fn rename(e: InputError, what: &'static str) -> InputError {
    match e {
        InputError::Empty { .. } => InputError::Empty { what },
        InputError::TooLong { max, .. } => InputError::TooLong { what, max },
        InputError::ForbiddenCharacter { .. } => InputError::ForbiddenCharacter { what },
        InputError::Malformed { expected, .. } => InputError::Malformed { what, expected },
        other => other,
    }
}

/// `http://h:p` to `https://h:p`; the default port 80 becomes 443.
fn upgrade(endpoint: &Endpoint) -> Result<Endpoint, InputError> {
    let url = if endpoint.has_default_port() {
        format!("https://{}", endpoint.host())
    } else {
        format!("https://{}:{}", endpoint.host(), endpoint.port())
    };
    Endpoint::parse(&url)
}

/// The retry policy in force (for hosts that show it).
pub fn retry_policy(config: &DriverConfig) -> RetryPolicy {
    config.core.retry
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;
    use alloc::string::ToString;

    #[test]
    fn endpoint_precedence_and_upgrade() {
        let s = Settings {
            env_endpoint: Some("http://127.0.0.2:9".into()),
            ..Settings::default()
        };
        assert_eq!(
            s.build().unwrap().endpoint().to_string(),
            "http://127.0.0.2:9"
        );
        let s = Settings {
            endpoint: Some("http://127.0.0.1:1".into()),
            ..s
        };
        assert_eq!(
            s.build().unwrap().endpoint().to_string(),
            "http://127.0.0.1:1"
        );
        let s = Settings {
            secure: true,
            ..Settings::default()
        };
        assert_eq!(
            s.build().unwrap().endpoint().to_string(),
            "https://api.metadata.cloud.ibm.com"
        );
        let s = Settings {
            endpoint: Some("http://169.254.169.254".into()),
            secure: true,
            ..Settings::default()
        };
        assert_eq!(s.build().unwrap().endpoint().port(), 443);
        let bad = Settings {
            env_endpoint: Some("ftp://x".into()),
            ..Settings::default()
        };
        assert!(matches!(
            bad.build(),
            Err(InputError::Malformed {
                what: ENDPOINT_ENV,
                ..
            })
        ));
        // By name, as hosts pass it: errors name the variable, not a setting.
        let mut s = Settings::default();
        s.set("env_endpoint", Value::Text("http://127.0.0.3:8"))
            .unwrap();
        assert_eq!(s.build().unwrap().endpoint().host(), "127.0.0.3");
        assert_eq!(
            s.set("env_endpoint", Value::NotUnicode),
            Err(InputError::ForbiddenCharacter { what: ENDPOINT_ENV })
        );
    }

    #[test]
    fn limits() {
        let ok = |s: Settings| s.build().is_ok();
        assert!(!ok(Settings {
            timeout: Some(Duration::ZERO),
            ..Settings::default()
        }));
        assert!(!ok(Settings {
            request_timeout: Some(Duration::from_secs(86_401)),
            ..Settings::default()
        }));
        assert!(!ok(Settings {
            max_attempts: Some(256),
            ..Settings::default()
        }));
        assert!(!ok(Settings {
            max_response_bytes: Some(1023),
            ..Settings::default()
        }));
        let c = Settings {
            max_response_bytes: Some(4 << 20),
            timeout: Some(Duration::from_millis(300)),
            ..Settings::default()
        }
        .build()
        .unwrap();
        assert_eq!(c.core().max_body_bytes, 4 << 20);
        assert_eq!(c.timeouts().connect, Duration::from_millis(300));
        assert_eq!(
            c.capped(Duration::from_millis(100))
                .timeouts()
                .operation
                .as_millis(),
            100
        );
    }
}
