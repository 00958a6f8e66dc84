#!/usr/bin/env python3
"""Writes every per-language surface from the one description, api/vpc-imds.json.

    python3 scripts/generate.py            # write the generated files
    python3 scripts/generate.py --check    # fail (exit 1) if any is stale or edited by hand

Each target in scripts/gen/ (rust, python, js, kotlin, go, readme) turns the
description into {path: text}; a generated file says so in its first line.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gen import TARGETS, load  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 when stale")
    ap.add_argument("--repo", default=REPO, help="the checkout to write into (default: this one)")
    opts = ap.parse_args()
    desc = load(os.path.join(opts.repo, "api", "vpc-imds.json"))
    stale = []
    for target in TARGETS:
        for rel, text in target.outputs(desc, opts.repo).items():
            path = os.path.join(opts.repo, rel)
            old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
            if old == text:
                continue
            if opts.check:
                stale.append(rel)
                diff = difflib.unified_diff((old or "").splitlines(), text.splitlines(), rel, "generated", lineterm="", n=1)
                sys.stderr.write("\n".join(list(diff)[:20]) + "\n")
            else:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
                print(f"wrote {rel}")
    if stale:
        print(f"stale generated files (run python3 scripts/generate.py): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
