use heapless::Vec;

use super::ATTACHMENT_CAPACITY;
use crate::text::Text;

/// `device`: `{id}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Device<'a> {
    /// Device identifier.
    pub id: Option<Text<'a>>,
}

super::decode::json_fields!(Device<'a> { id });

/// `deleted`: present when the referenced resource is gone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Deleted<'a> {
    /// Link to more information.
    pub more_info: Option<Text<'a>>,
}

super::decode::json_fields!(Deleted<'a> { more_info });

/// A volume reference: `{crn, id, name, resource_type, deleted?}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VolumeRef<'a> {
    /// CRN.
    pub crn: Option<Text<'a>>,
    /// Id.
    pub id: Option<Text<'a>>,
    /// Name.
    pub name: Option<Text<'a>>,
    /// `volume`.
    pub resource_type: Option<Text<'a>>,
    /// Present if the volume was deleted.
    pub deleted: Option<Deleted<'a>>,
}

super::decode::json_fields!(VolumeRef<'a> { crn, id, name, resource_type, deleted });

/// A volume attachment (`GET /metadata/v1/instance/volume_attachments/{id}`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VolumeAttachment<'a> {
    /// Id.
    pub id: Text<'a>,
    /// Name.
    pub name: Option<Text<'a>>,
    /// Creation time.
    pub created_at: Option<Text<'a>>,
    /// `boot` or `data`.
    pub r#type: Option<Text<'a>>,
    /// `attached`, `attaching`, `deleting`, `detaching`.
    pub status: Option<Text<'a>>,
    /// Whether the volume goes with the instance.
    pub delete_volume_on_instance_delete: Option<bool>,
    /// Bandwidth in Mbps.
    pub bandwidth: Option<u32>,
    /// Device.
    pub device: Option<Device<'a>>,
    /// Volume.
    pub volume: Option<VolumeRef<'a>>,
}

super::decode::json_fields!(VolumeAttachment<'a> {
    #[required] id, name, created_at, r#type as "type", status,
    delete_volume_on_instance_delete, bandwidth, device, volume,
});

super::parse_fn!(VolumeAttachment, "volume attachment");

/// `{volume_attachments: [...]}`, at most [`ATTACHMENT_CAPACITY`] entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VolumeAttachmentCollection<'a> {
    /// The attachments.
    pub volume_attachments: Vec<VolumeAttachment<'a>, ATTACHMENT_CAPACITY>,
}

super::decode::json_fields!(VolumeAttachmentCollection<'a> { #[required] volume_attachments });

super::parse_fn!(VolumeAttachmentCollection, "volume attachment list");
