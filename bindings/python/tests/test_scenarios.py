"""The cross-host scenarios (tests/scenarios/scenarios.json, schema in its README)
through the public API of ``vpc_imds.Client``, each against its own emulator
process on 127.0.0.1.

Every scenario must give the table's normalized outcome, except those in
``KNOWN``: where this host differs today, the outcome must still differ (a strict
expected failure), so the entry has to go when the host is fixed."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

import vpc_imds

from conftest import REPO, Emulator

HOST = "python"
TABLE = Path(os.environ.get("VPC_IMDS_SCENARIOS", REPO / "tests" / "scenarios" / "scenarios.json"))
SCENARIOS: List[Dict[str, Any]] = json.loads(TABLE.read_text(encoding="utf-8"))["scenarios"]

#: Scenarios where this host differs today: name -> reason.
KNOWN: Dict[str, str] = {
}


def test_table_is_consistent() -> None:
    names = [s["name"] for s in SCENARIOS]
    assert len(names) == len(set(names)), "scenario names are unique"
    assert set(KNOWN) <= set(names), f"KNOWN names unknown scenarios: {set(KNOWN) - set(names)}"


class SetupError(Exception):
    pass


def _patched_fixture(binary: Path, patches: List[Dict[str, Any]]) -> str:
    """The built-in fixture with the patches applied (``value`` sets a JSON value,
    ``raw`` puts JSON text in place as it is)."""
    import subprocess

    fixture = json.loads(subprocess.run([str(binary), "--print-fixture"], check=True, capture_output=True).stdout)
    raws: List[str] = []
    for patch in patches:
        if "raw" in patch:
            raws.append(patch["raw"])
            value: Any = f"@@raw{len(raws) - 1}@@"
        else:
            value = patch["value"]
        place: Any = fixture
        for step in patch["path"][:-1]:
            place = place[step]
        place[patch["path"][-1]] = value
    text = json.dumps(fixture)
    for i, raw in enumerate(raws):
        text = text.replace(f'"@@raw{i}@@"', raw)
    return text


def _start(binary: Path, setup: Dict[str, Any], tmp: Path) -> Emulator:
    args = ["--workers", "1"]
    if "fixture" in setup:
        path = tmp / "fixture.json"
        path.write_text(_patched_fixture(binary, setup["fixture"]), encoding="utf-8")
        args += ["--fixture", str(path)]
    if "head_timeout_ms" in setup:
        args += ["--head-timeout-ms", str(setup["head_timeout_ms"])]
    try:
        return Emulator(binary, *args)
    except (RuntimeError, ValueError) as e:
        # conftest's Emulator closes stderr before it reads it when the start fails.
        raise SetupError(f"the emulator did not start with {' '.join(args)} ({e})") from None


def _control(emu: Emulator, call: Dict[str, Any]) -> Any:
    return emu.call(call["method"], call["path"], call.get("body"))


def _body_len(emu: Emulator, path: str) -> int:
    """The length of a metadata document's body as the emulator serves it."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    q = "?version=2025-08-26"
    req = urllib.request.Request(emu.url + "/identity/v1/token" + q, method="PUT", headers={"Metadata-Flavor": "ibm"})
    with opener.open(req, timeout=5) as r:
        token = json.loads(r.read())["access_token"]
    req = urllib.request.Request(emu.url + path + q, headers={"Authorization": "Bearer " + token})
    with opener.open(req, timeout=5) as r:
        n = len(r.read())
    emu.reset()
    return n


def _refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _client(emu: Emulator, settings: Dict[str, Any]) -> vpc_imds.Client:
    endpoint = emu.url
    if settings.get("endpoint") == "refused":
        endpoint = f"http://127.0.0.1:{_refused_port()}"
    elif settings.get("endpoint") == "tls_to_plain":  # the emulator does not speak TLS
        endpoint = emu.url.replace("http://", "https://", 1)
    kw: Dict[str, Any] = {"use_env": False}
    for key, name in (("timeout_ms", "timeout"), ("request_timeout_ms", "request_timeout"), ("connect_timeout_ms", "connect_timeout")):
        if key in settings:
            kw[name] = settings[key] / 1000
    for key in ("max_attempts", "version", "token_lifetime"):
        if key in settings:
            kw[key] = settings[key]
    limit = settings.get("max_response_bytes")
    if isinstance(limit, dict):
        kw["max_response_bytes"] = _body_len(emu, limit["body_of"]) + limit.get("plus", 0)
    elif limit is not None:
        kw["max_response_bytes"] = limit
    return vpc_imds.Client(endpoint, **kw)


def _document(doc: Any) -> Any:
    if not isinstance(doc, dict):
        return {"not a JSON object": repr(doc)}
    out: Dict[str, Any] = {k: len(v) for k, v in doc.items() if isinstance(v, list)}
    out["next"] = "next" in doc
    return out


#: Keys of a scenario call that are not its operation's arguments (every other key is
#: passed through by name).
NOT_ARGS = ("op", "concurrent", "pause_ms", "max_ms", "id_utf16")


def _args(step: Dict[str, Any]) -> Dict[str, Any]:
    args = {k: v for k, v in step.items() if k not in NOT_ARGS}
    if "id_utf16" in step:
        units = step["id_utf16"]
        args["id"] = struct.pack(f"<{len(units)}H", *units).decode("utf-16-le", "surrogatepass")
    if "max_ms" in step:
        args["max"] = step["max_ms"] / 1000
    return args


def _claims(jwt: str) -> Any:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _one(client: vpc_imds.Client, step: Dict[str, Any]) -> Any:
    op = step["op"]
    method = getattr(client, op, None)
    if method is None:
        return {"unsupported op": op}
    value = method(**_args(step))
    if op in ("instance", "key", "network_interface", "volume_attachment", "placement_group"):
        return {"id": value.id}
    if op == "initialization":
        dtp = value.default_trusted_profile
        target = dtp.target if dtp is not None else None
        return {"keys": len(value.keys), "default_trusted_profile": target.id if target is not None else None}
    if op in ("identity_token", "iam_token"):
        out = {"expires_in": value.expires_in}
        if "nonce" in step:
            out.update(nonce=value.nonce, nonce_claim=_claims(value.access_token).get("nonce"))
        return out
    if op in ("keys", "placement_groups", "network_interfaces", "volume_attachments"):
        return {"count": len(list(value))}
    if op == "user_data":
        return {"base64": base64.b64encode(bytes(value)).decode()}
    if op in ("get", "get_all"):
        return _document(value)
    if op == "ssh_keys":
        return list(value)
    return value  # wait_until_ready: None


def _record(e: BaseException) -> Dict[str, Any]:
    if isinstance(e, vpc_imds.ImdsError):
        return {"kind": e.kind, "status": e.status, "code": e.code or None, "cause": e.cause, "message": str(e)}
    return {"exception": f"{type(e).__name__}: {e}"}


def _as_stated(got: Dict[str, Any], want: Dict[str, Any]) -> Dict[str, Any]:
    """The error record as the table states one: its message only as far as the
    table's ``message_prefix``, when it has one."""
    got = dict(got)
    message = got.pop("message", "")
    if "message_prefix" in want:
        prefix = want["message_prefix"]
        got["message_prefix"] = prefix if message.startswith(prefix) else message
    return got


class Failed(Exception):
    def __init__(self, record: Dict[str, Any]) -> None:
        self.record = record


def _call(client: vpc_imds.Client, step: Dict[str, Any]) -> Any:
    if "pause_ms" in step:
        time.sleep(step["pause_ms"] / 1000)
    n = step.get("concurrent", 1)

    def once() -> Any:
        try:
            return _one(client, step)
        except Exception as e:  # noqa: BLE001 - every failure is an outcome to compare
            raise Failed(_record(e)) from e

    if n == 1:
        return once()
    barrier = threading.Barrier(n)
    results: List[Any] = [None] * n
    errors: List[Failed] = []

    def work(i: int) -> None:
        barrier.wait()
        try:
            results[i] = once()
        except Failed as f:
            errors.append(f)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    if any(r != results[0] for r in results):
        return {"concurrent results differ": results}
    return results[0]


def _subset(at: str, want: Dict[str, Any], got: Any, diffs: List[str]) -> None:
    for key, value in want.items():
        have = got.get(key, 0) if isinstance(got, dict) else 0
        if isinstance(value, dict):
            _subset(f"{at}.{key}", value, have, diffs)
        elif have != value:
            diffs.append(f"{at}.{key}: expected {value}, got {have}")


def _run(binary: Path, scenario: Dict[str, Any], tmp: Path) -> List[str]:
    """Sets the scenario up, runs it, and lists how the outcome differs from the table."""
    setup = scenario.get("emulator", {})
    emu = _start(binary, setup, tmp)
    try:
        for call in setup.get("control", []):
            _control(emu, call)
        client = _client(emu, scenario.get("client", {}))
        started = time.monotonic()
        outcome: Dict[str, Any]
        try:
            if isinstance(scenario["call"], list):
                values = []
                for step in scenario["call"]:
                    if "control" in step:
                        _control(emu, step["control"])
                    else:
                        values.append(_call(client, step))
                outcome = {"value": values}
            else:
                outcome = {"value": _call(client, scenario["call"])}
        except Failed as f:
            outcome = {"error": f.record}
        elapsed = (time.monotonic() - started) * 1000
        client.close()
        expect = scenario["expect"]
        diffs: List[str] = []
        if "value" in expect:
            if "error" in outcome or not _matches(expect["value"], outcome.get("value", "<none>")):
                diffs.append(f"expected value {json.dumps(expect['value'])}, got {json.dumps(outcome)}")
        elif "error" not in outcome or _as_stated(outcome["error"], expect["error"]) != expect["error"]:
            diffs.append(f"expected error {json.dumps(expect['error'])}, got {json.dumps(outcome)}")
        limits = expect.get("elapsed_ms", {})
        if elapsed < limits.get("min", 0) or elapsed > limits.get("max", float("inf")):
            diffs.append(f"took {elapsed:.0f} ms, expected {limits}")
        if "requests" in expect:
            _subset("requests", expect["requests"], emu.counters(), diffs)
        return diffs
    finally:
        emu.stop()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
def test_scenario(scenario: Dict[str, Any], emulator_binary: Path, tmp_path: Path) -> None:
    name = scenario["name"]
    why_not: Optional[str] = scenario.get("not_applicable", {}).get(HOST)
    if why_not:
        pytest.skip(f"not applicable to {HOST}: {why_not}")
    try:
        diffs = _run(emulator_binary, scenario, tmp_path)
    except SetupError as e:
        diffs = [f"setup failed: {e}"]
    if name in KNOWN:
        assert diffs, f"{name} is listed in KNOWN ({KNOWN[name]}) but now passes: remove the entry"
        print(f"known divergence {name}: {KNOWN[name]} [differs: {'; '.join(diffs)}]")
    else:
        assert not diffs, "; ".join(diffs)


def _matches(want: Any, got: Any) -> bool:
    """Equal, except that ``{"min": a, "max": b}`` matches any number in that range."""
    if isinstance(want, dict) and want and set(want) <= {"min", "max"}:
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            return False
        return want.get("min", got) <= got <= want.get("max", got)
    if isinstance(want, dict) and isinstance(got, dict):
        return want.keys() == got.keys() and all(_matches(want[k], got[k]) for k in want)
    if isinstance(want, list) and isinstance(got, list):
        return len(want) == len(got) and all(_matches(w, g) for w, g in zip(want, got))
    return bool(want == got)
