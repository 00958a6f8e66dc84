"""Integration tests against the emulator binary, for Client and AsyncClient alike:
every operation, and the fault scenarios of the CLI's tests (503s, 429 with
Retry-After, dropped connections, a black hole, a refused port, an expired token,
proxy variables)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from typing import Any, Awaitable, Callable, List

import pytest

import vpc_imds

from conftest import Emulator



class SyncAdapter:
    """Runs the blocking client's calls as coroutines, so one test body serves both."""

    def __init__(self, client: vpc_imds.Client) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self.client, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            if name in ("keys", "placement_groups", "get_pages"):
                return list(result)
            return result

        return call

    async def gather(self, name: str, n: int) -> List[Any]:
        """Runs ``n`` calls in parallel threads."""
        results: List[Any] = [None] * n
        errors: List[BaseException] = []

        def work(i: int) -> None:
            try:
                results[i] = getattr(self.client, name)()
            except BaseException as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        return results


class AsyncAdapter:
    """The asyncio client, with async iterators collected into lists."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self.client, name)
        if name in ("keys", "placement_groups", "get_pages"):

            async def collect(*args: Any, **kwargs: Any) -> Any:
                return [item async for item in method(*args, **kwargs)]

            return collect
        return method  # type: ignore[no-any-return]

    async def gather(self, name: str, n: int) -> List[Any]:
        return list(await asyncio.gather(*(getattr(self.client, name)() for _ in range(n))))


@pytest.fixture(params=["sync", "async"])
def make(request: pytest.FixtureRequest) -> Callable[..., Any]:
    def factory(endpoint: str, **options: Any) -> Any:
        options.setdefault("use_env", False)
        if request.param == "sync":
            return SyncAdapter(vpc_imds.Client(endpoint, **options))
        return AsyncAdapter(vpc_imds.AsyncClient(endpoint, **options))

    return factory


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_every_operation(emulator: Emulator, make: Callable[..., Any]) -> None:
    c = make(emulator.url)

    async def body() -> None:
        token = await c.identity_token(expires_in=600)
        assert token.expires_in == 600 and token.lifetime == 600
        assert token.access_token.startswith("eyJ") and "eyJ" not in repr(token)
        iam = await c.iam_token()
        assert iam.access_token and iam.lifetime
        profile_id = "Profile-00000000-0000-4000-8000-0000000000a1"
        assert (await c.iam_token(profile_id=profile_id)).access_token

        inst = await c.instance()
        assert isinstance(inst, vpc_imds.Instance)
        assert inst.name == "emu-vsi-1" and inst.vcpu is not None and inst.vcpu.count == 2
        assert inst.zone is not None and inst.zone.name
        init = await c.initialization()
        assert isinstance(init, vpc_imds.Initialization) and init.keys
        data = await c.user_data()
        assert isinstance(data, bytes) and data.is_multipart
        parts = data.parts()
        assert parts[0].content_type == "text/cloud-config"
        assert "Grüße, 世界" in parts[0].text()

        nics = await c.network_interfaces()
        assert nics and isinstance(nics[0], vpc_imds.NetworkInterface)
        assert (await c.network_interface(nics[0].id)).id == nics[0].id
        vols = await c.volume_attachments()
        assert vols and (await c.volume_attachment(vols[0].id)).id == vols[0].id

        keys = await c.keys()
        assert keys and all(isinstance(k, vpc_imds.Key) for k in keys)
        assert (await c.key(keys[0].id)).public_key == keys[0].public_key
        groups = await c.placement_groups()
        if groups:
            assert (await c.placement_group(groups[0].id)).id == groups[0].id

        doc = await c.get("instance")
        assert doc["name"] == "emu-vsi-1"
        pages = await c.get_pages("keys?limit=1")
        assert len(pages) == len(keys) and all(len(p["keys"]) == 1 for p in pages)
        merged = await c.get_all("keys?limit=1")
        assert [k["id"] for k in merged["keys"]] == [k.id for k in keys] and "next" not in merged

        with pytest.raises(vpc_imds.NotFound) as info:
            await c.key("r000-does-not-exist")
        err = info.value
        assert err.status == 404 and err.code == "not_found" and err.trace and err.kind == "not_found"
        assert isinstance(err, LookupError)

    run(body())
    counters = emulator.counters()
    assert counters["token_creations"] == 1, counters  # one token served every call


def test_paginated_keys_follow_next(emulator: Emulator, make: Callable[..., Any]) -> None:
    c = make(emulator.url)
    everything = run(c.get("keys"))
    one_by_one = run(c.get_pages("keys?limit=1"))
    assert sum(len(p["keys"]) for p in one_by_one) == len(everything["keys"])
    assert emulator.counters()["by_route"].get("GET /metadata/v1/keys", 0) >= len(everything["keys"]) + 1


def test_identity_certificate(emulator: Emulator, make: Callable[..., Any]) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a CSR")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            ["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", os.path.join(tmp, "k.pem"), "-out", os.path.join(tmp, "r.pem"), "-subj", "/C=US/O=Test"],
            check=True, capture_output=True,
        )
        csr = open(os.path.join(tmp, "r.pem")).read()
    cert = run(make(emulator.url).identity_certificate(csr, expires_in=3600))
    assert isinstance(cert, vpc_imds.IdentityCertificate)
    assert cert.certificates and cert.certificates[0].startswith("-----BEGIN CERTIFICATE-----")


def _jwt_claims(token: str) -> Any:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_identity_token_nonce(emulator: Emulator, make: Callable[..., Any]) -> None:
    c = make(emulator.url)
    nonce = "challenge-42:/+=~"
    token = run(c.identity_token(nonce=nonce))
    assert token.nonce == nonce and _jwt_claims(token.access_token)["nonce"] == nonce
    assert token.access_token not in repr(token) and f"nonce={nonce!r}" in repr(token)
    emulator.reset()
    for bad in ("n" * 257, "a\x01b", "a b", "", "é"):
        with pytest.raises(vpc_imds.InvalidArgument):
            run(c.identity_token(nonce=bad))
    assert emulator.counters()["requests"] == 0


def test_503s_are_retried(emulator: Emulator, make: Callable[..., Any]) -> None:
    emulator.call("POST", "/faults/fail", {"status": 503, "count": 2, "route_prefix": "/metadata/"})
    assert run(make(emulator.url).instance()).name == "emu-vsi-1"
    assert emulator.counters()["faults_injected"] == 2


def test_503s_until_attempts_run_out(emulator: Emulator, make: Callable[..., Any]) -> None:
    emulator.call("POST", "/faults/fail", {"status": 503, "route_prefix": "/metadata/"})
    with pytest.raises(vpc_imds.ServerError) as info:
        run(make(emulator.url, max_attempts=3).instance())
    assert info.value.status == 503 and info.value.kind == "server_error"
    assert info.value.trace and info.value.code
    assert emulator.counters()["faults_injected"] == 3


def test_429_honours_retry_after(emulator: Emulator, make: Callable[..., Any]) -> None:
    emulator.call("POST", "/faults/fail", {"status": 429, "count": 1, "retry_after": 1, "route_prefix": "/metadata/"})
    c = make(emulator.url)
    run(c.identity_token())
    started = time.monotonic()
    assert run(c.instance()).name == "emu-vsi-1"
    assert time.monotonic() - started >= 1.0


def test_429_until_the_deadline(emulator: Emulator, make: Callable[..., Any]) -> None:
    emulator.call("POST", "/faults/fail", {"status": 429, "retry_after": 5, "route_prefix": "/metadata/"})
    started = time.monotonic()
    with pytest.raises(vpc_imds.RateLimited) as info:
        run(make(emulator.url, timeout=2.0).instance())
    # A wait that would pass the deadline fails at once.
    assert time.monotonic() - started < 1.5
    assert info.value.status == 429 and info.value.retry_after == 5


def test_dropped_connection_is_retried(emulator: Emulator, make: Callable[..., Any]) -> None:
    emulator.call("POST", "/faults/drop", {"stage": "mid_body", "count": 1, "route_prefix": "/metadata/"})
    assert run(make(emulator.url).instance()).name == "emu-vsi-1"
    emulator.call("POST", "/faults/drop", {"stage": "mid_headers", "count": 1, "route_prefix": "/metadata/"})
    assert run(make(emulator.url).instance()).name == "emu-vsi-1"


def test_connection_lost_on_every_attempt(emulator: Emulator, make: Callable[..., Any]) -> None:
    emulator.call("POST", "/faults/drop", {"stage": "mid_body", "route_prefix": "/metadata/"})
    with pytest.raises(vpc_imds.ConnectionLost) as info:
        run(make(emulator.url).instance())
    assert isinstance(info.value, ConnectionError) and info.value.kind == "connection_lost"


def test_black_hole_times_out_within_the_deadline(emulator: Emulator, make: Callable[..., Any]) -> None:
    emulator.call("POST", "/faults/black_hole", {"route_prefix": "/metadata/"})
    c = make(emulator.url, timeout=1.5, request_timeout=0.4)
    run(c.identity_token())
    started = time.monotonic()
    with pytest.raises(vpc_imds.ImdsTimeout) as info:
        run(c.instance())
    elapsed = time.monotonic() - started
    assert 0.4 <= elapsed < 1.5 + 0.3, elapsed
    assert isinstance(info.value, TimeoutError) and info.value.kind == "timed_out"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_refused_port(make: Callable[..., Any]) -> None:
    started = time.monotonic()
    with pytest.raises(vpc_imds.ConnectionRefused) as info:
        run(make(f"http://127.0.0.1:{_closed_port()}").instance())
    assert time.monotonic() - started < 0.5  # a refusal is final: no retries
    assert isinstance(info.value, ConnectionRefusedError) and info.value.transport == "refused"


def test_expired_token_is_refreshed_exactly_once(emulator: Emulator, make: Callable[..., Any]) -> None:
    c = make(emulator.url)
    run(c.instance())
    emulator.call("POST", "/tokens/expire")
    assert run(c.instance()).name == "emu-vsi-1"
    counters = emulator.counters()
    assert counters["token_creations"] == 2, counters
    assert counters["unauthenticated"] == 1, counters
    assert counters["metadata_gets"] == 2, counters


def test_401_twice_is_unauthorized(emulator: Emulator, make: Callable[..., Any]) -> None:
    emulator.call("POST", "/faults/fail", {"status": 401, "route_prefix": "/metadata/"})
    with pytest.raises(vpc_imds.Unauthorized) as info:
        run(make(emulator.url).instance())
    assert info.value.status == 401
    assert emulator.counters()["token_creations"] == 2  # the first token and exactly one refresh


def test_disabled_service_is_unauthorized(emulator: Emulator, make: Callable[..., Any]) -> None:
    emulator.call("PUT", "/service", {"enabled": False})
    with pytest.raises(vpc_imds.Unauthorized) as info:
        run(make(emulator.url).instance())
    assert info.value.status == 403


def test_invalid_input_sends_nothing(emulator: Emulator, make: Callable[..., Any]) -> None:
    c = make(emulator.url)
    for bad in ("a/b", "x\r\nHost: evil", "..", ""):
        with pytest.raises(vpc_imds.InvalidArgument):
            run(c.key(bad))
    with pytest.raises(vpc_imds.InvalidArgument):
        run(c.identity_token(expires_in=7200))
    with pytest.raises(ValueError):
        vpc_imds.Client("ftp://nope")
    assert emulator.counters()["requests"] == 0


class _ProxyTrap:
    """A listener standing in for a proxy: it counts connections and answers 502."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            conn.close()

    def close(self) -> None:
        self.stop = True
        self.thread.join()
        self.sock.close()


def test_proxy_variables_are_ignored(emulator: Emulator, make: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    trap = _ProxyTrap()
    try:
        proxy = f"http://127.0.0.1:{trap.port}"
        for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
            monkeypatch.setenv(name, proxy)
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        c = make(emulator.url)
        assert run(c.instance()).name == "emu-vsi-1"
        assert run(c.iam_token()).access_token
    finally:
        trap.close()
    assert trap.connections == 0


def test_endpoint_from_environment(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VPC_IMDS_ENDPOINT", emulator.url)
    assert vpc_imds.Client().endpoint == emulator.url
    assert vpc_imds.Client().instance().name == "emu-vsi-1"
    assert vpc_imds.Client("http://127.0.0.1:9").endpoint == "http://127.0.0.1:9"


def test_single_flight_token(emulator: Emulator, make: Callable[..., Any]) -> None:
    emulator.call("PUT", "/faults/latency", {"ms": 150})
    c = make(emulator.url)
    results = run(c.gather("instance", 8))
    assert all(r.name == "emu-vsi-1" for r in results)
    counters = emulator.counters()
    assert counters["token_creations"] == 1, counters
    assert counters["metadata_gets"] == 8, counters


def test_threads_keep_every_socket_the_machine_pools(emulator: Emulator) -> None:
    """Eight threads on one blocking client: a connection the machine calls idle the
    moment one thread's answer is fed may go to another thread at once, so its socket
    must already be in the pool (stored later, it was taken by neither: a KeyError,
    a needless resend, and a socket left open beyond the machine's pool)."""
    client = vpc_imds.Client(emulator.url, use_env=False)
    errors: List[BaseException] = []

    def work() -> None:
        try:
            for _ in range(60):
                client.ssh_keys()
                client.instance()
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    # Eight threads make at most eight connections at once, and the machine keeps no
    # more idle than that.
    assert len(client._idle) <= 8, sorted(client._idle)
    client.close()
    assert not client._idle


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX only")
def test_a_forked_child_shares_no_connection_with_its_parent(emulator: Emulator) -> None:
    """After fork() the child must not send on its parent's kept-alive socket: both
    would read each other's answers as their own (documents swapped, or another
    trusted profile's IAM token). Each side asks for its own document while the other
    does; the child starts with no connection and a machine of its own."""
    client = vpc_imds.Client(emulator.url, use_env=False)
    client.instance()
    assert client._idle, "the parent keeps its connection"
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report over the pipe, never return into pytest
        try:
            report = {"idle_after_fork": len(client._idle), "wrong": 0, "errors": []}
            for _ in range(150):
                try:
                    if "keys" not in client.get("/metadata/v1/keys"):
                        report["wrong"] += 1
                except Exception as e:  # noqa: BLE001
                    report["errors"].append(repr(e))
            os.write(write, json.dumps(report).encode())
        finally:
            os._exit(0)
    os.close(write)
    wrong, errors = 0, []
    for _ in range(150):
        try:
            if "vcpu" not in client.get("/metadata/v1/instance"):
                wrong += 1
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))
    child = b""
    while chunk := os.read(read, 65536):
        child += chunk
    os.close(read)
    os.waitpid(pid, 0)
    report = json.loads(child)
    assert report["idle_after_fork"] == 0
    assert (report["wrong"], report["errors"]) == (0, []), report
    assert (wrong, errors) == (0, []), errors[:3]
    client.close()


def test_legacy_identity_paths(emulator: Emulator, make: Callable[..., Any]) -> None:
    c = make(emulator.url, version="2022-03-01")
    assert run(c.iam_token()).access_token
    routes = emulator.counters()["by_route"]
    assert routes.get("PUT /instance_identity/v1/token") == 1, routes
    assert routes.get("POST /instance_identity/v1/iam_token") == 1, routes


def test_https_with_ca_file(emulator_binary: Any, make: Callable[..., Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cert = os.path.join(tmp, "cert.pem")
        emu = Emulator(emulator_binary, "--tls", "--cert-out", cert)
        try:
            assert emu.url.startswith("https://")
            assert run(make(emu.url, ca_file=cert).instance()).name == "emu-vsi-1"
            with pytest.raises(vpc_imds.ConnectionRefused) as info:  # untrusted certificate
                run(make(emu.url).instance())
            assert info.value.transport == "tls"
            # A CA file that is missing, or holds no certificate: bad input, at once.
            not_pem = os.path.join(tmp, "not.pem")
            with open(not_pem, "w") as f:
                f.write("not a certificate\n")
            for bad in (os.path.join(tmp, "missing.pem"), not_pem):
                with pytest.raises(vpc_imds.InvalidArgument) as bad_info:
                    make(emu.url, ca_file=bad)
                assert bad_info.value.cause == "input" and "ca_file" in str(bad_info.value)
            assert emu.counters()["requests"] == 2
        finally:
            emu.stop()


def test_stale_token_is_refreshed_once_while_others_use_it(emulator: Emulator, make: Callable[..., Any]) -> None:
    c = make(emulator.url, token_lifetime=60)
    run(c.instance())
    # 50 s later the 60 s token is stale (refresh after 48 s) but still valid (59 s).
    c.client._m.clock(advance=50_000)
    emulator.call("PUT", "/faults/latency", {"ms": 100})
    results = run(c.gather("instance", 6))
    assert all(r.name == "emu-vsi-1" for r in results)
    counters = emulator.counters()
    assert counters["token_creations"] == 2, counters  # the first token and one refresh
    assert counters["metadata_gets"] == 7, counters
    assert counters["unauthenticated"] == 0, counters


class _FeedRaises:
    """A machine whose next feed steps the real one, then raises (as a result's
    conversion can: a RecursionError, a MemoryError)."""

    def __init__(self, real: Any) -> None:
        self.real, self.armed = real, True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def feed(self, *args: Any) -> Any:
        step = self.real.feed(*args)
        if self.armed:
            self.armed = False
            raise MemoryError("converting the result")
        return step


def test_what_feed_raises_is_raised_as_it_is_not_as_a_transport_failure(emulator: Emulator) -> None:
    client = vpc_imds.Client(emulator.url, use_env=False)
    client.instance()
    real = client._m
    client._m = _FeedRaises(real)  # type: ignore[assignment]
    with pytest.raises(MemoryError, match="converting"):
        client.instance()
    client._m = real
    assert client.instance().id, "the client still works"
    assert len(client._idle) <= 1, sorted(client._idle)

    async def run() -> None:
        a = vpc_imds.AsyncClient(emulator.url, use_env=False)
        await a.instance()
        a._m = _FeedRaises(a._m)  # type: ignore[assignment]
        with pytest.raises(MemoryError, match="converting"):
            await a.instance()
        a._m = a._m.real  # type: ignore[attr-defined]
        assert (await a.instance()).id
        assert len(a._idle) <= 1, sorted(a._idle)
        await a.aclose()

    asyncio.run(run())


def test_close_from_another_thread_spares_the_connections_calls_are_reading(emulator: Emulator) -> None:
    """close() closes what the machine says is idle: a socket another thread is still
    reading from (it sits in the pool while its bytes are fed) is not among them. It
    was: with no retries, a fifth of the calls failed as connection_lost."""
    emulator.call("POST", "/faults/body", {"body": json.dumps({"a": "x" * 300_000}), "route_prefix": "/metadata/v1/instance"})
    client = vpc_imds.Client(emulator.url, use_env=False, max_attempts=1)
    errors: List[BaseException] = []
    stop = threading.Event()

    def work() -> None:
        for _ in range(40):
            try:
                client.get("/metadata/v1/instance")
            except BaseException as e:  # noqa: BLE001
                errors.append(e)

    def closer() -> None:
        while not stop.is_set():
            client.close()
            time.sleep(0.0005)

    workers = [threading.Thread(target=work) for _ in range(4)]
    closing = threading.Thread(target=closer)
    closing.start()
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    stop.set()
    closing.join()
    assert not errors, (len(errors), repr(errors[0]))
    client.close()
    assert not client._idle


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc (Linux)")
def test_a_new_event_loop_closes_the_old_loops_connections(emulator: Emulator) -> None:
    """An AsyncClient used by one asyncio.run() after another: the connections of the
    closed loop are closed, not left open for the collector (their transports cannot
    close themselves once their loop is closed)."""
    import gc

    client = vpc_imds.AsyncClient(emulator.url, use_env=False)
    gc.disable()  # what the collector would close must not hide a leak
    try:
        asyncio.run(client.instance())
        after_one = len(os.listdir("/proc/self/fd"))
        for _ in range(3):
            asyncio.run(client.instance())
        assert len(os.listdir("/proc/self/fd")) == after_one
    finally:
        gc.enable()
