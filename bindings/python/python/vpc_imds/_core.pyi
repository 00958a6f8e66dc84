"""Type stubs of the Rust extension ``vpc_imds._core`` (the shared host driver, driven from Python)."""

from typing import Any, Dict, List, Optional, Tuple, Union

__version__: str

DEFAULT_MAX_RESPONSE: int
ERROR_KINDS: List[str]
TRANSPORT_ERRORS: List[str]
DEFAULT_ENDPOINT: str
SECURE_ENDPOINT: str
DEFAULT_VERSION: str

class Config:
    """The settings every operation of a client runs with, validated once (raises
    ``InvalidArgument``). Times are seconds."""

    def __init__(
        self,
        endpoint: Optional[str] = None,
        *,
        secure: bool = False,
        version: Optional[str] = None,
        token_lifetime: Optional[int] = None,
        timeout: Optional[float] = None,
        connect_timeout: Optional[float] = None,
        request_timeout: Optional[float] = None,
        max_attempts: Optional[int] = None,
        base_delay: Optional[float] = None,
        max_delay: Optional[float] = None,
        max_response_bytes: Optional[int] = None,
        env_endpoint: Optional[str] = None,
    ) -> None: ...
    @property
    def endpoint(self) -> Tuple[str, str, int]: ...
    @property
    def url(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def timeout(self) -> float: ...
    @property
    def max_response_bytes(self) -> int: ...

class Tokens:
    """A token cache shared by a client's operations and threads."""

    def __init__(self) -> None: ...
    @property
    def generation(self) -> int: ...
    def wait(self, generation: int, timeout: float) -> None: ...
    def freshness(self, now_ms: int) -> str: ...
    def clear(self) -> None: ...

class Request:
    """A request the driver wants sent. ``repr`` redacts the token."""

    @property
    def id(self) -> int: ...
    @property
    def method(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def headers(self) -> List[Tuple[str, str]]: ...
    @property
    def body(self) -> Optional[bytes]: ...
    @property
    def deadline_ms(self) -> int: ...
    @property
    def timeout(self) -> float: ...
    @property
    def connect_timeout(self) -> float: ...
    @property
    def wire(self) -> bytes: ...

class Send:
    request: Request

class Read: ...
class Stale: ...
class Idle: ...

class Wait:
    until_ms: int

class WaitForToken:
    until_ms: int
    generation: int
    tokens: Tokens

class Page:
    value: Any
    body: Optional[bytes]
    type: str

class Done:
    value: Any
    body: Optional[bytes]
    type: str

class Failed:
    error: BaseException

Step = Union[Send, Read, Wait, WaitForToken, Page, Done, Failed, Stale, Idle]

class Run:
    """One operation at a time of a client, over its shared ``Tokens``."""

    def __init__(self, config: Config, tokens: Tokens, seed: int) -> None: ...
    @property
    def busy(self) -> bool: ...
    @property
    def keep_alive(self) -> bool: ...
    def start(
        self,
        op: str,
        now_ms: int,
        *,
        id: Optional[str] = None,
        profile_id: Optional[str] = None,
        profile_crn: Optional[str] = None,
        profile_name: Optional[str] = None,
        expires_in: Optional[int] = None,
        csr: Optional[str] = None,
        path: Optional[str] = None,
        all_pages: bool = False,
        iam_cache: Optional[Tokens] = None,
        raw: bool = False,
    ) -> None: ...
    def start_wait_until_ready(self, max: float, now_ms: int) -> None: ...
    def cancel(self) -> None: ...
    def step(self, now_ms: int) -> Step: ...
    def feed(self, id: int, data: bytes, now_ms: int) -> Step: ...
    def respond(
        self,
        id: int,
        status: int,
        body: bytes,
        now_ms: int,
        retry_after: Union[int, str, bytes, None] = None,
    ) -> Step: ...
    def fail(self, id: int, error: str, now_ms: int) -> Step: ...

def _register(models: Dict[str, type], errors: Dict[str, type]) -> None: ...
def check_profile(
    profile_id: Optional[str] = None, profile_crn: Optional[str] = None, profile_name: Optional[str] = None
) -> None: ...
def merge_pages(pages: List[bytes]) -> Any: ...
def gunzip(data: bytes, limit: int) -> bytes: ...
def mime_parts(data: bytes) -> Optional[List[Tuple[str, Optional[str], Optional[str], bytes]]]: ...
def parse_retry_after(value: str) -> Optional[int]: ...
def token_schedule(lifetime: int) -> Tuple[int, int]: ...
