use heapless::Vec;

use super::{Device, VolumeRef};
use super::{NameRef, Reason, Reference, ATTACHMENT_CAPACITY, SMALL_LIST_CAPACITY};
use crate::text::Text;

/// The instance document (`GET /metadata/v1/instance`).
///
/// Lists hold at most [`ATTACHMENT_CAPACITY`] attachments and
/// [`SMALL_LIST_CAPACITY`] reasons, disks or software attachments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Instance<'a> {
    /// Instance id.
    pub id: Text<'a>,
    /// CRN.
    pub crn: Option<Text<'a>>,
    /// Name.
    pub name: Option<Text<'a>>,
    /// Always `instance`.
    pub resource_type: Option<Text<'a>>,
    /// Creation time (RFC 3339).
    pub created_at: Option<Text<'a>>,
    /// `running`, `stopped`, ...
    pub status: Option<Text<'a>>,
    /// Why the status is what it is.
    pub status_reasons: Vec<Reason<'a>, SMALL_LIST_CAPACITY>,
    /// `stable`, `pending`, ...
    pub lifecycle_state: Option<Text<'a>>,
    /// Why the lifecycle state is what it is.
    pub lifecycle_reasons: Vec<Reason<'a>, SMALL_LIST_CAPACITY>,
    /// `ok`, `degraded`, ...
    pub health_state: Option<Text<'a>>,
    /// Why the health state is what it is.
    pub health_reasons: Vec<Reason<'a>, SMALL_LIST_CAPACITY>,
    /// Whether the instance can be started.
    pub startable: Option<bool>,
    /// Memory in GiB.
    pub memory: Option<u32>,
    /// Virtual CPUs.
    pub vcpu: Option<Vcpu<'a>>,
    /// Threads per core.
    pub threads_per_core: Option<u32>,
    /// NUMA nodes.
    pub numa_count: Option<u32>,
    /// Total bandwidth in Mbps.
    pub bandwidth: Option<u32>,
    /// Network bandwidth in Mbps.
    pub total_network_bandwidth: Option<u32>,
    /// Volume bandwidth in Mbps.
    pub total_volume_bandwidth: Option<u32>,
    /// `pooled` or `weighted`.
    pub volume_bandwidth_qos_mode: Option<Text<'a>>,
    /// Instance profile, e.g. `bx2-2x8`.
    pub profile: Option<NameRef<'a>>,
    /// Zone, e.g. `us-south-1`.
    pub zone: Option<NameRef<'a>>,
    /// VPC.
    pub vpc: Option<Reference<'a>>,
    /// Boot image (absent for some boot sources).
    pub image: Option<Reference<'a>>,
    /// Resource group.
    pub resource_group: Option<Reference<'a>>,
    /// Metadata service settings.
    pub metadata_service: Option<MetadataService<'a>>,
    /// Availability class.
    pub availability: Option<Availability<'a>>,
    /// Availability policy.
    pub availability_policy: Option<AvailabilityPolicy<'a>>,
    /// Boot volume attachment.
    pub boot_volume_attachment: Option<VolumeAttachmentRef<'a>>,
    /// All volume attachments, boot included.
    pub volume_attachments: Vec<VolumeAttachmentRef<'a>, ATTACHMENT_CAPACITY>,
    /// Primary network interface.
    pub primary_network_interface: Option<NetworkInterfaceRef<'a>>,
    /// All network interfaces.
    pub network_interfaces: Vec<NetworkInterfaceRef<'a>, ATTACHMENT_CAPACITY>,
    /// Primary network attachment.
    pub primary_network_attachment: Option<NetworkAttachmentRef<'a>>,
    /// All network attachments.
    pub network_attachments: Vec<NetworkAttachmentRef<'a>, ATTACHMENT_CAPACITY>,
    /// Cluster network attachments.
    pub cluster_network_attachments: Vec<Reference<'a>, ATTACHMENT_CAPACITY>,
    /// Instance storage disks.
    pub disks: Vec<Disk<'a>, SMALL_LIST_CAPACITY>,
    /// Dedicated host, if placed on one.
    pub dedicated_host: Option<Reference<'a>>,
    /// Placement target, if any.
    pub placement_target: Option<Reference<'a>>,
    /// GPUs, if any.
    pub gpu: Option<Gpu<'a>>,
    /// Catalog offering, if provisioned from one.
    pub catalog_offering: Option<CatalogOffering<'a>>,
    /// Reservation in use, if any.
    pub reservation: Option<Reference<'a>>,
    /// Reservation affinity.
    pub reservation_affinity: Option<ReservationAffinity<'a>>,
    /// Software attachments.
    pub software_attachments: Vec<Reference<'a>, SMALL_LIST_CAPACITY>,
    /// `disabled`, `tdx`, `sgx`.
    pub confidential_compute_mode: Option<Text<'a>>,
    /// Whether secure boot is on.
    pub enable_secure_boot: Option<bool>,
}

super::decode::json_fields!(Instance<'a> {
    #[required] id, crn, name, resource_type, created_at, status, status_reasons,
    lifecycle_state, lifecycle_reasons, health_state, health_reasons, startable, memory, vcpu,
    threads_per_core, numa_count, bandwidth, total_network_bandwidth, total_volume_bandwidth,
    volume_bandwidth_qos_mode, profile, zone, vpc, image, resource_group, metadata_service,
    availability, availability_policy, boot_volume_attachment, volume_attachments,
    primary_network_interface, network_interfaces, primary_network_attachment,
    network_attachments, cluster_network_attachments, disks, dedicated_host, placement_target,
    gpu, catalog_offering, reservation, reservation_affinity, software_attachments,
    confidential_compute_mode, enable_secure_boot,
});

super::parse_fn!(Instance, "instance");

/// `vcpu`: `{architecture, count, manufacturer, percentage?, burst?}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Vcpu<'a> {
    /// `amd64`, `s390x`.
    pub architecture: Option<Text<'a>>,
    /// Number of virtual CPUs.
    pub count: Option<u32>,
    /// `intel`, `amd`, `ibm`; may be empty (a known issue).
    pub manufacturer: Option<Text<'a>>,
    /// Share of a vCPU, for burstable profiles.
    pub percentage: Option<u32>,
    /// Burst limit.
    pub burst: Option<Burst>,
}

super::decode::json_fields!(Vcpu<'a> { architecture, count, manufacturer, percentage, burst });

/// `vcpu.burst`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Burst {
    /// Burst limit in percent.
    pub limit: Option<u32>,
}

super::decode::json_fields!(Burst { limit });

/// `metadata_service`: `{enabled, protocol, response_hop_limit}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MetadataService<'a> {
    /// Whether the service is on.
    pub enabled: Option<bool>,
    /// `http` or `https`.
    pub protocol: Option<Text<'a>>,
    /// IP TTL of responses, 1..64.
    pub response_hop_limit: Option<u8>,
}

super::decode::json_fields!(MetadataService<'a> { enabled, protocol, response_hop_limit });

/// `availability`: `{class}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Availability<'a> {
    /// `standard` or `spot`.
    pub class: Option<Text<'a>>,
}

super::decode::json_fields!(Availability<'a> { class });

/// `availability_policy`: `{host_failure, preemption?}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AvailabilityPolicy<'a> {
    /// `restart` or `stop`.
    pub host_failure: Option<Text<'a>>,
    /// `delete` or `stop`, for spot instances.
    pub preemption: Option<Text<'a>>,
}

super::decode::json_fields!(AvailabilityPolicy<'a> { host_failure, preemption });

/// A volume attachment as listed in the instance: `{device, id, name, volume}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VolumeAttachmentRef<'a> {
    /// Device identifier.
    pub device: Option<Device<'a>>,
    /// Attachment id.
    pub id: Text<'a>,
    /// Attachment name.
    pub name: Option<Text<'a>>,
    /// The attached volume.
    pub volume: Option<VolumeRef<'a>>,
}

super::decode::json_fields!(VolumeAttachmentRef<'a> { device, #[required] id, name, volume });

/// A network interface as listed in the instance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetworkInterfaceRef<'a> {
    /// Interface id.
    pub id: Text<'a>,
    /// Interface name, e.g. `eth0`.
    pub name: Option<Text<'a>>,
    /// Primary IPv4 address.
    pub primary_ipv4_address: Option<Text<'a>>,
    /// `network_interface`.
    pub resource_type: Option<Text<'a>>,
    /// Subnet.
    pub subnet: Option<Reference<'a>>,
}

super::decode::json_fields!(NetworkInterfaceRef<'a> {
    #[required] id, name, primary_ipv4_address, resource_type, subnet,
});

/// A network attachment as listed in the instance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetworkAttachmentRef<'a> {
    /// Attachment id.
    pub id: Text<'a>,
    /// Attachment name.
    pub name: Option<Text<'a>>,
    /// Primary IP: `{address, id, name, resource_type}`.
    pub primary_ip: Option<ReservedIp<'a>>,
    /// `instance_network_attachment`.
    pub resource_type: Option<Text<'a>>,
    /// Subnet.
    pub subnet: Option<Reference<'a>>,
    /// Virtual network interface.
    pub virtual_network_interface: Option<Reference<'a>>,
}

super::decode::json_fields!(NetworkAttachmentRef<'a> {
    #[required] id, name, primary_ip, resource_type, subnet, virtual_network_interface,
});

/// A reserved IP: `{address, id, name, resource_type}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReservedIp<'a> {
    /// The address.
    pub address: Option<Text<'a>>,
    /// Id.
    pub id: Option<Text<'a>>,
    /// Name.
    pub name: Option<Text<'a>>,
    /// `subnet_reserved_ip`.
    pub resource_type: Option<Text<'a>>,
}

super::decode::json_fields!(ReservedIp<'a> { address, id, name, resource_type });

/// An instance storage disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Disk<'a> {
    /// Id.
    pub id: Option<Text<'a>>,
    /// Name.
    pub name: Option<Text<'a>>,
    /// Creation time.
    pub created_at: Option<Text<'a>>,
    /// Size in GB.
    pub size: Option<u32>,
    /// `nvme`, `virtio_blk`.
    pub interface_type: Option<Text<'a>>,
    /// `instance_disk`.
    pub resource_type: Option<Text<'a>>,
}

super::decode::json_fields!(Disk<'a> { id, name, created_at, size, interface_type, resource_type });

/// GPUs: `{count, manufacturer, memory, model}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Gpu<'a> {
    /// Number of GPUs.
    pub count: Option<u32>,
    /// Manufacturer.
    pub manufacturer: Option<Text<'a>>,
    /// Memory per GPU in GiB.
    pub memory: Option<u32>,
    /// Model.
    pub model: Option<Text<'a>>,
}

super::decode::json_fields!(Gpu<'a> { count, manufacturer, memory, model });

/// `catalog_offering`: `{version: {crn}}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CatalogOffering<'a> {
    /// Offering version.
    pub version: Option<Reference<'a>>,
}

super::decode::json_fields!(CatalogOffering<'a> { version });

/// `reservation_affinity`: `{policy, pool}`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReservationAffinity<'a> {
    /// `automatic`, `disabled`, `manual`.
    pub policy: Option<Text<'a>>,
    /// Reservations the instance may use.
    pub pool: Vec<Reference<'a>, SMALL_LIST_CAPACITY>,
}

super::decode::json_fields!(ReservationAffinity<'a> { policy, pool });
