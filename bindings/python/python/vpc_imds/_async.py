"""The asyncio client: the shared host driver over asyncio streams (or yours)."""

from __future__ import annotations

import asyncio
import sys
import time

from . import _core
from ._client import Runs, make_config
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

_Send = _core.Send
_Read = _core.Read
_Wait = _core.Wait
_WaitForToken = _core.WaitForToken
_Failed = _core.Failed
_Page = _core.Page
_Done = _core.Done

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
    request deadlines, kept-alive connections, no proxy. Sends the driver's HTTP/1.1
    bytes and feeds what it reads back to the driver."""

    def __init__(self, config: _core.Config, ca_file: Optional[str] = None) -> None:
        scheme, host, port = config.endpoint
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

    async def exchange(self, run: _core.Run, request: Request, clock: Any) -> Any:
        """Sends ``request`` for ``run`` and returns the run's next step."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + request.timeout
        conn = self._take()
        reused = conn is not None
        while True:
            if conn is None:
                try:
                    conn = await self._connect(request.connect_timeout)
                except TransportError as e:
                    return run.fail(request.id, e.name, clock())
                reused = False
            try:
                return await _within(self._exchange(run, conn, request, reused, clock), deadline)
            except _Stale:
                conn[1].close()
                conn = None
            except (TimeoutError, asyncio.TimeoutError):
                conn[1].close()
                return run.fail(request.id, "response_timeout", clock())
            except OSError as e:
                conn[1].close()
                return run.fail(request.id, classify(e), clock())

    async def _exchange(
        self,
        run: _core.Run,
        conn: Tuple[asyncio.StreamReader, asyncio.StreamWriter],
        request: Request,
        reused: bool,
        clock: Any,
    ) -> Any:
        reader, writer = conn
        try:
            writer.write(request.wire)
            await writer.drain()
        except (BrokenPipeError, ConnectionResetError):
            if reused:
                raise _Stale() from None
            raise
        received = False
        feed = run.feed
        rid = request.id
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
            step = feed(rid, data, clock())
            if type(step) is not _Read:
                if run.keep_alive and len(self._idle) < POOL_CAPACITY:
                    self._idle.append((reader, writer, time.monotonic()))
                else:
                    writer.close()
                return step


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

    async def exchange(self, run: _core.Run, request: Request, clock: Any) -> Any:
        deadline = asyncio.get_running_loop().time() + request.timeout
        try:
            response = await _within(self.transport.send(request), deadline)
        except (TimeoutError, asyncio.TimeoutError):
            return run.fail(request.id, "response_timeout", clock())
        except Exception as e:  # noqa: BLE001 - every failure is the driver's to judge
            return run.fail(request.id, classify(e), clock())
        return run.respond(request.id, response.status, response.body, clock(), response.retry_after)


class AsyncClient(Runs):
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
        super().__init__(
            make_config(
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
        )
        self._changed: Optional[asyncio.Event] = None
        self._changed_loop: Optional[asyncio.AbstractEventLoop] = None
        self._transport: Any = (
            AsyncSocketTransport(self._config, ca_file)
            if transport is None
            else AsyncCustomTransport(transport)
        )

    def _notify(self) -> None:
        """Wakes the tasks waiting for a token (they step again and may wait again)."""
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def _token_changed(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        if self._changed is None or self._changed_loop is not loop:
            self._changed = asyncio.Event()
            self._changed_loop = loop
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    async def _advance(self, run: _core.Run) -> Any:
        clock = self._now
        exchange = self._transport.exchange
        step: Any = run.step(clock())
        while True:
            kind = type(step)
            if kind is _Send:
                step = await exchange(run, step.request, clock)
                self._notify()
            elif kind is _Page or kind is _Done:
                return step
            elif kind is _Wait:
                pause = (step.until_ms - clock()) / 1000
                if pause > 0:
                    await asyncio.sleep(pause)
                step = run.step(clock())
            elif kind is _WaitForToken:
                if step.tokens.generation == step.generation:
                    await self._token_changed(max(step.until_ms - clock(), 0) / 1000)
                step = run.step(clock())
            elif kind is _Failed:
                raise step.error
            else:  # Read or Stale
                step = run.step(clock())

    def _end(self, run: _core.Run) -> None:
        super()._end(run)
        self._notify()

    async def _one(self, op: str, **kw: Any) -> Any:
        run = self._begin(op, kw)
        try:
            return (await self._advance(run)).value
        finally:
            self._end(run)

    async def _pages(self, op: str, raw: bool = False, **kw: Any) -> AsyncIterator[Any]:
        run = self._begin(op, kw, raw)
        try:
            while True:
                step = await self._advance(run)
                yield step.body if raw else step.value
                if type(step) is _Done:
                    return
        finally:
            self._end(run)

    async def wait_until_ready(self, max: float = 60.0) -> None:
        """Returns once the service answers; see :meth:`vpc_imds.Client.wait_until_ready`."""
        await self._one("wait", max=max)

    async def aclose(self) -> None:
        """Closes idle connections (the client stays usable)."""
        self._transport.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

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
        pages = [page async for page in self._pages("get", raw=True, path=path, all_pages=True)]
        return _core.merge_pages(pages)  # type: ignore[no-any-return]
