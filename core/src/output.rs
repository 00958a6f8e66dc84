//! What an operation returns: typed documents borrowing the response body.

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

    /// The token of a token output.
    pub fn token(&self) -> Option<Secret<'_>> {
        match self {
            Output::IdentityToken(t) | Output::IamToken(t) => t.access_token.expose(),
            _ => None,
        }
    }
}
