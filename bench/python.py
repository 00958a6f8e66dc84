#!/usr/bin/env python3
"""Python client benchmark: vpc-imds against ibm-cloud-sdk-core and plain HTTP calls.

One run, one emulator (127.0.0.1 only), figures printed side by side:
- import time over a bare interpreter (median of fresh processes);
- first call: a new client's first instance read (identity token + GET, new connection);
- cached GET: ``GET /metadata/v1/instance`` with the token cached (and the connection
  kept alive where the library can);
- token + IAM token: a new identity token exchanged for an IAM token.

The references: ibm-cloud-sdk-core's ``VPCInstanceTokenManager`` (what IBM's SDKs use
on a VPC instance), ``requests.Session`` calls as ec2-metadata-style libraries make
them, and ``urllib.request`` (a new connection per call).

    python bench/python.py [--emulator PATH] [--wheel PATH] [--quick]

Needs vpc-imds installed, and optionally ibm-cloud-sdk-core and requests.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

REPO = Path(__file__).resolve().parents[1]
VERSION = "2025-08-26"


def median_us(fn: Callable[[], Any], n: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


def import_ms(statement: str, runs: int) -> Tuple[float, float]:
    """Import cost of ``statement`` over a bare interpreter, two ways (medians):
    CPython's own ``-X importtime`` figures (the modules the statement imports that a
    bare start does not), and the wall time of a fresh process minus a bare one's
    (interleaved runs; noisier, and it includes loading shared libraries)."""

    def top_level(code: str) -> Dict[str, int]:
        out = subprocess.run([sys.executable, "-X", "importtime", "-c", code], check=True,
                             env=clean_env(), capture_output=True, text=True).stderr
        mods: Dict[str, int] = {}
        for line in out.splitlines():
            parts = line.split("|")
            if len(parts) == 3 and parts[1].strip().isdigit() and not parts[2][1:].startswith(" "):
                mods[parts[2].strip()] = int(parts[1])
        return mods

    def wall(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=clean_env())
        return (time.perf_counter() - started) * 1000

    selftimes, walls = [], []
    for _ in range(runs):
        bare = top_level("pass")
        mods = top_level(statement)
        selftimes.append(sum(us for name, us in mods.items() if name not in bare) / 1000)
        walls.append(wall(statement) - wall("pass"))
    return statistics.median(selftimes), statistics.median(walls)


def clean_env() -> Dict[str, str]:
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


class Emulator:
    def __init__(self, binary: Path) -> None:
        self.proc = subprocess.Popen([str(binary)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().split("listening on ", 1)[1].strip()
        self.control = self.proc.stdout.readline().split("control on ", 1)[1].strip()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def find_emulator(explicit: Optional[str]) -> Path:
    if explicit:
        return Path(explicit)
    for profile in ("release", "debug"):
        path = REPO / "target" / profile / "vpc-imds-emulator"
        if path.exists():
            return path
    subprocess.run(["cargo", "build", "--release", "-p", "vpc-imds-emulator"], cwd=REPO, check=True)
    return REPO / "target" / "release" / "vpc-imds-emulator"


def ours(url: str, n: int) -> Dict[str, float]:
    import vpc_imds

    out: Dict[str, float] = {}
    out["first"] = median_us(lambda: vpc_imds.Client(url, use_env=False).instance(), n)
    client = vpc_imds.Client(url, use_env=False)
    client.instance()
    out["cached"] = median_us(client.instance, n * 5)
    out["iam"] = median_us(lambda: vpc_imds.Client(url, use_env=False).iam_token(), n)
    return out


def sdk_core(url: str, n: int) -> Optional[Dict[str, float]]:
    try:
        from ibm_cloud_sdk_core.token_managers.vpc_instance_token_manager import VPCInstanceTokenManager
    except ImportError:
        return None

    def iam() -> None:
        manager = VPCInstanceTokenManager(url=url, service_version=VERSION)
        manager.disable_proxy = True  # type: ignore[attr-defined]
        assert manager.request_token()["access_token"]

    return {"iam": median_us(iam, n)}


def with_requests(url: str, n: int) -> Optional[Dict[str, float]]:
    try:
        import requests
    except ImportError:
        return None

    def session() -> Any:
        s = requests.Session()
        s.trust_env = False  # never a proxy
        return s

    def token(s: Any) -> str:
        r = s.put(f"{url}/identity/v1/token", params={"version": VERSION},
                  headers={"Metadata-Flavor": "ibm", "Accept": "application/json"}, json={"expires_in": 300}, timeout=5)
        r.raise_for_status()
        return str(r.json()["access_token"])

    def instance(s: Any, tok: str) -> Dict[str, Any]:
        r = s.get(f"{url}/metadata/v1/instance", params={"version": VERSION},
                  headers={"Authorization": f"Bearer {tok}", "Accept": "application/json"}, timeout=5)
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]

    def first() -> None:
        s = session()
        instance(s, token(s))

    def iam() -> None:
        s = session()
        tok = token(s)
        r = s.post(f"{url}/identity/v1/iam_tokens", params={"version": VERSION},
                   headers={"Authorization": f"Bearer {tok}", "Metadata-Flavor": "ibm", "Accept": "application/json"},
                   timeout=5)
        r.raise_for_status()

    out = {"first": median_us(first, n), "iam": median_us(iam, n)}
    s = session()
    tok = token(s)
    out["cached"] = median_us(lambda: instance(s, tok), n * 5)
    return out


def with_urllib(url: str, n: int) -> Dict[str, float]:
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy

    def call(method: str, path: str, headers: Dict[str, str], body: Optional[bytes] = None) -> Dict[str, Any]:
        req = urllib.request.Request(f"{url}{path}?version={VERSION}", data=body, method=method, headers=headers)
        with opener.open(req, timeout=5) as resp:
            return json.loads(resp.read())  # type: ignore[no-any-return]

    def token() -> str:
        return str(call("PUT", "/identity/v1/token", {"Metadata-Flavor": "ibm"}, b'{"expires_in":300}')["access_token"])

    def instance(tok: str) -> Dict[str, Any]:
        return call("GET", "/metadata/v1/instance", {"Authorization": f"Bearer {tok}"})

    tok = token()
    return {
        "first": median_us(lambda: instance(token()), n),
        "cached": median_us(lambda: instance(tok), n * 5),
        "iam": median_us(lambda: call("POST", "/identity/v1/iam_tokens",
                                      {"Authorization": f"Bearer {token()}", "Metadata-Flavor": "ibm"}), n),
    }


def wheel_size(explicit: Optional[str]) -> Optional[Path]:
    if explicit:
        return Path(explicit)
    wheels = sorted((REPO / "dist").glob("vpc_imds-*.whl"), key=lambda p: p.stat().st_mtime)
    return wheels[-1] if wheels else None


def fmt(v: Optional[float], unit: str = "us") -> str:
    if v is None:
        return "-"
    return f"{v / 1000:.2f} ms" if unit == "us" and v >= 1000 else (f"{v:.1f} us" if unit == "us" else f"{v:.1f} ms")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--emulator", help="vpc-imds-emulator binary (default: target/release, built if missing)")
    ap.add_argument("--wheel", help="the wheel whose size to report (default: newest dist/vpc_imds-*.whl)")
    ap.add_argument("--quick", action="store_true", help="fewer iterations")
    args = ap.parse_args()
    n = 40 if args.quick else 200
    import_runs = 5 if args.quick else 21

    imports: Dict[str, Optional[Tuple[float, float]]] = {
        "vpc-imds": import_ms("import vpc_imds", import_runs),
        "ibm-cloud-sdk-core": None,
        "requests": None,
        "urllib": import_ms("import urllib.request, json", import_runs),
    }
    try:
        import ibm_cloud_sdk_core  # noqa: F401

        imports["ibm-cloud-sdk-core"] = import_ms(
            "from ibm_cloud_sdk_core.authenticators import VPCInstanceAuthenticator", import_runs)
    except ImportError:
        pass
    try:
        import requests  # noqa: F401

        imports["requests"] = import_ms("import requests", import_runs)
    except ImportError:
        pass

    emu = Emulator(find_emulator(args.emulator))
    try:
        results = {
            "vpc-imds": ours(emu.url, n),
            "ibm-cloud-sdk-core": sdk_core(emu.url, n),
            "requests": with_requests(emu.url, n),
            "urllib": with_urllib(emu.url, n),
        }
    finally:
        emu.stop()

    names = list(results)
    print(f"Python {sys.version.split()[0]}, emulator {emu.url}, medians ({n} calls; cached GET {n * 5})")
    print(f"{'':34}" + "".join(f"{name:>20}" for name in names))
    def imp(k: str, i: int) -> Optional[float]:
        v = imports[k]
        return None if v is None else v[i]

    print(f"{'import (-X importtime)':34}" + "".join(f"{fmt(imp(k, 0), 'ms'):>20}" for k in names))
    print(f"{'import (process wall - bare)':34}" + "".join(f"{fmt(imp(k, 1), 'ms'):>20}" for k in names))
    for key, label in (("first", "first call (token + instance)"), ("cached", "cached GET /instance"),
                       ("iam", "token + IAM token")):
        row = [results[k].get(key) if results[k] else None for k in names]  # type: ignore[union-attr]
        print(f"{label:34}" + "".join(f"{fmt(v):>20}" for v in row))
    wheel = wheel_size(args.wheel)
    if wheel is not None and wheel.exists():
        print(f"wheel {wheel.name}: {wheel.stat().st_size:,} bytes")

    goals = []
    ours_import = imports["vpc-imds"]
    assert ours_import is not None
    goals.append((f"import <= 10 ms over bare (is {ours_import[0]:.1f} ms by importtime, "
                  f"{ours_import[1]:.1f} ms by wall time)", max(ours_import) <= 10.0))
    goals.append(("cached GET <= 0.15 ms", results["vpc-imds"]["cached"] <= 150.0))
    sdk = results["ibm-cloud-sdk-core"]
    if sdk:
        ratio = results["vpc-imds"]["iam"] / sdk["iam"]
        goals.append((f"token + IAM <= 0.2x ibm-cloud-sdk-core (is {ratio:.3f}x)", ratio <= 0.2))
    for label, ok in goals:
        print(f"goal {'met' if ok else 'MISSED'}: {label}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
