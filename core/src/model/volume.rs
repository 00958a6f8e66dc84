use heapless::Vec;
use serde::{Deserialize, Serialize};

use super::ATTACHMENT_CAPACITY;
use crate::text::Text;

/// `device`: `{id}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device<'a> {
    /// Device identifier.
    #[serde(borrow, default)]
    pub id: Option<Text<'a>>,
}

/// `deleted`: present when the referenced resource is gone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deleted<'a> {
    /// Link to more information.
    #[serde(borrow, default)]
    pub more_info: Option<Text<'a>>,
}

/// A volume reference: `{crn, id, name, resource_type, deleted?}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeRef<'a> {
    /// CRN.
    #[serde(borrow, default)]
    pub crn: Option<Text<'a>>,
    /// Id.
    #[serde(borrow, default)]
    pub id: Option<Text<'a>>,
    /// Name.
    #[serde(borrow, default)]
    pub name: Option<Text<'a>>,
    /// `volume`.
    #[serde(borrow, default)]
    pub resource_type: Option<Text<'a>>,
    /// Present if the volume was deleted.
    #[serde(borrow, default)]
    pub deleted: Option<Deleted<'a>>,
}

/// A volume attachment (`GET /metadata/v1/instance/volume_attachments/{id}`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeAttachment<'a> {
    /// Id.
    #[serde(borrow)]
    pub id: Text<'a>,
    /// Name.
    #[serde(borrow, default)]
    pub name: Option<Text<'a>>,
    /// Creation time.
    #[serde(borrow, default)]
    pub created_at: Option<Text<'a>>,
    /// `boot` or `data`.
    #[serde(borrow, default, rename = "type")]
    pub r#type: Option<Text<'a>>,
    /// `attached`, `attaching`, `deleting`, `detaching`.
    #[serde(borrow, default)]
    pub status: Option<Text<'a>>,
    /// Whether the volume goes with the instance.
    #[serde(default)]
    pub delete_volume_on_instance_delete: Option<bool>,
    /// Bandwidth in Mbps.
    #[serde(default)]
    pub bandwidth: Option<u32>,
    /// Device.
    #[serde(borrow, default)]
    pub device: Option<Device<'a>>,
    /// Volume.
    #[serde(borrow, default)]
    pub volume: Option<VolumeRef<'a>>,
}

super::parse_fn!(VolumeAttachment, "volume attachment");

/// `{volume_attachments: [...]}`, at most [`ATTACHMENT_CAPACITY`] entries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeAttachmentCollection<'a> {
    /// The attachments.
    #[serde(borrow)]
    pub volume_attachments: Vec<VolumeAttachment<'a>, ATTACHMENT_CAPACITY>,
}

super::parse_fn!(VolumeAttachmentCollection, "volume attachment list");
