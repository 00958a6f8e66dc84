"""What the client machine decides, seen through both clients: one token request
for many concurrent calls, IAM tokens cached per profile, the resend-once rule of
a kept-alive connection, and asyncio cancellation."""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import threading
import weakref
from typing import Any, Callable, List, Tuple

import pytest

import vpc_imds

from conftest import Emulator

TOKEN = json.dumps({"access_token": "eyJhbGciOiJub25lIn0.e30.c2ln", "expires_in": 300}).encode()
INSTANCE = json.dumps({"id": "0717_i", "name": "scripted"}).encode()


def test_twenty_threads_make_one_token_request(emulator: Emulator) -> None:
    emulator.call("PUT", "/faults/latency", {"ms": 100})
    c = vpc_imds.Client(emulator.url, use_env=False)
    barrier = threading.Barrier(20)
    names: List[str] = []

    def call() -> None:
        barrier.wait()
        names.append(c.instance().name)

    threads = [threading.Thread(target=call) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert names == ["emu-vsi-1"] * 20
    counters = emulator.counters()
    assert counters["token_creations"] == 1 and counters["by_route"]["PUT /identity/v1/token"] == 1, counters
    assert counters["metadata_gets"] == 20 and c._m.operations == 0


def test_twenty_tasks_make_one_token_request(emulator: Emulator) -> None:
    emulator.call("PUT", "/faults/latency", {"ms": 100})

    async def body() -> List[Any]:
        async with vpc_imds.AsyncClient(emulator.url, use_env=False) as c:
            return list(await asyncio.gather(*(c.instance() for _ in range(20))))

    assert [i.name for i in asyncio.run(body())] == ["emu-vsi-1"] * 20
    counters = emulator.counters()
    assert counters["token_creations"] == 1 and counters["by_route"]["PUT /identity/v1/token"] == 1, counters
    assert counters["metadata_gets"] == 20


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_client_no_longer_referenced_is_collected(emulator: Emulator, asynchronous: bool) -> None:
    # An AsyncClient hands the machine its own bound method (token wakes): a cycle
    # through the native machine, which the collector must be able to see.
    def make() -> Any:
        if asynchronous:

            async def body() -> Any:
                c = vpc_imds.AsyncClient(emulator.url, use_env=False)
                await c.instance()
                await c.aclose()
                return weakref.ref(c)

            return asyncio.run(body())
        c = vpc_imds.Client(emulator.url, use_env=False)
        c.instance()
        c.close()
        return weakref.ref(c)

    ref = make()
    gc.collect()
    assert ref() is None, "the client outlived every reference to it"


def test_ctrl_c_ends_a_blocking_call_waiting_for_another_threads_token(emulator: Emulator) -> None:
    import os
    import signal
    import time

    emulator.call("PUT", "/faults/latency", {"ms": 2000})
    c = vpc_imds.Client(emulator.url, use_env=False)
    fetching = threading.Thread(target=c.instance)  # holds the token fetch for 2 s
    fetching.start()
    # The other thread's operation has started (and, 0.2 s on, sent its token request)
    # before this one starts: a loaded machine may start a thread late, and this call
    # must not be the one fetching the token.
    deadline = time.monotonic() + 5
    while c._m.operations < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert c._m.operations == 1, "the other thread never started its call"
    time.sleep(0.2)
    handled: List[float] = []
    armed = [True]

    def interrupt(signum: int, frame: Any) -> None:
        handled.append(time.monotonic())
        if armed[0]:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, interrupt)
    timer = threading.Timer(0.3, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT))
    started = time.monotonic()
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            c.instance()  # waits for the other thread's token
    finally:
        armed[0] = False  # a signal that comes late is recorded, not raised
        timer.cancel()
        timer.join()
        signal.signal(signal.SIGINT, previous)
    waited = time.monotonic() - started
    fetching.join()
    assert handled, "the signal never reached its handler"
    assert waited < 1.5, f"Ctrl-C was seen {waited:.2f} s into the wait (the token came at 2 s)"
    assert c._m.operations == 0, "the interrupted operation was not cancelled"


def test_a_second_iam_token_for_a_profile_sends_nothing(emulator: Emulator) -> None:
    profile = "Profile-00000000-0000-4000-8000-0000000000a1"
    c = vpc_imds.Client(emulator.url, use_env=False)
    first = c.iam_token(profile_id=profile)
    sent = emulator.counters()["requests"]
    assert c.iam_token(profile_id=profile).access_token == first.access_token
    assert emulator.counters()["requests"] == sent
    c.iam_token()  # another profile: its own exchange
    assert emulator.counters()["iam_token_exchanges"] == 2

    async def body() -> Tuple[str, str]:
        a = vpc_imds.AsyncClient(emulator.url, use_env=False)
        return (await a.iam_token()).access_token, (await a.iam_token()).access_token

    emulator.reset()
    one, two = asyncio.run(body())
    assert one == two and emulator.counters()["iam_token_exchanges"] == 1


class DropsIdle:
    """A loopback HTTP server that answers each request and closes the first
    connection right after its first answer, without saying so: the client's
    next request on it meets a close before any byte."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.requests: List[Tuple[int, bytes]] = []  # (connection number, request line)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        for n in range(3):
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn, n), daemon=True).start()

    def _answer(self, conn: socket.socket, n: int) -> None:
        with conn:
            data = b""
            while True:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, data = data.split(b"\r\n\r\n", 1)
                length = next((int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")), 0)
                while len(data) < length:
                    data += conn.recv(65536)
                data = data[length:]
                self.requests.append((n, head.split(b"\r\n")[0]))
                body = TOKEN if head.startswith(b"PUT") else INSTANCE
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                if n == 0:
                    conn.shutdown(socket.SHUT_RDWR)
                    return

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_reused_connection_closed_before_any_byte_is_resent_at_once(asynchronous: bool) -> None:
    server = DropsIdle()
    try:
        # One attempt only: a retry after a backoff would fail the call.
        if asynchronous:

            async def body() -> str:
                return (await vpc_imds.AsyncClient(server.url, use_env=False, max_attempts=1).instance()).name

            name = asyncio.run(body())
        else:
            name = vpc_imds.Client(server.url, use_env=False, max_attempts=1).instance().name
    finally:
        server.close()
    assert name == "scripted"
    # The token on connection 0; the GET written to it met the close and went
    # again at once on connection 1.
    assert server.requests == [(0, b"PUT /identity/v1/token?version=2025-08-26 HTTP/1.1"), (1, b"GET /metadata/v1/instance?version=2025-08-26 HTTP/1.1")]


def _async_client(emulator: Emulator, **kw: Any) -> Any:
    return vpc_imds.AsyncClient(emulator.url, use_env=False, **kw)


def test_a_task_cancelled_before_it_starts_sends_nothing(emulator: Emulator) -> None:
    async def body() -> int:
        c = _async_client(emulator)
        task = asyncio.ensure_future(c.instance())
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return c._m.operations  # type: ignore[no-any-return]

    assert asyncio.run(body()) == 0
    assert emulator.counters()["requests"] == 0


def test_a_cancelled_task_cancels_its_operation(emulator: Emulator) -> None:
    emulator.call("POST", "/faults/black_hole", {"route_prefix": "/metadata/"})
    emulator.call("PUT", "/faults/latency", {"ms": 200})

    async def body(wait: Callable[[Any], Any]) -> None:
        c = _async_client(emulator)
        await c.identity_token()
        tasks = [asyncio.ensure_future(c.instance()) for _ in range(3)]
        await wait(c)
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)
        assert c._m.operations == 0 and not c._idle  # the connections in flight are closed

    async def in_flight(c: Any) -> None:
        await asyncio.sleep(0.3)  # past the latency: the GETs are in the black hole

    asyncio.run(body(in_flight))

    async def awaiting_token(c: Any) -> None:
        c._m.clock(advance=300_000)  # the token has expired: one task fetches, the others wait
        await asyncio.sleep(0.05)

    emulator.call("DELETE", "/faults")
    emulator.call("PUT", "/faults/latency", {"ms": 200})
    asyncio.run(body(awaiting_token))


def test_an_address_the_host_cannot_use_is_skipped_for_the_next(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    # As socket.create_connection does: a family the host lacks (IPv6 disabled, say)
    # fails at socket creation, and the next address is tried.
    real = socket.getaddrinfo

    def with_a_bad_family_first(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        return [(255, socket.SOCK_STREAM, 0, "", ("bad", port))] + list(real(host, port, *args, **kwargs))

    monkeypatch.setattr(socket, "getaddrinfo", with_a_bad_family_first)
    assert vpc_imds.Client(emulator.url, use_env=False).instance().name == "emu-vsi-1"
