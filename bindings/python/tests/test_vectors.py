"""Runs every case of the shared test vectors (tests/vectors/*.json) through the
binding's client machine, ``vpc_imds._core.Machine``, on the vectors' clock.

Raw HTTP responses go through the machine's reader via ``Machine.feed``, in three
chunkings (all at once, 1 byte, 7 bytes), with end of stream signalled if the
reader still wants more; parsed responses go through ``Machine.respond``;
page-merging cases through ``_core.merge_pages``. Outputs are checked on the
binding's typed objects (``to_dict()``), errors on the binding's exceptions. The
format is described in tests/vectors/README.md.

Where the vectors state the single-operation driver's view, the runner acts as a
machine host does: the machine leaves a request's deadline to the host's reads
(it says *read*, where the driver says *wait until the request deadline*), so
at the deadline the runner reports ``response_timeout``; and the machine runs any
number of operations at once, so in "a second start while busy is refused" the
second start must succeed and leave the first operation's steps unchanged. The
machine mixes its seed before its first operation's driver gets it: the runner
passes the seed that mixes into the vector's.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

import vpc_imds
from vpc_imds import _core

from conftest import VECTORS

SEND, READ, CLOSE, BACKOFF, AWAIT, PAGE, DONE, FAILED = range(8)
MANY_AT_ONCE = "a second start while busy is refused"

_FILES = sorted(VECTORS.glob("*.json"))


def _cases() -> List[Tuple[str, Dict[str, Any]]]:
    cases = []
    for path in _FILES:
        for case in json.loads(path.read_text("utf-8"))["cases"]:
            cases.append((f"{path.stem}: {case['name']}", case))
    return cases


CASES = _cases()


def test_vectors_are_found() -> None:
    assert len(_FILES) >= 5, f"no vector files in {VECTORS}"
    assert len(CASES) >= 100
    names = [name for name, _ in CASES]
    assert len(names) == len(set(names)), "duplicate case names"


def _unmix(z: int) -> int:
    """The machine seed whose SplitMix64 step is ``z`` (the driver's jitter seed)."""
    mask = (1 << 64) - 1

    def unshift(v: int, n: int) -> int:
        x = v
        for _ in range(64 // n + 1):
            x = v ^ (x >> n)
        return x & mask

    z = unshift(z, 31)
    z = unshift(z * pow(0x94D049BB133111EB, -1, 1 << 64) & mask, 27)
    z = unshift(z * pow(0xBF58476D1CE4E5B9, -1, 1 << 64) & mask, 30)
    return (z - 0x9E3779B97F4A7C15) & mask


def _machine(config: Dict[str, Any]) -> _core.Machine:
    ms = lambda key: config[key] / 1000 if key in config else None  # noqa: E731
    return _core.Machine(
        config.get("endpoint"),
        on_woken=lambda ids: None,  # an event-loop host: token waits come back as steps
        seed=_unmix(config.get("seed", 1)),
        version=config.get("version"),
        token_lifetime=config.get("token_lifetime"),
        timeout=ms("operation_timeout_ms"),
        request_timeout=ms("request_timeout_ms"),
        max_attempts=config.get("max_attempts"),
        base_delay=ms("base_delay_ms"),
        max_delay=ms("max_delay_ms"),
        max_response_bytes=config.get("buffer", 65536),
    )


def _settle(m: _core.Machine, op: int, step: Any) -> Any:
    """The step after any connection closes (a socket host's matter)."""
    while step[0] == CLOSE:
        step = m.step(op)
    return step


_MISSING = object()


def _lookup(doc: Any, path: str) -> Any:
    parts = path.split(".")
    for i, part in enumerate(parts):
        if part == "#" and i == len(parts) - 1:
            return len(doc) if isinstance(doc, list) else _MISSING
        if isinstance(doc, list):
            try:
                doc = doc[int(part)]
            except (ValueError, IndexError):
                return _MISSING
        elif isinstance(doc, dict):
            if part not in doc:
                return _MISSING
            doc = doc[part]
        else:
            return _MISSING
    return doc


def _check_output(ctx: str, step: Any, want: Dict[str, Any]) -> None:
    out = step[1]
    assert step[2] == want["type"], f"{ctx}: output type"
    if want["type"] == "raw":
        assert isinstance(out, dict), f"{ctx}: raw output is a dict"
        doc = out
    else:
        assert isinstance(out, vpc_imds.Model), f"{ctx}: output is a typed model, got {type(out)}"
        doc = out.to_dict()
    if "json" in want:
        assert doc == want["json"], f"{ctx}: raw document"
    for path, value in want.get("fields", {}).items():
        got = _lookup(doc, path)
        expected = value
        if got is _MISSING:
            got = None
        assert got == expected, f"{ctx}: field {path}: {got!r} != {expected!r}"
    if want["type"] in ("identity_token", "iam_token"):
        assert isinstance(out, vpc_imds.Token)
        assert out.access_token not in repr(out), f"{ctx}: repr leaks the token"


def _check_error(ctx: str, exc: BaseException, want: Dict[str, Any]) -> None:
    assert isinstance(exc, vpc_imds.ImdsError), f"{ctx}: {exc!r} is not an ImdsError"
    assert exc.kind == want["kind"], f"{ctx}: kind {exc.kind} ({exc})"
    assert type(exc) is vpc_imds._errors.BY_KIND[want["kind"]], f"{ctx}: class {type(exc).__name__}"
    assert "eyJ" not in str(exc), f"{ctx}: error text leaks a token: {exc}"
    assert "eyJ" not in repr(exc), f"{ctx}: error repr leaks a token"
    if "status" in want:
        assert exc.status == want["status"], f"{ctx}: status"
    for key in ("code", "trace", "message"):
        if key in want:
            # The core's "absent" is an empty string; the binding's is None.
            assert (getattr(exc, key) or "") == want[key], f"{ctx}: {key}"
    if "cause" in want:
        assert exc.cause == want["cause"], f"{ctx}: cause"


def _check_event(ctx: str, step: Any, want: Any) -> None:
    if want == "pending":
        assert step[0] in (SEND, BACKOFF), f"{ctx}: expected pending, got {step!r}"
    elif isinstance(want, dict) and "page" in want:
        assert step[0] == PAGE, f"{ctx}: expected a page, got {step!r}"
        _check_output(ctx, step, want["page"])
    elif isinstance(want, dict) and "done" in want:
        assert step[0] == DONE, f"{ctx}: expected done, got {step!r}"
        _check_output(ctx, step, want["done"])
    elif isinstance(want, dict) and "failed" in want:
        assert step[0] == FAILED, f"{ctx}: expected failure, got {step!r}"
        _check_error(ctx, step[1], want["failed"])
    else:
        raise AssertionError(f"{ctx}: unknown expectation {want!r}")


def _feed_raw(m: _core.Machine, op: int, raw: bytes, chunk: int) -> Any:
    size = max(len(raw), 1) if chunk == 0 else chunk
    for i in range(0, len(raw), size):
        step = m.feed(op, raw[i : i + size])
        if step[0] != READ:
            return step
    step = m.feed(op, b"")  # end of stream
    assert step[0] != READ, "the reader wants more after end of stream"
    return step


def _body(resp: Dict[str, Any]) -> bytes:
    if "body" in resp:
        return resp["body"].encode("utf-8")
    if "body_file" in resp:
        return (VECTORS / resp["body_file"]).read_bytes()
    return b""


def _run_case(case: Dict[str, Any], chunk: int) -> None:
    """Machine semantics (as driver/tests/vectors.rs for the driver): the step
    returned after a ``pending`` answer is the next vector step's; a failure is
    reported once and ends the operation, so a ``poll_failed`` right after a fed
    failure, and ``idle``, meet a machine with no operation."""
    m = _machine(case.get("config", {}))
    op = 0
    pending: Optional[Any] = None
    just_failed = False
    deadline = 0  # of the request in flight
    for i, step in enumerate(case["steps"]):
        ctx = f"{case['name']} [chunk {chunk}] step {i}"
        at = step.get("at", 0)
        m.clock(fix=at)

        def next_step() -> Any:
            nonlocal pending, deadline
            got, pending = pending, None
            got = got if got is not None else _settle(m, op, m.step(op))
            if got[0] == READ and at >= deadline:  # the host's read timer
                got = _settle(m, op, m.fail(op, "response_timeout"))
            if got[0] == SEND:
                deadline = at + round(got[3].timeout * 1000)
            return got

        if "start" in step:
            just_failed = False
            args = {k: v for k, v in step["start"].items() if k != "op"}
            if case["name"] == MANY_AT_ONCE and m.operations:
                assert m.start(step["start"]["op"], **args) != op, f"{ctx}: a second operation runs"
            elif "error" in step:
                with pytest.raises(vpc_imds.ImdsError) as info:
                    m.start(step["start"]["op"], **args)
                _check_error(ctx, info.value, step["error"])
            else:
                op = m.start(step["start"]["op"], **args)
            continue
        failed_before, just_failed = just_failed, False
        if "send" in step:
            got = next_step()
            assert got[0] == SEND, f"{ctx}: expected send, got {got!r}"
            req = got[3]
            want = step["send"]
            if "method" in want:
                assert req.method == want["method"], f"{ctx}: method"
            if "target" in want:
                assert req.target == want["target"], f"{ctx}: target"
            if "headers" in want:
                assert [list(h) for h in req.headers] == want["headers"], f"{ctx}: headers"
            if "body" in want:
                body = req.body
                assert (body.decode("utf-8") if body is not None else None) == want["body"], f"{ctx}: body"
            if "raw" in want:
                assert req.wire.decode("utf-8") == want["raw"], f"{ctx}: raw"
            assert req.url.endswith(req.target)
            assert "eyJ" not in repr(req), f"{ctx}: repr leaks the token: {req!r}"
        elif "wait" in step:
            got = next_step()
            if got[0] == READ:  # the answer is awaited until the request deadline
                assert step["wait"] == deadline, f"{ctx}: expected wait, the request deadline is {deadline}"
                continue
            assert got[0] == BACKOFF and got[2] == step["wait"], f"{ctx}: expected wait, got {got!r}"
        elif "poll_failed" in step:
            if failed_before and m.operations == 0:
                continue
            got = next_step()
            assert got[0] == FAILED, f"{ctx}: expected failure, got {got!r}"
            _check_error(ctx, got[1], step["poll_failed"])
        elif "idle" in step:
            assert pending is None and m.operations == 0, f"{ctx}: expected idle"
        elif "respond" in step or "transport_error" in step:
            if "transport_error" in step:
                got = m.fail(op, step["transport_error"])
            elif "raw" in step["respond"]:
                got = _feed_raw(m, op, step["respond"]["raw"].encode("utf-8"), chunk)
            else:
                resp = step["respond"]
                retry_after = resp.get("retry_after")  # as the header says it
                got = m.respond(op, resp["status"], _body(resp), None if retry_after is None else str(retry_after))
            got = _settle(m, op, got)
            if got[0] == SEND:
                deadline = at + round(got[3].timeout * 1000)
            _check_event(ctx, got, step["expect"])
            just_failed = got[0] == FAILED
            if step["expect"] == "pending":
                pending = got
        else:
            raise AssertionError(f"{ctx}: unknown step {step!r}")


def _run_merge(case: Dict[str, Any]) -> None:
    pages = [p.encode("utf-8") for p in case["merge"]]
    if isinstance(case["expect"], str):
        assert _core.merge_pages(pages) == json.loads(case["expect"]), case["name"]
    else:
        with pytest.raises(vpc_imds.BadResponse):
            _core.merge_pages(pages)


def _run_user_data(case: Dict[str, Any]) -> None:
    data = vpc_imds.UserData(base64.b64decode(case["user_data"]))
    expect = case["expect"]
    assert data.is_multipart is expect["multipart"], case["name"]
    if "error" in expect:
        with pytest.raises(vpc_imds.BadResponse) as e:
            data.parts()
        assert str(e.value) == expect["error"], case["name"]
        return
    got = [
        {"content_type": p.content_type, "filename": p.filename, "charset": p.charset, "payload": base64.b64encode(p.payload).decode()}
        for p in data.parts()
    ]
    assert got == expect["parts"], case["name"]


@pytest.mark.parametrize("name,case", CASES, ids=[name for name, _ in CASES])
def test_vector(name: str, case: Dict[str, Any]) -> None:
    if "user_data" in case:
        _run_user_data(case)
        return
    if "merge" in case:
        _run_merge(case)
        return
    has_raw = any("raw" in step.get("respond", {}) for step in case["steps"])
    for chunk in (0, 1, 7) if has_raw else (0,):
        _run_case(case, chunk)
