"""An authenticator for IBM Cloud's Python SDKs (``ibm-cloud-sdk-core``).

Use it wherever an IBM SDK takes an authenticator, in place of the SDK's own
``VPCInstanceAuthenticator``::

    from ibm_vpc import VpcV1
    from vpc_imds.ibm import VpcImdsAuthenticator

    service = VpcV1(authenticator=VpcImdsAuthenticator(iam_profile_id="Profile-..."))

The IAM token comes from the metadata service through :class:`vpc_imds.Client` and is
cached by the core's policy (see :class:`vpc_imds.IamTokenCache`). Requires the
``ibm-cloud-sdk-core`` package (``pip install vpc-imds[ibm]``).
"""

from __future__ import annotations

from ibm_cloud_sdk_core import ApiException  # type: ignore[import-untyped]
from ibm_cloud_sdk_core.authenticators import Authenticator  # type: ignore[import-untyped]

from ._client import Client
from ._errors import ImdsError
from ._iam import IamTokenCache

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Optional

__all__ = ["VpcImdsAuthenticator"]


class VpcImdsAuthenticator(Authenticator):  # type: ignore[misc]
    """``Authenticator`` for IBM SDK clients, backed by vpc-imds.

    Arguments match ibm-cloud-sdk-core's ``VPCInstanceAuthenticator`` (at most one of
    ``iam_profile_crn``, ``iam_profile_id`` and ``iam_profile_name``; none means the
    instance's default trusted profile; ``url`` is the metadata service endpoint, an
    empty one the default; ``service_version`` the API version date). ``client`` is an
    existing :class:`vpc_imds.Client` to use instead (given alone); other keyword
    arguments configure a new one (``timeout``, ``version``, ...). The profile is read
    once. A token the service refuses raises the SDK's ``ApiException`` (its ``status_code``
    the HTTP status, the :class:`vpc_imds.ImdsError` as its cause), as the SDK's own
    authenticator does; other failures raise the :class:`vpc_imds.ImdsError`.
    """

    def __init__(
        self,
        iam_profile_crn: Optional[str] = None,
        iam_profile_id: Optional[str] = None,
        iam_profile_name: Optional[str] = None,
        url: Optional[str] = None,
        *,
        client: Optional[Client] = None,
        service_version: Optional[str] = None,
        **client_options: Any,
    ) -> None:
        self._profile = (iam_profile_crn, iam_profile_id, iam_profile_name)
        self.validate()
        if service_version is not None:
            client_options.setdefault("version", service_version)
        if client is None:
            client = Client(url or None, **client_options)
        elif url or client_options:
            raise ValueError("client is given alone: url and client options configure a new client")
        self.cache = IamTokenCache(
            client,
            # An empty field is an absent one, as in the SDK's own authenticator.
            profile_id=iam_profile_id or None,
            profile_crn=iam_profile_crn or None,
            profile_name=iam_profile_name or None,
        )

    @property
    def iam_profile_crn(self) -> Optional[str]:
        """The trusted profile's CRN, if given."""
        return self._profile[0]

    @property
    def iam_profile_id(self) -> Optional[str]:
        """The trusted profile's id, if given."""
        return self._profile[1]

    @property
    def iam_profile_name(self) -> Optional[str]:
        """The trusted profile's name, if given."""
        return self._profile[2]

    def authentication_type(self) -> str:
        """``vpc``, like the SDK's own VPC instance authenticator."""
        return Authenticator.AUTHTYPE_VPC  # type: ignore[no-any-return]

    def validate(self) -> None:
        """Raises ``ValueError`` if more than one trusted profile is given."""
        given = [p for p in self._profile if p]
        if len(given) > 1:
            raise ValueError('At most one of "iam_profile_id", "iam_profile_crn" or "iam_profile_name" may be specified.')

    def authenticate(self, req: Dict[str, Any]) -> None:
        """Sets ``req['headers']['Authorization']`` to ``Bearer <IAM token>``."""
        headers = req.get("headers")
        if headers is None:
            headers = req["headers"] = {}
        headers["Authorization"] = "Bearer " + self.token()

    def token(self) -> str:
        """The current IAM access token."""
        try:
            return self.cache.token()
        except ImdsError as e:
            if e.status is None:
                raise
            raise ApiException(e.status, message=str(e)) from e

    def __repr__(self) -> str:
        return f"VpcImdsAuthenticator({self.cache!r})"
