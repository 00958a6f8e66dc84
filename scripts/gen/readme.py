"""README.md: the tables of operations, error kinds and settings (regions between
`<!-- @generated:NAME -->` marks; the rest of the README is hand-written)."""

from __future__ import annotations

import os
from typing import Any, Dict

from . import BANNER, splice, visible_args

README = "README.md"


def cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def returns(op: Dict[str, Any]) -> str:
    r = op["returns"]
    text = {"none": "nothing", "bytes": "user data (bytes)", "lines": "`authorized_keys` lines",
            "json": "JSON document", "Token": "`Token`"}.get(r, f"`{r}`")
    if op.get("paged"):
        text = f"{'items' if r.startswith('[') else 'pages'}, lazily: {text}"
    return text


def arg(a: Dict[str, Any]) -> str:
    limits = []
    if "min" in a:
        limits.append(f"{a['min']}..{a['max']}")
    if "max_len" in a:
        limits.append(f"≤ {a['max_len']} B")
    extra = f" ({', '.join(limits)})" if limits else ""
    return f"`{a['name']}`{'?' if a.get('optional') else ''}{extra}"


def tables(desc: Dict[str, Any]) -> Dict[str, str]:
    note = f"<!-- {BANNER} -->\n"
    ops = [note, "| operation | arguments | returns | what it does |\n|---|---|---|---|\n"]
    for op in desc["operations"]:
        args = ", ".join(arg(a) for a in visible_args(op)) or "—"
        ops.append(f"| `{op['name']}` | {args} | {returns(op)} | {cell(op['doc'])} |\n")
    errs = [note, "| kind | Python | JavaScript | Kotlin | Go | when |\n|---|---|---|---|---|---|\n"]
    for k in desc["errors"]["kinds"]:
        errs.append(f"| `{k['kind']}` | `{k['python']}` | `{k['js']}` | `{k['kotlin']}` | `{k['go']}` | {cell(k['doc'])} |\n")
    errs.append("\nEvery error carries the same record: "
                + ", ".join(f"`{f['name']}`" for f in desc["errors"]["fields"]) + ".\n")
    sets = [note, "| setting | type | default | range | what |\n|---|---|---|---|---|\n"]
    for s in desc["settings"]:
        unit = f" {s['unit']}" if s.get("unit") else ""
        default = "—" if s["default"] is None else f"`{str(s['default']).lower() if isinstance(s['default'], bool) else s['default']}`{unit}"
        rng = f"{s['min']}..{s['max']}{unit}" if "min" in s else "—"
        sets.append(f"| `{s['name']}` | {s['type']} | {default} | {rng} | {cell(s['doc'])} |\n")
    return {"operations": "".join(ops), "errors": "".join(errs), "settings": "".join(sets)}


def outputs(desc: Dict[str, Any], repo: str) -> Dict[str, str]:
    with open(os.path.join(repo, README), encoding="utf-8") as f:
        text = f.read()
    for name, body in tables(desc).items():
        text = splice(text, name, body)
    return {README: text}
