use heapless::Vec;

use super::{Href, PAGE_CAPACITY};
use crate::text::Text;

/// An SSH key (`GET /metadata/v1/keys/{id}`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Key<'a> {
    /// Id.
    pub id: Text<'a>,
    /// CRN.
    pub crn: Option<Text<'a>>,
    /// Name.
    pub name: Option<Text<'a>>,
    /// Creation time.
    pub created_at: Option<Text<'a>>,
    /// `key`.
    pub resource_type: Option<Text<'a>>,
    /// `SHA256:` + base64.
    pub fingerprint: Option<Text<'a>>,
    /// Key length in bits.
    pub length: Option<u32>,
    /// The public key in OpenSSH form.
    pub public_key: Text<'a>,
    /// `rsa` or `ed25519`.
    pub r#type: Option<Text<'a>>,
}

super::decode::json_fields!(Key<'a> {
    #[required] id, crn, name, created_at, resource_type, fingerprint, length,
    #[required] public_key, r#type as "type",
});

super::parse_fn!(Key, "key");

/// A key as listed in the initialization document: `{crn, fingerprint, id, name, resource_type}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyRef<'a> {
    /// CRN.
    pub crn: Option<Text<'a>>,
    /// Fingerprint.
    pub fingerprint: Option<Text<'a>>,
    /// Id.
    pub id: Option<Text<'a>>,
    /// Name.
    pub name: Option<Text<'a>>,
    /// `key`.
    pub resource_type: Option<Text<'a>>,
}

super::decode::json_fields!(KeyRef<'a> { crn, fingerprint, id, name, resource_type });

/// One page of `GET /metadata/v1/keys`, at most [`PAGE_CAPACITY`] keys.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyCollection<'a> {
    /// The keys on this page.
    pub keys: Vec<Key<'a>, PAGE_CAPACITY>,
    /// First page.
    pub first: Option<Href<'a>>,
    /// Next page, absent on the last.
    pub next: Option<Href<'a>>,
    /// Page size.
    pub limit: Option<u32>,
    /// Keys in the whole collection.
    pub total_count: Option<u32>,
}

super::decode::json_fields!(KeyCollection<'a> {
    #[required] keys, first, next, limit, total_count,
});

super::parse_fn!(KeyCollection, "key list");
