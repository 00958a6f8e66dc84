"""The asyncio client: the core session driven over asyncio streams (or yours)."""

from __future__ import annotations

import asyncio
import sys
import time

from . import _core
from ._client import _seed, make_session, merge_pages
from ._errors import TransportError
from ._transport import classify
from ._userdata import UserData

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is imported by type checkers only: it costs milliseconds at import
    import ssl
    from typing import Any, AsyncIterator, Awaitable, Dict, List, Optional, Tuple, TypeVar

    from ._models import (
        IdentityCertificate,
        Initialization,
        Instance,
        Key,
        NetworkInterface,
        PlacementGroup,
        Token,
        VolumeAttachment,
    )
    from ._transport import AsyncTransport, Request

    T = TypeVar("T")

__all__ = ["AsyncClient"]

_SEND = _core.ACTION_SEND
_WAIT = _core.ACTION_WAIT
_ACTION_FAILED = _core.ACTION_FAILED
_PENDING = _core.EVENT_PENDING
_DONE = _core.EVENT_DONE
_FAILED = _core.EVENT_FAILED
_TOKEN_WAIT = _core.WAIT

#: An idle connection older than this is not reused.
IDLE_LIMIT = 30.0
#: Most idle connections kept.
POOL_CAPACITY = 4

if sys.version_info >= (3, 11):

    async def _within(awaitable: Awaitable[T], deadline: float) -> T:
        """Awaits ``awaitable``, cancelling it at ``deadline`` (loop time): TimeoutError."""
        async with asyncio.timeout_at(deadline):
            return await awaitable

else:

    async def _within(awaitable: Awaitable[T], deadline: float) -> T:
        """Awaits ``awaitable``, cancelling it at ``deadline`` (loop time): TimeoutError."""
        left = deadline - asyncio.get_running_loop().time()
        try:
            return await asyncio.wait_for(awaitable, max(left, 0.0))
        except asyncio.TimeoutError:
            raise TimeoutError() from None


class _Stale(Exception):
    """A kept-alive connection turned out closed before any byte of the response."""




class AsyncSocketTransport:
    """The built-in asyncio transport: streams (TLS for ``https``), connect and
    request deadlines, kept-alive connections, no proxy. Sends the core's HTTP/1.1
    bytes and feeds what it reads to the core's response reader."""

    def __init__(self, session: _core.Session, ca_file: Optional[str] = None) -> None:
        scheme, host, port = session.endpoint
        self._host = host[1:-1] if host.startswith("[") else host
        self._port = port
        self._tls = scheme == "https"
        self._ca_file = ca_file
        self._context: Optional[ssl.SSLContext] = None
        self._idle: List[Tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        # Idle connections belong to the loop that made them (asyncio.run makes a new one).
        self._loop: Optional[asyncio.AbstractEventLoop] = None

    def close(self) -> None:
        """Closes the idle connections."""
        idle, self._idle = self._idle, []
        for _, writer, _ in idle:
            try:
                writer.close()
            except RuntimeError:  # its loop is closed already
                pass

    def _take(self) -> Optional[Tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self.close()
            self._loop = loop
            return None
        now = time.monotonic()
        while self._idle:
            reader, writer, since = self._idle.pop()
            if now - since < IDLE_LIMIT and not writer.is_closing():
                return reader, writer
            writer.close()
        return None

    async def _connect(self, timeout: float) -> Tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        ssl_context = None
        if self._tls:
            import ssl

            if self._context is None:
                self._context = ssl.create_default_context(cafile=self._ca_file)
            ssl_context = self._context
        deadline = asyncio.get_running_loop().time() + timeout
        try:
            if ssl_context is None:
                return await _within(asyncio.open_connection(self._host, self._port), deadline)
            return await _within(
                asyncio.open_connection(self._host, self._port, ssl=ssl_context, server_hostname=self._host),
                deadline,
            )
        except (TimeoutError, asyncio.TimeoutError):
            raise TransportError("connect_timeout") from None
        except OSError as e:
            raise TransportError(classify(e), str(e)) from None

    async def exchange(self, session: _core.Session, request: Request, clock: Any) -> Tuple[int, Any]:
        """Sends ``request`` for ``session`` and returns the session's event."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + request.timeout
        conn = self._take()
        reused = conn is not None
        while True:
            if conn is None:
                try:
                    conn = await self._connect(request.connect_timeout)
                except TransportError as e:
                    return session.on_transport_error(e.name, clock())
                reused = False
            try:
                return await _within(self._exchange(session, conn, request.wire, reused, clock), deadline)
            except _Stale:
                conn[1].close()
                conn = None
            except (TimeoutError, asyncio.TimeoutError):
                conn[1].close()
                return session.on_transport_error("response_timeout", clock())
            except OSError as e:
                conn[1].close()
                return session.on_transport_error(classify(e), clock())

    async def _exchange(
        self,
        session: _core.Session,
        conn: Tuple[asyncio.StreamReader, asyncio.StreamWriter],
        wire: bytes,
        reused: bool,
        clock: Any,
    ) -> Tuple[int, Any]:
        reader, writer = conn
        try:
            writer.write(wire)
            await writer.drain()
        except (BrokenPipeError, ConnectionResetError):
            if reused:
                raise _Stale() from None
            raise
        received = False
        feed = session.feed
        while True:
            try:
                data = await reader.read(65536)
            except ConnectionResetError:
                if reused and not received:
                    raise _Stale() from None
                raise
            if not data and reused and not received:
                raise _Stale()
            received = True
            event = feed(data, clock())
            if event is not None:
                if session.keep_alive and len(self._idle) < POOL_CAPACITY:
                    self._idle.append((reader, writer, time.monotonic()))
                else:
                    writer.close()
                return event


class AsyncCustomTransport:
    """Adapts a user's :class:`vpc_imds.AsyncTransport` to the client's exchange step;
    the request's deadline is enforced around ``send``."""

    def __init__(self, transport: AsyncTransport) -> None:
        self.transport = transport

    def close(self) -> None:
        close = getattr(self.transport, "close", None)
        if callable(close):
            result = close()
            if asyncio.iscoroutine(result):
                result.close()  # an async close is the user's to await

    async def exchange(self, session: _core.Session, request: Request, clock: Any) -> Tuple[int, Any]:
        deadline = asyncio.get_running_loop().time() + request.timeout
        try:
            response = await _within(self.transport.send(request), deadline)
        except (TimeoutError, asyncio.TimeoutError):
            return session.on_transport_error("response_timeout", clock())
        except Exception as e:  # noqa: BLE001 - every failure is the session's to judge
            return session.on_transport_error(classify(e), clock())
        return session.on_response(
            response.status, response.body, clock(), response.retry_after
        )


class AsyncClient:
    """An asyncio client of the VPC Instance Metadata Service.

    Same options and methods as :class:`vpc_imds.Client`, as coroutines (lists that
    page are async iterators). Tasks share one identity token, fetched by one of them
    at a time. Use one ``AsyncClient`` per event loop.
    """

    def __init__(
        self,
        endpoint: Optional[str] = None,
        *,
        secure: bool = False,
        version: Optional[str] = None,
        token_lifetime: Optional[int] = None,
        timeout: Optional[float] = None,
        connect_timeout: Optional[float] = None,
        request_timeout: Optional[float] = None,
        max_attempts: Optional[int] = None,
        max_response_bytes: int = _core.DEFAULT_MAX_RESPONSE,
        transport: Optional[AsyncTransport] = None,
        ca_file: Optional[str] = None,
        use_env: bool = True,
    ) -> None:
        self._template = make_session(
            endpoint,
            secure,
            version,
            token_lifetime,
            timeout,
            connect_timeout,
            request_timeout,
            max_attempts,
            max_response_bytes,
            use_env,
        )
        self._free: List[_core.Session] = []
        self._tokens = _core.TokenStore()
        self._changed: Optional[asyncio.Event] = None
        self._changed_loop: Optional[asyncio.AbstractEventLoop] = None
        self._origin = time.monotonic()
        self._transport: Any = (
            AsyncSocketTransport(self._template, ca_file)
            if transport is None
            else AsyncCustomTransport(transport)
        )

    @property
    def endpoint(self) -> str:
        """The service's base URL."""
        return self._template.url

    @property
    def version(self) -> str:
        """The API version date."""
        return self._template.version

    def _now(self) -> int:
        return int((time.monotonic() - self._origin) * 1000)

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def _begin(self, op: str, kw: Dict[str, Any]) -> _core.Session:
        try:
            session = self._free.pop()
        except IndexError:
            session = self._template.fork(_seed())
        now = self._now()
        try:
            session.start(op, now, **kw)
        except BaseException:
            self._free.append(session)
            raise
        deadline = now + session.operation_timeout_ms
        while self._tokens.acquire(session, now) == _TOKEN_WAIT:
            if now >= deadline:
                break  # the session fails with its deadline error at its first poll
            loop = asyncio.get_running_loop()
            if self._changed is None or self._changed_loop is not loop:
                self._changed = asyncio.Event()
                self._changed_loop = loop
            try:
                await asyncio.wait_for(self._changed.wait(), (deadline - now) / 1000)
            except asyncio.TimeoutError:
                pass
            except BaseException:
                self._end(session)
                raise
            now = self._now()
        return session

    async def _advance(self, session: _core.Session) -> Tuple[int, Any]:
        tokens = self._tokens
        exchange = self._transport.exchange
        clock = self._now
        while True:
            action, value = session.poll(clock())
            if action == _SEND:
                event, out = await exchange(session, value, clock)
                if tokens.publish(session, clock()):
                    self._notify()
                if event == _PENDING:
                    continue
                if event == _FAILED:
                    raise out
                return event, out
            if action == _WAIT:
                pause = (value - clock()) / 1000
                if pause > 0:
                    await asyncio.sleep(pause)
            elif action == _ACTION_FAILED:
                raise value
            else:
                raise RuntimeError("the session has no operation running")

    def _end(self, session: _core.Session) -> None:
        if self._tokens.release(session):
            self._notify()
        if session.busy:
            session.cancel()
        self._free.append(session)

    async def _one(self, op: str, **kw: Any) -> Any:
        session = await self._begin(op, kw)
        try:
            return (await self._advance(session))[1]
        finally:
            self._end(session)

    async def _pages(self, op: str, **kw: Any) -> AsyncIterator[Any]:
        session = await self._begin(op, kw)
        try:
            while True:
                event, page = await self._advance(session)
                yield page
                if event == _DONE:
                    return
        finally:
            self._end(session)

    async def aclose(self) -> None:
        """Closes idle connections (the client stays usable)."""
        self._transport.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncClient(endpoint={self.endpoint!r}, version={self.version!r})"

    async def identity_token(self, expires_in: Optional[int] = None) -> Token:
        """Creates a new instance identity token; see :meth:`vpc_imds.Client.identity_token`."""
        return await self._one("identity_token", expires_in=expires_in)  # type: ignore[no-any-return]

    async def iam_token(
        self, profile_id: Optional[str] = None, profile_crn: Optional[str] = None, profile_name: Optional[str] = None
    ) -> Token:
        """An IAM token of the default or given trusted profile; see :meth:`vpc_imds.Client.iam_token`."""
        return await self._one(  # type: ignore[no-any-return]
            "iam_token", profile_id=profile_id, profile_crn=profile_crn, profile_name=profile_name
        )

    async def identity_certificate(self, csr: str, expires_in: Optional[int] = None) -> IdentityCertificate:
        """Creates an instance identity certificate for a PEM certificate request."""
        return await self._one(  # type: ignore[no-any-return]
            "identity_certificate", csr=csr, expires_in=expires_in
        )

    async def instance(self) -> Instance:
        """``GET /metadata/v1/instance``."""
        return await self._one("instance")  # type: ignore[no-any-return]

    async def initialization(self) -> Initialization:
        """``GET /metadata/v1/instance/initialization``."""
        return await self._one("initialization")  # type: ignore[no-any-return]

    async def user_data(self) -> UserData:
        """The user data as bytes (empty if none), with MIME and gzip helpers."""
        return UserData((await self.initialization())._user_data)

    async def network_interfaces(self) -> List[NetworkInterface]:
        """``GET /metadata/v1/instance/network_interfaces``."""
        return (await self._one("network_interfaces")).network_interfaces  # type: ignore[no-any-return]

    async def network_interface(self, id: str) -> NetworkInterface:
        """``GET /metadata/v1/instance/network_interfaces/{id}``."""
        return await self._one("network_interface", id=id)  # type: ignore[no-any-return]

    async def volume_attachments(self) -> List[VolumeAttachment]:
        """``GET /metadata/v1/instance/volume_attachments``."""
        return (await self._one("volume_attachments")).volume_attachments  # type: ignore[no-any-return]

    async def volume_attachment(self, id: str) -> VolumeAttachment:
        """``GET /metadata/v1/instance/volume_attachments/{id}``."""
        return await self._one("volume_attachment", id=id)  # type: ignore[no-any-return]

    async def keys(self) -> AsyncIterator[Key]:
        """Every SSH key, following pages lazily (``async for``)."""
        async for page in self._pages("keys"):
            for key in page.keys:
                yield key

    async def key(self, id: str) -> Key:
        """``GET /metadata/v1/keys/{id}``."""
        return await self._one("key", id=id)  # type: ignore[no-any-return]

    async def placement_groups(self) -> AsyncIterator[PlacementGroup]:
        """Every placement group, following pages lazily (``async for``)."""
        async for page in self._pages("placement_groups"):
            for group in page.placement_groups:
                yield group

    async def placement_group(self, id: str) -> PlacementGroup:
        """``GET /metadata/v1/placement_groups/{id}``."""
        return await self._one("placement_group", id=id)  # type: ignore[no-any-return]

    async def get(self, path: str) -> Dict[str, Any]:
        """``GET /metadata/v1/{path}``: the JSON document."""
        return await self._one("get", path=path)  # type: ignore[no-any-return]

    def get_pages(self, path: str) -> AsyncIterator[Dict[str, Any]]:
        """Like :meth:`get`, following ``next.href`` page by page (``async for``)."""
        return self._pages("get", path=path, all_pages=True)

    async def get_all(self, path: str) -> Dict[str, Any]:
        """Like :meth:`get`, following every page and merging them into one document."""
        return merge_pages([page async for page in self.get_pages(path)])
