"""Transports: the built-in socket transport, and the interface for your own.

A transport moves one request and its response. It makes no decision: the client
machine built the request, and judges the response or the failure (retry, back
off, refresh the token, give up). Never a proxy: the built-in transports connect
straight to the endpoint and read no proxy environment variable.
"""

from __future__ import annotations

import errno

from . import _core

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is imported by type checkers only: it costs milliseconds at import
    import socket
    import ssl
    from typing import Any, Dict, Iterable, List, Mapping, Optional, Protocol, Tuple, Union

__all__ = ["Request", "Response", "Transport", "AsyncTransport", "TransportError"]

#: A request the machine built (see ``vpc_imds._core.Request``): ``method``, ``url``,
#: ``target``, ``headers`` (list of ``(name, value)``), ``body`` (bytes or ``None``),
#: ``timeout`` and ``connect_timeout`` (seconds), and ``wire`` (the HTTP/1.1 bytes).
Request = _core.Request

if TYPE_CHECKING:
    HeadersLike = Union[Mapping[str, str], Iterable[Tuple[str, str]], None]


class Response:
    """What a custom transport returns: the status, the whole (de-chunked) body,
    and the headers. Only ``Retry-After`` and ``Transfer-Encoding`` are read, each
    field's lines joined by ", " as HTTP libraries join a repeated field; the core
    judges both (a repeated ``Retry-After`` is no delay; a coding other than
    ``chunked`` is a bad response, since the body was not decoded)."""

    __slots__ = ("status", "body", "retry_after", "transfer_encoding")

    def __init__(self, status: int, body: bytes, headers: HeadersLike = None) -> None:
        self.status = int(status)
        self.body = bytes(body)
        items = () if headers is None else headers.items() if hasattr(headers, "items") else headers
        fields: dict[str, list[str]] = {"retry-after": [], "transfer-encoding": []}
        for name, v in items:
            if v is not None:
                values = v if isinstance(v, (list, tuple)) else (v,)
                fields.get(str(name).lower(), []).extend(str(x) for x in values)
        ra, te = fields["retry-after"], fields["transfer-encoding"]
        self.retry_after = ", ".join(ra) if ra else None
        self.transfer_encoding = ", ".join(te) if te else None

    def __repr__(self) -> str:
        return f"Response(status={self.status}, body=<{len(self.body)} bytes>)"


class TransportError(Exception):
    """Raised by a custom transport when an exchange failed in transport.

    ``name`` is one of ``refused``, ``unreachable``, ``connect_timeout``,
    ``response_timeout``, ``connection_lost`` or ``tls``; the machine decides
    whether to retry. A transport may also raise the built-in ``ConnectionRefusedError``,
    ``TimeoutError``, ``ConnectionError`` or ``OSError``, which are classified the same way.
    """

    NAMES = tuple(_core.TRANSPORT_ERRORS)

    def __init__(self, name: str, detail: str = "") -> None:
        if name not in self.NAMES:
            raise ValueError(f"unknown transport error {name!r}; one of {', '.join(self.NAMES)}")
        super().__init__(f"{name}: {detail}" if detail else name)
        self.name = name


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


#: Python's errors that carry no errno, by the errno they stand for.
_ERRNO_OF = {"ConnectionRefusedError": "ECONNREFUSED", "ConnectionResetError": "ECONNRESET", "ConnectionAbortedError": "ECONNABORTED", "BrokenPipeError": "EPIPE"}


def failure(exc: BaseException, connected: bool = False) -> str:
    """The machine's name for a transport failure raised as ``exc``. An errno is
    read by the core's table, by stage: ``connected`` says the connection had been
    made (a custom transport's failures are read as connecting)."""
    if isinstance(exc, TransportError):
        return exc.name
    # An HTTP library's own error (requests' ConnectionError, httpx's ConnectError)
    # holds the socket's in its chain: read that, as the JavaScript hosts read `cause`.
    e: Optional[BaseException] = exc
    for _ in range(4):
        if e is None:
            break
        name = type(e).__name__
        if name in ("SSLEOFError", "SSLZeroReturnError"):
            return "connection_lost"  # cut during the handshake, as every host reads it
        if name.startswith("SSL") or name == "CertificateError":
            return "tls"
        if isinstance(e, OSError):
            code = _ERRNO_OF.get(name) if e.errno is None else errno.errorcode.get(e.errno, "")
            if code is not None:  # a resolver's failure comes before any connection
                return _core.transport_failure(code, connected and name != "gaierror")
        e = e.__cause__ or e.__context__
    name = type(exc).__name__
    if name == "ConnectTimeout":  # requests' and httpx's, as undici's in JavaScript
        return "connect_timeout"
    # An errno-less timeout is the host's own deadline.
    if isinstance(exc, TimeoutError) or name in ("timeout", "TimeoutError", "ReadTimeout", "Timeout"):
        return "response_timeout"
    return "connection_lost"


def _addresses(host: str, port: int, timeout: float) -> List[Any]:
    """``getaddrinfo`` within ``timeout`` (raises ``socket.timeout``): a name is looked
    up on a daemon thread, as the system's lookup cannot be given a deadline; an
    address literal is read at once."""
    import socket
    import threading

    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except socket.gaierror:
        pass
    found: List[Any] = []

    def look_up() -> None:
        try:
            found.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except Exception as e:  # noqa: BLE001 - raised on the caller's thread
            found.append(e)

    lookup = threading.Thread(target=look_up, name="vpc-imds getaddrinfo", daemon=True)
    lookup.start()
    lookup.join(timeout)
    if not found:
        raise socket.timeout("timed out")
    if isinstance(found[0], Exception):
        raise found[0]
    return found[0]  # type: ignore[no-any-return]


def connect(endpoint: Tuple[str, str, int], ca_file: Optional[str], timeout: float) -> socket.socket:
    """A new connection to the endpoint (TLS for ``https``) within ``timeout`` seconds."""
    import socket
    import time

    scheme, host, port = endpoint
    end = time.monotonic() + timeout
    try:
        # Each address in turn within one timeout (socket.create_connection gives
        # each the whole timeout again).
        conn: Optional[socket.socket] = None
        last: Optional[OSError] = None
        for family, kind, proto, _, addr in _addresses(host, port, timeout):
            left = end - time.monotonic()
            if left <= 0:
                raise socket.timeout("timed out")
            s: Optional[socket.socket] = None
            try:
                s = socket.socket(family, kind, proto)  # an address family the host lacks fails here
                s.settimeout(left)
                s.connect(addr)
                conn = s
                break
            except OSError as e:
                if s is not None:
                    s.close()
                last = e
        if conn is None:
            raise last or OSError(errno.EADDRNOTAVAIL, "no address")
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if scheme == "https":
            # The handshake within what is left of the same timeout, as the asyncio client.
            conn.settimeout(max(end - time.monotonic(), 0.001))
            try:
                conn = tls_context(ca_file).wrap_socket(conn, server_hostname=host)
            except BaseException:
                conn.close()  # the TCP connection the handshake failed on
                raise
    except socket.timeout:
        raise TransportError("connect_timeout") from None
    except OSError as e:
        raise TransportError(failure(e, connected=False)) from e
    return conn


_contexts: Dict[Optional[str], ssl.SSLContext] = {}


def tls_context(ca_file: Optional[str]) -> ssl.SSLContext:
    """The TLS settings for ``https`` endpoints (one per CA file)."""
    if ca_file not in _contexts:
        import ssl

        _contexts[ca_file] = ssl.create_default_context(cafile=ca_file)
    return _contexts[ca_file]
