"""User data: bytes, with helpers for gzip and MIME multi-part documents (the
driver's, shared by every binding)."""

from __future__ import annotations

from . import _core

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is imported by type checkers only: it costs milliseconds at import
    from typing import List, Optional

__all__ = ["UserData", "UserDataPart"]

_GZIP_MAGIC = b"\x1f\x8b"


class UserData(bytes):
    """The instance's user data as given at creation: ``bytes`` (it may be a
    cloud-config, a script, a MIME multi-part document, or gzip data).

    Helpers: :attr:`is_gzip` / :meth:`decompress`, :attr:`is_multipart` /
    :meth:`parts`, and :meth:`text` (decoding happens only when asked).
    """

    @property
    def is_gzip(self) -> bool:
        """Whether the data is gzip-compressed (starts with the gzip magic bytes)."""
        return self.startswith(_GZIP_MAGIC)

    def decompress(self) -> UserData:
        """The data with gzip compression removed (itself when not compressed), at most
        16 MiB; :class:`BadResponse` when it is corrupt or larger."""
        if not self.is_gzip:
            return self
        # Bounded (the driver's limit), unlike gzip.decompress: a small bomb must not eat the memory.
        return UserData(_core.gunzip(bytes(self)))

    @property
    def is_multipart(self) -> bool:
        """Whether the (decompressed) data is a well-formed MIME multi-part document."""
        return _core.is_multipart(bytes(self))

    def parts(self) -> List[UserDataPart]:
        """The parts, as every binding gives them: gzip removed, then the leaf parts of
        a MIME multi-part document in order (nested documents included, bodies
        decoded: base64, quoted-printable), or the whole data as one part with no
        content type when it is not multi-part; none when it is empty.
        :class:`BadResponse` (the driver's words, as in every binding) when the gzip or
        the document is malformed or too large."""
        return [UserDataPart(t, name, payload, charset) for t, name, charset, payload in _core.user_data_parts(bytes(self))]

    def text(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        """The (decompressed) data decoded as text."""
        return bytes(self.decompress()).decode(encoding, errors)

    def __repr__(self) -> str:
        return f"UserData({len(self)} bytes{', gzip' if self.is_gzip else ''})"


class UserDataPart:
    """One part of a multi-part user data document."""

    __slots__ = ("content_type", "filename", "payload", "charset")

    def __init__(
        self,
        content_type: Optional[str],
        filename: Optional[str],
        payload: bytes,
        charset: Optional[str] = None,
    ) -> None:
        #: e.g. ``text/cloud-config``, ``text/x-shellscript``; ``None`` when not MIME.
        self.content_type = content_type
        #: The ``Content-Disposition`` file name, if any.
        self.filename = filename
        #: The decoded payload (transfer encodings such as base64 undone).
        self.payload = payload
        #: The declared charset, if any.
        self.charset = charset

    def text(self, errors: str = "strict") -> str:
        """The payload decoded with its charset (UTF-8 when none is declared)."""
        return self.payload.decode(self.charset or "utf-8", errors)

    def __repr__(self) -> str:
        return f"UserDataPart(content_type={self.content_type!r}, filename={self.filename!r}, {len(self.payload)} bytes)"
