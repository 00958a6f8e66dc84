"""The base classes of this package's exceptions; ``_errors.py`` (generated) has
one subclass of :class:`ImdsError` per error kind."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is imported by type checkers only: it costs milliseconds at import
    from typing import Dict, Optional, Type

__all__ = ["ImdsError", "TransportError"]


class ImdsError(Exception):
    """Base class of every error this package raises for an operation.

    Attributes (``None`` when they do not apply):

    - ``kind``: the error kind's name, the same in every binding (each kind has its
      subclass, e.g. ``not_found`` :class:`NotFound`);
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
