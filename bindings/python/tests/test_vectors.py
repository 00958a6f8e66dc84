"""Runs every case of the shared test vectors (tests/vectors/*.json) through the
binding's run of the shared driver, ``vpc_imds._core.Run``.

Raw HTTP responses go through the driver's reader via ``Run.feed``, in three
chunkings (all at once, 1 byte, 7 bytes), with end of stream signalled if the
reader still wants more; parsed responses go through ``Run.respond``; page-merging
cases through ``_core.merge_pages``.
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


def _run(config: Dict[str, Any]) -> _core.Run:
    ms = lambda key: config[key] / 1000 if key in config else None  # noqa: E731
    cfg = _core.Config(
        config.get("endpoint"),
        version=config.get("version"),
        token_lifetime=config.get("token_lifetime"),
        timeout=ms("operation_timeout_ms"),
        request_timeout=ms("request_timeout_ms"),
        max_attempts=config.get("max_attempts"),
        base_delay=ms("base_delay_ms"),
        max_delay=ms("max_delay_ms"),
        max_response_bytes=config.get("buffer", 65536),
    )
    return _core.Run(cfg, _core.Tokens(), config.get("seed", 1))


def _start(run: _core.Run, op: Dict[str, Any], at: int) -> None:
    args = {k: v for k, v in op.items() if k != "op"}
    run.start(op["op"], at, **args)


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
    out = step.value
    assert step.type == want["type"], f"{ctx}: output type"
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
        assert type(step) in (_core.Send, _core.Wait), f"{ctx}: expected pending, got {step!r}"
    elif isinstance(want, dict) and "page" in want:
        assert type(step) is _core.Page, f"{ctx}: expected a page, got {step!r}"
        _check_output(ctx, step, want["page"])
    elif isinstance(want, dict) and "done" in want:
        assert type(step) is _core.Done, f"{ctx}: expected done, got {step!r}"
        _check_output(ctx, step, want["done"])
    elif isinstance(want, dict) and "failed" in want:
        assert type(step) is _core.Failed, f"{ctx}: expected failure, got {step!r}"
        _check_error(ctx, step.error, want["failed"])
    else:
        raise AssertionError(f"{ctx}: unknown expectation {want!r}")


def _awaited(pending: Optional[Any], last: Optional[Any]) -> int:
    assert last is not None, "a request was sent"
    return last.id  # type: ignore[no-any-return]


def _feed_raw(run: _core.Run, rid: int, raw: bytes, chunk: int, at: int) -> Any:
    size = max(len(raw), 1) if chunk == 0 else chunk
    for i in range(0, len(raw), size):
        step = run.feed(rid, raw[i : i + size], at)
        if type(step) is not _core.Read:
            return step
    step = run.feed(rid, b"", at)  # end of stream
    assert type(step) is not _core.Read, "the reader wants more after end of stream"
    return step


def _body(resp: Dict[str, Any]) -> bytes:
    if "body" in resp:
        return resp["body"].encode("utf-8")
    if "body_file" in resp:
        return (VECTORS / resp["body_file"]).read_bytes()
    return b""


def _run_case(case: Dict[str, Any], chunk: int) -> None:
    """Driver semantics (see driver/tests/vectors.rs): the step returned after a
    ``pending`` answer is the next vector step's; a failure is reported once, so a
    ``poll_failed`` right after a fed failure meets an idle run."""
    run = _run(case.get("config", {}))
    pending: Optional[Any] = None
    last: Optional[Any] = None
    just_failed = False
    for i, step in enumerate(case["steps"]):
        ctx = f"{case['name']} [chunk {chunk}] step {i}"
        at = step.get("at", 0)

        def next_step() -> Any:
            nonlocal pending
            got, pending = pending, None
            return got if got is not None else run.step(at)

        if "start" in step:
            just_failed = False
            if "error" in step:
                with pytest.raises(vpc_imds.ImdsError) as info:
                    _start(run, step["start"], at)
                _check_error(ctx, info.value, step["error"])
            else:
                _start(run, step["start"], at)
            continue
        failed_before, just_failed = just_failed, False
        if "send" in step:
            got = next_step()
            assert type(got) is _core.Send, f"{ctx}: expected send, got {got!r}"
            req = last = got.request
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
            assert type(got) is _core.Wait and got.until_ms == step["wait"], f"{ctx}: expected wait, got {got!r}"
        elif "poll_failed" in step:
            got = next_step()
            if type(got) is _core.Idle and failed_before:
                continue
            assert type(got) is _core.Failed, f"{ctx}: expected failure, got {got!r}"
            _check_error(ctx, got.error, step["poll_failed"])
        elif "idle" in step:
            got = next_step()
            assert type(got) is _core.Idle, f"{ctx}: expected idle, got {got!r}"
        elif "respond" in step or "transport_error" in step:
            rid = _awaited(pending, last)
            if "transport_error" in step:
                got = run.fail(rid, step["transport_error"], at)
            elif "raw" in step["respond"]:
                got = _feed_raw(run, rid, step["respond"]["raw"].encode("utf-8"), chunk, at)
            else:
                resp = step["respond"]
                got = run.respond(rid, resp["status"], _body(resp), at, resp.get("retry_after"))
            _check_event(ctx, got, step["expect"])
            just_failed = type(got) is _core.Failed
            if step["expect"] == "pending":
                pending = got
                if type(got) is _core.Send:
                    last = got.request
        else:
            raise AssertionError(f"{ctx}: unknown step {step!r}")


def _run_merge(case: Dict[str, Any]) -> None:
    pages = [p.encode("utf-8") for p in case["merge"]]
    if isinstance(case["expect"], str):
        assert _core.merge_pages(pages) == json.loads(case["expect"]), case["name"]
    else:
        with pytest.raises(vpc_imds.BadResponse):
            _core.merge_pages(pages)


@pytest.mark.parametrize("name,case", CASES, ids=[name for name, _ in CASES])
def test_vector(name: str, case: Dict[str, Any]) -> None:
    if "merge" in case:
        _run_merge(case)
        return
    has_raw = any("raw" in step.get("respond", {}) for step in case["steps"])
    for chunk in (0, 1, 7) if has_raw else (0,):
        _run_case(case, chunk)
