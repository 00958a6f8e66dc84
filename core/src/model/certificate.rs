use heapless::Vec;

use crate::text::Text;

/// An identity certificate (`POST .../certificates`): leaf first, then CAs (at most 4).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdentityCertificate<'a> {
    /// PEM certificates, leaf first.
    pub certificates: Vec<Text<'a>, 4>,
    /// Id.
    pub id: Option<Text<'a>>,
    /// Creation time.
    pub created_at: Option<Text<'a>>,
    /// Expiry time.
    pub expires_at: Option<Text<'a>>,
    /// Lifetime in seconds.
    pub expires_in: Option<u32>,
}

super::decode::json_fields!(IdentityCertificate<'a> {
    #[required] certificates, id, created_at, expires_at, expires_in,
});

super::parse_fn!(IdentityCertificate, "certificate");
