use heapless::Vec;
use serde::{Deserialize, Serialize};

use super::{KeyRef, Reference, INIT_KEYS_CAPACITY};
use crate::text::Text;

/// The initialization document (`GET /metadata/v1/instance/initialization`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Initialization<'a> {
    /// SSH keys chosen at creation (at most [`INIT_KEYS_CAPACITY`]).
    #[serde(borrow, default)]
    pub keys: Vec<KeyRef<'a>, INIT_KEYS_CAPACITY>,
    /// User data as supplied at creation (text; may be MIME multi-part or cloud-config).
    #[serde(borrow, default)]
    pub user_data: Option<Text<'a>>,
    /// Encrypted administrator password, when set.
    #[serde(borrow, default)]
    pub password: Option<Password<'a>>,
    /// Default trusted profile, when set at creation.
    #[serde(borrow, default)]
    pub default_trusted_profile: Option<DefaultTrustedProfile<'a>>,
}

super::parse_fn!(Initialization, "initialization");

/// `password`: `{encrypted_password, encryption_key}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Password<'a> {
    /// Base64 of the password encrypted with `encryption_key`.
    #[serde(borrow, default)]
    pub encrypted_password: Option<Text<'a>>,
    /// The key it was encrypted with.
    #[serde(borrow, default)]
    pub encryption_key: Option<Reference<'a>>,
}

/// `default_trusted_profile`: `{auto_link, target}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultTrustedProfile<'a> {
    /// Whether the profile is linked automatically.
    #[serde(default)]
    pub auto_link: Option<bool>,
    /// The profile.
    #[serde(borrow, default)]
    pub target: Option<TrustedProfileRef<'a>>,
}

/// A trusted profile reference: `{crn, id, resource_type?}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedProfileRef<'a> {
    /// CRN.
    #[serde(borrow, default)]
    pub crn: Option<Text<'a>>,
    /// Id.
    #[serde(borrow, default)]
    pub id: Option<Text<'a>>,
    /// `trusted_profile`.
    #[serde(borrow, default)]
    pub resource_type: Option<Text<'a>>,
}
