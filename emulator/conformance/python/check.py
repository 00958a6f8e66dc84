"""Drive ibm-cloud-sdk-core's VPCInstanceAuthenticator against vpc-imds-emulator.

Usage: check.py BASE_URL CONTROL_URL [TLS_BASE_URL CA_FILE]
Prints one PASS/FAIL line per case; exits 1 if any case failed.
"""

import base64
import json
import os
import sys
import urllib.request

from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.authenticators import VPCInstanceAuthenticator

base, control = sys.argv[1], sys.argv[2]
tls_base, ca_file = (sys.argv[3], sys.argv[4]) if len(sys.argv) > 4 else (None, None)
failed = 0


def control_get(path):
    with urllib.request.urlopen(control + path, timeout=10) as r:
        return json.load(r)


def control_do(method, path):
    req = urllib.request.Request(control + path, method=method)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def claims(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


fixture = json.loads(os.environ["EMU_FIXTURE_JSON"])
profiles = fixture["trusted_profiles"]
default, other = profiles[0], profiles[1]
unlinked = next(p for p in profiles if not p["linked"])


def case(name, fn):
    global failed
    control_do("DELETE", "/requests")
    try:
        detail = fn()
        print(f"PASS python: {name}" + (f" ({detail})" if detail else ""))
    except Exception as e:  # noqa: BLE001 - report every failure as a FAIL line
        failed += 1
        print(f"FAIL python: {name}: {type(e).__name__}: {e}")


def paths():
    return [f"{e['method']} {e['path']}" for e in control_get("/requests")]


def obtain(expect_sub, expect_paths, url=base, **kw):
    auth = VPCInstanceAuthenticator(url=url, **kw)
    token = auth.token_manager.get_token()
    got = claims(token)["sub"]
    assert got == expect_sub, f"IAM token for {got}, expected {expect_sub}"
    seen = paths()
    assert seen == expect_paths, f"requests {seen}"
    return f"{len(token)}-byte IAM token for {got}"


OLD = ["PUT /instance_identity/v1/token?version=2022-03-01", "POST /instance_identity/v1/iam_token?version=2022-03-01"]
NEW = ["PUT /identity/v1/token?version=2025-08-26", "POST /identity/v1/iam_tokens?version=2025-08-26"]

case("default profile, version 2022-03-01", lambda: obtain(default["id"], OLD))
case("profile id, version 2022-03-01", lambda: obtain(other["id"], OLD, iam_profile_id=other["id"]))
case("profile crn, version 2022-03-01", lambda: obtain(other["id"], OLD, iam_profile_crn=other["crn"]))
case("profile name, version 2022-03-01", lambda: obtain(other["id"], OLD, iam_profile_name=other["name"]))
case("default profile, version 2025-08-26", lambda: obtain(default["id"], NEW, service_version="2025-08-26"))
case("profile id, version 2025-08-26", lambda: obtain(other["id"], NEW, iam_profile_id=other["id"], service_version="2025-08-26"))
case("profile crn, version 2025-08-26", lambda: obtain(other["id"], NEW, iam_profile_crn=other["crn"], service_version="2025-08-26"))


def unlinked_profile():
    auth = VPCInstanceAuthenticator(url=base, iam_profile_id=unlinked["id"])
    try:
        auth.token_manager.get_token()
    except ApiException as e:
        assert e.status_code == 400, e.status_code
        body = e.http_response.json()
        assert body["errors"][0]["code"] == "profile_not_linked", body
        return f"ApiException 400 profile_not_linked: {e.message}"
    raise AssertionError("no error for an unlinked profile")


case("unlinked profile is refused with profile_not_linked", unlinked_profile)


def authenticate_header():
    auth = VPCInstanceAuthenticator(url=base, iam_profile_crn=other["crn"])
    req = {"headers": {}}
    auth.authenticate(req)
    header = req["headers"]["Authorization"]
    assert header.startswith("Bearer "), header
    assert claims(header[7:])["sub"] == other["id"]
    # A second authenticate() reuses the cached token: no new exchange.
    before = control_get("/counters")["iam_token_exchanges"]
    auth.authenticate({"headers": {}})
    assert control_get("/counters")["iam_token_exchanges"] == before
    return "Authorization header set, token cached"


case("authenticate() sets the Bearer header and caches", authenticate_header)


def https_with_ca_bundle():
    # requests honours REQUESTS_CA_BUNDLE; the SDK has no CA option of its own.
    os.environ["REQUESTS_CA_BUNDLE"] = ca_file
    try:
        auth = VPCInstanceAuthenticator(url=tls_base, service_version="2025-08-26")
        token = auth.token_manager.get_token()
    finally:
        del os.environ["REQUESTS_CA_BUNDLE"]
    assert claims(token)["sub"] == default["id"]
    return "certificate verified"


if tls_base:
    case("HTTPS with the emulator's self-signed certificate", https_with_ca_bundle)

sys.exit(1 if failed else 0)
