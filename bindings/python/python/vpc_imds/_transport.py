"""Transports: the built-in socket transport, and the interface for your own.

A transport moves one request and its response. It makes no decision: the driver
built the request, and judges the response or the failure (retry, back off,
refresh the token, give up). Never a proxy: the built-in transports connect
straight to the endpoint and read no proxy environment variable.
"""

from __future__ import annotations

import errno
import time

from . import _core
from ._errors import TransportError

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is imported by type checkers only: it costs milliseconds at import
    import socket
    import ssl
    from typing import Any, Iterable, List, Mapping, Optional, Protocol, Tuple, Union

__all__ = ["Request", "Response", "Transport", "AsyncTransport", "TransportError"]

#: A request the driver built (see ``vpc_imds._core.Request``): ``id``, ``method``,
#: ``url``, ``headers`` (list of ``(name, value)``), ``body`` (bytes or ``None``),
#: ``timeout`` and ``connect_timeout`` (seconds), and ``wire`` (the HTTP/1.1 bytes).
Request = _core.Request

if TYPE_CHECKING:
    HeadersLike = Union[Mapping[str, str], Iterable[Tuple[str, str]], None]


class Response:
    """What a custom transport returns: the status, the whole (de-chunked) body,
    and the headers (only ``Retry-After`` is read, and the core parses it)."""

    __slots__ = ("status", "body", "retry_after")

    def __init__(self, status: int, body: bytes, headers: HeadersLike = None) -> None:
        self.status = int(status)
        self.body = bytes(body)
        self.retry_after: Optional[str] = None
        if headers is not None:
            items = headers.items() if hasattr(headers, "items") else headers
            for name, value in items:
                if name.lower() == "retry-after":
                    self.retry_after = value
                    break

    def __repr__(self) -> str:
        return f"Response(status={self.status}, body=<{len(self.body)} bytes>)"


_TRANSPORT_DOC = """The interface of a blocking transport: pass one as ``Client(transport=...)``.

    ``send`` sends ``request`` (``request.method`` to ``request.url`` with
    ``request.headers`` and ``request.body``) within ``request.timeout`` seconds, and
    returns the :class:`Response`. On failure it raises :class:`TransportError`
    (or a built-in ``ConnectionRefusedError``, ``TimeoutError``, ``ConnectionError``
    or ``OSError``). It must not use a proxy, follow redirects, or retry: the
    driver decides all that. Any object with a matching ``send`` method will do.
    """

_ASYNC_TRANSPORT_DOC = """The interface of an asyncio transport: pass one as
    ``AsyncClient(transport=...)``. Same contract as :class:`Transport`, with
    ``async def send``."""

if TYPE_CHECKING:

    class Transport(Protocol):
        def send(self, request: Request) -> Response: ...

    class AsyncTransport(Protocol):
        async def send(self, request: Request) -> Response: ...

else:
    # Runtime stand-ins for the protocols (typing costs milliseconds at import).

    class Transport:
        __doc__ = _TRANSPORT_DOC

        def send(self, request):
            """Sends ``request``; returns a :class:`Response`."""
            raise NotImplementedError

    class AsyncTransport:
        __doc__ = _ASYNC_TRANSPORT_DOC

        async def send(self, request):
            """Sends ``request``; returns a :class:`Response`."""
            raise NotImplementedError


_Read = _core.Read


def classify(exc: BaseException) -> str:
    """The driver's transport error name for an exception a transport raised."""
    if isinstance(exc, TransportError):
        return exc.name
    name = type(exc).__name__
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, TimeoutError) or name in ("timeout", "ConnectTimeout", "ReadTimeout", "Timeout"):
        return "response_timeout"
    if name in ("SSLError", "SSLCertVerificationError", "CertificateError"):
        return "tls"
    if isinstance(exc, ConnectionError):
        return "connection_lost"
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL):
            return "unreachable"
        if name == "gaierror":
            return "unreachable"
        return "connection_lost"
    return "connection_lost"


#: An idle connection older than this is not reused (servers close idle ones).
IDLE_LIMIT = 30.0
#: Most idle connections kept.
POOL_CAPACITY = 4


class _Stale(Exception):
    """A kept-alive connection turned out closed before any byte of the response."""


class SocketTransport:
    """The built-in blocking transport: plain sockets (TLS with ``ssl`` for
    ``https``), connect and request deadlines, kept-alive connections, no proxy.

    It sends the driver's HTTP/1.1 bytes and feeds what it reads back to the
    driver. A kept-alive connection found closed before any byte of the response
    arrives is replaced once, without counting as a failure.
    """

    def __init__(self, config: _core.Config, ca_file: Optional[str] = None) -> None:
        scheme, host, port = config.endpoint
        self._host = host[1:-1] if host.startswith("[") else host
        self._port = port
        self._tls = scheme == "https"
        self._ca_file = ca_file
        self._context: Optional["ssl.SSLContext"] = None
        self._idle: List[Tuple["socket.socket", float]] = []
        import socket as _socket

        self._socket = _socket

    def close(self) -> None:
        """Closes the idle connections."""
        while self._idle:
            try:
                conn, _ = self._idle.pop()
            except IndexError:  # another thread took it
                break
            conn.close()

    def _take(self) -> Optional["socket.socket"]:
        now = time.monotonic()
        while True:
            try:
                conn, since = self._idle.pop()
            except IndexError:
                return None
            if now - since < IDLE_LIMIT:
                return conn
            conn.close()

    def _put(self, conn: "socket.socket") -> None:
        if len(self._idle) < POOL_CAPACITY:
            self._idle.append((conn, time.monotonic()))
        else:
            conn.close()

    def _connect(self, timeout: float) -> "socket.socket":
        import socket as sk
        try:
            infos = sk.getaddrinfo(self._host, self._port, 0, sk.SOCK_STREAM, sk.IPPROTO_TCP)
        except OSError as e:
            raise TransportError("unreachable", str(e)) from None
        last: BaseException = TransportError("unreachable")
        end = time.monotonic() + timeout
        for family, kind, proto, _, addr in infos:
            left = end - time.monotonic()
            if left <= 0:
                raise TransportError("connect_timeout")
            conn = sk.socket(family, kind, proto)
            try:
                conn.settimeout(left)
                conn.connect(addr)
                conn.setsockopt(sk.IPPROTO_TCP, sk.TCP_NODELAY, 1)
                if self._tls:
                    conn = self._wrap(conn, end)
                return conn
            except TransportError as e:
                conn.close()
                last = e
            except sk.timeout:
                conn.close()
                last = TransportError("connect_timeout")
            except OSError as e:
                conn.close()
                last = TransportError(classify(e), str(e))
        raise last

    def _wrap(self, conn: "socket.socket", end: float) -> "socket.socket":
        import ssl

        if self._context is None:
            self._context = ssl.create_default_context(cafile=self._ca_file)
        try:
            conn.settimeout(max(end - time.monotonic(), 0.001))
            return self._context.wrap_socket(conn, server_hostname=self._host)
        except self._socket.timeout:
            raise TransportError("connect_timeout") from None
        except (ssl.SSLError, ssl.CertificateError) as e:
            raise TransportError("tls", str(e)) from None

    def exchange(self, run: _core.Run, request: Request, clock: Any) -> Any:
        """Sends ``request`` for ``run`` and returns the run's next step."""
        deadline = time.monotonic() + request.timeout
        conn = self._take()
        reused = conn is not None
        while True:
            if conn is None:
                try:
                    conn = self._connect(request.connect_timeout)
                except TransportError as e:
                    return run.fail(request.id, e.name, clock())
                reused = False
            try:
                return self._exchange(run, conn, request, deadline, reused, clock)
            except _Stale:
                conn.close()
                conn = None
            except self._socket.timeout:
                conn.close()
                return run.fail(request.id, "response_timeout", clock())
            except OSError as e:
                conn.close()
                return run.fail(request.id, classify(e), clock())

    def _exchange(
        self,
        run: _core.Run,
        conn: "socket.socket",
        request: Request,
        deadline: float,
        reused: bool,
        clock: Any,
    ) -> Any:
        left = deadline - time.monotonic()
        if left <= 0:
            raise self._socket.timeout()
        conn.settimeout(left)
        try:
            conn.sendall(request.wire)
        except (BrokenPipeError, ConnectionResetError):
            if reused:
                raise _Stale() from None
            raise
        received = False
        feed = run.feed
        rid = request.id
        recv = conn.recv
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._socket.timeout()
            conn.settimeout(left)
            try:
                data = recv(65536)
            except ConnectionResetError:
                if reused and not received:
                    raise _Stale() from None
                raise
            if not data and reused and not received:
                raise _Stale()
            received = True
            step = feed(rid, data, clock())
            if type(step) is not _Read:
                if run.keep_alive:
                    self._put(conn)
                else:
                    conn.close()
                return step


class CustomTransport:
    """Adapts a user's :class:`Transport` to the client's exchange step."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def close(self) -> None:
        close = getattr(self.transport, "close", None)
        if callable(close):
            close()

    def exchange(self, run: _core.Run, request: Request, clock: Any) -> Any:
        try:
            response = self.transport.send(request)
        except Exception as e:  # noqa: BLE001 - every failure is the driver's to judge
            return run.fail(request.id, classify(e), clock())
        return run.respond(request.id, response.status, response.body, clock(), response.retry_after)
