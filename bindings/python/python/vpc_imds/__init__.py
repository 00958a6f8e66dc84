"""A client for the IBM Cloud VPC Instance Metadata Service (IMDS).

``Client`` (blocking, sockets) and ``AsyncClient`` (asyncio) host the client
machine of `vpc-imds` (``vpc_imds._core``): the machine builds every request, keeps
the identity and IAM tokens fresh (single flight), retries with backoff, honours
``Retry-After``, reuses connections, follows and merges pages, parses and validates
responses; this package supplies sockets and sleeping. Never a proxy.

    >>> import vpc_imds
    >>> client = vpc_imds.Client()            # http://169.254.169.254, or $VPC_IMDS_ENDPOINT
    >>> client.instance().name                # doctest: +SKIP
    'my-vsi'
"""

from __future__ import annotations

from . import _core, _errors, _models
from ._client import ENDPOINT_ENV, Client
from ._errors import *  # noqa: F403 - ImdsError, its subclass for each error kind, TransportError
from ._iam import IamTokenCache
from ._models import *  # noqa: F403 - Model and the models the operations return
from ._transport import AsyncTransport, Request, Response, Transport
from ._userdata import UserData, UserDataPart

_core._register(_models.REGISTRY, _errors.BY_KIND)

__version__: str = _core.__version__

#: Default endpoint, ``http://169.254.169.254``.
DEFAULT_ENDPOINT: str = _core.DEFAULT_ENDPOINT
#: Endpoint for secure access, ``https://api.metadata.cloud.ibm.com``.
SECURE_ENDPOINT: str = _core.SECURE_ENDPOINT

__all__ = [
    "AsyncClient",
    "AsyncTransport",
    "Client",
    "DEFAULT_ENDPOINT",
    "ENDPOINT_ENV",
    "IamTokenCache",
    "Request",
    "Response",
    "SECURE_ENDPOINT",
    "Transport",
    "UserData",
    "UserDataPart",
]
__all__ += _errors.__all__
__all__ += _models.__all__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._async import AsyncClient
else:

    def __getattr__(name: str) -> object:
        # asyncio costs tens of milliseconds to import: only AsyncClient's users pay it.
        if name == "AsyncClient":
            from ._async import AsyncClient

            globals()["AsyncClient"] = AsyncClient
            return AsyncClient
        raise AttributeError(f"module 'vpc_imds' has no attribute {name!r}")
