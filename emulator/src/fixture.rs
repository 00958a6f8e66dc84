//! The data the emulator serves: one instance and everything attached to it.
//!
//! A fixture is a JSON document whose members are IBM-shaped response objects
//! (see `emulator/README.md` for the format). The default fixture is
//! `fixtures/default.json`, compiled into the crate.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The default fixture's JSON text, as shipped in `fixtures/default.json`.
pub const DEFAULT_FIXTURE_JSON: &str = include_str!("../fixtures/default.json");

/// Everything the emulated instance's metadata service knows.
///
/// Objects are kept as JSON values and served as they are, so a fixture can carry
/// any field IBM adds later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// `GET /metadata/v1/instance`.
    pub instance: Map<String, Value>,
    /// `GET /metadata/v1/instance/initialization`.
    pub initialization: Map<String, Value>,
    /// `GET /metadata/v1/instance/network_interfaces[/{id}]`.
    #[serde(default)]
    pub network_interfaces: Vec<Map<String, Value>>,
    /// `GET /metadata/v1/instance/volume_attachments[/{id}]`.
    #[serde(default)]
    pub volume_attachments: Vec<Map<String, Value>>,
    /// `GET /metadata/v1/keys[/{id}]` (paginated).
    #[serde(default)]
    pub keys: Vec<Map<String, Value>>,
    /// `GET /metadata/v1/placement_groups[/{id}]` (paginated).
    #[serde(default)]
    pub placement_groups: Vec<Map<String, Value>>,
    /// `GET /metadata/v1/instance/network_attachments[/{id}]`.
    #[serde(default)]
    pub network_attachments: Vec<Map<String, Value>>,
    /// `GET /metadata/v1/instance/cluster_network_attachments[/{id}]`.
    #[serde(default)]
    pub cluster_network_attachments: Vec<Map<String, Value>>,
    /// `GET /metadata/v1/instance/software_attachments[/{id}]`.
    #[serde(default)]
    pub software_attachments: Vec<Map<String, Value>>,
    /// IAM trusted profiles the IAM-token exchange knows about.
    #[serde(default)]
    pub trusted_profiles: Vec<TrustedProfile>,
}

/// An IAM trusted profile, as the IAM-token exchange sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedProfile {
    /// Profile ID, e.g. `Profile-8dd84246-...`.
    pub id: String,
    /// Profile CRN.
    pub crn: String,
    /// Profile name (node-sdk-core can select by name).
    pub name: String,
    /// Whether the profile is linked to this instance; an unlinked one gives
    /// `profile_not_linked`, exactly like an unknown one.
    #[serde(default = "yes")]
    pub linked: bool,
}

fn yes() -> bool {
    true
}

/// Why a fixture could not be used.
#[derive(Debug)]
pub enum FixtureError {
    /// The file could not be read.
    Io(std::io::Error),
    /// The text is not a fixture document.
    Json(serde_json::Error),
    /// The document parsed but breaks a rule the emulator relies on.
    Invalid(String),
}

impl std::fmt::Display for FixtureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FixtureError::Io(e) => write!(f, "cannot read fixture: {e}"),
            FixtureError::Json(e) => write!(f, "fixture is not valid: {e}"),
            FixtureError::Invalid(why) => write!(f, "fixture is not valid: {why}"),
        }
    }
}

impl std::error::Error for FixtureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FixtureError::Io(e) => Some(e),
            FixtureError::Json(e) => Some(e),
            FixtureError::Invalid(_) => None,
        }
    }
}

impl From<FixtureError> for std::io::Error {
    fn from(e: FixtureError) -> Self {
        match e {
            FixtureError::Io(e) => e,
            other => std::io::Error::new(std::io::ErrorKind::InvalidData, other),
        }
    }
}

impl Default for Fixture {
    fn default() -> Self {
        // The shipped fixture is checked by a unit test; failing here is a build defect.
        Fixture::from_json(DEFAULT_FIXTURE_JSON).expect("fixtures/default.json is valid")
    }
}

impl Fixture {
    /// Parses and checks a fixture document.
    pub fn from_json(text: &str) -> Result<Fixture, FixtureError> {
        let fixture: Fixture = serde_json::from_str(text).map_err(FixtureError::Json)?;
        fixture.validate()?;
        Ok(fixture)
    }

    /// Reads, parses and checks a fixture file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Fixture, FixtureError> {
        let text = std::fs::read_to_string(path).map_err(FixtureError::Io)?;
        Fixture::from_json(&text)
    }

    /// The named collections, in a fixed order, for validation and serving.
    pub(crate) fn collections(&self) -> [(&'static str, &[Map<String, Value>]); 7] {
        [
            ("network_interfaces", &self.network_interfaces),
            ("volume_attachments", &self.volume_attachments),
            ("keys", &self.keys),
            ("placement_groups", &self.placement_groups),
            ("network_attachments", &self.network_attachments),
            (
                "cluster_network_attachments",
                &self.cluster_network_attachments,
            ),
            ("software_attachments", &self.software_attachments),
        ]
    }

    /// The default trusted profile's ID or CRN, from
    /// `initialization.default_trusted_profile.target`.
    pub(crate) fn default_profile_ref(&self) -> Option<(&str, &str)> {
        let target = self
            .initialization
            .get("default_trusted_profile")?
            .get("target")?;
        let id = target.get("id").and_then(Value::as_str).unwrap_or("");
        let crn = target.get("crn").and_then(Value::as_str).unwrap_or("");
        (!id.is_empty() || !crn.is_empty()).then_some((id, crn))
    }

    /// Checks what the server depends on: string IDs, unique per collection,
    /// that are safe as a path segment; a usable instance identity.
    pub fn validate(&self) -> Result<(), FixtureError> {
        let bad = |why: String| Err(FixtureError::Invalid(why));
        for field in ["id", "crn", "name"] {
            if self.instance.get(field).and_then(Value::as_str).is_none() {
                return bad(format!("instance.{field} must be a string"));
            }
        }
        for (name, items) in self.collections() {
            let mut seen = HashSet::new();
            for (i, item) in items.iter().enumerate() {
                let Some(id) = item.get("id").and_then(Value::as_str) else {
                    return bad(format!("{name}[{i}].id must be a string"));
                };
                if !is_path_safe(id) {
                    return bad(format!(
                        "{name}[{i}].id {id:?} must be non-empty and use only A-Z a-z 0-9 - _ . ~"
                    ));
                }
                if !seen.insert(id) {
                    return bad(format!("{name} has the id {id:?} twice"));
                }
            }
        }
        let mut seen = HashSet::new();
        for p in &self.trusted_profiles {
            if p.id.is_empty() || !seen.insert(p.id.as_str()) {
                return bad(format!(
                    "trusted_profiles: id {:?} is empty or repeated",
                    p.id
                ));
            }
        }
        Ok(())
    }
}

/// RFC 3986 unreserved characters: an ID made of them needs no escaping in a path.
pub(crate) fn is_path_safe(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_fixture_is_valid_and_consistent() {
        let f = Fixture::default();
        assert!(f.keys.len() >= 3);
        assert!(f.network_interfaces.len() >= 2);
        assert!(f.volume_attachments.len() >= 2);
        assert!(f.placement_groups.len() >= 3);
        let key_types: HashSet<_> = f.keys.iter().filter_map(|k| k["type"].as_str()).collect();
        assert!(key_types.contains("rsa") && key_types.contains("ed25519"));

        // The instance's summaries name exactly the objects the collections serve.
        let ids = |v: &Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x["id"].as_str().map(str::to_owned))
                .collect()
        };
        let coll_ids = |c: &[Map<String, Value>]| -> Vec<String> {
            c.iter()
                .map(|x| x["id"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(
            ids(&f.instance["network_interfaces"]),
            coll_ids(&f.network_interfaces)
        );
        assert_eq!(
            ids(&f.instance["volume_attachments"]),
            coll_ids(&f.volume_attachments)
        );
        assert_eq!(
            ids(&f.instance["network_attachments"]),
            coll_ids(&f.network_attachments)
        );
        assert_eq!(ids(&f.initialization["keys"]), coll_ids(&f.keys));
        assert_eq!(
            f.instance["boot_volume_attachment"]["id"],
            f.volume_attachments[0]["id"]
        );
        let (id, _) = f.default_profile_ref().unwrap();
        assert!(f.trusted_profiles.iter().any(|p| p.id == id && p.linked));
        assert!(f.trusted_profiles.iter().any(|p| !p.linked));
        let user_data = f.initialization["user_data"].as_str().unwrap();
        assert!(user_data.contains("multipart/mixed") && user_data.contains("Grüße, 世界"));
    }

    #[test]
    fn rejects_bad_fixtures() {
        let mut v: Value = serde_json::from_str(DEFAULT_FIXTURE_JSON).unwrap();
        v["keys"][1]["id"] = v["keys"][0]["id"].clone();
        let e = Fixture::from_json(&v.to_string()).unwrap_err();
        assert!(e.to_string().contains("twice"), "{e}");

        v["keys"][1]["id"] = Value::from("has/slash");
        let e = Fixture::from_json(&v.to_string()).unwrap_err();
        assert!(e.to_string().contains("keys[1].id"), "{e}");

        let e = Fixture::from_json(r#"{"instance":{},"initialization":{},"extra":1}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
        let e = Fixture::from_json(r#"{"instance":{},"initialization":{}}"#).unwrap_err();
        assert!(e.to_string().contains("instance.id"), "{e}");
    }
}
