"""The std client (`client/`): the builder's setting setters, the methods of the
operations that take plain arguments, and the document kinds they return."""

from __future__ import annotations

from typing import Any, Dict, List

from . import BANNER, pascal
from .rust import doc, rustfmt

API = "client/src/client_api.rs"
KINDS = "client/src/kinds.rs"

#: Hand-written in `client.rs`: several forms (identity_token), a profile enum
#: (iam_token), or what the driver makes of pages (user_data, ssh_keys, get_all,
#: wait_until_ready).
HAND_WRITTEN = {"identity_token", "iam_token"}


def kind(op: Dict[str, Any]) -> str:
    model = op["core"]["model"]
    if model == "raw":
        return "Json"
    return model if model == "AccessToken" else pascal(op["name"])


def generated_ops(desc: Dict[str, Any]) -> List[Dict[str, Any]]:
    by_name = {op["name"]: op for op in desc["operations"]}
    out = []
    for op in desc["operations"]:
        core = by_name[op.get("op", op["name"])]
        if not core.get("core") or op["name"] in HAND_WRITTEN:
            continue
        out.append(dict(op, machine=core["name"], core=core["core"], args=core["args"]))
    return out


def param(arg: Dict[str, Any]) -> str:
    base = "u32" if arg["type"] == "integer" else "&str"
    return f"{arg['name']}: Option<{base}>" if arg.get("optional") else f"{arg['name']}: {base}"


def method(op: Dict[str, Any]) -> str:
    fixed = op.get("fixed", {})
    shown = [a for a in op["args"] if not a.get("hidden") and a["name"] not in fixed]
    fields = []
    for a in op["args"]:
        if a["name"] in fixed:
            fields.append(f"{a['name']}: {str(fixed[a['name']]).lower()}")
        elif a.get("hidden"):
            continue
        elif a.get("optional"):
            fields.append(a["name"])
        else:
            fields.append(f"{a['name']}: Some({a['name']})")
    args = f"&Args {{ {', '.join(fields)}, ..Args::default() }}" if fields else "&Args::default()"
    ret = f"Document<kind::{kind(op)}>"
    how = "pages" if op.get("paged") else "one"
    out = "Pages<kind::{}>".format(kind(op)) if op.get("paged") else f"Result<{ret}, Error>"
    params = "".join(f", {param(a)}" for a in shown)
    return (doc(op["doc"], "    ")
            + f"    pub fn {op['name']}(&self{params}) -> {out} {{\n"
            + f"        self.{how}(\"{op['machine']}\", {args})\n    }}\n\n")


def setter(s: Dict[str, Any]) -> str:
    name, t = s["name"], s["type"]
    text = doc(s["doc"] + limits(s), "    ")
    if t == "string":
        return text + f"    pub fn {name}(mut self, value: impl Into<String>) -> Self {{\n        self.settings.{name} = Some(value.into());\n        self\n    }}\n\n"
    if t == "boolean":
        return text + f"    pub fn {name}(mut self, on: bool) -> Self {{\n        self.settings.{name} = on;\n        self\n    }}\n\n"
    rust = {"seconds": "Duration", "integer": "usize" if s.get("unit") == "B" else "u32"}[t]
    return text + f"    pub fn {name}(mut self, value: {rust}) -> Self {{\n        self.settings.{name} = Some(value);\n        self\n    }}\n\n"


def limits(s: Dict[str, Any]) -> str:
    if "min" not in s:
        return ""
    unit = {"s": " s", "B": " bytes"}.get(s.get("unit", ""), "")
    return f" {s['min']}..={s['max']}{unit}, default {s['default']}{unit}; checked by `build`."


def api(desc: Dict[str, Any]) -> str:
    out = [f"// {BANNER}\n",
           "// Included by `client.rs`: the builder's settings and the client's plain operations.\n\n",
           "impl ClientBuilder {\n"]
    out += [setter(s) for s in desc["settings"]]
    out.append("}\n\nimpl Client {\n")
    out += [method(op) for op in generated_ops(desc)]
    out.append("}\n")
    return "".join(out)


def kinds(desc: Dict[str, Any]) -> str:
    out = [f"// {BANNER}\n", "// Included by `document.rs`: one marker type per document the service returns.\n\n",
           "models! {\n"]
    returning: Dict[str, List[str]] = {}
    models: Dict[str, str] = {}
    for op in generated_ops(desc) + [o for o in desc["operations"] if o["name"] in HAND_WRITTEN]:
        if op["core"]["model"] != "raw":
            returning.setdefault(kind(op), []).append(f"`{op['name']}`")
            models[kind(op)] = op["core"]["model"]
    for k, names in returning.items():
        verb = "returns" if len(names) == 1 else "return"
        out.append(f"    /// What {' and '.join(names)} {verb}: [`model::{models[k]}`].\n    {k} => {models[k]};\n")
    out.append("}\n")
    return "".join(out)


def outputs(desc: Dict[str, Any], repo: str) -> Dict[str, str]:
    return {API: rustfmt(api(desc)), KINDS: rustfmt(kinds(desc))}
