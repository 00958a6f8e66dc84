"""The blocking client: the core session driven over the socket transport (or yours)."""

from __future__ import annotations

import os
import time

from . import _core
from ._transport import CustomTransport, SocketTransport
from ._userdata import UserData

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is imported by type checkers only: it costs milliseconds at import
    from typing import Any, Dict, Iterator, List, Optional, Tuple

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
    from ._transport import Transport

__all__ = ["Client", "ENDPOINT_ENV"]

#: The environment variable that overrides the default endpoint.
ENDPOINT_ENV = "VPC_IMDS_ENDPOINT"

_SEND = _core.ACTION_SEND
_WAIT = _core.ACTION_WAIT
_ACTION_FAILED = _core.ACTION_FAILED
_PENDING = _core.EVENT_PENDING
_PAGE = _core.EVENT_PAGE
_DONE = _core.EVENT_DONE
_FAILED = _core.EVENT_FAILED
_TOKEN_WAIT = _core.WAIT


def _ms(seconds: Optional[float]) -> Optional[int]:
    if seconds is None:
        return None
    return max(int(seconds * 1000), 1)


def _seed() -> int:
    return int.from_bytes(os.urandom(8), "little")


def make_session(
    endpoint: Optional[str],
    secure: bool,
    version: Optional[str],
    token_lifetime: Optional[int],
    timeout: Optional[float],
    connect_timeout: Optional[float],
    request_timeout: Optional[float],
    max_attempts: Optional[int],
    max_response_bytes: int,
    use_env: bool,
) -> _core.Session:
    """The template session both clients fork per operation."""
    if endpoint is None and use_env:
        endpoint = os.environ.get(ENDPOINT_ENV) or None
    return _core.Session(
        endpoint,
        secure=secure,
        version=version,
        token_lifetime=token_lifetime,
        connect_timeout_ms=_ms(connect_timeout),
        request_timeout_ms=_ms(request_timeout),
        operation_timeout_ms=_ms(timeout),
        max_attempts=max_attempts,
        seed=_seed(),
        max_response_bytes=max_response_bytes,
    )


def merge_pages(pages: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Merges the pages of one list like the CLI's ``get --all``: the first page's
    members except ``next``, every list member holding the items of all pages."""
    if not pages:
        return {}
    merged: Dict[str, Any] = {}
    for key, value in pages[0].items():
        if key == "next":
            continue
        if isinstance(value, list):
            merged[key] = [item for page in pages for item in page.get(key, [])]
        else:
            merged[key] = value
    return merged


class Client:
    """A blocking client of the VPC Instance Metadata Service.

    Thread-safe: threads share one identity token, fetched by one of them at a time
    (the core's single-flight lease), and each call runs its own core session, so
    retries, backoff, ``Retry-After``, the 401 refresh and the deadline apply per call.

    ``endpoint`` is ``http://HOST[:PORT]`` or ``https://HOST[:PORT]``; by default the
    ``VPC_IMDS_ENDPOINT`` environment variable (unless ``use_env=False``), else
    ``http://169.254.169.254`` (``https://api.metadata.cloud.ibm.com`` with
    ``secure=True``). Proxy variables are never read. Times are in seconds:
    ``timeout`` bounds a whole call (retries included, default 15), ``request_timeout``
    one exchange (5), ``connect_timeout`` one connect (1). ``version`` is the API
    date (default ``2025-08-26``; earlier dates use the legacy identity paths).

    ``transport`` replaces the built-in socket transport with your own (see
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
        max_response_bytes: int = _core.DEFAULT_MAX_RESPONSE,
        transport: Optional[Transport] = None,
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
        self._origin = time.monotonic()
        self._transport: Any = (
            SocketTransport(self._template, ca_file) if transport is None else CustomTransport(transport)
        )

    # -- plumbing ---------------------------------------------------------------

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

    def _begin(self, op: str, kw: Dict[str, Any]) -> _core.Session:
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
        tokens = self._tokens
        while tokens.acquire(session, now) == _TOKEN_WAIT:
            if now >= deadline:
                # The session fails the operation with its deadline error at its first poll.
                break
            tokens.wait((deadline - now) / 1000)
            now = self._now()
        return session

    def _advance(self, session: _core.Session) -> Tuple[int, Any]:
        """Drives the session until a page or the result; raises its error."""
        tokens = self._tokens
        exchange = self._transport.exchange
        clock = self._now
        while True:
            action, value = session.poll(clock())
            if action == _SEND:
                event, out = exchange(session, value, clock)
                tokens.publish(session, clock())
                if event == _PENDING:
                    continue
                if event == _FAILED:
                    raise out
                return event, out
            if action == _WAIT:
                pause = (value - clock()) / 1000
                if pause > 0:
                    time.sleep(pause)
            elif action == _ACTION_FAILED:
                raise value
            else:
                raise RuntimeError("the session has no operation running")

    def _end(self, session: _core.Session) -> None:
        self._tokens.release(session)
        if session.busy:
            session.cancel()
        self._free.append(session)

    def _one(self, op: str, **kw: Any) -> Any:
        session = self._begin(op, kw)
        try:
            return self._advance(session)[1]
        finally:
            self._end(session)

    def _pages(self, op: str, **kw: Any) -> Iterator[Any]:
        session = self._begin(op, kw)
        try:
            while True:
                event, page = self._advance(session)
                yield page
                if event == _DONE:
                    return
        finally:
            self._end(session)

    def close(self) -> None:
        """Closes idle connections (the client stays usable)."""
        self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(endpoint={self.endpoint!r}, version={self.version!r})"

    # -- identity ---------------------------------------------------------------

    def identity_token(self, expires_in: Optional[int] = None) -> Token:
        """Creates a new instance identity token (``PUT .../token``); it is also the
        token this client uses from now on. ``expires_in``: 5..3600 seconds."""
        return self._one("identity_token", expires_in=expires_in)  # type: ignore[no-any-return]

    def iam_token(
        self, profile_id: Optional[str] = None, profile_crn: Optional[str] = None, profile_name: Optional[str] = None
    ) -> Token:
        """Exchanges the identity token for an IAM token of the instance's default
        trusted profile, or of the linked profile given by id, CRN or name (one at most)."""
        return self._one("iam_token", profile_id=profile_id, profile_crn=profile_crn, profile_name=profile_name)  # type: ignore[no-any-return]

    def identity_certificate(self, csr: str, expires_in: Optional[int] = None) -> IdentityCertificate:
        """Creates an instance identity certificate for a PEM certificate request."""
        return self._one("identity_certificate", csr=csr, expires_in=expires_in)  # type: ignore[no-any-return]

    # -- metadata ---------------------------------------------------------------

    def instance(self) -> Instance:
        """``GET /metadata/v1/instance``."""
        return self._one("instance")  # type: ignore[no-any-return]

    def initialization(self) -> Initialization:
        """``GET /metadata/v1/instance/initialization``: keys, user data, default profile."""
        return self._one("initialization")  # type: ignore[no-any-return]

    def user_data(self) -> UserData:
        """The user data as bytes (empty if none), with MIME and gzip helpers."""
        return UserData(self.initialization()._user_data)

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
        for page in self._pages("keys"):
            yield from page.keys

    def key(self, id: str) -> Key:
        """``GET /metadata/v1/keys/{id}``."""
        return self._one("key", id=id)  # type: ignore[no-any-return]

    def placement_groups(self) -> Iterator[PlacementGroup]:
        """Every placement group (``GET /metadata/v1/placement_groups``), following pages lazily."""
        for page in self._pages("placement_groups"):
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
        return self._pages("get", path=path, all_pages=True)

    def get_all(self, path: str) -> Dict[str, Any]:
        """Like :meth:`get`, following every page and merging them into one document."""
        return merge_pages(list(self.get_pages(path)))
