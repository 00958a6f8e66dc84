use heapless::Vec;
use serde::{Deserialize, Serialize};

use super::{Reference, ATTACHMENT_CAPACITY, FLOATING_IP_CAPACITY, SECURITY_GROUP_CAPACITY};
use crate::text::Text;

/// A floating IP: `{address, crn, id, name}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FloatingIp<'a> {
    /// The address.
    #[serde(borrow, default)]
    pub address: Option<Text<'a>>,
    /// CRN.
    #[serde(borrow, default)]
    pub crn: Option<Text<'a>>,
    /// Id.
    #[serde(borrow, default)]
    pub id: Option<Text<'a>>,
    /// Name.
    #[serde(borrow, default)]
    pub name: Option<Text<'a>>,
}

/// A network interface (`GET /metadata/v1/instance/network_interfaces/{id}`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkInterface<'a> {
    /// Id.
    #[serde(borrow)]
    pub id: Text<'a>,
    /// Name.
    #[serde(borrow, default)]
    pub name: Option<Text<'a>>,
    /// Creation time.
    #[serde(borrow, default)]
    pub created_at: Option<Text<'a>>,
    /// `network_interface`.
    #[serde(borrow, default)]
    pub resource_type: Option<Text<'a>>,
    /// `primary` or `secondary`.
    #[serde(borrow, default, rename = "type")]
    pub r#type: Option<Text<'a>>,
    /// e.g. `available`.
    #[serde(borrow, default)]
    pub status: Option<Text<'a>>,
    /// Whether source/destination checks are off.
    #[serde(default)]
    pub allow_ip_spoofing: Option<bool>,
    /// Port speed in Mbps.
    #[serde(default)]
    pub port_speed: Option<u32>,
    /// Primary IPv4 address.
    #[serde(borrow, default)]
    pub primary_ipv4_address: Option<Text<'a>>,
    /// Subnet.
    #[serde(borrow, default)]
    pub subnet: Option<Reference<'a>>,
    /// Security groups (at most [`SECURITY_GROUP_CAPACITY`]).
    #[serde(borrow, default)]
    pub security_groups: Vec<Reference<'a>, SECURITY_GROUP_CAPACITY>,
    /// Floating IPs (at most [`FLOATING_IP_CAPACITY`]).
    #[serde(borrow, default)]
    pub floating_ips: Vec<FloatingIp<'a>, FLOATING_IP_CAPACITY>,
}

super::parse_fn!(NetworkInterface, "network interface");

/// `{network_interfaces: [...]}`, at most [`ATTACHMENT_CAPACITY`] entries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkInterfaceCollection<'a> {
    /// The interfaces.
    #[serde(borrow)]
    pub network_interfaces: Vec<NetworkInterface<'a>, ATTACHMENT_CAPACITY>,
}

super::parse_fn!(NetworkInterfaceCollection, "network interface list");
