"""The asyncio client: the driver's client machine stepped from the event loop,
over asyncio streams (or your transport)."""

from __future__ import annotations

import asyncio

from . import _core
from ._client import AWAIT, BACKOFF, CLOSE, DONE, FAILED, PAGE, READ, SEND, Base, machine
from ._transport import TransportError, failure, tls_context
from ._userdata import UserData

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is imported by type checkers only: it costs milliseconds at import
    from typing import Any, AsyncIterator, Dict, List, Optional

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

__all__ = ["AsyncClient"]


class AsyncClient(Base):
    """An asyncio client of the VPC Instance Metadata Service.

    Same options and methods as :class:`vpc_imds.Client`, as coroutines (lists that
    page are async iterators). Tasks share one identity token and one IAM token per
    trusted profile, fetched by one of them at a time. A cancelled call abandons its
    operation (its connection is closed). Use one ``AsyncClient`` per event loop.
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
        max_response_bytes: Optional[int] = None,
        transport: Optional[AsyncTransport] = None,
        ca_file: Optional[str] = None,
        use_env: bool = True,
    ) -> None:
        self._waiters: Dict[int, asyncio.Future[None]] = {}
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        m = machine(
            endpoint, use_env, self._woken, secure=secure, version=version, token_lifetime=token_lifetime,
            timeout=timeout, connect_timeout=connect_timeout, request_timeout=request_timeout,
            max_attempts=max_attempts, max_response_bytes=max_response_bytes,
        )  # fmt: skip
        super().__init__(m, transport, ca_file)

    def _woken(self, ids: List[int]) -> None:
        """The machine ended these operations' token waits."""
        for id in ids:
            waiter = self._waiters.pop(id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    async def _run(self, op: str, **args: Any) -> AsyncIterator[Any]:
        """Steps one operation from the event loop: yields each page's value, the result last."""
        m = self._m
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # connections belong to the loop that made them
            self._drop_idle()
            self._loop = loop
        id = m.start(op, **args)
        over = False
        try:
            step = m.step(id)
            while True:
                kind = step[0]
                if kind == SEND:
                    step = await self._exchange(id, *step[1:])
                elif kind == CLOSE:
                    self._close(step[1])
                    step = m.step(id)
                elif kind == BACKOFF:
                    await asyncio.sleep(step[1])
                    step = m.step(id)
                elif kind == AWAIT:  # until the machine wakes this operation, or the deadline
                    waiter = self._waiters[id] = loop.create_future()
                    try:
                        await asyncio.wait_for(waiter, step[1])
                    except asyncio.TimeoutError:
                        pass
                    step = m.step(id)
                elif kind == PAGE:
                    yield step[1]
                    step = m.step(id)
                elif kind == DONE:
                    over = True
                    yield step[1]
                    return
                elif kind == FAILED:
                    over = True
                    raise step[1]
                else:  # READ comes only inside an exchange
                    step = m.fail(id, "connection_lost")
        finally:
            self._waiters.pop(id, None)
            if not over:  # cancelled, or an iterator left early
                self._close(m.cancel(id))

    async def _exchange(self, id: int, conn: int, fresh: bool, request: Request) -> Any:
        """Sends ``request`` on connection ``conn`` (new if ``fresh``) and feeds the
        answer to the machine until it wants no more; returns the next step."""
        m = self._m
        left = request.timeout
        if self._custom is not None:
            try:
                r = await asyncio.wait_for(self._custom.send(request), left)
            except Exception as e:  # noqa: BLE001 - every failure is the machine's to judge
                return m.fail(id, failure(e))
            return m.respond(id, r.status, r.body, r.retry_after)
        end = asyncio.get_running_loop().time() + left
        streams = None
        try:
            if fresh:
                streams = await self._connect(request.connect_timeout)
            else:
                streams = self._idle.pop(conn)
            reader, writer = streams
            writer.write(request.wire)
            await asyncio.wait_for(writer.drain(), end - asyncio.get_running_loop().time())
            while True:
                data = await asyncio.wait_for(reader.read(65536), end - asyncio.get_running_loop().time())
                step = m.feed(id, data)
                if step[0] != READ:
                    break
        except KeyError:  # the idle connection was closed by aclose()
            return m.fail(id, "connection_lost")
        except Exception as e:  # noqa: BLE001
            step = m.fail(id, failure(e))
        except BaseException:
            if streams is not None:
                streams[1].close()
            raise
        if streams is not None:
            self._idle[conn] = streams  # free again: the machine reuses it, or says close it
        return step

    async def _connect(self, timeout: float) -> Any:
        scheme, host, port = self._m.endpoint
        host = host.strip("[]")
        tls: Any = {"ssl": tls_context(self._ca_file), "server_hostname": host} if scheme == "https" else {}
        try:
            return await asyncio.wait_for(asyncio.open_connection(host, port, **tls), timeout)
        except asyncio.TimeoutError:
            raise TransportError("connect_timeout") from None

    def _close(self, conn: Optional[int]) -> None:
        streams = self._idle.pop(conn, None) if conn is not None else None
        if streams is not None:
            streams[1].close()

    def _drop_idle(self) -> None:
        for conn in list(self._idle):
            try:
                self._close(conn)
            except RuntimeError:  # its loop is closed already
                pass

    async def _one(self, op: str, **args: Any) -> Any:
        async for value in self._run(op, **args):
            pass
        return value

    async def aclose(self) -> None:
        """Closes idle connections (the client stays usable)."""
        self._drop_idle()
        close = getattr(self._custom, "close", None)
        if callable(close):
            result = close()
            if asyncio.iscoroutine(result):
                await result

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def wait_until_ready(self, max: Optional[float] = None) -> None:
        """Returns once the service answers; see :meth:`vpc_imds.Client.wait_until_ready`."""
        await self._one("wait_until_ready", max=max)

    async def identity_token(self, expires_in: Optional[int] = None) -> Token:
        """Creates a new instance identity token; see :meth:`vpc_imds.Client.identity_token`."""
        return await self._one("identity_token", expires_in=expires_in)  # type: ignore[no-any-return]

    async def iam_token(
        self, profile_id: Optional[str] = None, profile_crn: Optional[str] = None, profile_name: Optional[str] = None
    ) -> Token:
        """An IAM token of the default or given trusted profile (cached per profile)."""
        return await self._one("iam_token", profile_id=profile_id, profile_crn=profile_crn, profile_name=profile_name)  # type: ignore[no-any-return]

    async def identity_certificate(self, csr: str, expires_in: Optional[int] = None) -> IdentityCertificate:
        """Creates an instance identity certificate for a PEM certificate request."""
        return await self._one("identity_certificate", csr=csr, expires_in=expires_in)  # type: ignore[no-any-return]

    async def instance(self) -> Instance:
        """``GET /metadata/v1/instance``."""
        return await self._one("instance")  # type: ignore[no-any-return]

    async def initialization(self) -> Initialization:
        """``GET /metadata/v1/instance/initialization``."""
        return await self._one("initialization")  # type: ignore[no-any-return]

    async def user_data(self) -> UserData:
        """The user data as bytes (empty if none), with MIME and gzip helpers."""
        return UserData(await self._one("user_data"))

    async def ssh_keys(self) -> List[str]:
        """Every SSH key as an ``authorized_keys`` line; see :meth:`vpc_imds.Client.ssh_keys`."""
        return await self._one("ssh_keys")  # type: ignore[no-any-return]

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
        async for page in self._run("keys"):
            for key in page.keys:
                yield key

    async def key(self, id: str) -> Key:
        """``GET /metadata/v1/keys/{id}``."""
        return await self._one("key", id=id)  # type: ignore[no-any-return]

    async def placement_groups(self) -> AsyncIterator[PlacementGroup]:
        """Every placement group, following pages lazily (``async for``)."""
        async for page in self._run("placement_groups"):
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
        return self._run("get", path=path, all_pages=True)

    async def get_all(self, path: str) -> Dict[str, Any]:
        """Like :meth:`get`, following every page and merging them into one document."""
        return _core.loads(b"".join([part async for part in self._run("get_all", path=path)]))  # type: ignore[no-any-return]
