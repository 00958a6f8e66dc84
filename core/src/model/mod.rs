//! Typed, borrowed views of the service's JSON documents.
//!
//! Every string is a [`Text`] borrowed from the body; lists are `heapless::Vec`
//! with the capacities documented on each type (a longer list is a
//! [`BodyError`]); unknown fields are ignored, since IBM adds fields over time.
//! Field names are IBM's own; `type` is spelled `r#type`.

use heapless::Vec;

use crate::error::BodyError;
use crate::text::Text;

mod certificate;
pub(crate) mod decode;
mod error_body;
mod initialization;
mod instance;
pub(crate) mod json;
mod key;
mod network;
mod page;
mod placement;
pub(crate) mod serialize;
mod time;
mod token;
mod volume;
pub(crate) mod write;

pub use certificate::IdentityCertificate;
pub use decode::FirstOf;
pub use error_body::{ErrorBody, ErrorItem, ErrorTarget};
pub use initialization::{DefaultTrustedProfile, Initialization, Password, TrustedProfileRef};
pub use instance::{
    Availability, AvailabilityPolicy, Burst, CatalogOffering, Disk, Gpu, Instance, MetadataService,
    NetworkAttachmentRef, NetworkInterfaceRef, ReservationAffinity, Vcpu, VolumeAttachmentRef,
};
pub use key::{Key, KeyCollection, KeyRef};
pub use network::{FloatingIp, NetworkInterface, NetworkInterfaceCollection};
pub use page::{Href, PageLinks};
pub use placement::{PlacementGroup, PlacementGroupCollection};
pub use time::parse_rfc3339;
pub use token::{AccessToken, SecretText};
pub use volume::{Deleted, Device, VolumeAttachment, VolumeAttachmentCollection, VolumeRef};

/// Most items in one page of a paginated list (the service's default page size).
pub const PAGE_CAPACITY: usize = 50;
/// Most network interfaces, network attachments or volume attachments per instance.
pub const ATTACHMENT_CAPACITY: usize = 16;
/// Most entries in reason lists, disks and other small lists.
pub const SMALL_LIST_CAPACITY: usize = 8;
/// Most security groups on one network interface (the VPC limit is 5).
pub const SECURITY_GROUP_CAPACITY: usize = 5;
/// Most floating IPs on one network interface.
pub const FLOATING_IP_CAPACITY: usize = 4;
/// Most SSH keys listed in the initialization document.
pub const INIT_KEYS_CAPACITY: usize = 16;

/// Deepest nesting of arrays and objects accepted; IMDS documents nest about 5 deep.
pub const MAX_DEPTH: usize = 64;

#[cfg(test)]
mod tests {
    #[test]
    fn deep_nesting_is_refused_not_recursed() {
        let mut body = heapless::Vec::<u8, 4096>::new();
        body.extend_from_slice(b"{\"id\":\"x\",\"f\":").unwrap();
        for _ in 0..1000 {
            body.push(b'[').unwrap();
        }
        for _ in 0..1000 {
            body.push(b']').unwrap();
        }
        body.push(b'}').unwrap();
        let err = super::Instance::parse(&body).unwrap_err();
        assert_eq!(err.reason, "the JSON nests deeper than 64 levels");
        // Brackets inside strings do not count.
        let quoted =
            br#"{"id":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"[["}"#;
        assert!(super::Instance::parse(quoted).is_ok());
    }

    #[test]
    fn raw_control_characters_in_strings_are_refused() {
        for body in [
            &b"{\"id\":\"a\x00b\"}"[..],
            b"{\"id\":\"a\x1b[2J\"}",
            b"{\"id\":\"a\r\nX-Evil: 1\"}",
            b"{\"id\":\"x\",\"unknown\":[\"\t\"]}",
            b"{\"id\":\"x\",\"k\x01ey\":1}",
        ] {
            let err = super::Instance::parse(body).unwrap_err();
            assert_eq!(
                err.reason, "a string holds a raw control character",
                "{body:?}"
            );
        }
        // Escaped, they are valid JSON and decode.
        let i = super::Instance::parse(br#"{"id":"a\u001b\r\n"}"#).unwrap();
        assert!(i.id.eq_str("a\u{1b}\r\n"));
        // Whitespace between tokens is not inside a string.
        assert!(super::Instance::parse(b"{\r\n\t\"id\" :\n\"x\"\r\n}\n").is_ok());
    }
}

/// Parses a JSON document into a model; `what` names it in errors.
///
/// One pass over the body checks its grammar, depth, strings (no raw control
/// characters, valid escapes and UTF-8) and fills the model: see [`json`].
pub(crate) fn parse<'a, T: decode::Decode<'a> + Default>(
    body: &'a [u8],
    what: &'static str,
) -> Result<T, BodyError> {
    json::from_slice(body, what)
}

macro_rules! parse_fn {
    ($t:ident, $what:literal) => {
        impl<'a> $t<'a> {
            #[doc = concat!("Parses a ", $what, " document.")]
            pub fn parse(body: &'a [u8]) -> Result<Self, crate::error::BodyError> {
                crate::model::parse(body, $what)
            }

            /// Parses into `out` (which should hold the default) without moving
            /// the model: for callers that keep it in a slot of their own.
            #[allow(dead_code)] // not every model is an operation's output
            pub(crate) fn parse_into(
                body: &'a [u8],
                out: &mut Self,
            ) -> Result<(), crate::error::BodyError> {
                crate::model::json::decode_into(body, $what, out)
            }
        }
    };
}
pub(crate) use parse_fn;

/// A reference to another resource: `{crn, id, name, resource_type}` (no `href` in IMDS).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reference<'a> {
    /// CRN.
    pub crn: Option<Text<'a>>,
    /// Id.
    pub id: Option<Text<'a>>,
    /// Name.
    pub name: Option<Text<'a>>,
    /// Resource type, e.g. `vpc`, `subnet`, `image`.
    pub resource_type: Option<Text<'a>>,
}

decode::json_fields!(Reference<'a> { crn, id, name, resource_type });

/// A reference by name only, e.g. `zone`, `profile`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NameRef<'a> {
    /// Name.
    pub name: Text<'a>,
    /// Resource type, if given.
    pub resource_type: Option<Text<'a>>,
}

decode::json_fields!(NameRef<'a> { #[required] name, resource_type });

/// A status, lifecycle or health reason: `{code, message, more_info}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reason<'a> {
    /// Machine-readable code.
    pub code: Option<Text<'a>>,
    /// Human-readable message.
    pub message: Option<Text<'a>>,
    /// Link to more information.
    pub more_info: Option<Text<'a>>,
}

decode::json_fields!(Reason<'a> { code, message, more_info });

/// A list of references with a capacity.
pub type References<'a, const N: usize> = Vec<Reference<'a>, N>;
