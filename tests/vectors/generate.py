#!/usr/bin/env python3
"""Generates tests/vectors/*.json and fixtures/ from the documented rules.

Expected values are computed here from the spec (wire format, token schedule,
backoff formula), not taken from the Rust implementation. Run from anywhere;
`--check` exits 1 if the committed files differ from what would be generated.
"""
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIX = HERE / "fixtures"
OUT = {}  # file name -> bytes

CUR = "2025-08-26"
OLD = "2022-03-01"
# Only text inside the vectors (request targets, page links): no runner connects to it.
HOST = "169.254.169.254"

# ---------------------------------------------------------------- rules


def schedule(lifetime):
    """(refresh_after_ms, expire_after_ms) for a token living `lifetime` s."""
    life = lifetime * 1000
    margin = min(max(life // 5, 1000), 300_000)
    return life - margin, life - 1000


class Jitter:
    """SplitMix64, 32 low bits per draw."""

    def __init__(self, seed):
        self.state = seed

    def next(self):
        M = (1 << 64) - 1
        self.state = (self.state + 0x9E3779B97F4A7C15) & M
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
        return (z ^ (z >> 31)) & 0xFFFFFFFF


def backoff(retry, rnd, base=100, cap=2000):
    step = min(base * (1 << min(retry, 32)), cap)
    half = step // 2
    spread = step - half
    return half + ((rnd * (spread + 1)) >> 32)


def token_path(version):
    return "/identity/v1/token" if version >= CUR else "/instance_identity/v1/token"


def iam_path(version):
    return "/identity/v1/iam_tokens" if version >= CUR else "/instance_identity/v1/iam_token"


def cert_path(version):
    return "/identity/v1/certificates" if version >= CUR else "/instance_identity/v1/certificates"


def raw_request(method, target, host, headers, body):
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{n}: {v}" for n, v in headers]
    if body is not None or method != "GET":
        lines.append(f"Content-Length: {len((body or '').encode())}")
    return "\r\n".join(lines) + "\r\n\r\n" + (body or "")


def request(method, target, token=None, flavor=False, body=None, host=HOST):
    headers = [["Accept", "application/json"]]
    if token:
        headers.append(["Authorization", "Bearer " + token])
    if flavor:
        headers.append(["Metadata-Flavor", "ibm"])
    if body is not None:
        headers.append(["Content-Type", "application/json"])
    return {
        "method": method,
        "target": target,
        "headers": headers,
        "body": body,
        "raw": raw_request(method, target, host, headers, body),
    }


def jwt(n):
    """A JWT-shaped fake token; starts with eyJ so leaks are easy to spot."""
    return f"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0b2tlbi17bn0ifQ.c2lnLXtu{n:04d}"


def token_body(token, expires_in=300, created="2025-09-01T12:00:00.000Z", with_expires_in=True):
    body = {"access_token": token, "created_at": created,
            "expires_at": add_seconds(created, expires_in)}
    if with_expires_in:
        body["expires_in"] = expires_in
    return json.dumps(body)


def add_seconds(ts, secs):
    # Only used on 2025-09-01T12:MM:SS.000Z shaped stamps within one day.
    h, m, s = int(ts[11:13]), int(ts[14:16]), int(ts[17:19])
    t = h * 3600 + m * 60 + s + secs
    return f"{ts[:11]}{t // 3600:02d}:{t % 3600 // 60:02d}:{t % 60:02d}.000Z"


def error_body(status, code, message, trace="00000000-fake-4ace-8ace-000000000001", target=None):
    err = {"code": code, "message": message}
    if target:
        err["target"] = target
    return json.dumps({"errors": [err], "status_code": status, "trace": trace})


def token_send(at, version=CUR, lifetime=300, host=HOST):
    return {"send": request("PUT", f"{token_path(version)}?version={version}", flavor=True,
                            body=json.dumps({"expires_in": lifetime}, separators=(",", ":")), host=host),
            "at": at}


def token_ok(at, n, lifetime=300, expect="pending"):
    return {"respond": {"status": 200, "body": token_body(jwt(n), lifetime)}, "at": at, "expect": expect}


def get_send(at, path, n, version=CUR, host=HOST, query=""):
    return {"send": request("GET", f"/metadata/v1/{path}?version={version}{query}", token=jwt(n), host=host), "at": at}


def done(type_, **fields):
    return {"done": {"type": type_, "fields": fields}}


def page(type_, **fields):
    return {"page": {"type": type_, "fields": fields}}


def failed(kind, **extra):
    return {"failed": dict(kind=kind, **extra)}


def case(name, steps, **config):
    return {"name": name, "config": config, "steps": steps}


def body_file(name):
    return {"status": 200, "body_file": f"fixtures/{name}"}


# ---------------------------------------------------------------- fixtures

ACCOUNT = "0000fakeaccount0000"
SUBNET = {"crn": f"crn:v1:bluemix:public:is:us-south-1:a/{ACCOUNT}::subnet:0000-dddd-0001",
          "id": "0000-dddd-0001", "name": "emu-subnet", "resource_type": "subnet"}
NICS = [
    {"id": f"0000-cccc-000{i}", "name": f"eth{i}", "primary_ipv4_address": f"10.0.0.{4 + i}",
     "resource_type": "network_interface", "subnet": SUBNET}
    for i in range(2)
]
VOLS = [
    {"device": {"id": f"0000-eeee-000{i}-fake"}, "id": f"0000-eeee-000{i}", "name": n,
     "volume": {"crn": f"crn:v1:bluemix:public:is:us-south-1:a/{ACCOUNT}::volume:r000-ffff-000{i}",
                "id": f"r000-ffff-000{i}", "name": n + "-volume", "resource_type": "volume"}}
    for i, n in enumerate(["emu-boot", "emu-data"])
]
INSTANCE = {
    "id": "0000_11111111-2222-4333-8444-555555555555",
    "crn": f"crn:v1:bluemix:public:is:us-south-1:a/{ACCOUNT}::instance:0000_11111111-2222-4333-8444-555555555555",
    "name": "emu-vsi-1", "resource_type": "instance", "created_at": "2025-09-01T11:58:00.000Z",
    "status": "running", "status_reasons": [], "lifecycle_state": "stable", "lifecycle_reasons": [],
    "health_state": "ok", "health_reasons": [], "startable": True, "memory": 8,
    "vcpu": {"architecture": "amd64", "count": 2, "manufacturer": "intel", "burst": {"limit": 200}},
    "threads_per_core": 2, "numa_count": 1,
    "bandwidth": 4000, "total_network_bandwidth": 3000, "total_volume_bandwidth": 1000,
    "volume_bandwidth_qos_mode": "weighted",
    "profile": {"name": "bx2-2x8", "resource_type": "instance_profile"},
    "zone": {"name": "us-south-1"},
    "resource_group": {"id": "0000fakeresourcegroup0000", "name": "Default"},
    "metadata_service": {"enabled": True, "protocol": "http", "response_hop_limit": 1},
    "availability": {"class": "standard"}, "availability_policy": {"host_failure": "restart"},
    "image": {"crn": f"crn:v1:bluemix:public:is:us-south:a/{ACCOUNT}::image:r000-aaaa-0001",
              "id": "r000-aaaa-0001", "name": "fake-ubuntu-24-04", "resource_type": "image"},
    "vpc": {"crn": f"crn:v1:bluemix:public:is:us-south:a/{ACCOUNT}::vpc:r000-bbbb-0001",
            "id": "r000-bbbb-0001", "name": "emu-vpc", "resource_type": "vpc"},
    "primary_network_interface": NICS[0], "network_interfaces": NICS,
    "boot_volume_attachment": VOLS[0], "volume_attachments": VOLS,
    "disks": [], "confidential_compute_mode": "disabled", "enable_secure_boot": False,
    "some_field_added_next_year": {"nested": [1, 2, {"deep": "x"}], "flag": True},
}
USER_DATA = ("Content-Type: multipart/mixed; boundary=\"XYZ\"\nMIME-Version: 1.0\n\n"
             "--XYZ\nContent-Type: text/cloud-config; charset=\"utf-8\"\n\n#cloud-config\n"
             "write_files:\n- path: /etc/motd\n  content: \"Grüße, 世界 😀\"\n--XYZ--\n")
KEYS = [
    {"id": f"r000-9999-000{i}", "crn": f"crn:v1:bluemix:public:is:us-south:a/{ACCOUNT}::key:r000-9999-000{i}",
     "name": f"emu-key-{i}", "created_at": "2025-08-30T09:00:00.000Z", "resource_type": "key",
     "type": t, "length": ln, "fingerprint": f"SHA256:FAKE{i}FAKEFAKEFAKE",
     "public_key": f"ssh-{t} AAAAFAKE{i} emu-{i}"}
    for i, (t, ln) in enumerate([("ed25519", 256), ("rsa", 2048), ("ed25519", 256)])
]
INIT = {"keys": [{k: key[k] for k in ("crn", "fingerprint", "id", "name", "resource_type")} for key in KEYS],
        "user_data": USER_DATA,
        "default_trusted_profile": {"auto_link": False,
                                    "target": {"crn": "crn:v1:bluemix:public:iam-identity::a/" + ACCOUNT + "::profile:Profile-0001",
                                               "id": "Profile-0001", "resource_type": "trusted_profile"}}}
NIC_FULL = dict(NICS[0], created_at="2025-09-01T11:58:00.000Z", type="primary", status="available",
                allow_ip_spoofing=False, port_speed=1000,
                security_groups=[{"crn": "crn:sg", "id": "r000-sg-0001", "name": "emu-sg"}],
                floating_ips=[{"address": "192.0.2.10", "crn": "crn:fip", "id": "r000-fip-0001", "name": "emu-fip"}])
VOL_FULL = dict(VOLS[1], created_at="2025-09-01T11:58:00.000Z", type="data", status="attached",
                delete_volume_on_instance_delete=True, bandwidth=1000)
PGS = [{"id": f"r000-pg-000{i}", "crn": f"crn:v1:bluemix:public:is:us-south:a/{ACCOUNT}::placement-group:r000-pg-000{i}",
        "name": f"emu-pg-{i}", "created_at": "2025-08-01T00:00:00.000Z", "resource_type": "placement_group",
        "lifecycle_state": "stable", "strategy": "host_spread" if i % 2 else "power_spread"} for i in range(5)]
CERT = {"certificates": ["-----BEGIN CERTIFICATE-----\nLEAF\n-----END CERTIFICATE-----\n",
                         "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"],
        "created_at": "2025-09-01T12:00:00.000Z", "expires_at": "2025-09-01T13:00:00.000Z",
        "expires_in": 3600, "id": "0000-cert-0001"}
CSR = "-----BEGIN CERTIFICATE REQUEST-----\nMIIBFAKE\n-----END CERTIFICATE REQUEST-----\n"

FIXTURES = {
    "instance.json": INSTANCE,
    "initialization.json": INIT,
    "network_interfaces.json": {"network_interfaces": [dict(NIC_FULL, id=n["id"], name=n["name"]) for n in NICS]},
    "network_interface.json": NIC_FULL,
    "volume_attachments.json": {"volume_attachments": [dict(VOL_FULL, id=v["id"], name=v["name"]) for v in VOLS]},
    "volume_attachment.json": VOL_FULL,
    "keys.json": {"keys": KEYS, "first": {"href": f"http://{HOST}/metadata/v1/keys?limit=50"}, "limit": 50, "total_count": 3},
    "key.json": KEYS[1],
    "placement_group.json": PGS[0],
    "certificate.json": CERT,
}


def pg_page(items, limit, total, next_href):
    doc = {"first": {"href": f"http://{HOST}/metadata/v1/placement_groups?limit={limit}"},
           "limit": limit, "total_count": total, "placement_groups": items}
    if next_href:
        doc["next"] = {"href": next_href}
    # Go's encoder escapes & as \u0026; the client must decode it.
    return json.dumps(doc).replace("&", "\\u0026")


# ---------------------------------------------------------------- cases

files = {}

# requests.json: exact requests for every operation, both API generations.
reqs = []
for version in (CUR, OLD):
    gen = "current" if version == CUR else "legacy"
    reqs.append(case(f"identity token, {gen} paths", [
        {"start": {"op": "identity_token"}, "at": 0},
        token_send(0, version),
        {"respond": {"status": 200, "body": token_body(jwt(1))}, "at": 3,
         "expect": done("identity_token", access_token=jwt(1), expires_in=300, created_at="2025-09-01T12:00:00.000Z")},
        {"idle": True, "at": 3},
    ], version=version))
    reqs.append(case(f"identity token with expires_in 3600, {gen} paths", [
        {"start": {"op": "identity_token", "expires_in": 3600}, "at": 0},
        token_send(0, version, 3600),
        {"respond": {"status": 200, "body": token_body(jwt(1), 3600)}, "at": 3,
         "expect": done("identity_token", expires_in=3600)},
    ], version=version))
    nonce = "n-0123456789abcdef:/+=~"
    reqs.append(case(f"identity token with a nonce, {gen} paths", [
        {"start": {"op": "identity_token", "nonce": nonce}, "at": 0},
        {"send": request("PUT", f"{token_path(version)}?version={version}", flavor=True,
                         body=json.dumps({"expires_in": 300, "nonce": nonce}, separators=(",", ":"))), "at": 0},
        {"respond": {"status": 200, "body": json.dumps(dict(json.loads(token_body(jwt(1))), nonce=nonce))}, "at": 3,
         "expect": done("identity_token", access_token=jwt(1), nonce=nonce)},
    ], version=version))
    reqs.append(case(f"IAM token for the default profile, {gen} paths", [
        {"start": {"op": "iam_token"}, "at": 0},
        token_send(0, version), token_ok(2, 1),
        {"send": request("POST", f"{iam_path(version)}?version={version}", token=jwt(1), flavor=True), "at": 2},
        {"respond": {"status": 200, "body": token_body(jwt(900), 3600)}, "at": 4,
         "expect": done("iam_token", access_token=jwt(900), expires_in=3600)},
    ], version=version))
    for kind, value in (("id", "Profile-8dd84246-7df4-4667-94e4-8cecee1f6e04"),
                        ("crn", "crn:v1:bluemix:public:iam-identity::a/123456::profile:Profile-8dd84246"),
                        ("name", "my-trusted-profile")):
        body = json.dumps({"trusted_profile": {kind: value}}, separators=(",", ":"))
        reqs.append(case(f"IAM token for a profile by {kind}, {gen} paths", [
            {"start": {"op": "iam_token", f"profile_{kind}": value}, "at": 0},
            token_send(0, version), token_ok(2, 1),
            {"send": request("POST", f"{iam_path(version)}?version={version}", token=jwt(1), flavor=True, body=body), "at": 2},
            {"respond": {"status": 200, "body": token_body(jwt(901), 3600)}, "at": 4,
             "expect": done("iam_token", access_token=jwt(901))},
        ], version=version))
    reqs.append(case(f"identity certificate, {gen} paths", [
        {"start": {"op": "identity_certificate", "csr": CSR, "expires_in": 3600}, "at": 0},
        token_send(0, version), token_ok(2, 1),
        {"send": request("POST", f"{cert_path(version)}?version={version}", token=jwt(1),
                         body=json.dumps({"csr": CSR, "expires_in": 3600}, separators=(",", ":"))), "at": 2},
        {"respond": body_file("certificate.json"), "at": 4,
         "expect": done("identity_certificate", **{"certificates.#": 2, "certificates.0": CERT["certificates"][0],
                                                   "id": CERT["id"], "expires_in": 3600})},
    ], version=version))
    reqs.append(case(f"instance, {gen} paths", [
        {"start": {"op": "instance"}, "at": 0},
        token_send(0, version), token_ok(2, 1),
        get_send(2, "instance", 1, version),
        {"respond": body_file("instance.json"), "at": 4,
         "expect": done("instance", id=INSTANCE["id"], name="emu-vsi-1", memory=8, **{
             "vcpu.count": 2, "vcpu.burst.limit": 200, "zone.name": "us-south-1", "profile.name": "bx2-2x8",
             "metadata_service.protocol": "http", "network_interfaces.#": 2,
             "network_interfaces.1.primary_ipv4_address": "10.0.0.5", "volume_attachments.1.volume.name": "emu-data-volume",
             "boot_volume_attachment.device.id": "0000-eeee-0000-fake", "enable_secure_boot": False,
             "availability.class": "standard", "image.resource_type": "image"})},
    ], version=version))

SINGLE = [
    ("initialization", "instance/initialization", None, "initialization.json",
     {"keys.#": 3, "keys.2.name": "emu-key-2", "user_data": USER_DATA, "default_trusted_profile.target.id": "Profile-0001"}),
    ("network_interfaces", "instance/network_interfaces", None, "network_interfaces.json",
     {"network_interfaces.#": 2, "network_interfaces.0.floating_ips.0.address": "192.0.2.10", "network_interfaces.1.name": "eth1"}),
    ("network_interface", "instance/network_interfaces/0000-cccc-0000", "0000-cccc-0000", "network_interface.json",
     {"id": "0000-cccc-0000", "type": "primary", "port_speed": 1000, "security_groups.0.name": "emu-sg", "allow_ip_spoofing": False}),
    ("volume_attachments", "instance/volume_attachments", None, "volume_attachments.json",
     {"volume_attachments.#": 2, "volume_attachments.0.type": "data", "volume_attachments.1.volume.id": "r000-ffff-0001"}),
    ("volume_attachment", "instance/volume_attachments/0000-eeee-0001", "0000-eeee-0001", "volume_attachment.json",
     {"id": "0000-eeee-0001", "status": "attached", "delete_volume_on_instance_delete": True, "bandwidth": 1000}),
    ("keys", "keys", None, "keys.json",
     {"keys.#": 3, "keys.1.type": "rsa", "keys.1.length": 2048, "keys.0.public_key": KEYS[0]["public_key"], "total_count": 3}),
    ("key", "keys/r000-9999-0001", "r000-9999-0001", "key.json",
     {"id": "r000-9999-0001", "fingerprint": "SHA256:FAKE1FAKEFAKEFAKE", "type": "rsa"}),
    ("placement_group", "placement_groups/r000-pg-0000", "r000-pg-0000", "placement_group.json",
     {"id": "r000-pg-0000", "strategy": "power_spread", "lifecycle_state": "stable"}),
]
for op, path, id_, fixture, fields in SINGLE:
    start = {"op": op}
    if id_:
        start["id"] = id_
    reqs.append(case(f"{op} request and parsed sample", [
        {"start": start, "at": 0},
        token_send(0), token_ok(1, 1),
        get_send(1, path, 1),
        {"respond": body_file(fixture), "at": 2, "expect": done(op, **fields)},
    ]))

reqs.append(case("generic GET of any metadata path returns the raw document", [
    {"start": {"op": "get", "path": "/metadata/v1/instance/network_attachments"}, "at": 0},
    token_send(0), token_ok(1, 1),
    get_send(1, "instance/network_attachments", 1),
    {"respond": {"status": 200, "body": '{"network_attachments":[{"id":"na-1","name":"eth0"}]}'}, "at": 2,
     "expect": {"done": {"type": "raw", "json": {"network_attachments": [{"id": "na-1", "name": "eth0"}]}}}},
]))
reqs.append(case("generic GET keeps the caller's query after version", [
    {"start": {"op": "get", "path": "keys?limit=1"}, "at": 0},
    token_send(0), token_ok(1, 1),
    get_send(1, "keys", 1, query="&limit=1"),
    {"respond": {"status": 200, "body": '{"keys":[]}'}, "at": 2, "expect": {"done": {"type": "raw", "json": {"keys": []}}}},
]))
for endpoint, host in (("http://127.0.0.1:8080", "127.0.0.1:8080"), ("https://api.metadata.cloud.ibm.com", "api.metadata.cloud.ibm.com"),
                       ("http://[::1]:9999/", "[::1]:9999"), ("https://api.metadata.cloud.ibm.com:443", "api.metadata.cloud.ibm.com")):
    reqs.append(case(f"Host header for endpoint {endpoint}", [
        {"start": {"op": "instance"}, "at": 0},
        token_send(0, host=host), token_ok(1, 1),
        get_send(1, "instance", 1, host=host),
    ], endpoint=endpoint))
files["requests.json"] = ("Exact requests (parts and HTTP/1.1 bytes) for every operation in both API generations, and every sample document parsed.", reqs)

# tokens.json: lifetime, refresh margin, reuse, 401 handling.
toks = []
for life in (5, 60, 300, 3600):
    refresh, expire = schedule(life)
    t0 = 10
    toks.append(case(f"token of {life} s is reused until {refresh} ms and refreshed at it", [
        {"start": {"op": "instance"}, "at": 0},
        token_send(0, lifetime=life),
        {"respond": {"status": 200, "body": token_body(jwt(1), life)}, "at": t0, "expect": "pending"},
        get_send(t0, "instance", 1),
        {"respond": body_file("instance.json"), "at": t0 + 1, "expect": done("instance", id=INSTANCE["id"])},
        {"start": {"op": "instance"}, "at": t0 + refresh - 1},
        get_send(t0 + refresh - 1, "instance", 1),
        {"respond": body_file("instance.json"), "at": t0 + refresh - 1, "expect": done("instance", memory=8)},
        {"start": {"op": "instance"}, "at": t0 + refresh},
        token_send(t0 + refresh, lifetime=life),
        {"respond": {"status": 200, "body": token_body(jwt(2), life)}, "at": t0 + refresh + 5, "expect": "pending"},
        get_send(t0 + refresh + 5, "instance", 2),
    ], token_lifetime=life))
toks.append(case("lifetime falls back to expires_at minus created_at", [
    {"start": {"op": "instance"}, "at": 0},
    token_send(0, lifetime=60),
    {"respond": {"status": 200, "body": token_body(jwt(1), 600, with_expires_in=False)}, "at": 0, "expect": "pending"},
    get_send(0, "instance", 1),
    {"respond": body_file("instance.json"), "at": 1, "expect": done("instance")},
    {"start": {"op": "instance"}, "at": schedule(600)[0] - 1},
    get_send(schedule(600)[0] - 1, "instance", 1),
], token_lifetime=60))
toks.append(case("one token serves several operations", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0), token_ok(1, 1), get_send(1, "instance", 1),
    {"respond": body_file("instance.json"), "at": 2, "expect": done("instance")},
    {"start": {"op": "key", "id": "r000-9999-0001"}, "at": 3}, get_send(3, "keys/r000-9999-0001", 1),
    {"respond": body_file("key.json"), "at": 4, "expect": done("key", name="emu-key-1")},
    {"start": {"op": "iam_token"}, "at": 5},
    {"send": request("POST", f"{iam_path(CUR)}?version={CUR}", token=jwt(1), flavor=True), "at": 5},
]))
toks.append(case("identity_token always creates a new token even when one is cached", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0), token_ok(1, 1), get_send(1, "instance", 1),
    {"respond": body_file("instance.json"), "at": 2, "expect": done("instance")},
    {"start": {"op": "identity_token", "expires_in": 60}, "at": 3}, token_send(3, lifetime=60),
    {"respond": {"status": 200, "body": token_body(jwt(2), 60)}, "at": 4, "expect": done("identity_token", access_token=jwt(2))},
]))
UNAUTH = error_body(401, "unauthenticated", "The token is expired.")
toks.append(case("401 on a cached token forces one refresh, then succeeds", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0), token_ok(1, 1), get_send(1, "instance", 1),
    {"respond": body_file("instance.json"), "at": 2, "expect": done("instance")},
    {"start": {"op": "instance"}, "at": 1000}, get_send(1000, "instance", 1),
    {"respond": {"status": 401, "body": UNAUTH}, "at": 1001, "expect": "pending"},
    token_send(1001), token_ok(1002, 2), get_send(1002, "instance", 2),
    {"respond": body_file("instance.json"), "at": 1003, "expect": done("instance")},
]))
toks.append(case("a second 401 after the refresh fails as unauthorized", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0), token_ok(1, 1), get_send(1, "instance", 1),
    {"respond": {"status": 401, "body": UNAUTH}, "at": 2, "expect": "pending"},
    token_send(2), token_ok(3, 2), get_send(3, "instance", 2),
    {"respond": {"status": 401, "body": UNAUTH}, "at": 4,
     "expect": failed("unauthorized", status=401, code="unauthenticated", message="The token is expired.")},
    # A failure fed back is reported by the next poll too, so a host cannot lose it.
    {"poll_failed": {"kind": "unauthorized", "status": 401}, "at": 5},
    {"idle": True, "at": 6},
]))
toks.append(case("token creation without Metadata-Flavor is rejected", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0),
    {"respond": {"status": 400, "body": error_body(400, "missing_value", "Provide the value ibm in the Metadata-Flavor header.",
                                                    target={"name": "Metadata-Flavor", "type": "header"})}, "at": 1,
     "expect": failed("rejected", status=400, code="missing_value", trace="00000000-fake-4ace-8ace-000000000001")},
]))
toks.append(case("token response without access_token is a bad response", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0),
    {"respond": {"status": 200, "body": '{"expires_in":300}'}, "at": 1, "expect": failed("bad_response", cause="body")},
]))
toks.append(case("a token with CR LF inside is refused before it reaches a header", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0),
    # Raw control characters inside a JSON string are not JSON (RFC 8259).
    {"respond": {"status": 200, "body": '{"access_token":"eyJ\r\nX-Evil: 1","expires_in":300}'}, "at": 1,
     "expect": failed("bad_response", cause="body")},
]))
# Tokens go into a header (and, printed, into shells): only visible ASCII, for both kinds.
for label, body, cause in (
        ("an escaped CR LF", '{"access_token":"eyJ\\r\\nX-Evil: 1","expires_in":300}', "protocol"),
        ("a raw ESC", '{"access_token":"eyJ\x1b[2J","expires_in":300}', "body"),
        ("a raw NUL", '{"access_token":"eyJ\x00","expires_in":300}', "body"),
        ("a space", '{"access_token":"eyJ X-Evil: 1","expires_in":300}', "protocol")):
    toks.append(case(f"an identity token with {label} is a bad response", [
        {"start": {"op": "identity_token"}, "at": 0}, token_send(0),
        {"respond": {"status": 200, "body": body}, "at": 1, "expect": failed("bad_response", cause=cause)},
    ]))
IAM_SEND = {"send": request("POST", f"{iam_path(CUR)}?version={CUR}", token=jwt(1), flavor=True), "at": 1}
for label, body, cause in (
        ("a raw CR LF", '{"access_token":"abc\r\nX-Evil: 1","expires_in":3600}', "body"),
        ("an escaped CR LF", '{"access_token":"abc\\r\\nX-Evil: 1","expires_in":3600}', None),
        ("a raw ESC", '{"access_token":"abc\x1b]0;x\x07","expires_in":3600}', "body"),
        ("a space", '{"access_token":"abc X-Evil: 1","expires_in":3600}', None),
        ("a DEL", '{"access_token":"abc\x7f","expires_in":3600}', None),
        ("a non-ASCII character", '{"access_token":"abc\u00e9","expires_in":3600}', None),
        ("an empty string", '{"access_token":"","expires_in":3600}', None)):
    extra = {"cause": cause} if cause else {}
    toks.append(case(f"an IAM token with {label} is a bad response", [
        {"start": {"op": "iam_token"}, "at": 0}, token_send(0), token_ok(1, 1), IAM_SEND,
        {"respond": {"status": 200, "body": body}, "at": 2, "expect": failed("bad_response", **extra)},
    ]))
toks.append(case("an IAM token of visible ASCII is delivered", [
    {"start": {"op": "iam_token"}, "at": 0}, token_send(0), token_ok(1, 1), IAM_SEND,
    {"respond": {"status": 200, "body": '{"access_token":"abc.DEF-_~!#$%&*+/=?^`|{}","expires_in":3600}'}, "at": 2,
     "expect": done("iam_token", access_token="abc.DEF-_~!#$%&*+/=?^`|{}")},
]))
toks.append(case("token with a lifetime too short to use is a bad response", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0),
    {"respond": {"status": 200, "body": token_body(jwt(1), 1)}, "at": 1, "expect": failed("bad_response", cause="protocol")},
]))
refresh60, expire60 = schedule(60)
toks.append(case("a stale token still serves when its refresh keeps failing", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0, lifetime=60), token_ok(0, 1, 60), get_send(0, "instance", 1),
    {"respond": body_file("instance.json"), "at": 1, "expect": done("instance")},
    {"start": {"op": "instance"}, "at": refresh60}, token_send(refresh60, lifetime=60),
    {"respond": {"status": 403, "body": error_body(403, "unauthorized", "no")}, "at": refresh60 + 1, "expect": "pending"},
    get_send(refresh60 + 1, "instance", 1),
    {"respond": body_file("instance.json"), "at": refresh60 + 2, "expect": done("instance")},
], token_lifetime=60))
for label, answer in (
        ("no usable token", {"status": 200, "body": '{"access_token":"eyJ a","expires_in":60}'}),
        ("a lifetime too short to use", {"status": 200, "body": token_body(jwt(2), 1)}),
        ("a body that is not JSON", {"status": 200, "body": '{"access_token":'}),
        ("a response that is not HTTP", {"raw": "HTTP/1.1 2O0 OK\r\n\r\n{}"}),
        ("a token longer than the cache holds", {"status": 200, "body": token_body("eyJ" + "a" * 4100, 60)})):
    toks.append(case(f"a stale token still serves when its refresh brings {label}", [
        {"start": {"op": "instance"}, "at": 0}, token_send(0, lifetime=60), token_ok(0, 1, 60), get_send(0, "instance", 1),
        {"respond": body_file("instance.json"), "at": 1, "expect": done("instance")},
        {"start": {"op": "instance"}, "at": refresh60}, token_send(refresh60, lifetime=60),
        {"respond": answer, "at": refresh60 + 1, "expect": "pending"},
        get_send(refresh60 + 1, "instance", 1),
        {"respond": body_file("instance.json"), "at": refresh60 + 2, "expect": done("instance")},
    ], token_lifetime=60))
UNAVAIL = error_body(503, "service_error", "Service unavailable.")
R = refresh60
first_call = [{"start": {"op": "instance"}, "at": 0}, token_send(0, lifetime=60), token_ok(0, 1, 60), get_send(0, "instance", 1),
              {"respond": body_file("instance.json"), "at": 1, "expect": done("instance")}]
ok_at = lambda at: {"respond": body_file("instance.json"), "at": at, "expect": done("instance")}


# A stale token's failed refresh is not retried: the stale token serves at once, and no
# refresh starts for the request timeout (5 s), or the Retry-After when longer.
def held_case(name, answer, hold):
    """A stale token's refresh answered `answer` at R + 1: the stale token serves at once;
    within `hold` ms of the answer no refresh starts, at its end one does."""
    return case(name, first_call + [
        {"start": {"op": "instance"}, "at": R}, token_send(R, lifetime=60),
        {"respond": answer, "at": R + 1, "expect": "pending"},
        get_send(R + 1, "instance", 1), ok_at(R + 2),
        {"start": {"op": "instance"}, "at": R + hold}, get_send(R + hold, "instance", 1), ok_at(R + hold + 1),
        {"start": {"op": "instance"}, "at": R + 1 + hold}, token_send(R + 1 + hold, lifetime=60),
    ], token_lifetime=60)


toks.append(held_case("a stale token's refresh answered 503 is not retried, and is held for the request timeout",
                      {"status": 503, "body": UNAVAIL}, 5000))
toks.append(held_case("a stale token's refresh answered 429 holds refreshes for its Retry-After",
                      {"status": 429, "retry_after": 8, "body": error_body(429, "rate_limited", "Slow down.")}, 8000))
toks.append(case("a stale token's refresh that times out falls back at once", first_call + [
    {"start": {"op": "instance"}, "at": R}, token_send(R, lifetime=60),
    {"transport_error": "response_timeout", "at": R + 5000, "expect": "pending"},
    get_send(R + 5000, "instance", 1), ok_at(R + 5001),
], token_lifetime=60))
toks.append(case("after a stale token's failed refresh the main request is still retried", first_call + [
    {"start": {"op": "instance"}, "at": R}, token_send(R, lifetime=60),
    {"respond": {"status": 503, "body": UNAVAIL}, "at": R + 1, "expect": "pending"},
    get_send(R + 1, "instance", 1),
    {"respond": {"status": 503, "body": UNAVAIL}, "at": R + 2, "expect": "pending"},
    {"wait": R + 2 + backoff(0, Jitter(1).next()), "at": R + 2},
    get_send(R + 2 + backoff(0, Jitter(1).next()), "instance", 1), ok_at(R + 3 + backoff(0, Jitter(1).next())),
], token_lifetime=60))
toks.append(case("a hold ends when the stale token expires", first_call + [
    {"start": {"op": "instance"}, "at": expire60 - 2000}, token_send(expire60 - 2000, lifetime=60),
    {"respond": {"status": 429, "retry_after": 30, "body": error_body(429, "rate_limited", "Slow down.")}, "at": expire60 - 1999,
     "expect": "pending"},
    get_send(expire60 - 1999, "instance", 1), ok_at(expire60 - 1998),
    {"start": {"op": "instance"}, "at": expire60}, token_send(expire60, lifetime=60),
], token_lifetime=60))
toks.append(case("an expired token is never sent", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0, lifetime=60), token_ok(0, 1, 60), get_send(0, "instance", 1),
    {"respond": body_file("instance.json"), "at": 1, "expect": done("instance")},
    {"start": {"op": "instance"}, "at": expire60}, token_send(expire60, lifetime=60),
    {"respond": {"status": 403, "body": error_body(403, "unauthorized", "metadata service not enabled")}, "at": expire60 + 1,
     "expect": failed("unauthorized", status=403, code="unauthorized")},
], token_lifetime=60))
toks.append(case("a token lifetime beyond 3600 s is capped at 3600 s", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0),
    {"respond": {"status": 200, "body": json.dumps({"access_token": jwt(1), "expires_in": 4294967295})}, "at": 0, "expect": "pending"},
    get_send(0, "instance", 1),
    {"respond": body_file("instance.json"), "at": 1, "expect": done("instance")},
    {"start": {"op": "instance"}, "at": schedule(3600)[0]}, token_send(schedule(3600)[0]),
]))
files["tokens.json"] = ("Token lifetime from receipt, refresh margin for 5/60/300/3600 s, reuse, 401 refresh exactly once, stale fallback.", toks)

# retry.json: backoff, Retry-After, transport failures, deadlines.
rets = []


def retry_case(name, failures, final, seed=1, **config):
    """failures: list of ('status', code, retry_after), ('transport', name) or ('raw',
    wire) (a response whose head sets no delay)."""
    jit = Jitter(seed)
    base = config.get("base_delay_ms", 100)
    cap = config.get("max_delay_ms", 2000)
    steps = [{"start": {"op": "instance"}, "at": 0}, token_send(0), token_ok(0, 1)]
    t = 0
    for i, f in enumerate(failures):
        steps.append(get_send(t, "instance", 1))
        t += 10
        delay = backoff(i, jit.next(), base, cap)
        if f[0] == "status":
            _, status, ra = f
            if ra is not None:
                delay = max(delay, ra * 1000)
            resp = {"status": status, "body": UNAVAIL if status >= 500 else error_body(429, "rate_limited", "Slow down.")}
            if ra is not None:
                resp["retry_after"] = ra
            steps.append({"respond": resp, "at": t, "expect": "pending"})
        elif f[0] == "raw":
            steps.append({"respond": {"raw": f[1]}, "at": t, "expect": "pending"})
        else:
            steps.append({"transport_error": f[1], "at": t, "expect": "pending"})
        steps.append({"wait": t + delay, "at": t})
        t += delay
    steps.append(get_send(t, "instance", 1))
    steps.append(final(t + 10))
    return case(name, steps, seed=seed, **config)


ok_instance = lambda at: {"respond": body_file("instance.json"), "at": at, "expect": done("instance", name="emu-vsi-1")}
rets.append(retry_case("503 twice, then success", [("status", 503, None)] * 2, ok_instance))
rets.append(retry_case("503 twice with another seed", [("status", 503, None)] * 2, ok_instance, seed=987654321))
rets.append(retry_case("500, 502, 504, then success", [("status", 500, None), ("status", 502, None), ("status", 504, None)], ok_instance))
rets.append(retry_case("429 with Retry-After 2 waits at least 2 s", [("status", 429, 2)], ok_instance))
rets.append(retry_case("Retry-After sent twice over the wire is no delay", [("raw", (
    "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 30\r\nRetry-After: 60\r\nContent-Length: 2\r\n\r\n{}"))],
    ok_instance))
rets.append(retry_case("connection lost, then success", [("transport", "connection_lost")], ok_instance))
rets.append(retry_case("connect timeout then response timeout, then success", [("transport", "connect_timeout"), ("transport", "response_timeout")], ok_instance))
rets.append(retry_case("network unreachable, then success", [("transport", "unreachable")], ok_instance))
rets.append(retry_case("503 four times exhausts the attempts", [("status", 503, None)] * 3,
                       lambda at: {"respond": {"status": 503, "body": UNAVAIL}, "at": at,
                                   "expect": failed("server_error", status=503, code="service_error")}))
rets.append(retry_case("429 until attempts run out is rate_limited", [("status", 429, None)] * 3,
                       lambda at: {"respond": {"status": 429, "body": error_body(429, "rate_limited", "Slow down.")}, "at": at,
                                   "expect": failed("rate_limited", status=429)}))
rets.append(retry_case("response timeouts until attempts run out is timed_out", [("transport", "response_timeout")] * 3,
                       lambda at: {"transport_error": "response_timeout", "at": at, "expect": failed("timed_out", cause="transport")}))
rets.append(retry_case("slower backoff shape from config", [("status", 503, None)] * 3, ok_instance,
                       base_delay_ms=250, max_delay_ms=600))
rets.append(case("Retry-After beyond the deadline fails at once", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance", 1),
    {"respond": {"status": 429, "retry_after": 60, "body": error_body(429, "rate_limited", "Slow down.")}, "at": 5,
     "expect": failed("rate_limited", status=429)},
]))
rets.append(case("Retry-After of ten digits over the wire fails at once", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance", 1),
    {"respond": {"raw": "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1000000000\r\nContent-Length: 2\r\n\r\n{}"}, "at": 5,
     "expect": failed("rate_limited", status=429)},
]))
rets.append(case("Retry-After beyond u32 over the wire fails at once", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance", 1),
    {"respond": {"raw": "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 99999999999999999999\r\nContent-Length: 2\r\n\r\n{}"}, "at": 5,
     "expect": failed("server_error", status=503)},
]))
rets.append(case("refused is final and not retried", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0),
    {"transport_error": "refused", "at": 1, "expect": failed("refused", cause="transport")},
    {"poll_failed": {"kind": "refused", "cause": "transport"}, "at": 2},
    {"idle": True, "at": 3},
]))
rets.append(case("TLS failure is final", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0, host="api.metadata.cloud.ibm.com"),
    {"transport_error": "tls", "at": 1, "expect": failed("refused", cause="transport")},
], endpoint="https://api.metadata.cloud.ibm.com"))
rets.append(case("a failed token request is retried too", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0),
    {"respond": {"status": 500, "body": UNAVAIL}, "at": 1, "expect": "pending"},
    {"wait": 1 + backoff(0, Jitter(1).next()), "at": 1},
    token_send(1 + backoff(0, Jitter(1).next())),
]))
rets.append(case("max_attempts 1 disables retries", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance", 1),
    {"respond": {"status": 503, "body": UNAVAIL}, "at": 1, "expect": failed("server_error")},
], max_attempts=1))
rets.append(case("a host that wakes after the deadline gets timed_out", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance", 1),
    {"transport_error": "response_timeout", "at": 100, "expect": "pending"},
    {"wait": 100 + backoff(0, Jitter(1).next()), "at": 100},
    {"poll_failed": {"kind": "timed_out", "cause": "deadline"}, "at": 1000},
    {"idle": True, "at": 1001},
], operation_timeout_ms=1000))
rets.append(case("an answer after the request deadline is a response timeout, retried", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance", 1),
    {"respond": body_file("instance.json"), "at": 5001, "expect": "pending"},
    {"wait": 5001 + backoff(0, Jitter(1).next()), "at": 5001},
]))
rets.append(case("a request in flight at the deadline ends the operation", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance", 1),
    {"transport_error": "response_timeout", "at": 990, "expect": failed("timed_out", cause="transport")},
], operation_timeout_ms=1000))
rets.append(case("a backoff that would pass the deadline fails with the last error", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance", 1),
    {"respond": {"status": 503, "body": UNAVAIL}, "at": 999, "expect": failed("server_error", status=503)},
], operation_timeout_ms=1000))
rets.append(case("the request deadline is the request timeout capped by the operation deadline", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0),
    {"wait": 400, "at": 1},
], request_timeout_ms=5000, operation_timeout_ms=400))
rets.append(case("polling past the request deadline counts as a response timeout", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance", 1),
    {"wait": 5000, "at": 4999},
    {"wait": 5000 + backoff(0, Jitter(1).next()), "at": 5000},
    get_send(5000 + backoff(0, Jitter(1).next()), "instance", 1),
]))
rets.append(case("503 with Retry-After 1 over the wire waits at least a second", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance", 1),
    {"respond": {"raw": "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 2\r\n\r\n{}"}, "at": 10, "expect": "pending"},
    {"wait": 10 + max(1000, backoff(0, Jitter(1).next())), "at": 10},
    get_send(10 + max(1000, backoff(0, Jitter(1).next())), "instance", 1),
]))
files["retry.json"] = ("Retries with seeded jittered backoff on 429/5xx and transport failures, Retry-After, attempt limits and deadlines.", rets)

# pagination.json
pags = []
p1 = pg_page(PGS[0:2], 2, 5, f"http://{HOST}/metadata/v1/placement_groups?limit=2&start=PAGE-2&version={CUR}")
p2 = pg_page(PGS[2:4], 2, 5, f"http://{HOST}/metadata/v1/placement_groups?limit=2&start=PAGE-3")
p3 = pg_page(PGS[4:5], 2, 5, None)
pags.append(case("placement groups over three pages follow next.href", [
    {"start": {"op": "placement_groups"}, "at": 0}, token_send(0), token_ok(0, 1),
    get_send(0, "placement_groups", 1),
    {"respond": {"status": 200, "body": p1}, "at": 1,
     "expect": page("placement_groups", **{"placement_groups.#": 2, "placement_groups.1.name": "emu-pg-1", "total_count": 5})},
    {"send": request("GET", f"/metadata/v1/placement_groups?limit=2&start=PAGE-2&version={CUR}", token=jwt(1)), "at": 1},
    {"respond": {"status": 200, "body": p2}, "at": 2, "expect": page("placement_groups", **{"placement_groups.0.id": "r000-pg-0002"})},
    {"send": request("GET", f"/metadata/v1/placement_groups?version={CUR}&limit=2&start=PAGE-3", token=jwt(1)), "at": 2},
    {"respond": {"status": 200, "body": p3}, "at": 3, "expect": done("placement_groups", **{"placement_groups.#": 1, "placement_groups.0.name": "emu-pg-4"})},
    {"idle": True, "at": 3},
]))
UNAUTH_PAGE = error_body(401, "unauthenticated", "The token is expired.")
pags.append(case("each page gets its own refresh after a 401", [
    {"start": {"op": "placement_groups"}, "at": 0}, token_send(0), token_ok(0, 1),
    get_send(0, "placement_groups", 1),
    {"respond": {"status": 401, "body": UNAUTH_PAGE}, "at": 1, "expect": "pending"},
    token_send(1), token_ok(1, 2), get_send(1, "placement_groups", 2),
    {"respond": {"status": 200, "body": p1}, "at": 2, "expect": page("placement_groups", **{"placement_groups.#": 2})},
    {"send": request("GET", f"/metadata/v1/placement_groups?limit=2&start=PAGE-2&version={CUR}", token=jwt(2)), "at": 2},
    {"respond": {"status": 401, "body": UNAUTH_PAGE}, "at": 3, "expect": "pending"},
    token_send(3), token_ok(3, 3),
    {"send": request("GET", f"/metadata/v1/placement_groups?limit=2&start=PAGE-2&version={CUR}", token=jwt(3)), "at": 3},
    {"respond": {"status": 200, "body": p2}, "at": 4, "expect": page("placement_groups", **{"placement_groups.0.id": "r000-pg-0002"})},
    {"send": request("GET", f"/metadata/v1/placement_groups?version={CUR}&limit=2&start=PAGE-3", token=jwt(3)), "at": 4},
    {"respond": {"status": 200, "body": p3}, "at": 5, "expect": done("placement_groups", **{"placement_groups.#": 1})},
]))
pags.append(case("keys list on one page", [
    {"start": {"op": "keys"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "keys", 1),
    {"respond": body_file("keys.json"), "at": 1, "expect": done("keys", **{"keys.#": 3})},
]))
kp1 = json.dumps({"keys": KEYS[:1], "limit": 1, "total_count": 2, "first": {"href": f"http://{HOST}/metadata/v1/keys?limit=1"},
                  "next": {"href": f"http://{HOST}/metadata/v1/keys?limit=1&start=FAKE-START-TOKEN-0002"}})
pags.append(case("a next.href without version gets the configured version", [
    {"start": {"op": "keys"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "keys", 1),
    {"respond": {"status": 200, "body": kp1}, "at": 1, "expect": page("keys", **{"keys.0.name": "emu-key-0"})},
    {"send": request("GET", f"/metadata/v1/keys?version={CUR}&limit=1&start=FAKE-START-TOKEN-0002", token=jwt(1)), "at": 1},
]))
slip = json.dumps({"placement_groups": PGS[:1], "next": {"href": f"http://{HOST}/v1/placement_groups?limit=1&start=X2"}})
pags.append(case("a next.href missing the /metadata prefix is repaired", [
    {"start": {"op": "placement_groups"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "placement_groups", 1),
    {"respond": {"status": 200, "body": slip}, "at": 1, "expect": page("placement_groups")},
    {"send": request("GET", f"/metadata/v1/placement_groups?version={CUR}&limit=1&start=X2", token=jwt(1)), "at": 1},
]))
evil = json.dumps({"placement_groups": [], "next": {"href": "http://attacker.example:8080/metadata/v1/placement_groups?start=Z"}})
pags.append(case("a next.href on another host is followed on the configured endpoint only", [
    {"start": {"op": "placement_groups"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "placement_groups", 1),
    {"respond": {"status": 200, "body": evil}, "at": 1, "expect": page("placement_groups", **{"placement_groups.#": 0})},
    {"send": request("GET", f"/metadata/v1/placement_groups?version={CUR}&start=Z", token=jwt(1)), "at": 1},
]))
same = json.dumps({"placement_groups": [], "next": {"href": f"http://{HOST}/metadata/v1/placement_groups?version={CUR}"}})
pags.append(case("a next.href pointing at the same page is a bad response", [
    {"start": {"op": "placement_groups"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "placement_groups", 1),
    {"respond": {"status": 200, "body": same}, "at": 1, "expect": failed("bad_response", cause="protocol")},
]))
loop_b = json.dumps({"placement_groups": [], "next": {"href": f"http://{HOST}/metadata/v1/placement_groups?start=B"}})
loop_a = json.dumps({"placement_groups": [], "next": {"href": f"http://{HOST}/metadata/v1/placement_groups?version={CUR}"}})
pags.append(case("a next.href back to a page read before is a bad response", [
    {"start": {"op": "placement_groups"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "placement_groups", 1),
    {"respond": {"status": 200, "body": loop_b}, "at": 1, "expect": page("placement_groups", **{"placement_groups.#": 0})},
    {"send": request("GET", f"/metadata/v1/placement_groups?version={CUR}&start=B", token=jwt(1)), "at": 1},
    {"respond": {"status": 200, "body": loop_a}, "at": 2, "expect": failed("bad_response", cause="protocol")},
]))
for label, href in (("CR LF", "http://h/metadata/v1/keys?start=a\\r\\nX-Evil: 1"), ("a dot segment", "http://h/metadata/v1/../../etc?x=1"),
                    ("a relative path", "keys?start=2"), ("a space", "http://h/metadata/v1/keys?start=a b")):
    body = '{"keys":[],"next":{"href":"' + href + '"}}'
    pags.append(case(f"a next.href with {label} is a bad response", [
        {"start": {"op": "keys"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "keys", 1),
        {"respond": {"status": 200, "body": body}, "at": 1, "expect": failed("bad_response", cause="protocol")},
    ]))
gp1 = json.dumps({"keys": KEYS[:1], "next": {"href": f"http://{HOST}/metadata/v1/keys?limit=1&start=S2"}})
gp2 = json.dumps({"keys": KEYS[1:2]})
pags.append(case("generic GET with all_pages delivers each raw page", [
    {"start": {"op": "get", "path": "keys?limit=1", "all_pages": True}, "at": 0}, token_send(0), token_ok(0, 1),
    get_send(0, "keys", 1, query="&limit=1"),
    {"respond": {"status": 200, "body": gp1}, "at": 1, "expect": {"page": {"type": "raw", "json": json.loads(gp1)}}},
    {"send": request("GET", f"/metadata/v1/keys?version={CUR}&limit=1&start=S2", token=jwt(1)), "at": 1},
    {"respond": {"status": 200, "body": gp2}, "at": 2, "expect": {"done": {"type": "raw", "json": json.loads(gp2)}}},
]))
pags.append(case("generic GET without all_pages stops at the first page", [
    {"start": {"op": "get", "path": "keys?limit=1"}, "at": 0}, token_send(0), token_ok(0, 1),
    get_send(0, "keys", 1, query="&limit=1"),
    {"respond": {"status": 200, "body": gp1}, "at": 1, "expect": {"done": {"type": "raw", "json": json.loads(gp1)}}},
    {"idle": True, "at": 1},
]))
odd = json.dumps({"keys": [], "next": {"href": "/metadata/v1/keys?start=a==&x=http://evil/metadata/v1/instance"}})
pags.append(case("a next.href with :// and = inside its query keeps its path", [
    {"start": {"op": "keys"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "keys", 1),
    {"respond": {"status": 200, "body": odd}, "at": 1, "expect": page("keys")},
    {"send": request("GET", f"/metadata/v1/keys?version={CUR}&start=a==&x=http://evil/metadata/v1/instance", token=jwt(1)), "at": 1},
]))
files["pagination.json"] = ("Following next.href: escapes decoded, version kept or added, host never changed, loops and bad links refused.", pags)

# errors.json: IBM error bodies and status mapping.
errs = []
for status, code, kind in ((404, "not_found", "not_found"), (400, "profile_not_linked", "rejected"),
                           (403, "unauthorized", "unauthorized"), (400, "invalid_value", "rejected"),
                           (405, "method_not_allowed", "rejected")):
    trace = f"trace-{status}-{code}"
    errs.append(case(f"HTTP {status} {code} maps to {kind}", [
        {"start": {"op": "iam_token", "profile_id": "Profile-unlinked"} if code == "profile_not_linked" else {"op": "key", "id": "r000-missing"}, "at": 0},
        token_send(0), token_ok(0, 1),
        {"send": request("POST", f"{iam_path(CUR)}?version={CUR}", token=jwt(1), flavor=True,
                         body='{"trusted_profile":{"id":"Profile-unlinked"}}'), "at": 0}
        if code == "profile_not_linked" else get_send(0, "keys/r000-missing", 1),
        {"respond": {"status": status, "body": error_body(status, code, f"Message for {code}.", trace)}, "at": 1,
         "expect": failed(kind, status=status, code=code, trace=trace, message=f"Message for {code}.")},
    ]))
errs.append(case("an error body that is not JSON still gives the status", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance", 1),
    {"respond": {"status": 404, "body": "<html>not found</html>"}, "at": 1, "expect": failed("not_found", status=404, code="")},
]))
errs.append(case("a token the service quotes back in an error message is redacted", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance", 1),
    {"respond": {"status": 400, "body": error_body(400, "bad_header", f"Invalid header Authorization: Bearer {jwt(1)} (and {jwt(1)[:20]})")},
     "at": 1, "expect": failed("rejected", status=400, code="bad_header",
                               message="Invalid header Authorization: Bearer <redacted> (and <redacted>)")},
]))
errs.append(case("a token glued to a word, ending a sentence or only its signature is redacted", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance", 1),
    {"respond": {"status": 400, "body": error_body(400, "bad_header", f"Bad token={jwt(1)}, see Bearer {jwt(1)[:24]}. Signature {jwt(1).split('.')[2]}.")},
     "at": 1, "expect": failed("rejected", status=400, code="bad_header",
                               message="Bad token=<redacted>, see Bearer <redacted> Signature <redacted>")},
]))
errs.append(case("a redirect is a bad response", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance", 1),
    {"respond": {"status": 302, "body": ""}, "at": 1, "expect": failed("bad_response", status=302)},
]))
errs.append(case("a long IBM message is cut, not rejected", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance", 1),
    {"respond": {"status": 400, "body": error_body(400, "invalid_value", "é" * 300)}, "at": 1,
     "expect": failed("rejected", message="é" * 128)},
]))
errs.append(case("an error body with more errors than are kept still gives the first and the trace", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance", 1),
    {"respond": {"status": 400, "body": json.dumps({
        "errors": [{"code": f"invalid_{i}", "message": f"Problem {i}."} for i in range(6)],
        "status_code": 400, "trace": "trace-six-errors"})}, "at": 1,
     "expect": failed("rejected", status=400, code="invalid_0", message="Problem 0.", trace="trace-six-errors")},
]))
errs.append(case("an error whose message is null still gives its code and the trace", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance", 1),
    {"respond": {"status": 404, "body": json.dumps({
        "errors": [{"code": "not_found", "message": None}], "status_code": 404, "trace": "trace-null-message"})}, "at": 1,
     "expect": failed("not_found", status=404, code="not_found", message="", trace="trace-null-message")},
]))
files["errors.json"] = ("IBM error bodies parsed into kind, status, code, message and trace.", errs)

# framing.json: raw HTTP/1.1 responses through the reader.
frs = []
inst = json.dumps(INSTANCE)


def chunked(body, size=100):
    b = body.encode()
    out = b""
    for i in range(0, len(b), size):
        part = b[i:i + size]
        out += f"{len(part):x}\r\n".encode() + part + b"\r\n"
    return (out + b"0\r\n\r\n").decode()


def http(status, body, headers=(), reason="OK"):
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    return head + "\r\n" + body


raw_token = lambda n: http(200, token_body(jwt(n)), [("Content-Type", "application/json"), ("Content-Length", len(token_body(jwt(n)).encode()))])


def raw_case(name, raw, expect, **config):
    return case(name, [
        {"start": {"op": "instance"}, "at": 0}, token_send(0),
        {"respond": {"raw": raw_token(1)}, "at": 1, "expect": "pending"},
        get_send(1, "instance", 1),
        {"respond": {"raw": raw}, "at": 2, "expect": expect},
    ], **config)


frs.append(raw_case("chunked instance body", http(200, chunked(inst), [("Transfer-Encoding", "chunked")]), done("instance", name="emu-vsi-1")))
frs.append(raw_case("body read until the connection closes", http(200, inst, [("Connection", "close")]), done("instance", memory=8)))
frs.append(raw_case("truncated body is retried as a lost connection",
                    http(200, inst[:100], [("Content-Length", len(inst.encode()))]), "pending"))
frs.append(raw_case("truncated chunked body is retried as a lost connection",
                    http(200, chunked(inst)[:300], [("Transfer-Encoding", "chunked")]), "pending"))
frs.append(raw_case("oversized body is a bad response", http(200, inst, [("Content-Length", len(inst.encode()))]),
                    failed("bad_response", cause="http"), buffer=1024))
frs.append(raw_case("both Content-Length and chunked is a bad response",
                    http(200, chunked("{}"), [("Content-Length", 2), ("Transfer-Encoding", "chunked")]), failed("bad_response", cause="http")))
frs.append(raw_case("garbage status line is a bad response", "HTTP/1.1 2O0 OK\r\n\r\n{}", failed("bad_response", cause="http")))
frs.append(raw_case("malformed JSON is a bad response", http(200, '{"id": "x", "name": ', [("Content-Length", 20)]), failed("bad_response", cause="body")))
frs.append(raw_case("a field of the wrong type is a bad response", http(200, '{"id":"x","memory":"eight"}', [("Content-Length", 27)]),
                    failed("bad_response", cause="body")))
too_many = dict(INSTANCE, network_interfaces=[NICS[0]] * 17)
tm = json.dumps(too_many)
frs.append(raw_case("a list beyond its capacity is a bad response", http(200, tm, [("Content-Length", len(tm.encode()))]),
                    failed("bad_response", cause="body")))
frs.append(raw_case("interim 100 Continue is skipped", "HTTP/1.1 100 Continue\r\n\r\n" + http(200, inst, [("Content-Length", len(inst.encode()))]),
                    done("instance")))
frs.append(raw_case("two interim responses, then the final one",
                    "HTTP/1.1 100 Continue\r\n\r\n" + "HTTP/1.1 102 Processing\r\nX: y\r\n\r\n"
                    + http(200, inst, [("Content-Length", len(inst.encode()))]), done("instance")))
frs.append(raw_case("eight interim responses are the most accepted",
                    "HTTP/1.1 100 Continue\r\n\r\n" * 8 + http(200, inst, [("Content-Length", len(inst.encode()))]),
                    done("instance")))
frs.append(raw_case("nine interim responses are a bad response",
                    "HTTP/1.1 100 Continue\r\n\r\n" * 9 + http(200, inst, [("Content-Length", len(inst.encode()))]),
                    failed("bad_response", cause="http")))
frs.append(raw_case("Transfer-Encoding gzip, chunked is a bad response",
                    http(200, chunked("{}"), [("Transfer-Encoding", "gzip, chunked")]), failed("bad_response", cause="http")))
frs.append(raw_case("Transfer-Encoding gzip and chunked on two lines is a bad response",
                    http(200, chunked("{}"), [("Transfer-Encoding", "gzip"), ("Transfer-Encoding", "chunked")]),
                    failed("bad_response", cause="http")))
frs.append(raw_case("Transfer-Encoding chunked on two lines is a bad response",
                    http(200, chunked("{}"), [("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")]),
                    failed("bad_response", cause="http")))
small = json.dumps({"id": "x", "name": "y"})
# A size line without digits is no last chunk (httparse alone reads it as 0): accepted,
# it would end the body after a prefix that happens to be a whole document.
frs.append(raw_case("an empty chunk-size line is a bad response, not the last chunk",
                    http(200, f"{len(small):x}\r\n{small}\r\n\r\n\r\n", [("Transfer-Encoding", "chunked")]),
                    failed("bad_response", cause="http")))
frs.append(raw_case("a chunk-size line with only an extension is a bad response",
                    http(200, f"{len(small):x}\r\n{small}\r\n;x=1\r\n\r\n", [("Transfer-Encoding", "chunked")]),
                    failed("bad_response", cause="http")))
frs.append(raw_case("a last chunk of 000 with an extension ends the body",
                    http(200, f"{len(small):x}\r\n{small}\r\n000;x=1\r\n\r\n", [("Transfer-Encoding", "chunked")]),
                    done("instance", name="y")))
frs.append(raw_case("Transfer-Encoding chunked in any case is accepted",
                    http(200, chunked(inst), [("Transfer-Encoding", " ChUnKeD ")]), done("instance")))
frs.append(raw_case("503 with Retry-After header over the wire", http(503, UNAVAIL, [("Retry-After", "1"), ("Content-Length", len(UNAVAIL))],
                                                                        "Service Unavailable"), "pending"))
frs.append(case("a response cut after the head, then a good one", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0),
    {"respond": {"raw": "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"access"}, "at": 1, "expect": "pending"},
    {"wait": 1 + backoff(0, Jitter(1).next()), "at": 1},
    token_send(1 + backoff(0, Jitter(1).next())),
    {"respond": {"raw": raw_token(1)}, "at": 200, "expect": "pending"},
]))
frs.append(case("a connection closed before any byte is retried", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0),
    {"respond": {"raw": ""}, "at": 1, "expect": "pending"},
]))
esc = '{"keys":[],"user_data":"line1\\nGr\\u00fc\\u00dfe \\ud83d\\ude00 \\"q\\" \\\\ \\/"}'
frs.append(case("escaped strings are decoded", [
    {"start": {"op": "initialization"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance/initialization", 1),
    {"respond": {"status": 200, "body": esc}, "at": 1, "expect": done("initialization", user_data='line1\nGrüße 😀 "q" \\ /')},
]))
frs.append(case("a bad escape is a bad response", [
    {"start": {"op": "initialization"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance/initialization", 1),
    {"respond": {"status": 200, "body": '{"user_data":"\\ud83d"}'}, "at": 1, "expect": failed("bad_response", cause="body")},
]))
frs.append(case("initialization without user data", [
    {"start": {"op": "initialization"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance/initialization", 1),
    {"respond": {"status": 200, "body": '{"keys":[]}'}, "at": 1, "expect": done("initialization", user_data=None, **{"keys.#": 0})},
]))
frs.append(case("a JSON array where an object belongs is a bad response", [
    {"start": {"op": "get", "path": "instance"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance", 1),
    {"respond": {"status": 200, "body": '[1,2]'}, "at": 1, "expect": failed("bad_response", cause="body")},
]))
deep = '{"id":"x","f":' + "[" * 100 + "]" * 100 + "}"
frs.append(case("JSON nested deeper than 64 levels is a bad response", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance", 1),
    {"respond": {"status": 200, "body": deep}, "at": 1, "expect": failed("bad_response", cause="body")},
]))
# Raw control characters inside JSON strings are not JSON (RFC 8259): never delivered.
for label, value in (("a raw NUL", "a\x00b"), ("a raw ESC", "a\x1b[2Jb"), ("a raw CR LF", "a\r\nb"), ("a raw TAB", "a\tb"),
                     ("raw NUL, ESC and CR LF", "a\x00\x1b[2J\r\nb")):
    frs.append(case(f"get of a string holding {label} is a bad response", [
        {"start": {"op": "get", "path": "instance"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance", 1),
        {"respond": {"status": 200, "body": '{"id":"' + value + '"}'}, "at": 1, "expect": failed("bad_response", cause="body")},
    ]))
frs.append(case("a raw control character in a key is a bad response", [
    {"start": {"op": "get", "path": "instance"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance", 1),
    {"respond": {"status": 200, "body": '{"i\x1bd":"x"}'}, "at": 1, "expect": failed("bad_response", cause="body")},
]))
frs.append(case("a raw control character in an unknown field is a bad response", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance", 1),
    {"respond": {"status": 200, "body": '{"id":"x","unknown":{"list":["ok","a\rb"]}}'}, "at": 1,
     "expect": failed("bad_response", cause="body")},
]))
frs.append(case("a raw control character in an error body leaves the status", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance", 1),
    {"respond": {"status": 404, "body": '{"errors":[{"code":"not_found","message":"a\x1b[2Jb"}],"trace":"t"}'}, "at": 1,
     "expect": failed("not_found", status=404, code="", message="")},
]))
frs.append(case("an escaped key names its field in a typed model", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance", 1),
    {"respond": {"status": 200, "body": '{"\\u0069d":"0717_escaped","na\\u006de":"vsi"}'}, "at": 1,
     "expect": done("instance", id="0717_escaped", name="vsi")},
]))
frs.append(case("a field given twice, once with an escaped key, is a bad response", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance", 1),
    {"respond": {"status": 200, "body": '{"id":"a","\\u0069d":"b"}'}, "at": 1,
     "expect": failed("bad_response", cause="body")},
]))
frs.append(case("escaped control characters are valid JSON and kept", [
    {"start": {"op": "get", "path": "instance"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance", 1),
    {"respond": {"status": 200, "body": '{"id":"a\\u0000\\u001b[2J\\r\\nb"}'}, "at": 1,
     "expect": {"done": {"type": "raw", "json": {"id": "a\u0000\u001b[2J\r\nb"}}}},
]))
frs.append(case("an escaped control character in a typed model is decoded", [
    {"start": {"op": "instance"}, "at": 0}, token_send(0), token_ok(0, 1), get_send(0, "instance", 1),
    {"respond": {"status": 200, "body": '{"id":"x","name":"a\\u001bb"}'}, "at": 1,
     "expect": done("instance", name="a\u001bb")},
]))
files["framing.json"] = ("Raw HTTP/1.1 responses: chunked, read-to-close, truncation, size limits, bad framing, malformed or oversized JSON, escapes.", frs)

# input.json: bad input is refused before anything is sent.
ins = []
BAD = [
    ("key", {"id": "a/b"}), ("key", {"id": "a\r\nHost: evil"}), ("key", {"id": "a?b=c"}), ("key", {"id": "a#b"}),
    ("key", {"id": ""}), ("key", {"id": ".."}), ("key", {"id": "x" * 129}), ("network_interface", {"id": "a%2Fb"}),
    ("volume_attachment", {"id": "a b"}), ("placement_group", {"id": "ü"}),
    ("iam_token", {"profile_id": "Profile-1\nX"}), ("iam_token", {"profile_crn": ""}), ("iam_token", {"profile_id": "p" * 513}),
    ("iam_token", {"profile_name": "a\u0000b"}),
    ("identity_token", {"expires_in": 4}), ("identity_token", {"expires_in": 3601}),
    ("identity_token", {"nonce": ""}), ("identity_token", {"nonce": "n" * 257}), ("identity_token", {"nonce": "a b"}),
    ("identity_token", {"nonce": "\u00e9"}), ("identity_token", {"nonce": "a\u0000b"}),
    ("get", {"path": "../instance"}), ("get", {"path": "keys?version=2020-01-01"}), ("get", {"path": "instance#frag"}),
    ("get", {"path": "instance\r\nX: y"}), ("get", {"path": ""}), ("get", {"path": "a//b"}),
    ("identity_certificate", {"csr": "not a csr"}),
]
for op, args in BAD:
    ins.append(case(f"{op} refuses {json.dumps(args)[:60]}", [
        {"start": dict(op=op, **args), "at": 0, "error": {"kind": "invalid_input", "cause": "input"}},
        {"idle": True, "at": 0},
    ]))
ins.append(case("CRN with a quote is escaped in the JSON body", [
    {"start": {"op": "iam_token", "profile_crn": 'crn:"x"\\y'}, "at": 0}, token_send(0), token_ok(0, 1),
    {"send": request("POST", f"{iam_path(CUR)}?version={CUR}", token=jwt(1), flavor=True,
                     body=json.dumps({"trusted_profile": {"crn": 'crn:"x"\\y'}}, separators=(",", ":"))), "at": 0},
]))
ins.append(case("a second start while busy is refused", [
    {"start": {"op": "instance"}, "at": 0},
    {"start": {"op": "keys"}, "at": 0, "error": {"kind": "invalid_input"}},
    token_send(0),
]))
files["input.json"] = ("Input validation: anything that could smuggle into the request line, headers or body is refused before sending.", ins)

# ---------------------------------------------------------------- merging pages
# `get --all` / `get_all`: the driver's PageMerger, run by every host of the driver.


def compact(doc):
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def merged(pages):
    """The documented rule: the first page's members in order except `next`; each
    list member holds that member's items from every page, in page order."""
    out = {}
    for key, value in pages[0].items():
        if key == "next":
            continue
        out[key] = [item for page in pages for item in page.get(key, [])] if isinstance(value, list) else value
    return out


def merge_case(name, pages, expect=None):
    raw = [p if isinstance(p, str) else compact(p) for p in pages]
    if expect is None:
        expect = compact(merged([json.loads(p) for p in raw]))
    return {"name": name, "merge": raw, "expect": expect}


KEY = lambda i: {"id": f"r006-key-{i}", "name": f"key-{i}", "public_key": f"ssh-ed25519 AAAA{i} k{i}"}
merges = [
    merge_case("three pages of keys merge into one list without next", [
        {"first": {"href": "http://169.254.169.254/metadata/v1/keys?limit=2"}, "keys": [KEY(0), KEY(1)], "limit": 2,
         "next": {"href": "http://169.254.169.254/metadata/v1/keys?limit=2&start=2"}, "total_count": 5},
        {"first": {"href": "http://169.254.169.254/metadata/v1/keys?limit=2"}, "keys": [KEY(2), KEY(3)], "limit": 2,
         "next": {"href": "http://169.254.169.254/metadata/v1/keys?limit=2&start=4"}, "total_count": 5},
        {"first": {"href": "http://169.254.169.254/metadata/v1/keys?limit=2"}, "keys": [KEY(4)], "limit": 2, "total_count": 5},
    ]),
    merge_case("one page is itself without next", [{"keys": [KEY(0)], "limit": 50, "next": {"href": "x"}}]),
    merge_case("members after the list keep their place", [
        {"limit": 1, "placement_groups": [{"id": "a"}], "total_count": 2, "next": {"href": "n"}, "zone": "z"},
        {"limit": 1, "placement_groups": [{"id": "b"}], "total_count": 2, "zone": "other"},
    ]),
    merge_case("a second list gathers its items too; keys only on later pages are dropped", [
        {"a": [], "b": [1], "c": True},
        {"a": [2], "b": [], "d": [9]},
        {"a": [3], "b": [4, 5]},
    ]),
    merge_case("empty lists and a page without the list", [{"keys": []}, {"limit": 1}, {"keys": []}]),
    merge_case("an empty first page", [{}, {"keys": [1]}]),
    merge_case("values are copied byte for byte, escapes and spaces kept",
               ['{ "keys" : [ {"s": "x]}\\"y\\u00e9"} , 1.50 ], "n": null }', '{"keys":[ "\\ud83d\\ude00" ]}'],
               expect='{"keys":[{"s": "x]}\\"y\\u00e9"},1.50,"\\ud83d\\ude00"],"n":null}'),
    merge_case("a page that is not an object is a bad response", ['{"keys":[1]}', '[1]'], expect={"error": "bad_response"}),
    merge_case("a first page that is not an object is a bad response", ['"text"'], expect={"error": "bad_response"}),
]
files["merge.json"] = ("Merging a list's pages into one document (get --all): run by every host of the driver, not by the bare core.", merges)

# ---------------------------------------------------------------- user data

# Expected parts come from Python's own gzip and email packages, not from the driver.
import base64
import gzip
from email import message_from_bytes, policy
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText


def b64(data):
    return base64.b64encode(data).decode()


def leaves(data):
    """The parts as Python's email package reads them (the reference)."""
    plain = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    if not plain:
        return []
    msg = message_from_bytes(plain, policy=policy.compat32)
    if not msg.is_multipart():
        return [{"content_type": None, "filename": None, "charset": None, "payload": b64(plain)}]
    return [{"content_type": p.get_content_type(), "filename": p.get_filename(), "charset": p.get_content_charset(),
             "payload": b64(p.get_payload(decode=True))} for p in msg.walk() if not p.is_multipart()]


def user_data_case(name, data, error=None):
    if error is None:
        expect = {"parts": leaves(data), "multipart": bool(data) and message_from_bytes(
            gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data).is_multipart()}
    else:
        expect = {"error": error, "multipart": False}
    return {"name": name, "user_data": b64(data), "expect": expect}


def mime(*parts, boundary="==b1=="):
    doc = MIMEMultipart(boundary=boundary)
    for p in parts:
        doc.attach(p)
    return doc.as_bytes()


def text_part(body, subtype, filename=None, charset="us-ascii", encoding=None):
    part = MIMEText(body, subtype, charset)
    if encoding == "base64":
        from email import encoders
        del part["Content-Transfer-Encoding"]
        part.set_payload(body.encode(charset))
        encoders.encode_base64(part)
    if filename:
        part.add_header("Content-Disposition", "attachment", filename=filename)
    return part


SCRIPT = "#!/bin/sh\necho booted > /run/booted\n"
CONFIG = "#cloud-config\npackages: [jq]\n"
two = mime(text_part(SCRIPT, "x-shellscript", "boot.sh", encoding="base64"), text_part(CONFIG, "cloud-config", "c.yaml"))
inner = MIMEMultipart("alternative", boundary="==b2==")
inner.attach(text_part("caf\u00e9 cr\u00e8me\n", "plain", charset="utf-8"))
nested = mime(text_part(CONFIG, "cloud-config"), inner)
no_close = two[: two.rindex(b"--==b1==--")]
bad64 = two.replace(b"IyEv", b"*yEv", 1)
assert bad64 != two
corrupt = bytearray(gzip.compress(CONFIG.encode(), mtime=0))
corrupt[-5] ^= 1


def inner_doc(n, boundary):
    doc = MIMEMultipart(boundary=boundary)
    for _ in range(n):
        doc.attach(text_part("x\n", "plain"))
    return doc


user_data = [
    user_data_case("cloud-config text is one part with no content type", CONFIG.encode()),
    user_data_case("empty user data has no parts", b""),
    user_data_case("gzip is removed first", gzip.compress(SCRIPT.encode(), mtime=0)),
    user_data_case("gzip members in a row are one stream",
                   gzip.compress(b"#cloud-config\n", mtime=0) + gzip.compress(b"runcmd: [ls]\n", mtime=0)),
    user_data_case("a text with headers but no multi-part type is one part, headers kept",
                   b"Content-Type: text/x-shellscript\n\necho hi\n"),
    user_data_case("a multi-part document's leaves, base64 bodies decoded, file names kept", two),
    user_data_case("a multi-part document with CRLF line breaks", two.replace(b"\n", b"\r\n")),
    user_data_case("nested documents are descended into; charsets are given", nested),
    user_data_case("gzip of a multi-part document", gzip.compress(two, mtime=0)),
    user_data_case("a multi-part document without its closing boundary is an error", no_close,
                   error="malformed MIME multi-part user data: no closing boundary"),
    user_data_case("a multi-part type without a boundary is an error",
                   b"Content-Type: multipart/mixed\n\n--x\n\nhi\n--x--\n",
                   error="malformed MIME multi-part user data: no boundary parameter"),
    user_data_case("invalid base64 in a part is an error", bad64, error="a MIME part holds invalid base64"),
    user_data_case("a gzip checksum that does not match is an error", bytes(corrupt),
                   error="user data is not valid gzip: the checksum does not match"),
    user_data_case("a gzip stream cut short is an error", gzip.compress(SCRIPT.encode(), mtime=0)[:20],
                   error="user data is not valid gzip: the stream ends early"),
    # 1,000 parts are the most: a few KB of gzip could otherwise be millions of parts.
    user_data_case("a multi-part document of 1,001 parts is an error",
                   gzip.compress(b"Content-Type: multipart/mixed; boundary=b\n\n" + b"--b\n\n" * 1001 + b"--b--\n", mtime=0),
                   error="malformed MIME multi-part user data: more than 1000 parts"),
    user_data_case("nested documents of 1,001 leaves together are an error",
                   gzip.compress(mime(*[inner_doc(500, f"==n{i}==") for i in range(2)], text_part("x\n", "plain")), mtime=0),
                   error="malformed MIME multi-part user data: more than 1000 parts"),
]
files["user_data.json"] = ("User data split into parts (gzip removed, MIME leaves, or the whole data as one part): "
                           "run by every host of the driver, not by the bare core. Data and payloads are base64.", user_data)

# ---------------------------------------------------------------- output


def dump(obj):
    return (json.dumps(obj, indent=1, ensure_ascii=False) + "\n").encode()


for name, doc in FIXTURES.items():
    OUT[f"fixtures/{name}"] = dump(doc)
total = 0
for name, (desc, cases) in files.items():
    OUT[name] = dump({"description": desc, "cases": cases})
    total += len(cases)

if "--check" in sys.argv:
    stale = [n for n, b in OUT.items() if not (HERE / n).exists() or (HERE / n).read_bytes() != b]
    if stale:
        print("out of date:", ", ".join(stale), "- run python3 tests/vectors/generate.py")
        sys.exit(1)
    print(f"vectors up to date: {total} cases")
else:
    for n, b in OUT.items():
        (HERE / n).write_bytes(b)
    print(f"wrote {total} cases in {len(files)} files, {len(FIXTURES)} fixtures")
