"""The asyncio client: the driver's client machine stepped from the event loop,
over asyncio streams (or your transport). The settings and operations are
generated (``_api.py``)."""

from __future__ import annotations

import asyncio

from ._api import AsyncClientApi
from ._base import AWAIT, BACKOFF, DONE, READ, SEND
from ._transport import TransportError, failure, tls_context

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is imported by type checkers only: it costs milliseconds at import
    from typing import Any, AsyncIterator, Dict, List, Optional

    from ._transport import Request

__all__ = ["AsyncClient"]


class AsyncClient(AsyncClientApi):
    """An asyncio client of the VPC Instance Metadata Service.

    Same settings and methods as :class:`vpc_imds.Client`, as coroutines (lists that
    page are async iterators). Tasks share one identity token and one IAM token per
    trusted profile, fetched by one of them at a time. A cancelled call abandons its
    operation (its connection is closed). Use one ``AsyncClient`` per event loop.
    """

    def _setup(self, transport: Any, ca_file: Optional[str], use_env: bool, on_woken: Any = None, **settings: Any) -> None:
        self._waiters: Dict[int, asyncio.Future[None]] = {}
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        super()._setup(transport, ca_file, use_env, self._woken, **settings)  # token waits end in _woken

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
            self._close_idle()
            self._loop = loop
        id, step = self._begin(op, args)
        over = False
        try:
            while step[0] != DONE:
                if step[0] == SEND:
                    step = self._settle(id, await self._exchange(id, *step[1:]))
                elif step[0] == BACKOFF:
                    await asyncio.sleep(step[1])
                    step = self._next(id)
                elif step[0] == AWAIT:  # until the machine wakes this operation, or the deadline
                    waiter = self._waiters[id] = loop.create_future()
                    await asyncio.wait((waiter,), timeout=step[1])
                    step = self._next(id)
                else:  # a page
                    yield step[1]
                    self._check_fork(m)
                    step = self._next(id)
            over = True
            yield step[1]
        finally:
            self._waiters.pop(id, None)
            if not over:  # failed, cancelled, or an iterator left early
                self._abandon(m, id)

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
            return self._responded(id, r)
        clock = asyncio.get_running_loop().time
        end = clock() + left
        streams = None
        try:
            streams = await self._connect(request.connect_timeout) if fresh else self._idle.pop(conn)
            reader, writer = streams
            writer.write(request.wire)
            await asyncio.wait_for(writer.drain(), end - clock())
        except BaseException as e:  # noqa: BLE001 - connect() raises TransportError
            return self._broke(id, e, conn, streams)
        while True:
            try:
                data = await asyncio.wait_for(reader.read(65536), end - clock())
            except BaseException as e:  # noqa: BLE001
                return self._broke(id, e, conn, streams)
            # Not in the try: what the machine (or the result's conversion) raises is
            # no transport failure, and is raised as it is.
            try:
                step = m.feed(id, data)
            except BaseException:
                self._idle[conn] = streams  # the machine's now, or closed by the cancel
                raise
            finally:
                del data  # may hold a token: not for a traceback's locals
            if step[0] != READ:
                return self._kept(conn, streams, step)

    async def _connect(self, timeout: float) -> Any:
        scheme, host, port = self._m.endpoint
        tls: Any = {"ssl": tls_context(self._ca_file), "server_hostname": host} if scheme == "https" else {}
        try:
            return await asyncio.wait_for(asyncio.open_connection(host, port, **tls), timeout)
        except asyncio.TimeoutError:
            raise TransportError("connect_timeout") from None
        except OSError as e:
            raise TransportError(failure(e, connected=False)) from e

    async def _one(self, op: str, **args: Any) -> Any:
        async for value in self._run(op, **args):
            pass
        return value

    async def aclose(self) -> None:
        """Closes idle connections (the client stays usable)."""
        close = self._close_idle()
        if callable(close):
            result = close()
            if asyncio.iscoroutine(result):
                await result

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
