"""What both clients share: the client machine made from the settings, the
transport, the connections the machine keeps (by its connection id), and the
steps every host handles alike."""

from __future__ import annotations

import os
import weakref

from . import _core
from ._errors import BY_KIND
from ._transport import failure, tls_context

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is imported by type checkers only: it costs milliseconds at import
    from typing import Any, Callable, Dict, List, Optional, Tuple

__all__ = ["ENDPOINT_ENV", "Base"]

#: The environment variable that overrides the default endpoint (the driver's name).
ENDPOINT_ENV: str = _core.ENDPOINT_ENV

# The machine's steps: (kind, ...) tuples.
SEND, READ, CLOSE, BACKOFF, AWAIT, PAGE, DONE, FAILED = range(8)

#: Every live client, for a forked child to part from its parent's.
_clients: weakref.WeakSet[Base] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for client in list(_clients):
        try:
            client._forked()
        except Exception:  # noqa: BLE001 - one client's failure must not stop the others'
            pass


# A child of fork() (gunicorn --preload, multiprocessing's fork) would otherwise send on
# its parent's kept-alive sockets and read the parent's answers as its own.
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class Base:
    """The machine, the transport and the idle connections of a client."""

    _m: _core.Machine
    _idle: Dict[int, Any]

    def _setup(
        self,
        transport: Any,
        ca_file: Optional[str],
        use_env: bool,
        on_woken: Optional[Callable[[List[int]], None]] = None,
        **settings: Any,
    ) -> None:
        """Makes the machine; the driver checks (and defaults) every setting."""
        env = os.environ.get(ENDPOINT_ENV) if use_env else None
        self._machine_args = dict(on_woken=on_woken, env_endpoint=env, **settings)
        self._m = _core.Machine(seed=int.from_bytes(os.urandom(8), "little"), **self._machine_args)
        self._custom = transport
        self._ca_file = ca_file
        self._idle = {}
        _clients.add(self)
        if transport is None and self._m.endpoint[0] == "https":
            # Read now: a file that is missing or holds no certificate is bad input,
            # not a network failure at every call.
            try:
                tls_context(ca_file)
            except (OSError, ValueError) as e:  # ssl.SSLError is an OSError
                error = BY_KIND["invalid_input"](f"ca_file {ca_file!r} cannot be used: {e.__class__.__name__}: {e}")
                error.cause = "input"
                raise error from None

    def _begin(self, op: str, args: Dict[str, Any]) -> Tuple[int, Any]:
        """Starts ``op``: its id and the first step to act on (a failure cancels it
        and is raised)."""
        id = self._m.start(op, **args)
        try:
            return id, self._next(id)
        except BaseException:
            self._close(self._m.cancel(id))
            raise

    def _next(self, id: int) -> Any:
        """The next step of ``id`` to act on."""
        return self._settle(id, self._m.step(id))

    def _settle(self, id: int, step: Any) -> Any:
        """The next step the host acts on (send, back off, await, a page, done):
        closes are done here and a failure is raised."""
        while True:
            kind = step[0]
            if kind == CLOSE:
                self._close(step[1])
                step = self._m.step(id)
            elif kind == FAILED:
                raise step[1]
            elif kind == READ:  # a read comes only inside an exchange
                step = self._m.fail(id, "connection_lost")
            else:
                return step

    def _responded(self, id: int, r: Any) -> Any:
        """Hands your transport's response to the machine; returns the next step. What
        is no response (no integer ``status``, no bytes ``body``) is a failed exchange,
        as in the JavaScript hosts."""
        try:
            status, body = r.status, r.body
        except AttributeError:
            return self._m.fail(id, "connection_lost")
        retry_after, encoding = getattr(r, "retry_after", None), getattr(r, "transfer_encoding", None)
        try:
            return self._m.respond(id, status, body, retry_after, encoding)
        except TypeError:  # refused by the argument conversion, before the machine saw it
            return self._m.fail(id, "connection_lost")

    def _kept(self, conn: int, held: Any, step: Any) -> Any:
        """Returns ``step`` with connection ``conn`` idle again: the machine reuses it,
        or says close it."""
        self._idle[conn] = held
        return step

    def _broke(self, id: int, e: BaseException, conn: int, held: Any) -> Any:
        """The next step after an exchange on ``conn`` raised ``e``: an ``Exception``
        is the machine's to judge (a ``KeyError``: the idle connection was closed
        meanwhile); anything else (a cancellation, an interrupt) closes ``held``, the
        socket or asyncio's (reader, writer), and is raised."""
        if isinstance(e, KeyError):
            return self._m.fail(id, "connection_lost")
        if isinstance(e, Exception):
            step = self._m.fail(id, failure(e, connected=True))
            return step if held is None else self._kept(conn, held, step)
        if held is not None:
            (held[1] if isinstance(held, tuple) else held).close()
        raise e

    def _close(self, conn: Optional[int]) -> None:
        """Closes the idle connection ``conn``, if this client holds it."""
        held = self._idle.pop(conn, None) if conn is not None else None
        if not isinstance(held, tuple):  # a socket, or None
            if held is not None:
                held.close()
            return
        try:
            held[1].close()  # asyncio's (reader, writer)
        except RuntimeError:
            # Its loop is closed (a later asyncio.run): the transport cannot close
            # itself, so its socket is closed here rather than left to the collector.
            raw = getattr(held[1].get_extra_info("socket"), "_sock", None)
            if raw is not None:
                raw.close()

    def _forked(self) -> None:
        """In a forked child: a machine of its own (the parent's may be locked by a
        thread the child lacks) and none of the parent's connections. A plain socket is
        closed here, which leaves the parent's open; asyncio's are left to the
        collector (their loop is the parent's)."""
        for held in self._idle.values():
            if not isinstance(held, tuple):
                held.close()
        self._idle = {}
        self._m = _core.Machine(seed=int.from_bytes(os.urandom(8), "little"), **self._machine_args)

    def _abandon(self, m: _core.Machine, id: int) -> None:
        """Cancels operation ``id`` of machine ``m`` and closes its connection; not on a
        parent's machine after a fork (a thread the child lacks may hold its lock)."""
        if self._m is m:
            self._close(m.cancel(id))

    def _check_fork(self, m: _core.Machine) -> None:
        """Refuses to go on with an operation of machine ``m`` in a forked child."""
        if self._m is not m:
            error = BY_KIND["invalid_input"]("this listing was started before fork(): start it again in this process")
            error.cause = "misuse"
            raise error

    def _close_idle(self) -> Any:
        """Closes the connections the machine says are idle (it hands them out no more;
        one another thread is reading from is not among them); returns the transport's
        ``close``, if it has one."""
        for conn in self._m.close_idle():
            self._close(conn)
        return getattr(self._custom, "close", None)

    @property
    def endpoint(self) -> str:
        """The service's base URL."""
        return self._m.url

    @property
    def version(self) -> str:
        """The API version date."""
        return self._m.version

    def __repr__(self) -> str:
        return f"{type(self).__name__}(endpoint={self.endpoint!r}, version={self.version!r})"
