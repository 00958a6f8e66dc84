//! Injected failures: latency, error statuses, dropped connections, black holes,
//! raw response bodies and a disabled service.

use serde::{Deserialize, Serialize};

/// The complete fault configuration. `Faults::default()` is a healthy service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Added delay before every metadata-service request is handled, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// When true every request gets 403 `unauthorized` "metadata service not enabled".
    #[serde(default)]
    pub disabled: bool,
    /// Rules tried in order; the first one that matches a request and still has
    /// uses left is applied (and one use is spent).
    #[serde(default)]
    pub rules: Vec<FaultRule>,
}

/// One injected failure, for the next `count` requests whose path starts with
/// `route_prefix`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// What happens to a matching request.
    pub action: FaultAction,
    /// How many matching requests it applies to; `None` means every one until cleared.
    #[serde(default)]
    pub count: Option<u32>,
    /// Only requests whose path (without query) starts with this, e.g. `/identity/`.
    #[serde(default)]
    pub route_prefix: Option<String>,
}

/// What a fault rule does to a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultAction {
    /// Answer with this status (400..=599) and an IBM error body; with
    /// `retry_after` also a `Retry-After: <seconds>` header.
    Status {
        /// HTTP status code.
        status: u16,
        /// Seconds for the `Retry-After` header.
        #[serde(default)]
        retry_after: Option<u32>,
        /// Seconds for a second `Retry-After` line (a field that may appear once,
        /// sent twice: clients ignore both).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_repeat: Option<u32>,
    },
    /// Write part of the response, then close the connection.
    Drop {
        /// Where the response is cut.
        stage: DropStage,
    },
    /// Accept the request and never answer; the connection is held open.
    BlackHole,
    /// Answer with this text as the body, exactly as given, with `status`
    /// (200..=599, default 200) and `Content-Type: application/json`: for
    /// documents a JSON library cannot hold (`1e999`, a lone surrogate escape
    /// `"\ud800"`) or bodies that are not JSON at all.
    Body {
        /// HTTP status code.
        #[serde(default = "ok_status")]
        status: u16,
        /// The response body, sent byte for byte (UTF-8).
        body: String,
    },
}

fn ok_status() -> u16 {
    200
}

/// Where a dropped response is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropStage {
    /// Inside the status line and headers.
    MidHeaders,
    /// After the complete head and half of the body.
    MidBody,
    /// After the request has been read, before any byte of the response: the
    /// connection is closed and nothing is written (a kept-alive connection
    /// that the server closes just as a request arrives).
    BeforeResponse,
}

/// A fault configuration that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultError {
    /// An injected status must be an error status, 400..=599.
    InvalidStatus(u16),
    /// A route prefix must start with `/`.
    InvalidPrefix(String),
    /// A raw body's status must be 200..=599.
    InvalidBodyStatus(u16),
    /// A rule for zero requests would never fire (a test relying on it would pass
    /// without its fault).
    ZeroCount,
}

impl std::fmt::Display for FaultError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FaultError::InvalidStatus(s) => {
                write!(f, "injected status {s} is not an error status (400..=599)")
            }
            FaultError::InvalidPrefix(p) => write!(f, "route prefix {p:?} must start with '/'"),
            FaultError::InvalidBodyStatus(s) => {
                write!(f, "status {s} of a raw body is not in 200..=599")
            }
            FaultError::ZeroCount => {
                f.write_str("count 0 would never fire: give at least 1, or none for every request")
            }
        }
    }
}

impl std::error::Error for FaultError {}

impl FaultRule {
    /// Fail every matching request with `status` (use [`FaultRule::times`] to limit).
    pub fn status(status: u16) -> Self {
        Self::new(FaultAction::Status {
            status,
            retry_after: None,
            retry_after_repeat: None,
        })
    }

    /// 429 with `Retry-After: retry_after_secs`.
    pub fn rate_limited(retry_after_secs: u32) -> Self {
        Self::new(FaultAction::Status {
            status: 429,
            retry_after: Some(retry_after_secs),
            retry_after_repeat: None,
        })
    }

    /// Cut the response at `stage` and close the connection.
    pub fn drop_connection(stage: DropStage) -> Self {
        Self::new(FaultAction::Drop { stage })
    }

    /// Hold the connection and never answer.
    pub fn black_hole() -> Self {
        Self::new(FaultAction::BlackHole)
    }

    /// Answer with `body` as it is (status 200, `Content-Type: application/json`).
    pub fn body(body: impl Into<String>) -> Self {
        Self::new(FaultAction::Body {
            status: 200,
            body: body.into(),
        })
    }

    /// A rule with no count and no prefix.
    pub fn new(action: FaultAction) -> Self {
        FaultRule {
            action,
            count: None,
            route_prefix: None,
        }
    }

    /// Apply to the next `n` matching requests only.
    pub fn times(mut self, n: u32) -> Self {
        self.count = Some(n);
        self
    }

    /// Apply only to paths starting with `prefix`, e.g. `/metadata/v1/keys`.
    pub fn on_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.route_prefix = Some(prefix.into());
        self
    }

    /// Add a `Retry-After` header (only meaningful for [`FaultAction::Status`]).
    pub fn retry_after(mut self, secs: u32) -> Self {
        if let FaultAction::Status { retry_after, .. } = &mut self.action {
            *retry_after = Some(secs);
        }
        self
    }

    /// Checks the rule can be applied.
    pub fn validate(&self) -> Result<(), FaultError> {
        match self.action {
            FaultAction::Status { status, .. } if !(400..=599).contains(&status) => {
                return Err(FaultError::InvalidStatus(status));
            }
            FaultAction::Body { status, .. } if !(200..=599).contains(&status) => {
                return Err(FaultError::InvalidBodyStatus(status));
            }
            _ => {}
        }
        if self.count == Some(0) {
            return Err(FaultError::ZeroCount);
        }
        match &self.route_prefix {
            Some(p) if !p.starts_with('/') => Err(FaultError::InvalidPrefix(p.clone())),
            _ => Ok(()),
        }
    }

    fn matches(&self, path: &str) -> bool {
        self.count != Some(0)
            && self
                .route_prefix
                .as_deref()
                .is_none_or(|prefix| path.starts_with(prefix))
    }
}

impl Faults {
    /// Checks every rule.
    pub fn validate(&self) -> Result<(), FaultError> {
        self.rules.iter().try_for_each(FaultRule::validate)
    }

    /// Finds the rule for `path`, spends one use of it, and drops used-up rules.
    pub(crate) fn take(&mut self, path: &str) -> Option<FaultAction> {
        let i = self.rules.iter().position(|r| r.matches(path))?;
        let rule = &mut self.rules[i];
        let action = rule.action.clone();
        if let Some(n) = &mut rule.count {
            *n -= 1;
            if *n == 0 {
                self.rules.remove(i);
            }
        }
        Some(action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_spent_in_order_and_by_prefix() {
        let mut f = Faults {
            rules: vec![
                FaultRule::status(503).times(1).on_prefix("/identity/"),
                FaultRule::rate_limited(2).times(2),
            ],
            ..Faults::default()
        };
        let s503 = FaultAction::Status {
            status: 503,
            retry_after: None,
            retry_after_repeat: None,
        };
        let s429 = FaultAction::Status {
            status: 429,
            retry_after: Some(2),
            retry_after_repeat: None,
        };
        assert_eq!(f.take("/metadata/v1/instance"), Some(s429.clone()));
        assert_eq!(f.take("/identity/v1/token"), Some(s503));
        assert_eq!(f.take("/identity/v1/token"), Some(s429));
        assert_eq!(f.take("/identity/v1/token"), None);
        assert!(f.rules.is_empty());
    }

    #[test]
    fn json_shape_and_validation() {
        let rule: FaultRule = serde_json::from_str(
            r#"{"action":{"kind":"drop","stage":"mid_body"},"count":1,"route_prefix":"/metadata/"}"#,
        )
        .unwrap();
        assert_eq!(
            rule,
            FaultRule::drop_connection(DropStage::MidBody)
                .times(1)
                .on_prefix("/metadata/")
        );
        assert_eq!(
            FaultRule::status(200).validate(),
            Err(FaultError::InvalidStatus(200))
        );
        assert!(FaultRule::black_hole().on_prefix("x").validate().is_err());
        assert_eq!(
            FaultRule::status(503).times(0).validate(),
            Err(FaultError::ZeroCount)
        );

        let rule: FaultRule = serde_json::from_str(
            r#"{"action":{"kind":"body","body":"{\"memory\":1e999}"},"count":1}"#,
        )
        .unwrap();
        assert_eq!(rule, FaultRule::body(r#"{"memory":1e999}"#).times(1));
        let rule: FaultRule = serde_json::from_str(
            r#"{"action":{"kind":"drop","stage":"before_response"},"route_prefix":"/metadata/"}"#,
        )
        .unwrap();
        assert_eq!(
            rule,
            FaultRule::drop_connection(DropStage::BeforeResponse).on_prefix("/metadata/")
        );
        let informational = FaultRule::new(FaultAction::Body {
            status: 199,
            body: String::new(),
        });
        assert_eq!(
            informational.validate(),
            Err(FaultError::InvalidBodyStatus(199))
        );
    }
}
