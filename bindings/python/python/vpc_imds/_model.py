"""The base class of every document type (the classes are generated in ``_models.py``).

Every class mirrors one core model, with IBM's field names; strings are decoded,
lists are lists, absent optional fields are ``None``. Objects compare by value,
convert with ``to_dict()`` to the same JSON form as the core's, and ignore fields
IBM adds later (the core drops them). Secrets (``access_token``) are redacted in
``repr`` and ``str``.
"""

from __future__ import annotations

import keyword

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is imported by type checkers only: it costs milliseconds at import
    from typing import Any, ClassVar, Dict

__all__ = ["Model"]

#: Fields never shown: only their length is.
SECRETS = frozenset(("access_token",))


class Model:
    """Base class of every document type: attribute access, value equality,
    a readable ``repr`` (secrets redacted) and ``to_dict()``."""

    #: Each field (IBM's name) and whether it holds a list: set by each generated class.
    _fields: ClassVar[Dict[str, bool]] = {}

    def __init__(self, **fields: Any) -> None:
        unknown = set(fields) - set(self._fields)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field(s) {', '.join(sorted(unknown))}")
        for name, is_list in self._fields.items():
            self.__dict__[name] = fields.get(name, [] if is_list else None)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{k}=<redacted, {len(v)} chars>" if k in SECRETS else f"{k}={v!r}"
            for k, v in self.__dict__.items()
            if v is not None and v != []
        )
        return f"{type(self).__name__}({shown})"

    def to_dict(self) -> Dict[str, Any]:
        """The document as plain JSON-style data (the core's JSON form)."""
        return {_json_name(k): _plain(v) for k, v in self.__dict__.items()}


def _json_name(name: str) -> str:
    # Fields named like a Python keyword carry a trailing underscore (``class_``).
    if name.endswith("_") and keyword.iskeyword(name[:-1]):
        return name[:-1]
    return name


def _plain(value: Any) -> Any:
    if isinstance(value, Model):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
