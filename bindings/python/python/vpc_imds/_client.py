"""The blocking client: the shared host driver over the socket transport (or yours)."""

from __future__ import annotations

import os
import time

from . import _core
from ._transport import CustomTransport, SocketTransport
from ._userdata import UserData

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is imported by type checkers only: it costs milliseconds at import
    from typing import Any, Dict, Iterator, List, Optional

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

_Send = _core.Send
_Wait = _core.Wait
_WaitForToken = _core.WaitForToken
_Failed = _core.Failed
_Page = _core.Page
_Done = _core.Done


def seed() -> int:
    """Entropy for a run's retry jitter."""
    return int.from_bytes(os.urandom(8), "little")


def make_config(
    endpoint: Optional[str],
    secure: bool,
    version: Optional[str],
    token_lifetime: Optional[int],
    timeout: Optional[float],
    connect_timeout: Optional[float],
    request_timeout: Optional[float],
    max_attempts: Optional[int],
    max_response_bytes: Optional[int],
    use_env: bool,
) -> _core.Config:
    """The settings both clients run every operation with (validated by the driver)."""
    return _core.Config(
        endpoint,
        secure=secure,
        version=version,
        token_lifetime=token_lifetime,
        timeout=timeout,
        connect_timeout=connect_timeout,
        request_timeout=request_timeout,
        max_attempts=max_attempts,
        max_response_bytes=max_response_bytes,
        env_endpoint=os.environ.get(ENDPOINT_ENV) if use_env else None,
    )


class Runs:
    """What both clients share: the validated settings, the shared identity token, a
    pool of driver runs (one per call in flight), and the clock every run reads."""

    def __init__(self, config: _core.Config) -> None:
        self._config = config
        self._tokens = _core.Tokens()
        self._free: List[_core.Run] = []
        self._origin = time.monotonic()

    @property
    def endpoint(self) -> str:
        """The service's base URL."""
        return self._config.url

    @property
    def version(self) -> str:
        """The API version date."""
        return self._config.version

    def _now(self) -> int:
        """Milliseconds on this client's monotonic clock (one origin for every run)."""
        return int((time.monotonic() - self._origin) * 1000)

    def _begin(self, op: str, kw: Dict[str, Any], raw: bool = False) -> _core.Run:
        try:
            run = self._free.pop()
        except IndexError:
            run = _core.Run(self._config, self._tokens, seed())
        try:
            if op == "wait":
                run.start_wait_until_ready(kw["max"], self._now())
            else:
                run.start(op, self._now(), raw=raw, **kw)
        except BaseException:
            self._free.append(run)
            raise
        return run

    def _end(self, run: _core.Run) -> None:
        run.cancel()
        self._free.append(run)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(endpoint={self.endpoint!r}, version={self.version!r})"


class Client(Runs):
    """A blocking client of the VPC Instance Metadata Service.

    Thread-safe: threads share one identity token, fetched by one of them at a time
    (the driver's single-flight lease), and each call runs its own driver, so
    retries, backoff, ``Retry-After``, the 401 refresh and the deadline apply per call.

    ``endpoint`` is ``http://HOST[:PORT]`` or ``https://HOST[:PORT]``; by default the
    ``VPC_IMDS_ENDPOINT`` environment variable (unless ``use_env=False``), else
    ``http://169.254.169.254`` (``https://api.metadata.cloud.ibm.com`` with
    ``secure=True``; an ``http://`` endpoint is then upgraded to ``https://``). Proxy
    variables are never read. Times are in seconds: ``timeout`` bounds a whole call
    (retries included, default 15), ``request_timeout`` one exchange (5),
    ``connect_timeout`` one connect (1); each must be above 0 and at most a day.
    ``version`` is the API date (default ``2025-08-26``; earlier dates use the legacy
    identity paths). A bad value raises :class:`InvalidArgument` here.

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
        self._transport: Any = (
            SocketTransport(self._config, ca_file) if transport is None else CustomTransport(transport)
        )

    # -- plumbing ---------------------------------------------------------------

    def _advance(self, run: _core.Run) -> Any:
        """Drives the run until a page or the result (a step); raises its error."""
        clock = self._now
        exchange = self._transport.exchange
        step: Any = run.step(clock())
        while True:
            kind = type(step)
            if kind is _Send:
                step = exchange(run, step.request, clock)
            elif kind is _Page or kind is _Done:
                return step
            elif kind is _Wait:
                pause = (step.until_ms - clock()) / 1000
                if pause > 0:
                    time.sleep(pause)
                step = run.step(clock())
            elif kind is _WaitForToken:
                step.tokens.wait(step.generation, max(step.until_ms - clock(), 0) / 1000)
                step = run.step(clock())
            elif kind is _Failed:
                raise step.error
            else:  # Read or Stale: a transport's matter, or an answer nobody waits for
                step = run.step(clock())

    def _one(self, op: str, **kw: Any) -> Any:
        run = self._begin(op, kw)
        try:
            return self._advance(run).value
        finally:
            self._end(run)

    def _pages(self, op: str, raw: bool = False, **kw: Any) -> Iterator[Any]:
        run = self._begin(op, kw, raw)
        try:
            while True:
                step = self._advance(run)
                yield step.body if raw else step.value
                if type(step) is _Done:
                    return
        finally:
            self._end(run)

    def wait_until_ready(self, max: float = 60.0) -> None:
        """Returns once the service answers (an identity token is created and shared),
        trying for at most ``max`` seconds with the driver's backoff; refusals,
        timeouts, lost connections, 5xx and 429 mean "not yet". Raises
        :class:`ImdsTimeout` when time runs out, any other error at once."""
        self._one("wait", max=max)

    def close(self) -> None:
        """Closes idle connections (the client stays usable)."""
        self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        """Like :meth:`get`, following every page and merging them into one document
        (the first page's members except ``next``, every list holding all pages' items)."""
        return _core.merge_pages(list(self._pages("get", raw=True, path=path, all_pages=True)))  # type: ignore[no-any-return]
