"""An IAM token for one trusted profile: the client machine's cache of it."""

from __future__ import annotations

from ._client import Client

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is imported by type checkers only: it costs milliseconds at import
    from typing import Optional

__all__ = ["IamTokenCache"]


class IamTokenCache:
    """An IAM token for one trusted profile, fetched through ``client`` and cached by
    its machine (as every ``client.iam_token()`` is): measured on a monotonic clock
    from receipt, refreshed after ``lifetime - clamp(lifetime/5, 1 s, 300 s)`` by one
    caller while the others keep using the still-valid token, and served while a
    refresh fails and it is still valid.

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
        self.client = client if client is not None else Client()
        m = self.client._m
        m.cancel(m.start("iam_token", profile_id=profile_id, profile_crn=profile_crn, profile_name=profile_name))
        self.profile_id = profile_id
        self.profile_crn = profile_crn
        self.profile_name = profile_name

    def token(self) -> str:
        """The IAM access token (a JWT), from the cache or freshly fetched."""
        return self.client.iam_token(self.profile_id, self.profile_crn, self.profile_name).access_token

    def __repr__(self) -> str:
        return f"IamTokenCache(client={self.client!r})"
