"""Packaging: import cost, typing (mypy --strict on the examples), py.typed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import vpc_imds

from conftest import EXAMPLES


def test_import_pulls_in_no_heavy_modules() -> None:
    code = (
        "import sys; import vpc_imds; "
        "heavy = [m for m in ('typing', 'asyncio', 'socket', 'ssl', 'json', 'email', 'dataclasses') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import vpc_imds imported {out.stdout.strip()}"


def test_async_client_is_lazy() -> None:
    code = "import sys, vpc_imds; assert 'asyncio' not in sys.modules; vpc_imds.AsyncClient; assert 'asyncio' in sys.modules"
    subprocess.run([sys.executable, "-I", "-c", code], check=True)


def test_py_typed_is_installed() -> None:
    package = Path(vpc_imds.__file__).parent
    assert (package / "py.typed").exists()
    assert (package / "_core.pyi").exists()


def test_examples_type_check_with_mypy_strict() -> None:
    mypy = shutil.which("mypy", path=os.path.dirname(sys.executable)) or shutil.which("mypy")
    if mypy is None:
        pytest.skip("mypy is not installed")
    files = [str(EXAMPLES / "quickstart.py"), str(EXAMPLES / "custom_transport.py")]
    if (Path(vpc_imds.__file__).parent / "ibm.py").exists():
        try:
            import ibm_cloud_sdk_core  # noqa: F401
            import ibm_vpc  # noqa: F401

            files.append(str(EXAMPLES / "ibm_sdk.py"))
        except ImportError:
            pass
    result = subprocess.run(
        [mypy, "--strict", "--no-incremental", "--cache-dir", os.devnull, *files],
        capture_output=True,
        text=True,
        cwd=str(EXAMPLES),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_quickstart_example_runs(emulator: "object") -> None:
    env = dict(os.environ, VPC_IMDS_ENDPOINT=emulator.url)  # type: ignore[attr-defined]
    out = subprocess.run([sys.executable, str(EXAMPLES / "quickstart.py")], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "instance emu-vsi-1" in out.stdout and "eyJ" not in out.stdout
