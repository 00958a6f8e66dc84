#!/usr/bin/env python3
"""Hand-written code lines per binding: source files git tracks under bindings/<name>
(and the std client's library), neither blank nor comment lines, tests, examples,
benches and build outputs aside (a Rust file's `#[cfg(test)] mod` block too), files
whose first three lines say @generated or DO NOT EDIT aside.

    python3 scripts/binding-lines.py [--rev REV]

With --rev, counts the tree of that revision instead of the working tree.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

EXT = {".rs", ".py", ".pyi", ".js", ".mjs", ".cjs", ".ts", ".mts", ".kt", ".go", ".c", ".h"}
# `compare`: the Go package's bench programs (compare/run.sh times them beside net/http
# and go-sdk-core); no part of the package.
SKIP_DIRS = {"tests", "test", "examples", "bench", "benches", "compare", "node_modules", "target",
             "pkg", ".m2", ".tools", "dist", "__pycache__", "testdata", "build", ".venv"}
#: The client's host: the loop around the machine, the transport and TLS (the rest of
#: its library is public types: documents, errors, traces, user data).
HOST_FILES = ("client.rs", "transport.rs", "tls.rs")
TEST_FILES = (".test.mjs", ".test.js", "_test.go", "_test.py")


def files(rev: str | None) -> list[str]:
    cmd = ["git", "ls-tree", "-r", "--name-only", rev] if rev else ["git", "ls-files"]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()


def read(path: str, rev: str | None) -> str:
    if rev:
        return subprocess.run(["git", "show", f"{rev}:{path}"], capture_output=True, text=True).stdout
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def without_test_modules(text: str) -> str:
    """Rust: drops each `#[cfg(test)]` module, attribute to closing brace."""
    out: list[str] = []
    depth = -1  # inside a test module when >= 0
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if depth >= 0:
            depth += line.count("{") - line.count("}")
            if depth <= 0:
                depth = -1
            continue
        following = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if line.strip() == "#[cfg(test)]" and re.fullmatch(r"(pub(\(\w+\))? )?mod \w+ \{", following):
            depth = 0
            continue
        out.append(line)
    return "\n".join(out)


def count(text: str, python: bool) -> int:
    if re.search(r"@generated|DO NOT EDIT", "\n".join(text.splitlines()[:3]), re.I):
        return 0
    if not python:
        text = without_test_modules(text)
    n = 0
    in_block = in_doc = False
    for line in text.splitlines():
        s = line.strip()
        if not s:
            continue
        if python:
            if in_doc:
                in_doc = not s.endswith(('"""', "'''"))
                continue
            if s.startswith(('"""', "'''")):
                in_doc = not (len(s) >= 6 and s.endswith(s[:3]))
                continue
            if s.startswith("#"):
                continue
        else:
            if in_block:
                in_block = "*/" not in s
                continue
            if s.startswith("/*"):
                in_block = "*/" not in s
                continue
            if s.startswith(("//", "*")):
                continue
        n += 1
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rev")
    rev = ap.parse_args().rev
    per: dict[str, int] = {}
    for path in files(rev):
        parts = path.split("/")
        if parts[0] == "bindings" and len(parts) > 2:
            name = parts[1]
        elif parts[0] == "client" and parts[1:2] == ["src"] and parts[-1] not in ("main.rs", "doctor.rs", "demo.rs"):
            name = "client (library)"
        else:
            continue
        if any(p in SKIP_DIRS or p.startswith(".") for p in parts[:-1]):
            continue
        if os.path.splitext(path)[1] not in EXT or path.endswith(TEST_FILES):
            continue
        per[name] = per.get(name, 0) + count(read(path, rev), path.endswith((".py", ".pyi")))
        if name == "client (library)" and parts[-1] in HOST_FILES:
            per["client (host)"] = per.get("client (host)", 0) + count(read(path, rev), False)
    bindings = {k: v for k, v in per.items() if not k.startswith("client")}
    for name, n in sorted(per.items()):
        print(f"{name:<20} {n:>6}")
    print(f"{'bindings total':<20} {sum(bindings.values()):>6}")
    print(js_share(rev))
    return 0


def js_share(rev: str | None) -> str:
    """How much of each npm package's JavaScript is the shared layer (bindings/js, the
    IBM authenticator only in vpc-imds) against its own (bindings/<package>/js)."""
    lines: dict[str, int] = {}
    for path in files(rev):
        parts = path.split("/")
        if len(parts) == 3 and parts[0] == "bindings" and parts[1] == "js" and parts[2].endswith(".js") \
                and parts[2] != "build.mjs":
            lines["shared/" + parts[2]] = count(read(path, rev), False)
        elif len(parts) == 4 and parts[0] == "bindings" and parts[2] == "js" and parts[3].endswith(".js"):
            lines[parts[1] + "/" + parts[3]] = lines.get(parts[1] + "/" + parts[3], 0) + count(read(path, rev), False)
    out = []
    for pkg in ("node", "wasm"):
        shared = sum(n for k, n in lines.items() if k.startswith("shared/") and (pkg == "node" or not k.startswith("shared/ibm")))
        own = sum(n for k, n in lines.items() if k.startswith(pkg + "/"))
        out.append(f"{pkg} {100 * shared / max(shared + own, 1):.1f} % ({shared} shared, {own} own)")
    return "JavaScript of the npm packages that is shared: " + ", ".join(out)


if __name__ == "__main__":
    sys.exit(main())
