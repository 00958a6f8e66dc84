use heapless::Vec;

use super::{KeyRef, Reference, INIT_KEYS_CAPACITY};
use crate::text::Text;

/// The initialization document (`GET /metadata/v1/instance/initialization`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Initialization<'a> {
    /// SSH keys chosen at creation (at most [`INIT_KEYS_CAPACITY`]).
    pub keys: Vec<KeyRef<'a>, INIT_KEYS_CAPACITY>,
    /// User data as supplied at creation (text; may be MIME multi-part or cloud-config).
    pub user_data: Option<Text<'a>>,
    /// Encrypted administrator password, when set.
    pub password: Option<Password<'a>>,
    /// Default trusted profile, when set at creation.
    pub default_trusted_profile: Option<DefaultTrustedProfile<'a>>,
}

super::decode::json_fields!(Initialization<'a> {
    keys, user_data, password, default_trusted_profile,
});

super::parse_fn!(Initialization, "initialization");

/// `password`: `{encrypted_password, encryption_key}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Password<'a> {
    /// Base64 of the password encrypted with `encryption_key`.
    pub encrypted_password: Option<Text<'a>>,
    /// The key it was encrypted with.
    pub encryption_key: Option<Reference<'a>>,
}

super::decode::json_fields!(Password<'a> { encrypted_password, encryption_key });

/// `default_trusted_profile`: `{auto_link, target}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DefaultTrustedProfile<'a> {
    /// Whether the profile is linked automatically.
    pub auto_link: Option<bool>,
    /// The profile.
    pub target: Option<TrustedProfileRef<'a>>,
}

super::decode::json_fields!(DefaultTrustedProfile<'a> { auto_link, target });

/// A trusted profile reference: `{crn, id, resource_type?}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrustedProfileRef<'a> {
    /// CRN.
    pub crn: Option<Text<'a>>,
    /// Id.
    pub id: Option<Text<'a>>,
    /// `trusted_profile`.
    pub resource_type: Option<Text<'a>>,
}

super::decode::json_fields!(TrustedProfileRef<'a> { crn, id, resource_type });
