"""Exceptions: one base class, one subclass per error kind of the core."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is imported by type checkers only: it costs milliseconds at import
    from typing import Dict, Optional, Type

__all__ = [
    "ImdsError",
    "InvalidArgument",
    "ConnectionRefused",
    "ImdsTimeout",
    "ConnectionLost",
    "Unauthorized",
    "NotFound",
    "RateLimited",
    "ServerError",
    "Rejected",
    "BadResponse",
    "TransportError",
]


class ImdsError(Exception):
    """Base class of every error this package raises for an operation.

    Attributes (``None`` when they do not apply):

    - ``kind``: the core's error kind name, the same in every binding
      (``invalid_input``, ``refused``, ``timed_out``, ``connection_lost``,
      ``unauthorized``, ``not_found``, ``rate_limited``, ``server_error``,
      ``rejected``, ``bad_response``);
    - ``status``: the HTTP status the service answered with;
    - ``code``, ``message``, ``trace``, ``target``: from IBM's error body
      (``errors[0].code``, ``errors[0].message``, ``trace``, ``errors[0].target.name``);
      ``api_message`` is ``message`` under the error record's name in every host;
    - ``retry_after``: the ``Retry-After`` seconds the service asked for;
    - ``cause``: ``input``, ``transport``, ``deadline``, ``http``, ``body``, ``api``,
      ``protocol`` or ``misuse``;
    - ``transport``: for transport failures, ``refused``, ``unreachable``,
      ``connect_timeout``, ``response_timeout``, ``connection_lost`` or ``tls``.

    The message (``str(error)``) never contains a token.
    """

    kind: str = "unknown"
    status: Optional[int] = None
    code: Optional[str] = None
    message: Optional[str] = None
    api_message: Optional[str] = None
    trace: Optional[str] = None
    target: Optional[str] = None
    retry_after: Optional[int] = None
    cause: Optional[str] = None
    transport: Optional[str] = None

    def __init__(self, text: str = "") -> None:
        super().__init__(text)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (_rebuild, (type(self), str(self), dict(self.__dict__)))


def _rebuild(cls: Type[ImdsError], text: str, state: Dict[str, object]) -> ImdsError:
    exc = cls(text)
    exc.__dict__.update(state)
    return exc


class InvalidArgument(ImdsError, ValueError):
    """The input was refused before anything was sent (``invalid_input``): a bad
    endpoint, version date, ID with ``/`` or CR/LF, out-of-range lifetime, ..."""

    kind = "invalid_input"


class ConnectionRefused(ImdsError, ConnectionRefusedError):
    """Nothing accepted the connection, or there is no route (``refused``)."""

    kind = "refused"


class ImdsTimeout(ImdsError, TimeoutError):
    """A connect, a response or the whole operation took too long (``timed_out``)."""

    kind = "timed_out"


class ConnectionLost(ImdsError, ConnectionError):
    """The connection closed before a whole response arrived, on every attempt
    (``connection_lost``)."""

    kind = "connection_lost"


class Unauthorized(ImdsError, PermissionError):
    """HTTP 401 or 403 (``unauthorized``), e.g. the metadata service is disabled."""

    kind = "unauthorized"


class NotFound(ImdsError, LookupError):
    """HTTP 404 (``not_found``): no such resource or path."""

    kind = "not_found"


class RateLimited(ImdsError):
    """HTTP 429 until retries or time ran out (``rate_limited``)."""

    kind = "rate_limited"


class ServerError(ImdsError):
    """HTTP 5xx until retries or time ran out (``server_error``)."""

    kind = "server_error"


class Rejected(ImdsError):
    """Another 4xx (``rejected``), e.g. ``profile_not_linked``."""

    kind = "rejected"


class BadResponse(ImdsError):
    """The response broke HTTP framing, a size limit or the documented JSON shape
    (``bad_response``)."""

    kind = "bad_response"


BY_KIND: Dict[str, Type[ImdsError]] = {
    cls.kind: cls
    for cls in (
        InvalidArgument,
        ConnectionRefused,
        ImdsTimeout,
        ConnectionLost,
        Unauthorized,
        NotFound,
        RateLimited,
        ServerError,
        Rejected,
        BadResponse,
    )
}


class TransportError(Exception):
    """Raised by a custom transport when an exchange failed in transport.

    ``name`` is one of ``refused``, ``unreachable``, ``connect_timeout``,
    ``response_timeout``, ``connection_lost`` or ``tls``; the session decides
    whether to retry. A transport may also raise the built-in ``ConnectionRefusedError``,
    ``TimeoutError``, ``ConnectionError`` or ``OSError``, which are classified the same way.
    """

    NAMES = ("refused", "unreachable", "connect_timeout", "response_timeout", "connection_lost", "tls")

    def __init__(self, name: str, detail: str = "") -> None:
        if name not in self.NAMES:
            raise ValueError(f"unknown transport error {name!r}; one of {', '.join(self.NAMES)}")
        super().__init__(f"{name}: {detail}" if detail else name)
        self.name = name
