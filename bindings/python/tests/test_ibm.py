"""The IBM SDK adapter: a real IBM SDK client authenticated by vpc-imds.

The SDK talks to a stub of the regional VPC API on 127.0.0.1 (never the internet);
the IAM token comes from the emulator through vpc-imds."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator, List

import pytest

import vpc_imds

from conftest import Emulator

sdk_core = pytest.importorskip("ibm_cloud_sdk_core")
from vpc_imds.ibm import VpcImdsAuthenticator  # noqa: E402


class _Stub(BaseHTTPRequestHandler):
    seen: List[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        type(self).seen.append(self.headers.get("Authorization", ""))
        body = json.dumps({"instances": [{"id": "i-1", "name": "stub-vsi"}], "limit": 50, "total_count": 1}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def vpc_api() -> Iterator[str]:
    _Stub.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_authenticator_interface(emulator: Emulator) -> None:
    auth = VpcImdsAuthenticator(url=emulator.url, use_env=False)
    assert isinstance(auth, sdk_core.authenticators.Authenticator)
    assert auth.authentication_type() == "vpc"
    req = {"headers": {}}
    auth.authenticate(req)
    assert req["headers"]["Authorization"].startswith("Bearer eyJ")
    assert "eyJ" not in repr(auth)
    with pytest.raises(ValueError):
        VpcImdsAuthenticator(iam_profile_id="a", iam_profile_crn="b", url=emulator.url)


def test_with_base_service(emulator: Emulator, vpc_api: str) -> None:
    auth = VpcImdsAuthenticator(url=emulator.url, use_env=False)
    service = sdk_core.BaseService(service_url=vpc_api, authenticator=auth)
    for _ in range(3):
        request = service.prepare_request(method="GET", url="/instances", params={"version": "2025-01-01"})
        assert service.send(request).get_result()["instances"][0]["name"] == "stub-vsi"
    assert len(_Stub.seen) == 3 and len(set(_Stub.seen)) == 1 and _Stub.seen[0].startswith("Bearer eyJ")
    counters = emulator.counters()
    assert counters["iam_token_exchanges"] == 1 and counters["token_creations"] == 1, counters


def test_with_ibm_vpc_client(emulator: Emulator, vpc_api: str) -> None:
    ibm_vpc = pytest.importorskip("ibm_vpc")
    profile = "Profile-00000000-0000-4000-8000-0000000000a1"
    auth = VpcImdsAuthenticator(iam_profile_id=profile, url=emulator.url, use_env=False)
    service = ibm_vpc.VpcV1(authenticator=auth)
    service.set_service_url(vpc_api)
    result = service.list_instances().get_result()
    assert result["instances"][0]["id"] == "i-1"
    assert service.list_instances().get_result()["total_count"] == 1
    assert _Stub.seen[0] == _Stub.seen[1] and _Stub.seen[0].startswith("Bearer eyJ")
    assert emulator.counters()["iam_token_exchanges"] == 1


def test_an_empty_profile_field_is_absent_as_in_the_sdk(emulator: Emulator) -> None:
    profile = "Profile-00000000-0000-4000-8000-0000000000a1"
    client = vpc_imds.Client(emulator.url, use_env=False)
    auth = VpcImdsAuthenticator(iam_profile_id=profile, iam_profile_crn="", iam_profile_name="", client=client)
    # The client caches one IAM token per profile: the same token is the same profile's.
    assert auth.token() == client.iam_token(profile_id=profile).access_token
    assert emulator.counters()["iam_token_exchanges"] == 1


def test_iam_cache_single_flight_across_threads(emulator: Emulator) -> None:
    emulator.call("PUT", "/faults/latency", {"ms": 150})
    cache = vpc_imds.IamTokenCache(vpc_imds.Client(emulator.url, use_env=False))
    tokens: List[str] = []
    threads = [threading.Thread(target=lambda: tokens.append(cache.token())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(tokens) == 8 and len(set(tokens)) == 1
    assert emulator.counters()["iam_token_exchanges"] == 1


def test_iam_cache_serves_stale_token_when_refresh_fails(emulator: Emulator) -> None:
    client = vpc_imds.Client(emulator.url, use_env=False, max_attempts=1)
    cache = vpc_imds.IamTokenCache(client)
    first = cache.token()
    # Pretend 3400 s passed: the 3600 s token is stale (refresh after 3300 s) but valid.
    client._m.clock(advance=3_400_000)
    emulator.call("POST", "/faults/fail", {"status": 500, "route_prefix": "/identity/"})
    assert cache.token() == first
    assert emulator.counters()["faults_injected"] >= 1  # the refresh met the fault
    emulator.call("DELETE", "/faults")
    assert cache.token() != first  # refreshed now that the service answers
    assert cache.token() == client.iam_token().access_token  # the client's own cache


def test_the_sdks_own_conventions(emulator: Emulator) -> None:
    """As the SDK's VPCInstanceAuthenticator: a refused token is its ApiException (the
    status as code); an empty url is the default; service_version is the version; the
    profile is read once; a client is given alone."""
    auth = VpcImdsAuthenticator(iam_profile_id="Profile-nope", url=emulator.url, use_env=False)
    with pytest.raises(sdk_core.ApiException) as raised:
        auth.token()
    assert raised.value.status_code == 400
    assert isinstance(raised.value.__cause__, vpc_imds.ImdsError)
    default = vpc_imds.Client(use_env=False).endpoint  # nothing is sent
    assert VpcImdsAuthenticator(url="", use_env=False).cache.client.endpoint == default
    assert VpcImdsAuthenticator(url=emulator.url, service_version="2022-03-01", use_env=False).cache.client.version == "2022-03-01"
    with pytest.raises(AttributeError):
        auth.iam_profile_id = "Profile-other"  # type: ignore[misc]
    client = vpc_imds.Client(emulator.url, use_env=False)
    with pytest.raises(ValueError, match="alone"):
        VpcImdsAuthenticator(client=client, url=emulator.url)
    assert VpcImdsAuthenticator(client=client).token().startswith("eyJ")
