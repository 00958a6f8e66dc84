//! Shared server state, the fixture prepared for serving, and the [`Control`] handle.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Map, Value};

use crate::certs::CertAuthority;
use crate::faults::{FaultError, FaultRule, Faults};
use crate::fixture::{Fixture, TrustedProfile};
use crate::record::{Counters, LoggedRequest, Recorder};
use crate::service::{MetadataService, MetadataServiceUpdate, Protocol, ServiceError};
use crate::token::{Ids, TokenStore};
use crate::{clock, lock, lock_read, lock_write};

/// The metadata collections, in the order of [`Fixture::collections`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coll {
    NetworkInterfaces,
    VolumeAttachments,
    Keys,
    PlacementGroups,
    NetworkAttachments,
    ClusterNetworkAttachments,
    SoftwareAttachments,
}

/// Static facts about one collection.
pub(crate) struct CollInfo {
    /// Member name in list bodies and in the fixture.
    pub key: &'static str,
    /// Path of the list, as used in `first`/`next` hrefs.
    pub path: &'static str,
    /// Counter keys of the list and item routes.
    pub list_route: &'static str,
    pub item_route: &'static str,
    /// Name used in `not_found` messages.
    pub noun: &'static str,
    /// Only keys and placement groups are paginated (spec section 6).
    pub paged: bool,
}

macro_rules! coll_info {
    ($key:literal, $prefix:literal, $noun:literal, $paged:literal) => {
        CollInfo {
            key: $key,
            path: concat!($prefix, $key),
            list_route: concat!("GET ", $prefix, $key),
            item_route: concat!("GET ", $prefix, $key, "/{id}"),
            noun: $noun,
            paged: $paged,
        }
    };
}

const INSTANCE: &str = "/metadata/v1/instance/";

/// Indexed by `Coll as usize`.
const COLL_INFO: [CollInfo; 7] = [
    coll_info!(
        "network_interfaces",
        "/metadata/v1/instance/",
        "network interface",
        false
    ),
    coll_info!(
        "volume_attachments",
        "/metadata/v1/instance/",
        "volume attachment",
        false
    ),
    coll_info!("keys", "/metadata/v1/", "key", true),
    coll_info!("placement_groups", "/metadata/v1/", "placement group", true),
    coll_info!(
        "network_attachments",
        "/metadata/v1/instance/",
        "network attachment",
        false
    ),
    coll_info!(
        "cluster_network_attachments",
        "/metadata/v1/instance/",
        "cluster network attachment",
        false
    ),
    coll_info!(
        "software_attachments",
        "/metadata/v1/instance/",
        "software attachment",
        false
    ),
];

impl Coll {
    pub const ALL: [Coll; 7] = [
        Coll::NetworkInterfaces,
        Coll::VolumeAttachments,
        Coll::Keys,
        Coll::PlacementGroups,
        Coll::NetworkAttachments,
        Coll::ClusterNetworkAttachments,
        Coll::SoftwareAttachments,
    ];

    pub fn info(self) -> &'static CollInfo {
        &COLL_INFO[self as usize]
    }

    /// Resolves a collection segment; `under_instance` for `/metadata/v1/instance/<seg>`.
    pub fn from_segment(seg: &str, under_instance: bool) -> Option<Coll> {
        Coll::ALL.into_iter().find(|c| {
            let info = c.info();
            info.key == seg && info.path.starts_with(INSTANCE) == under_instance
        })
    }
}

/// One collection, pre-serialised.
pub(crate) struct PreparedColl {
    /// `{"<key>":[...]}` for unpaged lists.
    pub list: Bytes,
    pub ids: Vec<String>,
    pub items: Vec<Bytes>,
    pub index: HashMap<String, usize>,
}

/// The fixture, turned into response bytes and token claim templates once.
pub(crate) struct Prepared {
    pub initialization: Bytes,
    pub colls: Vec<PreparedColl>,
    pub identity_claims: Map<String, Value>,
    pub identity_kid: String,
    pub instance_id: String,
    pub instance_crn: String,
    pub account_id: String,
    pub profiles: Vec<TrustedProfile>,
    /// (id, crn) of the default trusted profile.
    pub default_profile: Option<(String, String)>,
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn to_bytes(v: &impl serde::Serialize) -> Bytes {
    // Serialising a serde_json value or map cannot fail.
    Bytes::from(serde_json::to_vec(v).unwrap_or_default())
}

impl Prepared {
    pub fn new(fixture: &Fixture, tls: bool) -> Prepared {
        let mut instance = fixture.instance.clone();
        // The served instance says how it is being reached.
        if let Some(Value::Object(ms)) = instance.get_mut("metadata_service") {
            ms.insert("protocol".into(), if tls { "https" } else { "http" }.into());
        }
        let inst = Value::Object(instance.clone());
        let instance_crn = str_at(&inst, &["crn"]).to_owned();
        let instance_id = str_at(&inst, &["id"]).to_owned();
        // crn:v1:<cloud>:<type>:<service>:<location>:a/<account>::<kind>:<id>
        let account_id = instance_crn
            .split(':')
            .nth(6)
            .and_then(|s| s.strip_prefix("a/"))
            .unwrap_or("")
            .to_owned();
        let zone = str_at(&inst, &["zone", "name"]);
        let region = match zone.rsplit_once('-') {
            Some((r, n)) if n.bytes().all(|b| b.is_ascii_digit()) => r,
            _ => zone,
        };

        let mut ips = Vec::new();
        let mut subnets: Vec<Value> = Vec::new();
        for nic in fixture
            .network_interfaces
            .iter()
            .chain(&fixture.network_attachments)
        {
            let nic = Value::Object(nic.clone());
            let ip = match str_at(&nic, &["primary_ipv4_address"]) {
                "" => str_at(&nic, &["primary_ip", "address"]),
                ip => ip,
            };
            if !ip.is_empty() && !ips.contains(&json!({ "address": ip })) {
                ips.push(json!({ "address": ip }));
            }
            let subnet = json!({
                "crn": str_at(&nic, &["subnet", "crn"]),
                "id": str_at(&nic, &["subnet", "id"]),
                "name": str_at(&nic, &["subnet", "name"]),
            });
            if subnet["id"] != "" && !subnets.contains(&subnet) {
                subnets.push(subnet);
            }
        }
        let claims = json!({
            "iss": format!("VSI-CR_{region}"),
            "sub": instance_crn,
            "aud": ["vpc-instance-identity"],
            "iaas": {
                "crn": instance_crn,
                "accountID": account_id,
                "instanceID": instance_id,
                "zone": zone,
                "region": region,
                "profile_name": str_at(&inst, &["profile", "name"]),
                "resource_group_id": str_at(&inst, &["resource_group", "id"]),
            },
            "ip_addresses": ips,
            "subnets": subnets,
            "vpc": {
                "crn": str_at(&inst, &["vpc", "crn"]),
                "id": str_at(&inst, &["vpc", "id"]),
                "name": str_at(&inst, &["vpc", "name"]),
            },
        });
        let identity_claims = match claims {
            Value::Object(m) => m,
            _ => Map::new(),
        };

        let colls = fixture
            .collections()
            .iter()
            .map(|(key, items)| {
                let ids: Vec<String> = items
                    .iter()
                    .map(|i| i.get("id").and_then(Value::as_str).unwrap_or("").to_owned())
                    .collect();
                PreparedColl {
                    list: to_bytes(&json!({ *key: items })),
                    index: ids
                        .iter()
                        .enumerate()
                        .map(|(i, id)| (id.clone(), i))
                        .collect(),
                    ids,
                    items: items.iter().map(to_bytes).collect(),
                }
            })
            .collect();

        Prepared {
            initialization: to_bytes(&fixture.initialization),
            colls,
            identity_claims,
            identity_kid: format!("VSI-CR_{region}_FAKE-EMU-KEY-0001"),
            instance_id,
            instance_crn,
            account_id,
            profiles: fixture.trusted_profiles.clone(),
            default_profile: fixture
                .default_profile_ref()
                .map(|(id, crn)| (id.to_owned(), crn.to_owned())),
        }
    }

    pub fn coll(&self, c: Coll) -> &PreparedColl {
        &self.colls[c as usize]
    }
}

/// Everything the request handlers share.
pub(crate) struct State {
    pub prepared: Prepared,
    pub tokens: TokenStore,
    pub faults: Mutex<Faults>,
    pub recorder: Mutex<Recorder>,
    pub clock_offset_ms: AtomicI64,
    pub ids: Ids,
    pub ca: CertAuthority,
    pub cors: bool,
    pub tls: bool,
    /// `<scheme>://<bound address>`, for hrefs when a request has no usable Host header.
    pub base_url: String,
    /// How long a request head may take to arrive (and an idle connection may wait for one).
    pub head_timeout: Duration,
    /// How long a request body may take to arrive once its head has.
    pub body_timeout: Duration,
    /// Rate limit of the accept-failure log lines, shared by both listeners.
    pub accept_log: Mutex<crate::server::LogLimiter>,
    /// The `metadata_service` settings acted out (`enabled` lives in `faults`)
    /// and the instance document that shows them.
    pub service: std::sync::RwLock<ServiceState>,
}

/// The simulated `metadata_service` settings other than `enabled`, and the
/// instance document rendered with all of them.
pub(crate) struct ServiceState {
    pub protocol: Protocol,
    pub response_hop_limit: u8,
    pub caller_hops: u8,
    /// The fixture's instance object, re-rendered on every change.
    pub instance: Map<String, Value>,
    /// `instance` with `metadata_service` filled in, as served.
    pub rendered: Bytes,
    /// The `enabled` the rendered document shows.
    pub rendered_enabled: bool,
}

impl ServiceState {
    /// Settings from the fixture's `instance.metadata_service` (hop limit) and the
    /// listener (protocol), overridden by `start`.
    pub fn new(fixture: &Fixture, tls: bool, start: Option<MetadataService>) -> ServiceState {
        let instance = fixture.instance.clone();
        let fixture_hops = instance
            .get("metadata_service")
            .and_then(|m| m.get("response_hop_limit"))
            .and_then(Value::as_u64)
            .and_then(|n| u8::try_from(n).ok())
            .filter(|n| (1..=64).contains(n))
            .unwrap_or(1);
        let protocol = if tls { Protocol::Https } else { Protocol::Http };
        let s = start.unwrap_or(MetadataService {
            response_hop_limit: fixture_hops,
            ..MetadataService::new(protocol)
        });
        let mut state = ServiceState {
            protocol: s.protocol,
            response_hop_limit: s.response_hop_limit,
            caller_hops: s.caller_hops,
            instance,
            rendered: Bytes::new(),
            rendered_enabled: s.enabled,
        };
        state.render(s.enabled);
        state
    }

    fn render(&mut self, enabled: bool) {
        let mut instance = self.instance.clone();
        if instance.contains_key("metadata_service") {
            instance.insert(
                "metadata_service".into(),
                json!({
                    "enabled": enabled,
                    "protocol": self.protocol.as_str(),
                    "response_hop_limit": self.response_hop_limit,
                }),
            );
        }
        self.rendered = to_bytes(&instance);
        self.rendered_enabled = enabled;
    }
}

impl State {
    /// The emulator clock: system time plus any offset set through [`Control::advance_clock`].
    pub fn now_ms(&self) -> i64 {
        clock::system_now_ms().saturating_add(self.clock_offset_ms.load(Ordering::Relaxed))
    }

    /// The `metadata_service` settings in force.
    pub fn metadata_service(&self) -> MetadataService {
        let enabled = !lock(&self.faults).disabled;
        let s = lock_read(&self.service);
        MetadataService {
            enabled,
            protocol: s.protocol,
            response_hop_limit: s.response_hop_limit,
            caller_hops: s.caller_hops,
        }
    }

    /// Whether answers reach callers `caller_hops` away (one read lock: the
    /// request path's cost).
    pub fn answers_arrive(&self) -> bool {
        let s = lock_read(&self.service);
        s.caller_hops < s.response_hop_limit
    }

    /// The instance document as served now (its `metadata_service` shows the
    /// settings in force).
    pub fn instance_document(&self) -> Bytes {
        let enabled = !lock(&self.faults).disabled;
        {
            let s = lock_read(&self.service);
            if s.rendered_enabled == enabled {
                return s.rendered.clone();
            }
        }
        let mut s = lock_write(&self.service);
        s.render(enabled);
        s.rendered.clone()
    }
}

/// The farthest [`Control::advance_clock`] may move the emulator clock ahead of
/// the system clock, in total: 36,525 days (100 years).
pub const MAX_CLOCK_OFFSET: Duration = Duration::from_secs(36_525 * 86_400);

/// A clock jump [`Control::advance_clock`] refused: it would put the emulator
/// clock more than [`MAX_CLOCK_OFFSET`] ahead of the system clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockError {
    /// The jump asked for.
    pub requested: Duration,
    /// How far ahead of the system clock the emulator clock already was.
    pub ahead: Duration,
}

impl std::fmt::Display for ClockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the emulator clock may run at most {} seconds (100 years) ahead of the system clock; \
             it is {} seconds ahead already, so a jump of {} seconds would pass that",
            MAX_CLOCK_OFFSET.as_secs(),
            self.ahead.as_secs(),
            self.requested.as_secs()
        )
    }
}

impl std::error::Error for ClockError {}

/// Run-time control of a running emulator: faults, token expiry, clock, counters
/// and the request log. Cheap to clone; usable from any thread.
#[derive(Clone)]
pub struct Control {
    pub(crate) state: Arc<State>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control").finish_non_exhaustive()
    }
}

impl Control {
    /// The current fault configuration.
    pub fn faults(&self) -> Faults {
        lock(&self.state.faults).clone()
    }

    /// Replaces the whole fault configuration.
    pub fn set_faults(&self, faults: Faults) -> Result<(), FaultError> {
        faults.validate()?;
        *lock(&self.state.faults) = faults;
        Ok(())
    }

    /// Back to a healthy service: no latency, no rules, enabled.
    pub fn clear_faults(&self) {
        *lock(&self.state.faults) = Faults::default();
    }

    /// Delay every request by `latency` (zero to turn off).
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.state.faults).latency_ms =
            u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
    }

    /// Appends a fault rule (see [`FaultRule`] for the constructors).
    pub fn add_fault(&self, rule: FaultRule) -> Result<(), FaultError> {
        rule.validate()?;
        lock(&self.state.faults).rules.push(rule);
        Ok(())
    }

    /// The next `count` requests fail with `status` (an IBM error body).
    pub fn fail_next(&self, count: u32, status: u16) -> Result<(), FaultError> {
        self.add_fault(FaultRule::status(status).times(count))
    }

    /// Enables or disables the service; disabled answers 403 `unauthorized`.
    pub fn set_enabled(&self, enabled: bool) {
        lock(&self.state.faults).disabled = !enabled;
    }

    /// The simulated instance's `metadata_service` settings (and `caller_hops`).
    pub fn metadata_service(&self) -> MetadataService {
        self.state.metadata_service()
    }

    /// Replaces the `metadata_service` settings (checked: hop limit 1..=64,
    /// caller hops 0..=64). `enabled` is the same switch as [`Control::set_enabled`].
    pub fn set_metadata_service(&self, settings: MetadataService) -> Result<(), ServiceError> {
        settings.validate()?;
        lock(&self.state.faults).disabled = !settings.enabled;
        let mut s = lock_write(&self.state.service);
        s.protocol = settings.protocol;
        s.response_hop_limit = settings.response_hop_limit;
        s.caller_hops = settings.caller_hops;
        s.render(settings.enabled);
        Ok(())
    }

    /// Changes only the members given; answers the settings now in force.
    pub fn update_metadata_service(
        &self,
        update: &MetadataServiceUpdate,
    ) -> Result<MetadataService, ServiceError> {
        let next = update.apply(self.metadata_service())?;
        self.set_metadata_service(next)?;
        Ok(next)
    }

    /// Every token issued so far is expired from now on.
    pub fn expire_tokens(&self) {
        self.state.tokens.expire_all(self.state.now_ms());
    }

    /// Moves the emulator clock forward (token timestamps, expiry, `version` "today").
    ///
    /// The clock never runs more than [`MAX_CLOCK_OFFSET`] (about 100 years)
    /// ahead of the system clock: a jump that would take it further is refused
    /// and changes nothing. Beyond that, tokens would be born expired and dates
    /// would leave the four-digit years of RFC 3339.
    pub fn advance_clock(&self, by: Duration) -> Result<(), ClockError> {
        let max_ms = MAX_CLOCK_OFFSET.as_millis() as i64;
        let ms = i64::try_from(by.as_millis()).ok();
        self.state
            .clock_offset_ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |o| {
                ms.and_then(|ms| o.checked_add(ms)).filter(|n| *n <= max_ms)
            })
            .map(|_| ())
            .map_err(|ahead_ms| ClockError {
                requested: by,
                ahead: Duration::from_millis(u64::try_from(ahead_ms).unwrap_or(0)),
            })
    }

    /// The emulator clock, in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        self.state.now_ms()
    }

    /// A snapshot of the counters.
    pub fn counters(&self) -> Counters {
        lock(&self.state.recorder).counters()
    }

    /// Zeroes the counters.
    pub fn reset_counters(&self) {
        lock(&self.state.recorder).reset_counters();
    }

    /// The request log, oldest first (at most [`crate::LOG_CAPACITY`] entries).
    pub fn requests(&self) -> Vec<LoggedRequest> {
        lock(&self.state.recorder).log()
    }

    /// Empties the request log.
    pub fn clear_requests(&self) {
        lock(&self.state.recorder).clear_log();
    }

    /// Faults, counters and log back to their initial state (tokens and clock stay).
    pub fn reset(&self) {
        self.clear_faults();
        let mut r = lock(&self.state.recorder);
        r.reset_counters();
        r.clear_log();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_error_names_the_limit() {
        let e = ClockError {
            requested: Duration::from_secs(u64::MAX),
            ahead: Duration::from_secs(60),
        };
        let text = e.to_string();
        assert!(text.contains("3155760000 seconds"), "{text}");
        assert!(text.contains(&u64::MAX.to_string()), "{text}");
    }

    #[test]
    fn collection_table_matches_the_fixture_order() {
        let f = Fixture::default();
        let names: Vec<&str> = f.collections().iter().map(|(n, _)| *n).collect();
        let keys: Vec<&str> = Coll::ALL.iter().map(|c| c.info().key).collect();
        assert_eq!(names, keys);
        assert_eq!(Coll::from_segment("keys", false), Some(Coll::Keys));
        assert_eq!(Coll::from_segment("keys", true), None);
        assert_eq!(
            Coll::from_segment("network_interfaces", true),
            Some(Coll::NetworkInterfaces)
        );
        assert_eq!(
            Coll::ClusterNetworkAttachments.info().item_route,
            "GET /metadata/v1/instance/cluster_network_attachments/{id}"
        );
    }
}
