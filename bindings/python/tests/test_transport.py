"""User-defined transports: the documented interface, sync and asyncio."""

from __future__ import annotations

import asyncio
import errno
import json
import socket
import ssl
import sys
from typing import Any, List

import pytest

import vpc_imds

from conftest import EXAMPLES, Emulator

TOKEN_BODY = json.dumps({"access_token": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "expires_in": 300}).encode()
KEY_BODY = json.dumps({"id": "k1", "public_key": "ssh-ed25519 AAAA k1", "type": "ed25519", "name": "k1"}).encode()


class Scripted:
    """A fake transport answering from a script, recording what it was asked."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.requests: List[vpc_imds.Request] = []

    def next(self, request: vpc_imds.Request) -> vpc_imds.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        status, body, headers = answer
        return vpc_imds.Response(status, body, headers)

    def send(self, request: vpc_imds.Request) -> vpc_imds.Response:
        return self.next(request)


class AsyncScripted(Scripted):
    async def send(self, request: vpc_imds.Request) -> vpc_imds.Response:  # type: ignore[override]
        await asyncio.sleep(0)
        return self.next(request)


def test_request_parts_and_redaction() -> None:
    t = Scripted((200, TOKEN_BODY, None), (200, KEY_BODY, None))
    c = vpc_imds.Client("http://127.0.0.1:1", transport=t, use_env=False)
    key = c.key("k1")
    assert key.id == "k1" and key.type == "ed25519"
    put, get = t.requests
    assert put.method == "PUT" and put.url == "http://127.0.0.1:1/identity/v1/token?version=2025-08-26"
    assert ("Metadata-Flavor", "ibm") in put.headers and put.body == b'{"expires_in":300}'
    assert get.method == "GET" and get.target == "/metadata/v1/keys/k1?version=2025-08-26"
    auth = dict(get.headers)["Authorization"]
    assert auth == "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
    assert "eyJ" not in repr(get) and "<redacted>" in repr(get)
    assert get.wire.startswith(b"GET /metadata/v1/keys/k1?version=2025-08-26 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n")
    assert 0 < get.timeout <= 5.0 and 0 < get.connect_timeout <= 1.0


def test_retries_and_retry_after_through_a_custom_transport() -> None:
    t = Scripted(
        (200, TOKEN_BODY, None),
        (503, b'{"errors":[{"code":"service_error","message":"busy"}],"trace":"t-1"}', None),
        (429, b"{}", [("Retry-After", "1")]),
        (200, KEY_BODY, {"Content-Type": "application/json"}),
    )
    c = vpc_imds.Client("http://127.0.0.1:1", transport=t, use_env=False)
    import time

    started = time.monotonic()
    assert c.key("k1").name == "k1"
    assert time.monotonic() - started >= 1.0  # Retry-After, parsed by the core
    assert len(t.requests) == 4


@pytest.mark.parametrize(
    "headers",
    [
        [("Retry-After", "30"), ("retry-after", "60")],
        {"Retry-After": ["30", "60"], "Transfer-Encoding": None},
        {"Retry-After": "30, 60"},
    ],
)
def test_a_retry_after_sent_twice_is_no_delay(headers: Any) -> None:
    t = Scripted(
        (200, TOKEN_BODY, None),
        (503, b'{"errors":[{"code":"service_error","message":"busy"}]}', headers),
        (200, KEY_BODY, None),
    )
    # Either line honoured would pass the 5 s deadline and fail at once.
    c = vpc_imds.Client("http://127.0.0.1:1", transport=t, timeout=5, use_env=False)
    assert c.key("k1").name == "k1"
    assert len(t.requests) == 3


def test_a_transfer_coding_other_than_chunked_is_a_bad_response() -> None:
    headers = [("Transfer-Encoding", "gzip"), ("Transfer-Encoding", "chunked")]
    t = Scripted((200, TOKEN_BODY, None), (200, KEY_BODY, headers))
    with pytest.raises(vpc_imds.BadResponse):
        vpc_imds.Client("http://127.0.0.1:1", transport=t, use_env=False).key("k1")


@pytest.mark.parametrize(
    "raised,kind",
    [
        (ConnectionRefusedError(), vpc_imds.ConnectionRefused),
        (vpc_imds.TransportError("refused"), vpc_imds.ConnectionRefused),
        (vpc_imds.TransportError("tls"), vpc_imds.ConnectionRefused),
    ],
)
def test_final_transport_errors(raised: BaseException, kind: type) -> None:
    c = vpc_imds.Client("http://127.0.0.1:1", transport=Scripted(raised), use_env=False)
    with pytest.raises(kind):
        c.instance()


def chained(outer: BaseException, inner: BaseException, implicit: bool = False) -> BaseException:
    """``outer`` raised from ``inner`` (or, ``implicit``, while handling it)."""
    if implicit:
        outer.__context__ = inner
    else:
        outer.__cause__ = inner
    return outer


@pytest.mark.parametrize(
    "raised,connected,name",
    [
        # An HTTP library's error holds the socket's in its chain (requests wraps
        # urllib3's, which wraps the OSError; httpx's is no OSError at all).
        (chained(type("ConnectionError", (OSError,), {})(), chained(Exception("retries"), ConnectionRefusedError()), True), False, "refused"),
        (chained(type("ConnectError", (Exception,), {})(), OSError(errno.ECONNREFUSED, "x")), False, "refused"),
        (chained(type("ReadError", (Exception,), {})(), ConnectionResetError()), True, "connection_lost"),
        # An errno Python lists no class for reads by the core's table, by stage.
        (OSError(errno.EINVAL, "x"), False, "unreachable"),
        (OSError(errno.EPROTO, "x"), False, "tls"),  # a TLS layer's word, as in JavaScript (transport.test.js)
        (OSError(errno.EINVAL, "x"), True, "connection_lost"),
        (OSError(errno.ETIMEDOUT, "x"), False, "connect_timeout"),
        (OSError(errno.ETIMEDOUT, "x"), True, "connection_lost"),  # the kernel gave up on it
        (OSError(errno.EHOSTUNREACH, "x"), True, "unreachable"),
        (ConnectionRefusedError(), False, "refused"),  # no errno: its class says it
        (BrokenPipeError(), True, "connection_lost"),
        (socket.gaierror(socket.EAI_NONAME, "x"), True, "unreachable"),  # before any connection
        (socket.timeout(), True, "response_timeout"),  # the host's own deadline
        (type("ConnectTimeout", (OSError,), {})(), False, "connect_timeout"),  # requests', httpx's
        (ssl.SSLEOFError(), False, "connection_lost"),
        (ssl.SSLCertVerificationError(), False, "tls"),
        (RuntimeError("x"), True, "connection_lost"),
    ],
)
def test_socket_failures_read_as_the_cores_table_says(raised: BaseException, connected: bool, name: str) -> None:
    from vpc_imds._transport import failure

    assert failure(raised, connected) == name


@pytest.mark.parametrize("status", [1000, 70000, -1, 99, 10**20, -(10**20)])
def test_a_status_no_server_sends_is_a_bad_response_not_retried(status: int) -> None:
    # As in every host (transport.test.js): the core judges any integer.
    t = Scripted((200, TOKEN_BODY, {}), (status, b"{}", {}))
    with pytest.raises(vpc_imds.BadResponse):
        vpc_imds.Client("http://127.0.0.1:1", transport=t, use_env=False).instance()
    assert len(t.requests) == 2


def test_what_is_no_response_is_a_failed_exchange_as_in_javascript() -> None:
    class Odd(Scripted):
        def send(self, request: vpc_imds.Request) -> Any:
            self.requests.append(request)
            return object()  # no status, no body

    t = Odd()
    with pytest.raises(vpc_imds.ConnectionLost):
        vpc_imds.Client("http://127.0.0.1:1", transport=t, use_env=False, max_attempts=2).instance()
    assert len(t.requests) == 2  # retried, as a lost connection is


@pytest.mark.parametrize("code", [errno.EACCES, errno.EPERM, errno.ENETDOWN, errno.EHOSTUNREACH])
def test_no_route_or_not_allowed_is_unreachable_as_in_every_host(code: int) -> None:
    t = Scripted(*[OSError(code, "connect failed")] * 4)
    with pytest.raises(vpc_imds.ConnectionRefused) as caught:
        vpc_imds.Client("http://127.0.0.1:1", transport=t, use_env=False).instance()
    assert caught.value.transport == "unreachable"
    assert len(t.requests) == 4  # retried, as unreachable is


def test_retryable_transport_errors() -> None:
    errors = [TimeoutError(), ConnectionResetError(), vpc_imds.TransportError("connection_lost")]
    t = Scripted(*errors, (200, TOKEN_BODY, None), (200, KEY_BODY, None))
    assert vpc_imds.Client("http://127.0.0.1:1", transport=t, use_env=False).key("k1").id == "k1"
    t = Scripted(*[ConnectionResetError()] * 4)
    with pytest.raises(vpc_imds.ConnectionLost):
        vpc_imds.Client("http://127.0.0.1:1", transport=t, use_env=False).instance()
    with pytest.raises(ValueError):
        vpc_imds.TransportError("no-such-name")


def test_oversized_body_is_a_bad_response() -> None:
    t = Scripted((200, TOKEN_BODY, None), (200, b"{" + b" " * 5000 + b"}", None))
    c = vpc_imds.Client("http://127.0.0.1:1", transport=t, max_response_bytes=4096, use_env=False)
    with pytest.raises(vpc_imds.BadResponse) as e:
        c.instance()
    assert e.value.cause == "http"  # the core's max_body_bytes (BodyTooLarge)


def test_async_custom_transport() -> None:
    t = AsyncScripted((200, TOKEN_BODY, None), (503, b"", None), (200, KEY_BODY, None))

    async def body() -> str:
        async with vpc_imds.AsyncClient("http://127.0.0.1:1", transport=t, use_env=False) as c:
            return (await c.key("k1")).id

    assert asyncio.run(body()) == "k1"
    assert len(t.requests) == 3


def test_async_custom_transport_deadline() -> None:
    class Hang:
        async def send(self, request: vpc_imds.Request) -> vpc_imds.Response:
            await asyncio.sleep(60)
            raise AssertionError("unreachable")

    async def body() -> None:
        c = vpc_imds.AsyncClient("http://127.0.0.1:1", transport=Hang(), timeout=0.6, request_timeout=0.2, use_env=False)
        await c.instance()

    import time

    started = time.monotonic()
    with pytest.raises(vpc_imds.ImdsTimeout):
        asyncio.run(body())
    assert time.monotonic() - started < 1.5


def test_example_transport_against_the_emulator(emulator: Emulator) -> None:
    sys.path.insert(0, str(EXAMPLES))
    try:
        import custom_transport
    finally:
        sys.path.remove(str(EXAMPLES))
    transport = custom_transport.HttpClientTransport()
    c = vpc_imds.Client(emulator.url, transport=transport, use_env=False)
    assert c.instance().name == "emu-vsi-1"
    assert [m for m, _ in transport.sent] == ["PUT", "GET"]
    assert len(list(c.keys())) >= 1
    emulator.call("POST", "/faults/fail", {"status": 503, "count": 1, "route_prefix": "/metadata/"})
    assert c.instance().name == "emu-vsi-1"


def test_max_response_bytes_sets_the_size_limit() -> None:
    """4 MiB allowed: a 2 MiB body is read, through the socket path and a custom transport."""
    big = json.dumps({"id": "i-1", "name": "x" * (2 << 20)}).encode()
    for limit, ok in ((None, False), (4 << 20, True)):
        kw: Any = {} if limit is None else {"max_response_bytes": limit}
        t = Scripted((200, TOKEN_BODY, None), (200, big, None))
        c = vpc_imds.Client("http://127.0.0.1:1", transport=t, use_env=False, **kw)
        if ok:
            assert len(c.instance().name) == 2 << 20
        else:
            with pytest.raises(vpc_imds.BadResponse):
                c.instance()


@pytest.mark.parametrize(
    "kw",
    [
        {"timeout": 0},
        {"timeout": -1},
        {"timeout": float("nan")},
        {"timeout": float("inf")},
        {"timeout": 1e99},
        {"request_timeout": 0.0001},
        {"connect_timeout": "1"},
        {"max_attempts": 0},
        {"max_attempts": 10**30},
        {"token_lifetime": -1},
        {"token_lifetime": 99999999999},
        {"max_response_bytes": 0},
        {"endpoint": "ftp://x"},
        {"endpoint": "http://h\udcff"},
        {"version": "2025-02-30"},
        {"max_attempts": True},
        {"secure": 1},
        {"endpoint": b"http://127.0.0.1"},
        {"base_delay": -1},
        {"max_delay": float("nan")},
    ],
)
def test_bad_settings_are_invalid_arguments(kw: Any) -> None:
    for make in (vpc_imds.Client, vpc_imds.AsyncClient):
        with pytest.raises(vpc_imds.InvalidArgument):
            make(**dict({"use_env": False}, **kw))


def test_settings_take_values_by_the_drivers_rules() -> None:
    from decimal import Decimal

    c = vpc_imds.Client(
        "http://127.0.0.1:1", timeout=Decimal("2.5"), token_lifetime=600.0, base_delay=0, max_delay=1, use_env=False
    )
    assert c.endpoint == "http://127.0.0.1:1"
    with pytest.raises(vpc_imds.InvalidArgument):
        c._m.start("instance", no_such_argument=1)
    assert c._m.operations == 0


def test_bad_call_arguments_are_invalid_arguments_and_send_nothing() -> None:
    t = Scripted()
    c = vpc_imds.Client("http://127.0.0.1:1", transport=t, use_env=False)
    for call in (
        lambda: c.identity_token(expires_in=-1),
        lambda: c.identity_token(expires_in=99999999999),
        lambda: c.identity_token(nonce="n" * 257),
        lambda: c.identity_token(nonce="a\nb"),
        lambda: c.identity_token(nonce="\udcff"),
        lambda: c.identity_token(expires_in="60"),  # type: ignore[arg-type]
        lambda: c.get("\udcff"),
        lambda: c.key("\udcff"),
        lambda: c.iam_token(profile_id="a", profile_name="b"),
        lambda: vpc_imds.IamTokenCache(c, profile_id="a", profile_crn="b"),
    ):
        with pytest.raises(vpc_imds.InvalidArgument):
            call()
    assert t.requests == []


def test_secure_access_never_sends_in_clear() -> None:
    t = Scripted((200, TOKEN_BODY, None))
    c = vpc_imds.Client("http://127.0.0.1:8080", secure=True, transport=t, use_env=False)
    assert c.endpoint == "https://127.0.0.1:8080"
    c.identity_token()
    assert t.requests[0].url.startswith("https://127.0.0.1:8080/")
    # Construction only: nothing is sent to this address.
    assert vpc_imds.Client("http://169.254.169.254", secure=True, use_env=False).endpoint == "https://169.254.169.254"


def test_a_body_python_json_could_read_but_the_driver_cannot_is_a_bad_response() -> None:
    huge = b'{"n": 1' + b"0" * 5000 + b"}"
    t = Scripted((200, TOKEN_BODY, None), (200, huge, None))
    c = vpc_imds.Client("http://127.0.0.1:1", transport=t, use_env=False)
    with pytest.raises(vpc_imds.BadResponse):
        c.get("instance")
    # Integers within 64 bits stay integers, member order is kept.
    t = Scripted((200, TOKEN_BODY, None), (200, b'{"z": 18446744073709551615, "a": -9223372036854775808, "f": 1.5}', None))
    doc = vpc_imds.Client("http://127.0.0.1:1", transport=t, use_env=False).get("instance")
    assert list(doc) == ["z", "a", "f"] and doc["z"] == 2**64 - 1 and doc["a"] == -(2**63) and doc["f"] == 1.5


def test_iam_tokens_are_cached_per_profile() -> None:
    iam = json.dumps({"access_token": "eyJpYW0.e30.c2ln", "expires_in": 3600}).encode()
    t = Scripted((200, TOKEN_BODY, None), (200, iam, None), (200, iam, None))
    c = vpc_imds.Client("http://127.0.0.1:1", transport=t, use_env=False)
    cache = vpc_imds.IamTokenCache(c, profile_name="p")
    assert cache.token() == cache.token() == c.iam_token(profile_name="p").access_token == "eyJpYW0.e30.c2ln"
    assert len(t.requests) == 2
    assert json.loads(t.requests[1].body or b"{}") == {"trusted_profile": {"name": "p"}}
    c.iam_token()  # another profile: its own exchange
    assert len(t.requests) == 3 and t.requests[2].body is None


def test_wait_until_ready_retries_refusals_then_times_out() -> None:
    import time

    t = Scripted(*[ConnectionRefusedError()] * 100)
    c = vpc_imds.Client("http://127.0.0.1:1", transport=t, use_env=False)
    started = time.monotonic()
    with pytest.raises(vpc_imds.ImdsTimeout):
        c.wait_until_ready(0.5)
    assert time.monotonic() - started < 2.0
    assert len(t.requests) >= 3, "refusals mean not yet"
    t = Scripted(ConnectionRefusedError(), (503, b"", None), (200, TOKEN_BODY, None))
    c = vpc_imds.Client("http://127.0.0.1:1", transport=t, use_env=False)
    c.wait_until_ready(5)
    assert len(t.requests) == 3
    with pytest.raises(vpc_imds.InvalidArgument):
        c.wait_until_ready(0)


def test_a_name_lookup_that_hangs_ends_at_the_deadline(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The system's getaddrinfo takes no deadline: a lookup that hangs must not hold
    the blocking client past its call's deadline (the lookup here is held until the
    call has returned)."""
    import threading

    real = socket.getaddrinfo
    release, answered = threading.Event(), threading.Event()

    def hanging(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("flags", 0) & socket.AI_NUMERICHOST:
            release.wait(10)
            answered.set()
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    port = emulator.url.rsplit(":", 1)[1]
    client = vpc_imds.Client(f"http://localhost:{port}", use_env=False, timeout=1, connect_timeout=0.2)
    try:
        with pytest.raises(vpc_imds.ImdsTimeout):
            client.instance()
        assert not answered.is_set(), "the call waited for the lookup"
    finally:
        release.set()
    # An address literal needs no lookup thread and still works.
    assert vpc_imds.Client(emulator.url, use_env=False).instance().id
