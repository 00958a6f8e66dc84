"""The blocking client: the driver's client machine over sockets (or your transport).

One machine per client, behind its lock; each calling thread steps its own
operation and does that operation's I/O outside the lock (see README, "Sharing")."""

from __future__ import annotations

import os
import time

from . import _core
from ._transport import connect, failure
from ._userdata import UserData

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is imported by type checkers only: it costs milliseconds at import
    import socket
    from typing import Any, Callable, Dict, Iterator, List, Optional

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
    from ._transport import Request, Transport

__all__ = ["Client", "ENDPOINT_ENV"]

#: The environment variable that overrides the default endpoint.
ENDPOINT_ENV = "VPC_IMDS_ENDPOINT"

# The machine's steps: (kind, ...) tuples.
SEND, READ, CLOSE, BACKOFF, AWAIT, PAGE, DONE, FAILED = range(8)


def machine(endpoint: Optional[str], use_env: bool, on_woken: Any = None, **settings: Any) -> _core.Machine:
    """A client machine; the settings are validated (and defaulted) by the driver."""
    env = os.environ.get(ENDPOINT_ENV) if use_env else None
    seed = int.from_bytes(os.urandom(8), "little")
    return _core.Machine(endpoint, on_woken=on_woken, seed=seed, env_endpoint=env, **settings)


class Base:
    """What both clients share: the machine, the transport, and the connections
    the machine keeps (by its connection id)."""

    def __init__(self, m: _core.Machine, transport: Any, ca_file: Optional[str]) -> None:
        self._m = m
        self._custom = transport
        self._ca_file = ca_file
        self._idle: Dict[int, Any] = {}

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


class Client(Base):
    """A blocking client of the VPC Instance Metadata Service.

    Thread-safe: threads share one identity token and one IAM token per trusted
    profile (one fetch at a time, the others wait without the GIL), and kept-alive
    connections. Every rule (retries, backoff, ``Retry-After``, the 401 refresh,
    deadlines, connection reuse) is the driver's client machine's.

    ``endpoint`` is ``http://HOST[:PORT]`` or ``https://HOST[:PORT]``; by default the
    ``VPC_IMDS_ENDPOINT`` environment variable (unless ``use_env=False``), else
    ``http://169.254.169.254`` (``https://api.metadata.cloud.ibm.com`` with
    ``secure=True``; an ``http://`` endpoint is then upgraded to ``https://``). Proxy
    variables are never read. Times are in seconds: ``timeout`` bounds a whole call
    (retries included, default 15), ``request_timeout`` one exchange (5),
    ``connect_timeout`` one connect (1). ``version`` is the API date (default
    ``2025-08-26``). A bad value raises :class:`InvalidArgument` here.

    ``transport`` replaces the built-in sockets with your own (see
    :class:`vpc_imds.Transport`); ``ca_file`` is a PEM bundle to trust for ``https``.
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
        transport: Optional[Transport] = None,
        ca_file: Optional[str] = None,
        use_env: bool = True,
    ) -> None:
        m = machine(
            endpoint, use_env, secure=secure, version=version, token_lifetime=token_lifetime, timeout=timeout,
            connect_timeout=connect_timeout, request_timeout=request_timeout, max_attempts=max_attempts,
            max_response_bytes=max_response_bytes,
        )  # fmt: skip
        super().__init__(m, transport, ca_file)

    def _run(self, op: str, **args: Any) -> Iterator[Any]:
        """Steps one operation on this thread: yields each page's value, the result last."""
        m = self._m
        id = m.start(op, **args)
        over = False
        try:
            step = m.step(id)
            while True:
                kind = step[0]
                if kind == SEND:
                    step = self._exchange(id, *step[1:])
                elif kind == CLOSE:
                    self._close(step[1])
                    step = m.step(id)
                elif kind == BACKOFF:
                    time.sleep(step[1])
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
            if not over:  # abandoned (an exception, or an iterator left early)
                self._close(m.cancel(id))

    def _exchange(self, id: int, conn: int, fresh: bool, request: Request) -> Any:
        """Sends ``request`` on connection ``conn`` (new if ``fresh``) and feeds the
        answer to the machine until it wants no more; returns the next step."""
        m = self._m
        if self._custom is not None:
            try:
                r = self._custom.send(request)
            except Exception as e:  # noqa: BLE001 - every failure is the machine's to judge
                return m.fail(id, failure(e))
            return m.respond(id, r.status, r.body, r.retry_after)
        sock: Optional[socket.socket] = None
        try:
            end = time.monotonic() + request.timeout
            sock = connect(m.endpoint, self._ca_file, request.connect_timeout) if fresh else self._idle.pop(conn)
            sock.settimeout(max(end - time.monotonic(), 0.001))
            sock.sendall(request.wire)
            while True:
                sock.settimeout(max(end - time.monotonic(), 0.001))
                step = m.feed(id, sock.recv(65536))
                if step[0] != READ:
                    break
        except KeyError:  # the idle connection was closed by close()
            return m.fail(id, "connection_lost")
        except Exception as e:  # noqa: BLE001
            step = m.fail(id, failure(e))
        except BaseException:
            if sock is not None:
                sock.close()
            raise
        if sock is not None:
            self._idle[conn] = sock  # free again: the machine reuses it, or says close it
        return step

    def _close(self, conn: Optional[int]) -> None:
        sock = self._idle.pop(conn, None) if conn is not None else None
        if sock is not None:
            sock.close()

    def _one(self, op: str, **args: Any) -> Any:
        for value in self._run(op, **args):
            pass
        return value

    def close(self) -> None:
        """Closes idle connections (the client stays usable)."""
        for conn in list(self._idle):
            self._close(conn)
        close: Optional[Callable[[], Any]] = getattr(self._custom, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wait_until_ready(self, max: Optional[float] = None) -> None:
        """Returns once the service answers (an identity token is created and shared),
        trying for at most ``max`` seconds (default 60) with backoff; refusals,
        timeouts, lost connections, 5xx and 429 mean "not yet". Raises
        :class:`ImdsTimeout` when time runs out, any other error at once."""
        self._one("wait_until_ready", max=max)

    def identity_token(self, expires_in: Optional[int] = None) -> Token:
        """Creates a new instance identity token (``PUT .../token``); it is also the
        token this client uses from now on. ``expires_in``: 5..3600 seconds."""
        return self._one("identity_token", expires_in=expires_in)  # type: ignore[no-any-return]

    def iam_token(
        self, profile_id: Optional[str] = None, profile_crn: Optional[str] = None, profile_name: Optional[str] = None
    ) -> Token:
        """An IAM token of the instance's default trusted profile, or of the linked
        profile given by id, CRN or name (one at most); cached per profile."""
        return self._one("iam_token", profile_id=profile_id, profile_crn=profile_crn, profile_name=profile_name)  # type: ignore[no-any-return]

    def identity_certificate(self, csr: str, expires_in: Optional[int] = None) -> IdentityCertificate:
        """Creates an instance identity certificate for a PEM certificate request."""
        return self._one("identity_certificate", csr=csr, expires_in=expires_in)  # type: ignore[no-any-return]

    def instance(self) -> Instance:
        """``GET /metadata/v1/instance``."""
        return self._one("instance")  # type: ignore[no-any-return]

    def initialization(self) -> Initialization:
        """``GET /metadata/v1/instance/initialization``: keys, user data, default profile."""
        return self._one("initialization")  # type: ignore[no-any-return]

    def user_data(self) -> UserData:
        """The user data as bytes (empty if none), with MIME and gzip helpers."""
        return UserData(self._one("user_data"))

    def ssh_keys(self) -> List[str]:
        """Every SSH key as an OpenSSH ``authorized_keys`` line, every page, in order;
        a key holding a line break or a control character fails as :class:`BadResponse`."""
        return self._one("ssh_keys")  # type: ignore[no-any-return]

    def network_interfaces(self) -> List[NetworkInterface]:
        """``GET /metadata/v1/instance/network_interfaces``."""
        return self._one("network_interfaces").network_interfaces  # type: ignore[no-any-return]

    def network_interface(self, id: str) -> NetworkInterface:
        """``GET /metadata/v1/instance/network_interfaces/{id}``."""
        return self._one("network_interface", id=id)  # type: ignore[no-any-return]

    def volume_attachments(self) -> List[VolumeAttachment]:
        """``GET /metadata/v1/instance/volume_attachments``."""
        return self._one("volume_attachments").volume_attachments  # type: ignore[no-any-return]

    def volume_attachment(self, id: str) -> VolumeAttachment:
        """``GET /metadata/v1/instance/volume_attachments/{id}``."""
        return self._one("volume_attachment", id=id)  # type: ignore[no-any-return]

    def keys(self) -> Iterator[Key]:
        """Every SSH key (``GET /metadata/v1/keys``), following pages lazily."""
        for page in self._run("keys"):
            yield from page.keys

    def key(self, id: str) -> Key:
        """``GET /metadata/v1/keys/{id}``."""
        return self._one("key", id=id)  # type: ignore[no-any-return]

    def placement_groups(self) -> Iterator[PlacementGroup]:
        """Every placement group (``GET /metadata/v1/placement_groups``), following pages lazily."""
        for page in self._run("placement_groups"):
            yield from page.placement_groups

    def placement_group(self, id: str) -> PlacementGroup:
        """``GET /metadata/v1/placement_groups/{id}``."""
        return self._one("placement_group", id=id)  # type: ignore[no-any-return]

    def get(self, path: str) -> Dict[str, Any]:
        """``GET /metadata/v1/{path}`` (the path may carry a query, not ``version``):
        the JSON document."""
        return self._one("get", path=path)  # type: ignore[no-any-return]

    def get_pages(self, path: str) -> Iterator[Dict[str, Any]]:
        """Like :meth:`get`, following ``next.href`` page by page (lazily)."""
        return self._run("get", path=path, all_pages=True)

    def get_all(self, path: str) -> Dict[str, Any]:
        """Like :meth:`get`, following every page and merging them into one document
        (the first page's members except ``next``, every list holding all pages' items)."""
        return _core.loads(b"".join(self._run("get_all", path=path)))  # type: ignore[no-any-return]
