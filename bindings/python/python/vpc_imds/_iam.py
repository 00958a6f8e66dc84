"""A cached IAM token: the driver's IAM token cache, single flight across threads."""

from __future__ import annotations

from . import _core
from ._client import Client

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is imported by type checkers only: it costs milliseconds at import
    from typing import Optional

__all__ = ["IamTokenCache"]


class IamTokenCache:
    """An IAM token for one trusted profile, fetched through ``client`` and cached by
    the driver's policy: its life is measured on a monotonic clock from receipt, it is
    refreshed after ``lifetime - clamp(lifetime/5, 1 s, 300 s)`` (3300 s for IAM's
    3600 s tokens), one thread refreshes while the others keep using the still-valid
    token (or wait when there is none), and if a refresh fails while the old token is
    still valid, the old token serves.

    Give at most one of ``profile_id``, ``profile_crn`` and ``profile_name``; none
    means the instance's default trusted profile (else :class:`InvalidArgument`).
    """

    def __init__(
        self,
        client: Optional[Client] = None,
        *,
        profile_id: Optional[str] = None,
        profile_crn: Optional[str] = None,
        profile_name: Optional[str] = None,
    ) -> None:
        _core.check_profile(profile_id, profile_crn, profile_name)
        self.client = client if client is not None else Client()
        self.profile_id = profile_id
        self.profile_crn = profile_crn
        self.profile_name = profile_name
        self._cache = _core.Tokens()

    def token(self) -> str:
        """The IAM access token (a JWT), from the cache or freshly fetched."""
        token = self.client._one(
            "iam_token",
            iam_cache=self._cache,
            profile_id=self.profile_id,
            profile_crn=self.profile_crn,
            profile_name=self.profile_name,
        )
        return token.access_token  # type: ignore[no-any-return]

    def clear(self) -> None:
        """Forgets the cached token (e.g. after IAM rejected it)."""
        self._cache.clear()

    @property
    def freshness(self) -> str:
        """``missing``, ``fresh``, ``stale`` or ``expired``."""
        return self._cache.freshness(self.client._now())

    def __repr__(self) -> str:
        return f"IamTokenCache({self.freshness}, client={self.client!r})"
