//! What an operation returns: typed documents borrowing the response body.

use crate::model::serialize::ToField;
use crate::model::write::write_json;
use crate::model::{
    AccessToken, IdentityCertificate, Initialization, Instance, Key, KeyCollection,
    NetworkInterface, NetworkInterfaceCollection, PlacementGroup, PlacementGroupCollection,
    VolumeAttachment, VolumeAttachmentCollection,
};
use crate::token::Secret;

/// An operation's result, borrowing the response body.
#[derive(Debug)]
#[non_exhaustive]
pub enum Output<'b> {
    /// A new identity token.
    IdentityToken(AccessToken<'b>),
    /// An IAM token.
    IamToken(AccessToken<'b>),
    /// The instance.
    Instance(Instance<'b>),
    /// The initialization document.
    Initialization(Initialization<'b>),
    /// All network interfaces.
    NetworkInterfaces(NetworkInterfaceCollection<'b>),
    /// One network interface.
    NetworkInterface(NetworkInterface<'b>),
    /// All volume attachments.
    VolumeAttachments(VolumeAttachmentCollection<'b>),
    /// One volume attachment.
    VolumeAttachment(VolumeAttachment<'b>),
    /// One page of keys.
    Keys(KeyCollection<'b>),
    /// One key.
    Key(Key<'b>),
    /// One page of placement groups.
    PlacementGroups(PlacementGroupCollection<'b>),
    /// One placement group.
    PlacementGroup(PlacementGroup<'b>),
    /// An identity certificate.
    IdentityCertificate(IdentityCertificate<'b>),
    /// The raw JSON body of a generic GET (one page of it when following pages).
    Raw(&'b [u8]),
}

impl Output<'_> {
    /// A stable snake_case name of the output's type, as used in test vectors.
    pub fn type_name(&self) -> &'static str {
        match self {
            Output::IdentityToken(_) => "identity_token",
            Output::IamToken(_) => "iam_token",
            Output::Instance(_) => "instance",
            Output::Initialization(_) => "initialization",
            Output::NetworkInterfaces(_) => "network_interfaces",
            Output::NetworkInterface(_) => "network_interface",
            Output::VolumeAttachments(_) => "volume_attachments",
            Output::VolumeAttachment(_) => "volume_attachment",
            Output::Keys(_) => "keys",
            Output::Key(_) => "key",
            Output::PlacementGroups(_) => "placement_groups",
            Output::PlacementGroup(_) => "placement_group",
            Output::IdentityCertificate(_) => "identity_certificate",
            Output::Raw(_) => "raw",
        }
    }

    /// The document as compact JSON text: a typed output in IBM's JSON form (every
    /// field under its JSON key, in order; absent optional values as `null`), byte
    /// for byte what `serde_json::to_string` writes for the model; a raw body as it
    /// came. Fails on a string with an invalid escape, a raw body that is not UTF-8,
    /// or when `out` fails.
    ///
    /// ```
    /// use vpc_imds_core::model::Key;
    /// use vpc_imds_core::Output;
    ///
    /// let key = Key::parse(br#"{"id":"k1","public_key":"ssh-ed25519 AAAA","extra":1}"#).unwrap();
    /// let mut text = String::new();
    /// Output::Key(key).write_json(&mut text).unwrap();
    /// assert!(text.starts_with(r#"{"id":"k1","crn":null,"#), "{text}");
    /// ```
    pub fn write_json(&self, out: &mut impl core::fmt::Write) -> core::fmt::Result {
        let model = match self {
            Output::IdentityToken(x) | Output::IamToken(x) => x.to_field(),
            Output::Instance(x) => x.to_field(),
            Output::Initialization(x) => x.to_field(),
            Output::NetworkInterfaces(x) => x.to_field(),
            Output::NetworkInterface(x) => x.to_field(),
            Output::VolumeAttachments(x) => x.to_field(),
            Output::VolumeAttachment(x) => x.to_field(),
            Output::Keys(x) => x.to_field(),
            Output::Key(x) => x.to_field(),
            Output::PlacementGroups(x) => x.to_field(),
            Output::PlacementGroup(x) => x.to_field(),
            Output::IdentityCertificate(x) => x.to_field(),
            Output::Raw(body) => {
                return out.write_str(core::str::from_utf8(body).map_err(|_| core::fmt::Error)?)
            }
        };
        write_json(model, out)
    }

    /// The token of a token output.
    pub fn token(&self) -> Option<Secret<'_>> {
        match self {
            Output::IdentityToken(t) | Output::IamToken(t) => t.access_token.expose(),
            _ => None,
        }
    }
}
