//! The instance's `metadata_service` configuration (`enabled`, `protocol`,
//! `response_hop_limit`) and how the emulator acts it out, so that a client's
//! diagnosis of "why does it time out?" can be tested end to end:
//!
//! - `enabled: false`: every request gets 403 `unauthorized` "metadata service not
//!   enabled" (the same switch as [`crate::Faults::disabled`]).
//! - `protocol`: the service answers only over that protocol. A listener of the
//!   other kind accepts connections and then stays silent (no TLS handshake, no
//!   HTTP answer), as a client sees it when it picks the wrong one. Run an extra
//!   HTTPS listener beside the plain one with `EmulatorBuilder::tls_listen`.
//! - `response_hop_limit`: the IP TTL of the service's response packets. The
//!   emulator sets it on every accepted metadata connection (a real effect across
//!   routed network namespaces), and simulates callers `caller_hops` routing hops
//!   away (a container behind a bridge is 1): when `caller_hops >=
//!   response_hop_limit`, the answers never arrive (the connection is accepted, the
//!   request is read, nothing comes back).

use serde::{Deserialize, Serialize};

/// How the service is reached, as the instance's `metadata_service.protocol` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// Plain HTTP only (IBM's default).
    Http,
    /// HTTPS only (secure access).
    Https,
}

impl Protocol {
    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Https => "https",
        }
    }
}

/// The simulated instance's `metadata_service` settings plus where its callers are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataService {
    /// Whether the service is on (off: 403 "metadata service not enabled").
    pub enabled: bool,
    /// Which protocol the service answers on.
    pub protocol: Protocol,
    /// IP TTL of response packets, 1..=64 (IBM's default 1).
    pub response_hop_limit: u8,
    /// Simulated routing hops between the service and its callers, 0..=64: 0 is
    /// the instance itself, 1 a container behind a bridge. Not an IBM setting.
    pub caller_hops: u8,
}

impl MetadataService {
    /// IBM's defaults for an enabled service on `protocol`, callers on the instance.
    pub fn new(protocol: Protocol) -> Self {
        MetadataService {
            enabled: true,
            protocol,
            response_hop_limit: 1,
            caller_hops: 0,
        }
    }

    /// Checks the ranges.
    pub fn validate(&self) -> Result<(), ServiceError> {
        if !(1..=64).contains(&self.response_hop_limit) {
            return Err(ServiceError::HopLimit(self.response_hop_limit.into()));
        }
        if self.caller_hops > 64 {
            return Err(ServiceError::CallerHops(self.caller_hops.into()));
        }
        Ok(())
    }

    /// Whether the service's answers reach the callers.
    pub fn answers_arrive(&self) -> bool {
        self.caller_hops < self.response_hop_limit
    }
}

/// A partial update, as `PUT /metadata_service` takes it: absent members stay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataServiceUpdate {
    /// New `enabled`.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// New `protocol`.
    #[serde(default)]
    pub protocol: Option<Protocol>,
    /// New `response_hop_limit` (1..=64).
    #[serde(default)]
    pub response_hop_limit: Option<u64>,
    /// New `caller_hops` (0..=64).
    #[serde(default)]
    pub caller_hops: Option<u64>,
}

impl MetadataServiceUpdate {
    /// `current` with this update applied, checked.
    pub fn apply(&self, current: MetadataService) -> Result<MetadataService, ServiceError> {
        let hop = |v: u64, e: fn(u64) -> ServiceError| u8::try_from(v).map_err(|_| e(v));
        let next = MetadataService {
            enabled: self.enabled.unwrap_or(current.enabled),
            protocol: self.protocol.unwrap_or(current.protocol),
            response_hop_limit: match self.response_hop_limit {
                Some(v) => hop(v, ServiceError::HopLimit)?,
                None => current.response_hop_limit,
            },
            caller_hops: match self.caller_hops {
                Some(v) => hop(v, ServiceError::CallerHops)?,
                None => current.caller_hops,
            },
        };
        next.validate()?;
        Ok(next)
    }
}

/// A `metadata_service` setting out of range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceError {
    /// `response_hop_limit` must be 1..=64.
    HopLimit(u64),
    /// `caller_hops` must be 0..=64.
    CallerHops(u64),
}

impl ServiceError {
    /// The member it is about.
    pub fn field(&self) -> &'static str {
        match self {
            ServiceError::HopLimit(_) => "response_hop_limit",
            ServiceError::CallerHops(_) => "caller_hops",
        }
    }
}

impl std::fmt::Display for ServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServiceError::HopLimit(v) => write!(f, "response_hop_limit {v} is not in 1..=64"),
            ServiceError::CallerHops(v) => write!(f, "caller_hops {v} is not in 0..=64"),
        }
    }
}

impl std::error::Error for ServiceError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_are_partial_and_checked() {
        let base = MetadataService::new(Protocol::Http);
        let up: MetadataServiceUpdate =
            serde_json::from_str(r#"{"protocol":"https","response_hop_limit":2}"#).unwrap();
        let next = up.apply(base).unwrap();
        assert_eq!(next.protocol, Protocol::Https);
        assert_eq!(next.response_hop_limit, 2);
        assert!(next.enabled && next.answers_arrive());
        let bad = MetadataServiceUpdate {
            response_hop_limit: Some(0),
            ..Default::default()
        };
        assert_eq!(bad.apply(base), Err(ServiceError::HopLimit(0)));
        let bad = MetadataServiceUpdate {
            caller_hops: Some(300),
            ..Default::default()
        };
        assert_eq!(bad.apply(base), Err(ServiceError::CallerHops(300)));
        let container = MetadataServiceUpdate {
            caller_hops: Some(1),
            ..Default::default()
        };
        assert!(!container.apply(base).unwrap().answers_arrive());
        assert!(serde_json::from_str::<MetadataServiceUpdate>(r#"{"protocol":"ftp"}"#).is_err());
    }
}
