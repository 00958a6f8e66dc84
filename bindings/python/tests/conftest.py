"""Shared fixtures: the test vectors' location, the emulator binary, and a guard
that the package under test is the installed wheel, not the source tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, Optional

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
VECTORS = Path(os.environ.get("VPC_IMDS_VECTORS", REPO / "tests" / "vectors"))
EXAMPLES = HERE.parent / "examples"

import vpc_imds  # noqa: E402

if os.environ.get("VPC_IMDS_REQUIRE_INSTALLED") == "1":
    # ci.sh tests the installed wheel: the package must not come from the source tree.
    assert "site-packages" in vpc_imds.__file__, f"vpc_imds imported from {vpc_imds.__file__}"


def _emulator_path() -> Optional[Path]:
    explicit = os.environ.get("VPC_IMDS_EMULATOR")
    if explicit:
        return Path(explicit)
    for profile in ("release", "debug"):
        candidate = REPO / "target" / profile / "vpc-imds-emulator"
        if candidate.exists():
            return candidate
    return None


class Emulator:
    """A running vpc-imds-emulator process and its control API."""

    def __init__(self, binary: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        self.process = subprocess.Popen(
            [str(binary), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline().strip()
        if not first.startswith("listening on "):
            # Read stderr (the reason) before stop() closes it.
            self._terminate()
            reason = self.process.stderr.read().strip() if self.process.stderr else ""
            self._close_streams()
            raise RuntimeError(f"emulator did not start (exit {self.process.returncode}): {first!r} {reason}")
        second = self.process.stdout.readline().strip()
        self.url = first.split("listening on ", 1)[1]
        self.control = second.split("control on ", 1)[1]

    def call(self, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.control + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=5) as resp:
            return json.loads(resp.read() or b"null")

    def counters(self) -> Dict[str, Any]:
        return self.call("GET", "/counters")  # type: ignore[no-any-return]

    def reset(self) -> None:
        self.call("POST", "/reset")

    def stop(self) -> None:
        self._terminate()
        self._close_streams()

    def _terminate(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def _close_streams(self) -> None:
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture(scope="session")
def emulator_binary() -> Path:
    path = _emulator_path()
    if path is None or not path.exists():
        if os.environ.get("VPC_IMDS_REQUIRE_EMULATOR") == "1":
            pytest.fail("the vpc-imds-emulator binary is missing (cargo build -p vpc-imds-emulator)")
        pytest.skip("the vpc-imds-emulator binary is not built")
    return path


@pytest.fixture(scope="session")
def _shared_emulator(emulator_binary: Path) -> Iterator[Emulator]:
    emu = Emulator(emulator_binary)
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def emulator(_shared_emulator: Emulator) -> Iterator[Emulator]:
    """The session's emulator, with faults and counters reset for each test."""
    _shared_emulator.reset()
    yield _shared_emulator
    _shared_emulator.reset()
