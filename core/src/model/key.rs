use heapless::Vec;
use serde::{Deserialize, Serialize};

use super::{Href, PAGE_CAPACITY};
use crate::text::Text;

/// An SSH key (`GET /metadata/v1/keys/{id}`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key<'a> {
    /// Id.
    #[serde(borrow)]
    pub id: Text<'a>,
    /// CRN.
    #[serde(borrow, default)]
    pub crn: Option<Text<'a>>,
    /// Name.
    #[serde(borrow, default)]
    pub name: Option<Text<'a>>,
    /// Creation time.
    #[serde(borrow, default)]
    pub created_at: Option<Text<'a>>,
    /// `key`.
    #[serde(borrow, default)]
    pub resource_type: Option<Text<'a>>,
    /// `SHA256:` + base64.
    #[serde(borrow, default)]
    pub fingerprint: Option<Text<'a>>,
    /// Key length in bits.
    #[serde(default)]
    pub length: Option<u32>,
    /// The public key in OpenSSH form.
    #[serde(borrow)]
    pub public_key: Text<'a>,
    /// `rsa` or `ed25519`.
    #[serde(borrow, default, rename = "type")]
    pub r#type: Option<Text<'a>>,
}

super::parse_fn!(Key, "key");

/// A key as listed in the initialization document: `{crn, fingerprint, id, name, resource_type}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRef<'a> {
    /// CRN.
    #[serde(borrow, default)]
    pub crn: Option<Text<'a>>,
    /// Fingerprint.
    #[serde(borrow, default)]
    pub fingerprint: Option<Text<'a>>,
    /// Id.
    #[serde(borrow, default)]
    pub id: Option<Text<'a>>,
    /// Name.
    #[serde(borrow, default)]
    pub name: Option<Text<'a>>,
    /// `key`.
    #[serde(borrow, default)]
    pub resource_type: Option<Text<'a>>,
}

/// One page of `GET /metadata/v1/keys`, at most [`PAGE_CAPACITY`] keys.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyCollection<'a> {
    /// The keys on this page.
    #[serde(borrow)]
    pub keys: Vec<Key<'a>, PAGE_CAPACITY>,
    /// First page.
    #[serde(borrow, default)]
    pub first: Option<Href<'a>>,
    /// Next page, absent on the last.
    #[serde(borrow, default)]
    pub next: Option<Href<'a>>,
    /// Page size.
    #[serde(default)]
    pub limit: Option<u32>,
    /// Keys in the whole collection.
    #[serde(default)]
    pub total_count: Option<u32>,
}

super::parse_fn!(KeyCollection, "key list");
