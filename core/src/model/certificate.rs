use heapless::Vec;
use serde::{Deserialize, Serialize};

use crate::text::Text;

/// An identity certificate (`POST .../certificates`): leaf first, then CAs (at most 4).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityCertificate<'a> {
    /// PEM certificates, leaf first.
    #[serde(borrow)]
    pub certificates: Vec<Text<'a>, 4>,
    /// Id.
    #[serde(borrow, default)]
    pub id: Option<Text<'a>>,
    /// Creation time.
    #[serde(borrow, default)]
    pub created_at: Option<Text<'a>>,
    /// Expiry time.
    #[serde(borrow, default)]
    pub expires_at: Option<Text<'a>>,
    /// Lifetime in seconds.
    #[serde(default)]
    pub expires_in: Option<u32>,
}

super::parse_fn!(IdentityCertificate, "certificate");
