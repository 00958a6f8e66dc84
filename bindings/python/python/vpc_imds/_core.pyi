"""Type stubs of the Rust extension ``vpc_imds._core``: the driver's client machine."""

from typing import Any, Callable, Dict, Final, List, Optional, Tuple

__version__: str

ERROR_KINDS: List[str]
TRANSPORT_ERRORS: List[str]
DEFAULT_ENDPOINT: str
SECURE_ENDPOINT: str
ENDPOINT_ENV: str

class Request:
    """A request the machine wants sent. ``repr`` redacts the token."""

    method: Final[str]
    url: Final[str]
    target: Final[str]
    headers: Final[List[Tuple[str, str]]]
    body: Final[Optional[bytes]]
    timeout: Final[float]
    connect_timeout: Final[float]
    wire: Final[bytes]

#: ``(kind, ...)``: (0, conn, fresh, Request) send; (1,) read more; (2, conn) close;
#: (3, seconds, until_ms) back off; (4, seconds, until_ms) await a token;
#: (5, value, type) page; (6, value, type) done; (7, exception) failed.
Step = Tuple[Any, ...]

class Machine:
    """The client machine: settings as keywords (``api/vpc-imds.json``'s names),
    checked by the driver."""

    endpoint: Final[Tuple[str, str, int]]
    url: Final[str]
    version: Final[str]
    operations: Final[int]

    def __init__(
        self,
        endpoint: Optional[str] = None,
        *,
        on_woken: Optional[Callable[[List[int]], None]] = None,
        seed: int = 0,
        **settings: Any,
    ) -> None: ...
    def start(self, op: str, **args: Any) -> int: ...
    def step(self, op: int) -> Step: ...
    def feed(self, op: int, data: bytes) -> Step: ...
    def respond(
        self, op: int, status: int, body: bytes, retry_after: Optional[str] = None, transfer_encoding: Optional[str] = None
    ) -> Step: ...
    def fail(self, op: int, error: str) -> Step: ...
    def cancel(self, op: int) -> Optional[int]: ...
    def close_idle(self) -> List[int]: ...
    def clock(self, *, fix: Optional[int] = None, advance: int = 0) -> None: ...

def _register(models: Dict[str, type], errors: Dict[str, type]) -> None: ...
def loads(json: bytes) -> Any: ...
def merge_pages(pages: List[bytes]) -> Any: ...
def gunzip(data: bytes, limit: int = ...) -> bytes: ...
def user_data_parts(data: bytes) -> List[Tuple[Optional[str], Optional[str], Optional[str], bytes]]: ...
def is_multipart(data: bytes) -> bool: ...
def transport_failure(name: str, connected: bool) -> str: ...
