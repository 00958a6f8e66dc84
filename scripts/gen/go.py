"""Go: the error kinds (constants and sentinels) and the settings' option names."""

from __future__ import annotations

import subprocess
from typing import Any, Dict

from . import BANNER, pascal

KINDS = "bindings/go/kinds.go"


def kinds(desc: Dict[str, Any]) -> str:
    ks = desc["errors"]["kinds"]
    out = [f"// {BANNER}\n\npackage imds\n\n"]
    out.append("// Kind is an error kind, the same in every vpc-imds binding. Each Kind is itself\n")
    out.append("// an error, the sentinel of its kind: errors.Is(err, imds.ErrNotFound).\ntype Kind string\n\n")
    out.append("// The error kinds.\nconst (\n")
    for k in ks:
        out.append(f"\t// Kind{pascal(k['kind'])}: {k['doc']}\n\tKind{pascal(k['kind'])} Kind = \"{k['kind']}\"\n")
    out.append(")\n\n// Sentinels, one per kind, for errors.Is.\nvar (\n")
    for k in ks:
        out.append(f"\t{k['go']} error = Kind{pascal(k['kind'])}\n")
    out.append(")\n")
    return gofmt("".join(out))


def gofmt(text: str) -> str:
    """The text as gofmt leaves it (the Go step checks formatting)."""
    try:
        done = subprocess.run(["gofmt"], input=text, capture_output=True, text=True, check=True)
    except FileNotFoundError:
        return text
    return done.stdout


def outputs(desc: Dict[str, Any], repo: str) -> Dict[str, str]:
    return {KINDS: kinds(desc)}
