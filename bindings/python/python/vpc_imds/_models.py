"""Typed documents of the metadata service, built by the core.

Generated once from the core's models (``core/src/model``) and kept in step with
them by ``tests/test_models.py``: every class mirrors one core struct, with IBM's
field names; strings are decoded, lists are lists, absent optional fields are
``None``. Objects compare by value, convert with ``to_dict()`` to the same JSON
form as the core's, and ignore fields IBM adds later (the core drops them).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is imported by type checkers only: it costs milliseconds at import
    from typing import Any, ClassVar, Dict, List, Optional, Tuple

__all__ = [
    "Token",
    "Instance",
    "Vcpu",
    "Burst",
    "MetadataService",
    "Availability",
    "AvailabilityPolicy",
    "VolumeAttachmentRef",
    "NetworkInterfaceRef",
    "NetworkAttachmentRef",
    "ReservedIp",
    "Disk",
    "Gpu",
    "CatalogOffering",
    "ReservationAffinity",
    "Reference",
    "NameRef",
    "Reason",
    "Device",
    "Deleted",
    "VolumeRef",
    "VolumeAttachment",
    "VolumeAttachmentCollection",
    "FloatingIp",
    "NetworkInterface",
    "NetworkInterfaceCollection",
    "Key",
    "KeyRef",
    "KeyCollection",
    "PlacementGroup",
    "PlacementGroupCollection",
    "Href",
    "Initialization",
    "Password",
    "DefaultTrustedProfile",
    "TrustedProfileRef",
    "IdentityCertificate",
    "Model",
]


class Model:
    """Base class of every document type: attribute access, value equality,
    a readable ``repr`` and ``to_dict()``."""

    _lists: ClassVar[Optional[Tuple[str, ...]]] = None

    def __init__(self, **fields: Any) -> None:
        names = self._names()
        unknown = set(fields) - set(names)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field(s) {', '.join(sorted(unknown))}")
        lists = self._list_fields()
        for name in names:
            self.__dict__[name] = fields.get(name, [] if name in lists else None)

    @classmethod
    def _names(cls) -> List[str]:
        names: List[str] = []
        for klass in reversed(cls.__mro__):
            names.extend(n for n in klass.__dict__.get("__annotations__", {}) if not n.startswith("_"))
        return names

    @classmethod
    def _list_fields(cls) -> Tuple[str, ...]:
        if cls.__dict__.get("_lists") is None:
            hints: Dict[str, Any] = {}
            for klass in reversed(cls.__mro__):
                hints.update(klass.__dict__.get("__annotations__", {}))
            cls._lists = tuple(n for n, t in hints.items() if str(t).startswith("List["))
        return cls._lists or ()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items() if v is not None and v != [])
        return f"{type(self).__name__}({shown})"

    def to_dict(self) -> Dict[str, Any]:
        """The document as plain JSON-style data (the core's JSON form)."""
        return {_json_name(k): _plain(v) for k, v in self.__dict__.items()}


_KEYWORDS = frozenset(("class", "from", "global", "import", "in", "is", "lambda", "def", "del", "pass", "return"))


def _json_name(name: str) -> str:
    # Fields named like a Python keyword carry a trailing underscore (``class_``).
    if name.endswith("_") and name[:-1] in _KEYWORDS:
        return name[:-1]
    return name


def _plain(value: Any) -> Any:
    if isinstance(value, Model):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class Token(Model):
    """An identity token or IAM token response: ``{access_token, created_at, expires_at, expires_in, nonce?}``."""

    access_token: str
    """The token (a JWT); redacted in ``Debug``."""
    created_at: Optional[str]
    """When it was created (RFC 3339)."""
    expires_at: Optional[str]
    """When it expires (RFC 3339)."""
    expires_in: Optional[int]
    """Lifetime in seconds."""
    nonce: Optional[str]
    """The nonce the request carried, echoed."""
    lifetime: Optional[int]
    """Lifetime in seconds as the core judges it: ``expires_in``, else ``expires_at - created_at``."""

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{k}={v!r}" for k, v in self.__dict__.items() if k != "access_token" and v is not None
        )
        token = self.__dict__.get("access_token") or ""
        return f"Token(access_token=<redacted, {len(token)} chars>, {shown})"

    __str__ = __repr__


class Instance(Model):
    """The instance document (``GET /metadata/v1/instance``).  Lists hold at most ATTACHMENT_CAPACITY attachments and SMALL_LIST_CAPACITY reasons, disks or software attachments."""

    id: str
    """Instance id."""
    crn: Optional[str]
    """CRN."""
    name: Optional[str]
    """Name."""
    resource_type: Optional[str]
    """Always ``instance``."""
    created_at: Optional[str]
    """Creation time (RFC 3339)."""
    status: Optional[str]
    """``running``, ``stopped``, ..."""
    status_reasons: List[Reason]
    """Why the status is what it is."""
    lifecycle_state: Optional[str]
    """``stable``, ``pending``, ..."""
    lifecycle_reasons: List[Reason]
    """Why the lifecycle state is what it is."""
    health_state: Optional[str]
    """``ok``, ``degraded``, ..."""
    health_reasons: List[Reason]
    """Why the health state is what it is."""
    startable: Optional[bool]
    """Whether the instance can be started."""
    memory: Optional[int]
    """Memory in GiB."""
    vcpu: Optional[Vcpu]
    """Virtual CPUs."""
    threads_per_core: Optional[int]
    """Threads per core."""
    numa_count: Optional[int]
    """NUMA nodes."""
    bandwidth: Optional[int]
    """Total bandwidth in Mbps."""
    total_network_bandwidth: Optional[int]
    """Network bandwidth in Mbps."""
    total_volume_bandwidth: Optional[int]
    """Volume bandwidth in Mbps."""
    volume_bandwidth_qos_mode: Optional[str]
    """``pooled`` or ``weighted``."""
    profile: Optional[NameRef]
    """Instance profile, e.g. ``bx2-2x8``."""
    zone: Optional[NameRef]
    """Zone, e.g. ``us-south-1``."""
    vpc: Optional[Reference]
    """VPC."""
    image: Optional[Reference]
    """Boot image (absent for some boot sources)."""
    resource_group: Optional[Reference]
    """Resource group."""
    metadata_service: Optional[MetadataService]
    """Metadata service settings."""
    availability: Optional[Availability]
    """Availability class."""
    availability_policy: Optional[AvailabilityPolicy]
    """Availability policy."""
    boot_volume_attachment: Optional[VolumeAttachmentRef]
    """Boot volume attachment."""
    volume_attachments: List[VolumeAttachmentRef]
    """All volume attachments, boot included."""
    primary_network_interface: Optional[NetworkInterfaceRef]
    """Primary network interface."""
    network_interfaces: List[NetworkInterfaceRef]
    """All network interfaces."""
    primary_network_attachment: Optional[NetworkAttachmentRef]
    """Primary network attachment."""
    network_attachments: List[NetworkAttachmentRef]
    """All network attachments."""
    cluster_network_attachments: List[Reference]
    """Cluster network attachments."""
    disks: List[Disk]
    """Instance storage disks."""
    dedicated_host: Optional[Reference]
    """Dedicated host, if placed on one."""
    placement_target: Optional[Reference]
    """Placement target, if any."""
    gpu: Optional[Gpu]
    """GPUs, if any."""
    catalog_offering: Optional[CatalogOffering]
    """Catalog offering, if provisioned from one."""
    reservation: Optional[Reference]
    """Reservation in use, if any."""
    reservation_affinity: Optional[ReservationAffinity]
    """Reservation affinity."""
    software_attachments: List[Reference]
    """Software attachments."""
    confidential_compute_mode: Optional[str]
    """``disabled``, ``tdx``, ``sgx``."""
    enable_secure_boot: Optional[bool]
    """Whether secure boot is on."""


class Vcpu(Model):
    """``vcpu``: ``{architecture, count, manufacturer, percentage?, burst?}``."""

    architecture: Optional[str]
    """``amd64``, ``s390x``."""
    count: Optional[int]
    """Number of virtual CPUs."""
    manufacturer: Optional[str]
    """``intel``, ``amd``, ``ibm``; may be empty (a known issue)."""
    percentage: Optional[int]
    """Share of a vCPU, for burstable profiles."""
    burst: Optional[Burst]
    """Burst limit."""


class Burst(Model):
    """``vcpu.burst``."""

    limit: Optional[int]
    """Burst limit in percent."""


class MetadataService(Model):
    """``metadata_service``: ``{enabled, protocol, response_hop_limit}``."""

    enabled: Optional[bool]
    """Whether the service is on."""
    protocol: Optional[str]
    """``http`` or ``https``."""
    response_hop_limit: Optional[int]
    """IP TTL of responses, 1..64."""


class Availability(Model):
    """``availability``: ``{class}``."""

    class_: Optional[str]
    """``standard`` or ``spot`` (JSON ``class``; a keyword in Python)."""


class AvailabilityPolicy(Model):
    """``availability_policy``: ``{host_failure, preemption?}``."""

    host_failure: Optional[str]
    """``restart`` or ``stop``."""
    preemption: Optional[str]
    """``delete`` or ``stop``, for spot instances."""


class VolumeAttachmentRef(Model):
    """A volume attachment as listed in the instance: ``{device, id, name, volume}``."""

    device: Optional[Device]
    """Device identifier."""
    id: str
    """Attachment id."""
    name: Optional[str]
    """Attachment name."""
    volume: Optional[VolumeRef]
    """The attached volume."""


class NetworkInterfaceRef(Model):
    """A network interface as listed in the instance."""

    id: str
    """Interface id."""
    name: Optional[str]
    """Interface name, e.g. ``eth0``."""
    primary_ipv4_address: Optional[str]
    """Primary IPv4 address."""
    resource_type: Optional[str]
    """``network_interface``."""
    subnet: Optional[Reference]
    """Subnet."""


class NetworkAttachmentRef(Model):
    """A network attachment as listed in the instance."""

    id: str
    """Attachment id."""
    name: Optional[str]
    """Attachment name."""
    primary_ip: Optional[ReservedIp]
    """Primary IP: ``{address, id, name, resource_type}``."""
    resource_type: Optional[str]
    """``instance_network_attachment``."""
    subnet: Optional[Reference]
    """Subnet."""
    virtual_network_interface: Optional[Reference]
    """Virtual network interface."""


class ReservedIp(Model):
    """A reserved IP: ``{address, id, name, resource_type}``."""

    address: Optional[str]
    """The address."""
    id: Optional[str]
    """Id."""
    name: Optional[str]
    """Name."""
    resource_type: Optional[str]
    """``subnet_reserved_ip``."""


class Disk(Model):
    """An instance storage disk."""

    id: Optional[str]
    """Id."""
    name: Optional[str]
    """Name."""
    created_at: Optional[str]
    """Creation time."""
    size: Optional[int]
    """Size in GB."""
    interface_type: Optional[str]
    """``nvme``, ``virtio_blk``."""
    resource_type: Optional[str]
    """``instance_disk``."""


class Gpu(Model):
    """GPUs: ``{count, manufacturer, memory, model}``."""

    count: Optional[int]
    """Number of GPUs."""
    manufacturer: Optional[str]
    """Manufacturer."""
    memory: Optional[int]
    """Memory per GPU in GiB."""
    model: Optional[str]
    """Model."""


class CatalogOffering(Model):
    """``catalog_offering``: ``{version: {crn}}``."""

    version: Optional[Reference]
    """Offering version."""


class ReservationAffinity(Model):
    """``reservation_affinity``: ``{policy, pool}``."""

    policy: Optional[str]
    """``automatic``, ``disabled``, ``manual``."""
    pool: List[Reference]
    """Reservations the instance may use."""


class Reference(Model):
    """A reference to another resource: ``{crn, id, name, resource_type}`` (no ``href`` in IMDS)."""

    crn: Optional[str]
    """CRN."""
    id: Optional[str]
    """Id."""
    name: Optional[str]
    """Name."""
    resource_type: Optional[str]
    """Resource type, e.g. ``vpc``, ``subnet``, ``image``."""


class NameRef(Model):
    """A reference by name only, e.g. ``zone``, ``profile``."""

    name: str
    """Name."""
    resource_type: Optional[str]
    """Resource type, if given."""


class Reason(Model):
    """A status, lifecycle or health reason: ``{code, message, more_info}``."""

    code: Optional[str]
    """Machine-readable code."""
    message: Optional[str]
    """Human-readable message."""
    more_info: Optional[str]
    """Link to more information."""


class Device(Model):
    """``device``: ``{id}``."""

    id: Optional[str]
    """Device identifier."""


class Deleted(Model):
    """``deleted``: present when the referenced resource is gone."""

    more_info: Optional[str]
    """Link to more information."""


class VolumeRef(Model):
    """A volume reference: ``{crn, id, name, resource_type, deleted?}``."""

    crn: Optional[str]
    """CRN."""
    id: Optional[str]
    """Id."""
    name: Optional[str]
    """Name."""
    resource_type: Optional[str]
    """``volume``."""
    deleted: Optional[Deleted]
    """Present if the volume was deleted."""


class VolumeAttachment(Model):
    """A volume attachment (``GET /metadata/v1/instance/volume_attachments/{id}``)."""

    id: str
    """Id."""
    name: Optional[str]
    """Name."""
    created_at: Optional[str]
    """Creation time."""
    type: Optional[str]
    """``boot`` or ``data``."""
    status: Optional[str]
    """``attached``, ``attaching``, ``deleting``, ``detaching``."""
    delete_volume_on_instance_delete: Optional[bool]
    """Whether the volume goes with the instance."""
    bandwidth: Optional[int]
    """Bandwidth in Mbps."""
    device: Optional[Device]
    """Device."""
    volume: Optional[VolumeRef]
    """Volume."""


class VolumeAttachmentCollection(Model):
    """``{volume_attachments: [...]}``, at most ATTACHMENT_CAPACITY entries."""

    volume_attachments: List[VolumeAttachment]
    """The attachments."""


class FloatingIp(Model):
    """A floating IP: ``{address, crn, id, name}``."""

    address: Optional[str]
    """The address."""
    crn: Optional[str]
    """CRN."""
    id: Optional[str]
    """Id."""
    name: Optional[str]
    """Name."""


class NetworkInterface(Model):
    """A network interface (``GET /metadata/v1/instance/network_interfaces/{id}``)."""

    id: str
    """Id."""
    name: Optional[str]
    """Name."""
    created_at: Optional[str]
    """Creation time."""
    resource_type: Optional[str]
    """``network_interface``."""
    type: Optional[str]
    """``primary`` or ``secondary``."""
    status: Optional[str]
    """e.g. ``available``."""
    allow_ip_spoofing: Optional[bool]
    """Whether source/destination checks are off."""
    port_speed: Optional[int]
    """Port speed in Mbps."""
    primary_ipv4_address: Optional[str]
    """Primary IPv4 address."""
    subnet: Optional[Reference]
    """Subnet."""
    security_groups: List[Reference]
    """Security groups (at most SECURITY_GROUP_CAPACITY)."""
    floating_ips: List[FloatingIp]
    """Floating IPs (at most FLOATING_IP_CAPACITY)."""


class NetworkInterfaceCollection(Model):
    """``{network_interfaces: [...]}``, at most ATTACHMENT_CAPACITY entries."""

    network_interfaces: List[NetworkInterface]
    """The interfaces."""


class Key(Model):
    """An SSH key (``GET /metadata/v1/keys/{id}``)."""

    id: str
    """Id."""
    crn: Optional[str]
    """CRN."""
    name: Optional[str]
    """Name."""
    created_at: Optional[str]
    """Creation time."""
    resource_type: Optional[str]
    """``key``."""
    fingerprint: Optional[str]
    """``SHA256:`` + base64."""
    length: Optional[int]
    """Key length in bits."""
    public_key: str
    """The public key in OpenSSH form."""
    type: Optional[str]
    """``rsa`` or ``ed25519``."""


class KeyRef(Model):
    """A key as listed in the initialization document: ``{crn, fingerprint, id, name, resource_type}``."""

    crn: Optional[str]
    """CRN."""
    fingerprint: Optional[str]
    """Fingerprint."""
    id: Optional[str]
    """Id."""
    name: Optional[str]
    """Name."""
    resource_type: Optional[str]
    """``key``."""


class KeyCollection(Model):
    """One page of ``GET /metadata/v1/keys``, at most PAGE_CAPACITY keys."""

    keys: List[Key]
    """The keys on this page."""
    first: Optional[Href]
    """First page."""
    next: Optional[Href]
    """Next page, absent on the last."""
    limit: Optional[int]
    """Page size."""
    total_count: Optional[int]
    """Keys in the whole collection."""


class PlacementGroup(Model):
    """A placement group (``GET /metadata/v1/placement_groups/{id}``)."""

    id: str
    """Id."""
    crn: Optional[str]
    """CRN."""
    name: Optional[str]
    """Name."""
    created_at: Optional[str]
    """Creation time."""
    resource_type: Optional[str]
    """``placement_group``."""
    lifecycle_state: Optional[str]
    """e.g. ``stable``."""
    strategy: Optional[str]
    """``host_spread`` or ``power_spread``."""


class PlacementGroupCollection(Model):
    """One page of ``GET /metadata/v1/placement_groups``, at most PAGE_CAPACITY groups."""

    placement_groups: List[PlacementGroup]
    """The groups on this page."""
    first: Optional[Href]
    """First page."""
    next: Optional[Href]
    """Next page, absent on the last."""
    limit: Optional[int]
    """Page size."""
    total_count: Optional[int]
    """Groups in the whole collection."""


class Href(Model):
    """``{ "href": "..." }``, as in a page's ``first`` and ``next``."""

    href: str
    """Absolute URL."""


class Initialization(Model):
    """The initialization document (``GET /metadata/v1/instance/initialization``)."""

    keys: List[KeyRef]
    """SSH keys chosen at creation (at most INIT_KEYS_CAPACITY)."""
    user_data: Optional[str]
    """User data as supplied at creation (text; may be MIME multi-part or cloud-config)."""
    password: Optional[Password]
    """Encrypted administrator password, when set."""
    default_trusted_profile: Optional[DefaultTrustedProfile]
    """Default trusted profile, when set at creation."""


class Password(Model):
    """``password``: ``{encrypted_password, encryption_key}``."""

    encrypted_password: Optional[str]
    """Base64 of the password encrypted with ``encryption_key``."""
    encryption_key: Optional[Reference]
    """The key it was encrypted with."""


class DefaultTrustedProfile(Model):
    """``default_trusted_profile``: ``{auto_link, target}``."""

    auto_link: Optional[bool]
    """Whether the profile is linked automatically."""
    target: Optional[TrustedProfileRef]
    """The profile."""


class TrustedProfileRef(Model):
    """A trusted profile reference: ``{crn, id, resource_type?}``."""

    crn: Optional[str]
    """CRN."""
    id: Optional[str]
    """Id."""
    resource_type: Optional[str]
    """``trusted_profile``."""


class IdentityCertificate(Model):
    """An identity certificate (``POST .../certificates``): leaf first, then CAs (at most 4)."""

    certificates: List[str]
    """PEM certificates, leaf first."""
    id: Optional[str]
    """Id."""
    created_at: Optional[str]
    """Creation time."""
    expires_at: Optional[str]
    """Expiry time."""
    expires_in: Optional[int]
    """Lifetime in seconds."""


#: Core struct name -> class (registered with the extension at import).
REGISTRY: Dict[str, type] = {
    "AccessToken": Token,
    "Instance": Instance,
    "Vcpu": Vcpu,
    "Burst": Burst,
    "MetadataService": MetadataService,
    "Availability": Availability,
    "AvailabilityPolicy": AvailabilityPolicy,
    "VolumeAttachmentRef": VolumeAttachmentRef,
    "NetworkInterfaceRef": NetworkInterfaceRef,
    "NetworkAttachmentRef": NetworkAttachmentRef,
    "ReservedIp": ReservedIp,
    "Disk": Disk,
    "Gpu": Gpu,
    "CatalogOffering": CatalogOffering,
    "ReservationAffinity": ReservationAffinity,
    "Reference": Reference,
    "NameRef": NameRef,
    "Reason": Reason,
    "Device": Device,
    "Deleted": Deleted,
    "VolumeRef": VolumeRef,
    "VolumeAttachment": VolumeAttachment,
    "VolumeAttachmentCollection": VolumeAttachmentCollection,
    "FloatingIp": FloatingIp,
    "NetworkInterface": NetworkInterface,
    "NetworkInterfaceCollection": NetworkInterfaceCollection,
    "Key": Key,
    "KeyRef": KeyRef,
    "KeyCollection": KeyCollection,
    "PlacementGroup": PlacementGroup,
    "PlacementGroupCollection": PlacementGroupCollection,
    "Href": Href,
    "Initialization": Initialization,
    "Password": Password,
    "DefaultTrustedProfile": DefaultTrustedProfile,
    "TrustedProfileRef": TrustedProfileRef,
    "IdentityCertificate": IdentityCertificate,
}
