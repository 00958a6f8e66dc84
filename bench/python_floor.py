#!/usr/bin/env python3
"""Python: a cached GET of the instance beside the floor, in one run.

The floor is the least a Python client can do for the same exchange: a kept-alive
socket, prebuilt request bytes, the answer read to its Content-Length, ``json.loads``.
Rounds alternate ours and the floor (``--calls`` each); the table gives each one's
median per call over the rounds and the ratio to the floor's median.

    python bench/python_floor.py [--rounds 7] [--calls 500] [--warmup 200] [--emulator PATH]

Each row first runs ``--warmup`` calls untimed (the goal is a cached call in steady
state: the interpreter's specialized code, the allocator's pools).

Needs vpc-imds installed (the wheel); starts the project's emulator on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import time
from pathlib import Path
from typing import Callable, Dict, List

REPO = Path(__file__).resolve().parents[1]


def per_call_us(fn: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) * 1e6 / calls


class Floor:
    def __init__(self, url: str, token: str) -> None:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.request = (
            f"GET /metadata/v1/instance?version=2025-08-26 HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {token}\r\nAccept: application/json\r\n\r\n"
        ).encode()

    def call(self) -> Dict[str, object]:
        self.sock.sendall(self.request)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        head, _, body = buf.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(body) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            body += chunk
        doc = json.loads(body)
        assert "id" in doc
        return doc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--calls", type=int, default=500)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--emulator", default=str(REPO / "target" / "debug" / "vpc-imds-emulator"))
    args = ap.parse_args()

    import vpc_imds

    emu = subprocess.Popen([args.emulator], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert emu.stdout is not None
        url = emu.stdout.readline().split("listening on ", 1)[1].strip()
        client = vpc_imds.Client(url, use_env=False)
        token = client.identity_token().access_token
        floor = Floor(url, token)
        for fn in (client.instance, lambda: client.get("instance"), floor.call):
            for _ in range(max(args.warmup, 1)):
                fn()
        rows: Dict[str, List[float]] = {"floor": [], "instance()": [], 'get("instance")': []}
        for _ in range(args.rounds):
            rows["instance()"].append(per_call_us(client.instance, args.calls))
            rows["floor"].append(per_call_us(floor.call, args.calls))
            rows['get("instance")'].append(per_call_us(lambda: client.get("instance"), args.calls))
        base = statistics.median(rows["floor"])
        print(f"vpc-imds {getattr(vpc_imds, '__version__', '?')}: cached GET /metadata/v1/instance, "
              f"{args.warmup} calls each to warm up, then {args.rounds} alternating rounds of "
              f"{args.calls} calls, median µs per call")
        print(f"{'floor: socket + json.loads (same run)':<44} {base:>8.1f} {1.0:>6.2f}")
        for name in ("instance()", 'get("instance")'):
            us = statistics.median(rows[name])
            print(f"{'vpc_imds.Client.' + name:<44} {us:>8.1f} {us / base:>6.2f}")
    finally:
        emu.terminate()
        emu.wait(timeout=10)


if __name__ == "__main__":
    main()
