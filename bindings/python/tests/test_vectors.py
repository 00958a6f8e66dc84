"""Runs every case of the shared test vectors (tests/vectors/*.json) through the
binding's low-level session, ``vpc_imds._core.Session``.

Raw HTTP responses go through the core's reader via ``Session.feed``, in three
chunkings (all at once, 1 byte, 7 bytes), with end of stream signalled if the
reader still wants more; parsed responses go through ``Session.on_response``.
Outputs are checked on the binding's typed objects (``to_dict()``), errors on the
binding's exceptions. The format is described in tests/vectors/README.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

import vpc_imds
from vpc_imds import _core

from conftest import VECTORS

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


def _session(config: Dict[str, Any]) -> _core.Session:
    return _core.Session(
        config.get("endpoint"),
        version=config.get("version"),
        token_lifetime=config.get("token_lifetime"),
        operation_timeout_ms=config.get("operation_timeout_ms"),
        request_timeout_ms=config.get("request_timeout_ms"),
        max_attempts=config.get("max_attempts"),
        base_delay_ms=config.get("base_delay_ms"),
        max_delay_ms=config.get("max_delay_ms"),
        seed=config.get("seed", 1),
        max_response_bytes=config.get("buffer", 65536),
    )


def _start(session: _core.Session, op: Dict[str, Any], at: int) -> None:
    args = {k: v for k, v in op.items() if k != "op"}
    session.start(op["op"], at, **args)


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


def _check_output(ctx: str, session: _core.Session, out: Any, want: Dict[str, Any]) -> None:
    assert session.output_type == want["type"], f"{ctx}: output type"
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


def _check_event(ctx: str, session: _core.Session, event: Tuple[int, Any], want: Any) -> None:
    kind, value = event
    if want == "pending":
        assert kind == _core.EVENT_PENDING and value is None, f"{ctx}: expected pending, got {event!r}"
    elif isinstance(want, dict) and "page" in want:
        assert kind == _core.EVENT_PAGE, f"{ctx}: expected a page, got {event!r}"
        _check_output(ctx, session, value, want["page"])
    elif isinstance(want, dict) and "done" in want:
        assert kind == _core.EVENT_DONE, f"{ctx}: expected done, got {event!r}"
        _check_output(ctx, session, value, want["done"])
    elif isinstance(want, dict) and "failed" in want:
        assert kind == _core.EVENT_FAILED, f"{ctx}: expected failure, got {event!r}"
        _check_error(ctx, value, want["failed"])
    else:
        raise AssertionError(f"{ctx}: unknown expectation {want!r}")


def _feed_raw(session: _core.Session, raw: bytes, chunk: int, at: int) -> Tuple[int, Any]:
    size = max(len(raw), 1) if chunk == 0 else chunk
    for i in range(0, len(raw), size):
        event: Optional[Tuple[int, Any]] = session.feed(raw[i : i + size], at)
        if event is not None:
            return event
    event = session.feed(b"", at)  # end of stream
    assert event is not None, "the reader wants more after end of stream"
    return event


def _body(resp: Dict[str, Any]) -> bytes:
    if "body" in resp:
        return resp["body"].encode("utf-8")
    if "body_file" in resp:
        return (VECTORS / resp["body_file"]).read_bytes()
    return b""


def _run(case: Dict[str, Any], chunk: int) -> None:
    session = _session(case.get("config", {}))
    for i, step in enumerate(case["steps"]):
        ctx = f"{case['name']} [chunk {chunk}] step {i}"
        at = step.get("at", 0)
        if "start" in step:
            if "error" in step:
                with pytest.raises(vpc_imds.ImdsError) as info:
                    _start(session, step["start"], at)
                _check_error(ctx, info.value, step["error"])
            else:
                _start(session, step["start"], at)
        elif "send" in step:
            kind, req = session.poll(at)
            assert kind == _core.ACTION_SEND, f"{ctx}: expected send, got {(kind, req)!r}"
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
            kind, until = session.poll(at)
            assert (kind, until) == (_core.ACTION_WAIT, step["wait"]), f"{ctx}: expected wait"
        elif "poll_failed" in step:
            kind, exc = session.poll(at)
            assert kind == _core.ACTION_FAILED, f"{ctx}: expected failure, got {(kind, exc)!r}"
            _check_error(ctx, exc, step["poll_failed"])
        elif "idle" in step:
            assert session.poll(at) == (_core.ACTION_IDLE, None), f"{ctx}: expected idle"
        elif "respond" in step:
            resp = step["respond"]
            if "raw" in resp:
                event = _feed_raw(session, resp["raw"].encode("utf-8"), chunk, at)
            else:
                event = session.on_response(resp["status"], _body(resp), at, resp.get("retry_after"))
            _check_event(ctx, session, event, step["expect"])
        elif "transport_error" in step:
            event = session.on_transport_error(step["transport_error"], at)
            _check_event(ctx, session, event, step["expect"])
        else:
            raise AssertionError(f"{ctx}: unknown step {step!r}")


@pytest.mark.parametrize("name,case", CASES, ids=[name for name, _ in CASES])
def test_vector(name: str, case: Dict[str, Any]) -> None:
    has_raw = any("raw" in step.get("respond", {}) for step in case["steps"])
    for chunk in (0, 1, 7) if has_raw else (0,):
        _run(case, chunk)
