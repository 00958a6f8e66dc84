use heapless::Vec;

use super::{Reference, ATTACHMENT_CAPACITY, FLOATING_IP_CAPACITY, SECURITY_GROUP_CAPACITY};
use crate::text::Text;

/// A floating IP: `{address, crn, id, name}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FloatingIp<'a> {
    /// The address.
    pub address: Option<Text<'a>>,
    /// CRN.
    pub crn: Option<Text<'a>>,
    /// Id.
    pub id: Option<Text<'a>>,
    /// Name.
    pub name: Option<Text<'a>>,
}

super::decode::json_fields!(FloatingIp<'a> { address, crn, id, name });

/// A network interface (`GET /metadata/v1/instance/network_interfaces/{id}`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkInterface<'a> {
    /// Id.
    pub id: Text<'a>,
    /// Name.
    pub name: Option<Text<'a>>,
    /// Creation time.
    pub created_at: Option<Text<'a>>,
    /// `network_interface`.
    pub resource_type: Option<Text<'a>>,
    /// `primary` or `secondary`.
    pub r#type: Option<Text<'a>>,
    /// e.g. `available`.
    pub status: Option<Text<'a>>,
    /// Whether source/destination checks are off.
    pub allow_ip_spoofing: Option<bool>,
    /// Port speed in Mbps.
    pub port_speed: Option<u32>,
    /// Primary IPv4 address.
    pub primary_ipv4_address: Option<Text<'a>>,
    /// Subnet.
    pub subnet: Option<Reference<'a>>,
    /// Security groups (at most [`SECURITY_GROUP_CAPACITY`]).
    pub security_groups: Vec<Reference<'a>, SECURITY_GROUP_CAPACITY>,
    /// Floating IPs (at most [`FLOATING_IP_CAPACITY`]).
    pub floating_ips: Vec<FloatingIp<'a>, FLOATING_IP_CAPACITY>,
}

super::decode::json_fields!(NetworkInterface<'a> {
    #[required] id, name, created_at, resource_type, r#type as "type", status,
    allow_ip_spoofing, port_speed, primary_ipv4_address, subnet, security_groups, floating_ips,
});

super::parse_fn!(NetworkInterface, "network interface");

/// `{network_interfaces: [...]}`, at most [`ATTACHMENT_CAPACITY`] entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkInterfaceCollection<'a> {
    /// The interfaces.
    pub network_interfaces: Vec<NetworkInterface<'a>, ATTACHMENT_CAPACITY>,
}

super::decode::json_fields!(NetworkInterfaceCollection<'a> { #[required] network_interfaces });

super::parse_fn!(NetworkInterfaceCollection, "network interface list");
