"""A cached IAM token: the core's token policy, single flight across threads."""

from __future__ import annotations

import time

from . import _core
from ._client import Client
from ._errors import ImdsError, InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is imported by type checkers only: it costs milliseconds at import
    from typing import Optional

__all__ = ["IamTokenCache"]


class IamTokenCache:
    """An IAM token for one trusted profile, fetched through ``client`` and cached by
    the core's policy: its life is measured on a monotonic clock from receipt, it is
    refreshed after ``lifetime - clamp(lifetime/5, 1 s, 300 s)`` (3300 s for IAM's
    3600 s tokens), one thread refreshes while the others keep using the still-valid
    token (or wait when there is none), and if a refresh fails while the old token is
    still valid, the old token serves.

    Give at most one of ``profile_id``, ``profile_crn`` and ``profile_name``; none
    means the instance's default trusted profile.
    """

    def __init__(
        self,
        client: Optional[Client] = None,
        *,
        profile_id: Optional[str] = None,
        profile_crn: Optional[str] = None,
        profile_name: Optional[str] = None,
    ) -> None:
        if sum(p is not None for p in (profile_id, profile_crn, profile_name)) > 1:
            raise InvalidArgument("give at most one of profile_id, profile_crn and profile_name")
        self.client = client if client is not None else Client()
        self.profile_id = profile_id
        self.profile_crn = profile_crn
        self.profile_name = profile_name
        self._store = _core.TokenStore()

    def token(self) -> str:
        """The IAM access token (a JWT), from the cache or freshly fetched."""
        client = self.client
        store = self._store
        deadline = time.monotonic() + client._template.operation_timeout_ms / 1000
        while True:
            now = client._now()
            verdict = store.lease(now)
            if verdict == _core.USE:
                token = store.token(now)
                if token is not None:
                    return token
                continue  # expired between the two calls; lease again
            if verdict == _core.REFRESH:
                return self._refresh()
            left = deadline - time.monotonic()
            if left <= 0:
                # Whoever is refreshing is taking too long; fetch one ourselves.
                return self.client.iam_token(self.profile_id, self.profile_crn, self.profile_name).access_token
            store.wait(left)

    def _refresh(self) -> str:
        client = self.client
        store = self._store
        try:
            fetched = client.iam_token(self.profile_id, self.profile_crn, self.profile_name)
        except ImdsError:
            store.abandon()
            stale = store.token(client._now())
            if stale is not None:
                return stale
            raise
        except BaseException:
            store.abandon()
            raise
        if fetched.lifetime is None or not store.store(fetched.access_token, fetched.lifetime, client._now()):
            store.abandon()  # no lifetime to judge it by, or too long to cache: not cached
        return fetched.access_token

    def clear(self) -> None:
        """Forgets the cached token (e.g. after IAM rejected it)."""
        self._store.clear()

    @property
    def freshness(self) -> str:
        """``missing``, ``fresh``, ``stale`` or ``expired``."""
        return self._store.freshness(self.client._now())

    def __repr__(self) -> str:
        return f"IamTokenCache({self.freshness}, client={self.client!r})"
