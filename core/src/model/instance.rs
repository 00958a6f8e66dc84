use heapless::Vec;
use serde::{Deserialize, Serialize};

use super::{Device, VolumeRef};
use super::{NameRef, Reason, Reference, ATTACHMENT_CAPACITY, SMALL_LIST_CAPACITY};
use crate::text::Text;

/// The instance document (`GET /metadata/v1/instance`).
///
/// Lists hold at most [`ATTACHMENT_CAPACITY`] attachments and
/// [`SMALL_LIST_CAPACITY`] reasons, disks or software attachments.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance<'a> {
    /// Instance id.
    #[serde(borrow)]
    pub id: Text<'a>,
    /// CRN.
    #[serde(borrow, default)]
    pub crn: Option<Text<'a>>,
    /// Name.
    #[serde(borrow, default)]
    pub name: Option<Text<'a>>,
    /// Always `instance`.
    #[serde(borrow, default)]
    pub resource_type: Option<Text<'a>>,
    /// Creation time (RFC 3339).
    #[serde(borrow, default)]
    pub created_at: Option<Text<'a>>,
    /// `running`, `stopped`, ...
    #[serde(borrow, default)]
    pub status: Option<Text<'a>>,
    /// Why the status is what it is.
    #[serde(borrow, default)]
    pub status_reasons: Vec<Reason<'a>, SMALL_LIST_CAPACITY>,
    /// `stable`, `pending`, ...
    #[serde(borrow, default)]
    pub lifecycle_state: Option<Text<'a>>,
    /// Why the lifecycle state is what it is.
    #[serde(borrow, default)]
    pub lifecycle_reasons: Vec<Reason<'a>, SMALL_LIST_CAPACITY>,
    /// `ok`, `degraded`, ...
    #[serde(borrow, default)]
    pub health_state: Option<Text<'a>>,
    /// Why the health state is what it is.
    #[serde(borrow, default)]
    pub health_reasons: Vec<Reason<'a>, SMALL_LIST_CAPACITY>,
    /// Whether the instance can be started.
    #[serde(default)]
    pub startable: Option<bool>,
    /// Memory in GiB.
    #[serde(default)]
    pub memory: Option<u32>,
    /// Virtual CPUs.
    #[serde(borrow, default)]
    pub vcpu: Option<Vcpu<'a>>,
    /// Threads per core.
    #[serde(default)]
    pub threads_per_core: Option<u32>,
    /// NUMA nodes.
    #[serde(default)]
    pub numa_count: Option<u32>,
    /// Total bandwidth in Mbps.
    #[serde(default)]
    pub bandwidth: Option<u32>,
    /// Network bandwidth in Mbps.
    #[serde(default)]
    pub total_network_bandwidth: Option<u32>,
    /// Volume bandwidth in Mbps.
    #[serde(default)]
    pub total_volume_bandwidth: Option<u32>,
    /// `pooled` or `weighted`.
    #[serde(borrow, default)]
    pub volume_bandwidth_qos_mode: Option<Text<'a>>,
    /// Instance profile, e.g. `bx2-2x8`.
    #[serde(borrow, default)]
    pub profile: Option<NameRef<'a>>,
    /// Zone, e.g. `us-south-1`.
    #[serde(borrow, default)]
    pub zone: Option<NameRef<'a>>,
    /// VPC.
    #[serde(borrow, default)]
    pub vpc: Option<Reference<'a>>,
    /// Boot image (absent for some boot sources).
    #[serde(borrow, default)]
    pub image: Option<Reference<'a>>,
    /// Resource group.
    #[serde(borrow, default)]
    pub resource_group: Option<Reference<'a>>,
    /// Metadata service settings.
    #[serde(borrow, default)]
    pub metadata_service: Option<MetadataService<'a>>,
    /// Availability class.
    #[serde(borrow, default)]
    pub availability: Option<Availability<'a>>,
    /// Availability policy.
    #[serde(borrow, default)]
    pub availability_policy: Option<AvailabilityPolicy<'a>>,
    /// Boot volume attachment.
    #[serde(borrow, default)]
    pub boot_volume_attachment: Option<VolumeAttachmentRef<'a>>,
    /// All volume attachments, boot included.
    #[serde(borrow, default)]
    pub volume_attachments: Vec<VolumeAttachmentRef<'a>, ATTACHMENT_CAPACITY>,
    /// Primary network interface.
    #[serde(borrow, default)]
    pub primary_network_interface: Option<NetworkInterfaceRef<'a>>,
    /// All network interfaces.
    #[serde(borrow, default)]
    pub network_interfaces: Vec<NetworkInterfaceRef<'a>, ATTACHMENT_CAPACITY>,
    /// Primary network attachment.
    #[serde(borrow, default)]
    pub primary_network_attachment: Option<NetworkAttachmentRef<'a>>,
    /// All network attachments.
    #[serde(borrow, default)]
    pub network_attachments: Vec<NetworkAttachmentRef<'a>, ATTACHMENT_CAPACITY>,
    /// Cluster network attachments.
    #[serde(borrow, default)]
    pub cluster_network_attachments: Vec<Reference<'a>, ATTACHMENT_CAPACITY>,
    /// Instance storage disks.
    #[serde(borrow, default)]
    pub disks: Vec<Disk<'a>, SMALL_LIST_CAPACITY>,
    /// Dedicated host, if placed on one.
    #[serde(borrow, default)]
    pub dedicated_host: Option<Reference<'a>>,
    /// Placement target, if any.
    #[serde(borrow, default)]
    pub placement_target: Option<Reference<'a>>,
    /// GPUs, if any.
    #[serde(borrow, default)]
    pub gpu: Option<Gpu<'a>>,
    /// Catalog offering, if provisioned from one.
    #[serde(borrow, default)]
    pub catalog_offering: Option<CatalogOffering<'a>>,
    /// Reservation in use, if any.
    #[serde(borrow, default)]
    pub reservation: Option<Reference<'a>>,
    /// Reservation affinity.
    #[serde(borrow, default)]
    pub reservation_affinity: Option<ReservationAffinity<'a>>,
    /// Software attachments.
    #[serde(borrow, default)]
    pub software_attachments: Vec<Reference<'a>, SMALL_LIST_CAPACITY>,
    /// `disabled`, `tdx`, `sgx`.
    #[serde(borrow, default)]
    pub confidential_compute_mode: Option<Text<'a>>,
    /// Whether secure boot is on.
    #[serde(default)]
    pub enable_secure_boot: Option<bool>,
}

super::parse_fn!(Instance, "instance");

/// `vcpu`: `{architecture, count, manufacturer, percentage?, burst?}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vcpu<'a> {
    /// `amd64`, `s390x`.
    #[serde(borrow, default)]
    pub architecture: Option<Text<'a>>,
    /// Number of virtual CPUs.
    #[serde(default)]
    pub count: Option<u32>,
    /// `intel`, `amd`, `ibm`; may be empty (a known issue).
    #[serde(borrow, default)]
    pub manufacturer: Option<Text<'a>>,
    /// Share of a vCPU, for burstable profiles.
    #[serde(default)]
    pub percentage: Option<u32>,
    /// Burst limit.
    #[serde(default)]
    pub burst: Option<Burst>,
}

/// `vcpu.burst`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Burst {
    /// Burst limit in percent.
    #[serde(default)]
    pub limit: Option<u32>,
}

/// `metadata_service`: `{enabled, protocol, response_hop_limit}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataService<'a> {
    /// Whether the service is on.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// `http` or `https`.
    #[serde(borrow, default)]
    pub protocol: Option<Text<'a>>,
    /// IP TTL of responses, 1..64.
    #[serde(default)]
    pub response_hop_limit: Option<u8>,
}

/// `availability`: `{class}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Availability<'a> {
    /// `standard` or `spot`.
    #[serde(borrow, default)]
    pub class: Option<Text<'a>>,
}

/// `availability_policy`: `{host_failure, preemption?}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvailabilityPolicy<'a> {
    /// `restart` or `stop`.
    #[serde(borrow, default)]
    pub host_failure: Option<Text<'a>>,
    /// `delete` or `stop`, for spot instances.
    #[serde(borrow, default)]
    pub preemption: Option<Text<'a>>,
}

/// A volume attachment as listed in the instance: `{device, id, name, volume}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeAttachmentRef<'a> {
    /// Device identifier.
    #[serde(borrow, default)]
    pub device: Option<Device<'a>>,
    /// Attachment id.
    #[serde(borrow)]
    pub id: Text<'a>,
    /// Attachment name.
    #[serde(borrow, default)]
    pub name: Option<Text<'a>>,
    /// The attached volume.
    #[serde(borrow, default)]
    pub volume: Option<VolumeRef<'a>>,
}

/// A network interface as listed in the instance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkInterfaceRef<'a> {
    /// Interface id.
    #[serde(borrow)]
    pub id: Text<'a>,
    /// Interface name, e.g. `eth0`.
    #[serde(borrow, default)]
    pub name: Option<Text<'a>>,
    /// Primary IPv4 address.
    #[serde(borrow, default)]
    pub primary_ipv4_address: Option<Text<'a>>,
    /// `network_interface`.
    #[serde(borrow, default)]
    pub resource_type: Option<Text<'a>>,
    /// Subnet.
    #[serde(borrow, default)]
    pub subnet: Option<Reference<'a>>,
}

/// A network attachment as listed in the instance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkAttachmentRef<'a> {
    /// Attachment id.
    #[serde(borrow)]
    pub id: Text<'a>,
    /// Attachment name.
    #[serde(borrow, default)]
    pub name: Option<Text<'a>>,
    /// Primary IP: `{address, id, name, resource_type}`.
    #[serde(borrow, default)]
    pub primary_ip: Option<ReservedIp<'a>>,
    /// `instance_network_attachment`.
    #[serde(borrow, default)]
    pub resource_type: Option<Text<'a>>,
    /// Subnet.
    #[serde(borrow, default)]
    pub subnet: Option<Reference<'a>>,
    /// Virtual network interface.
    #[serde(borrow, default)]
    pub virtual_network_interface: Option<Reference<'a>>,
}

/// A reserved IP: `{address, id, name, resource_type}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservedIp<'a> {
    /// The address.
    #[serde(borrow, default)]
    pub address: Option<Text<'a>>,
    /// Id.
    #[serde(borrow, default)]
    pub id: Option<Text<'a>>,
    /// Name.
    #[serde(borrow, default)]
    pub name: Option<Text<'a>>,
    /// `subnet_reserved_ip`.
    #[serde(borrow, default)]
    pub resource_type: Option<Text<'a>>,
}

/// An instance storage disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disk<'a> {
    /// Id.
    #[serde(borrow, default)]
    pub id: Option<Text<'a>>,
    /// Name.
    #[serde(borrow, default)]
    pub name: Option<Text<'a>>,
    /// Creation time.
    #[serde(borrow, default)]
    pub created_at: Option<Text<'a>>,
    /// Size in GB.
    #[serde(default)]
    pub size: Option<u32>,
    /// `nvme`, `virtio_blk`.
    #[serde(borrow, default)]
    pub interface_type: Option<Text<'a>>,
    /// `instance_disk`.
    #[serde(borrow, default)]
    pub resource_type: Option<Text<'a>>,
}

/// GPUs: `{count, manufacturer, memory, model}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gpu<'a> {
    /// Number of GPUs.
    #[serde(default)]
    pub count: Option<u32>,
    /// Manufacturer.
    #[serde(borrow, default)]
    pub manufacturer: Option<Text<'a>>,
    /// Memory per GPU in GiB.
    #[serde(default)]
    pub memory: Option<u32>,
    /// Model.
    #[serde(borrow, default)]
    pub model: Option<Text<'a>>,
}

/// `catalog_offering`: `{version: {crn}}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogOffering<'a> {
    /// Offering version.
    #[serde(borrow, default)]
    pub version: Option<Reference<'a>>,
}

/// `reservation_affinity`: `{policy, pool}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationAffinity<'a> {
    /// `automatic`, `disabled`, `manual`.
    #[serde(borrow, default)]
    pub policy: Option<Text<'a>>,
    /// Reservations the instance may use.
    #[serde(borrow, default)]
    pub pool: Vec<Reference<'a>, SMALL_LIST_CAPACITY>,
}
