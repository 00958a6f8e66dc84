"""The test harness itself: an emulator that fails to start says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Emulator


def test_emulator_start_failure_reports_stderr(emulator_binary: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-fixture.json"
    with pytest.raises(RuntimeError) as info:
        Emulator(emulator_binary, "--fixture", str(missing))
    message = str(info.value)
    assert "exit 1" in message
    assert "cannot read fixture" in message and str(missing) in message
