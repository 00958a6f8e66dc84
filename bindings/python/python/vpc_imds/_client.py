"""The blocking client: the driver's client machine over sockets (or your transport).

One machine per client, behind its lock; each calling thread steps its own
operation and does that operation's I/O outside the lock (see README, "Sharing").
The settings and operations are generated (``_api.py``)."""

from __future__ import annotations

import time

from ._api import ClientApi
from ._base import BACKOFF, DONE, ENDPOINT_ENV, READ, SEND
from ._transport import connect, failure

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is imported by type checkers only: it costs milliseconds at import
    import socket
    from typing import Any, Iterator, Optional

    from ._transport import Request

__all__ = ["Client", "ENDPOINT_ENV"]


class Client(ClientApi):
    """A blocking client of the VPC Instance Metadata Service.

    Thread-safe: threads share one identity token and one IAM token per trusted
    profile (one fetch at a time, the others wait without the GIL), and kept-alive
    connections. Every rule (retries, backoff, ``Retry-After``, the 401 refresh,
    deadlines, connection reuse) is the driver's client machine's. Proxy variables
    are never read. The settings are the keywords of ``__init__``; a bad one raises
    :class:`InvalidArgument` there.
    """

    def _run(self, op: str, **args: Any) -> Iterator[Any]:
        """Steps one operation on this thread: yields each page's value, the result last."""
        m = self._m
        id, step = self._begin(op, args)
        over = False
        try:
            while step[0] != DONE:
                if step[0] == SEND:
                    step = self._settle(id, self._exchange(id, *step[1:]))
                elif step[0] == BACKOFF:
                    time.sleep(step[1])
                    step = self._next(id)
                else:  # a page (token waits block inside the machine)
                    yield step[1]
                    self._check_fork(m)
                    step = self._next(id)
            over = True
            yield step[1]
        finally:
            if not over:  # failed, or abandoned (an exception, an iterator left early)
                self._abandon(m, id)

    def _exchange(self, id: int, conn: int, fresh: bool, request: Request) -> Any:
        """Sends ``request`` on connection ``conn`` (new if ``fresh``) and feeds the
        answer to the machine until it wants no more; returns the next step."""
        m = self._m
        if self._custom is not None:
            try:
                r = self._custom.send(request)
            except Exception as e:  # noqa: BLE001 - every failure is the machine's to judge
                return m.fail(id, failure(e))
            return self._responded(id, r)
        sock: Optional[socket.socket] = None
        try:
            end = time.monotonic() + request.timeout
            sock = connect(m.endpoint, self._ca_file, request.connect_timeout) if fresh else self._idle.pop(conn)
            sock.settimeout(max(end - time.monotonic(), 0.001))
            sock.sendall(request.wire)
        except BaseException as e:  # noqa: BLE001 - connect() raises TransportError
            return self._broke(id, e, conn, sock)
        while True:
            try:
                sock.settimeout(max(end - time.monotonic(), 0.001))
                data = sock.recv(65536)
            except BaseException as e:  # noqa: BLE001
                return self._broke(id, e, conn, sock)
            # In the pool before the machine can call it idle: the moment feed returns,
            # another thread may be handed this connection (or told to close it), and
            # must find the socket there. What feed raises (the machine, the result's
            # conversion) is no transport failure and is raised as it is; the
            # operation's cancel closes the socket if it is still the operation's.
            self._idle[conn] = sock
            try:
                step = m.feed(id, data)
            finally:
                del data  # may hold a token: not for a traceback's locals
            if step[0] != READ:
                return step
            self._idle.pop(conn, None)  # still this operation's: more to read

    def _one(self, op: str, **args: Any) -> Any:
        for value in self._run(op, **args):
            pass
        return value

    def close(self) -> None:
        """Closes idle connections (the client stays usable)."""
        close = self._close_idle()
        if callable(close):
            close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
