"""JavaScript: what the npm packages `vpc-imds` and `vpc-imds-wasm` share in
bindings/js/ -- the client's methods (operations.js), the Token and the error
classes (api.js), and the one index.d.ts of both packages."""

from __future__ import annotations

import json
import re
import textwrap
from typing import Any, Dict, List, Tuple

from . import BANNER, camel, element, host_operations, visible_args

API = "bindings/js/api.js"
OPERATIONS = "bindings/js/operations.js"
TYPES = "bindings/js/index.d.ts"

# Optional arguments that today's API takes positionally, not in the options object.
POSITIONAL = {"wait_until_ready": ["max"]}
# The Token field that holds the secret: a getter, never in JSON, inspect or String().
SECRET = "access_token"
# Error record fields under the names the 0.1.0 Node package gave them (the rest: camelCase).
ERROR_NAMES = {"kind": "code", "cause": "reason", "code": "errorCode", "api_message": "errorMessage"}
# Error record fields whose values are the names their doc lists (as `name`).
ERROR_ENUMS = {"cause": "ErrorCause", "transport": "TransportErrorName"}

ARG_TS = {"string": "string", "id": "string", "path": "string", "integer": "number", "seconds": "number",
          "boolean": "boolean"}
FIELD_TS = {"string": "string", "integer": "number", "number": "number", "boolean": "boolean"}


def text(doc: str) -> str:
    """A description doc as JSDoc text (RST's double backticks become Markdown's)."""
    return doc.replace("``", "`")


def jsdoc(doc: str, indent: str = "", width: int = 110) -> str:
    doc = text(doc).strip()
    one = f"{indent}/** {doc} */"
    if len(one) <= width and "\n" not in doc:
        return one + "\n"
    lines = []
    for para in doc.splitlines():
        lines += textwrap.wrap(para, width - len(indent) - 3, break_on_hyphens=False) or [""]
    return f"{indent}/**\n" + "".join(f"{indent} * {line}".rstrip() + "\n" for line in lines) + f"{indent} */\n"


def signature(op: Dict[str, Any]) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """An operation's positional arguments (the required ones, and POSITIONAL's) and the
    ones its options object carries."""
    args = visible_args(op)
    first = POSITIONAL.get(op["name"], [])
    positional = [a for a in args if not a.get("optional") or a["name"] in first]
    return positional, [a for a in args if a not in positional]


def call_args(op: Dict[str, Any]) -> str:
    positional, options = signature(op)
    items = [a["name"] if camel(a["name"]) == a["name"] else f"{a['name']}: {camel(a['name'])}"
             for a in positional]
    items += [f"{a['name']}: options?.{camel(a['name'])}" for a in options]
    items += [f"{k}: {json.dumps(v)}" for k, v in op.get("fixed", {}).items()]
    return "{ " + ", ".join(items) + " }" if items else "{}"


# -- operations.js -------------------------------------------------------------------

def method(op: Dict[str, Any]) -> str:
    positional, _ = signature(op)
    params = ", ".join([camel(a["name"]) for a in positional] + ["options"])
    name, machine_op, ret = camel(op["name"]), op["op"], op["returns"]
    run = f"this[CALL]('{machine_op}', {call_args(op)}, options)"
    out = [jsdoc(op["doc"], "  ")]
    if op.get("paged"):
        pages = f"this[PAGES]('{machine_op}', {call_args(op)}, options)"
        body = (f"for await (const page of {pages}) yield* page.{op['field']};" if op.get("field")
                else f"yield* {pages};")
        out.append(f"  async *{name}({params}) {{\n    {body}\n  }}\n")
        return "".join(out)
    if ret == "Token":
        body = f"return new Token(await {run});"
    elif ret == "bytes":
        body = f"return new UserData(await {run});"
    elif ret == "none":
        body = f"await {run};"
    elif ret.startswith("["):
        body = f"return (await {run}).{op['field']};"
    else:
        body = f"return {run};"
    out.append(f"  async {name}({params}) {{\n    {body}\n  }}\n")
    return "".join(out)


def operations_js(desc: Dict[str, Any]) -> str:
    out = [
        f"// {BANNER}\n",
        "// The client's operations: each method names its machine operation and passes its\n",
        "// arguments by the description's names; `Client` (client.js) runs them.\n\n",
        "import { Token } from './api.js';\nimport { UserData } from './models.js';\n\n",
        "/** Runs an operation to its result (`Client`'s). */\nconst CALL = Symbol('call');\n",
        "/** Runs an operation, yielding each page's document (`Client`'s). */\nconst PAGES = Symbol('pages');\n\n",
        "/** The client's per-operation methods; every one takes a last `{signal}` option. */\n",
        "class Operations {\n",
    ]
    out.append("\n".join(method(op) for op in host_operations(desc)))
    out.append("}\n\n")
    out.append("/** A client's options as the machine's settings, by the description's names. */\n")
    out.append("function settingsOf(o) {\n  return {\n")
    out.extend(f"    {s['name']}: o.{camel(s['name'])},\n" for s in desc["settings"])
    out.append("  };\n}\n\nexport { Operations, CALL, PAGES, settingsOf };\n")
    return "".join(out)


# -- api.js --------------------------------------------------------------------------

def token_model(desc: Dict[str, Any]) -> Dict[str, Any]:
    return next(m for m in desc["models"] if m["name"] == "Token")


def token_js(desc: Dict[str, Any]) -> str:
    model = token_model(desc)
    public = [f for f in model["fields"] if f["name"] != SECRET]
    secret = next(f for f in model["fields"] if f["name"] == SECRET)
    out = [jsdoc(model["doc"] + " `accessToken` is a getter over a private field, so the secret stays out of "
                 "`JSON.stringify`, `util.inspect`, `String()` and spreads.")]
    out.append(f"class Token {{\n  #{camel(SECRET)};\n\n")
    out.append("  /** @param {object} doc the token document (IBM's field names) */\n  constructor(doc) {\n")
    out.append(f"    this.#{camel(SECRET)} = String(doc?.{SECRET} ?? '');\n")
    for f in public:
        out.append(jsdoc(f["doc"], "    ") + f"    this.{camel(f['name'])} = doc?.{f['name']} ?? null;\n")
    out.append("    Object.freeze(this);\n  }\n\n")
    out.append(jsdoc(f"{secret['doc'].split(';')[0]}; a secret: never log it.", "  "))
    out.append(f"  get {camel(SECRET)}() {{\n    return this.#{camel(SECRET)};\n  }}\n\n")
    fields = ", ".join([f"{SECRET}: REDACTED"] + [f"{f['name']}: this.{camel(f['name'])}" for f in public])
    out.append(f"  toJSON() {{\n    return {{ {fields} }};\n  }}\n\n")
    out.append("  toString() {\n    return `Token(${REDACTED})`;\n  }\n\n")
    shown = ", ".join([f"{camel(SECRET)}: '${{REDACTED}}'"]
                      + [f"{camel(f['name'])}: ${{JSON.stringify(this.{camel(f['name'])})}}" for f in public])
    out.append(f"  [INSPECT]() {{\n    return `Token {{ {shown} }}`;\n  }}\n}}\n")
    return "".join(out)


def error_fields(desc: Dict[str, Any]) -> List[Tuple[str, Dict[str, Any]]]:
    """The error record's fields but kind and message, with their JavaScript names."""
    return [(ERROR_NAMES.get(f["name"], camel(f["name"])), f) for f in desc["errors"]["fields"]
            if f["name"] not in ("kind", "message")]


def errors_js(desc: Dict[str, Any]) -> str:
    fields = error_fields(desc)
    kind_doc = next(f["doc"] for f in desc["errors"]["fields"] if f["name"] == "kind")
    out = ["/** Base class of every error an operation rejects with. Messages never hold a token. */\n"]
    out.append("class ImdsError extends Error {\n  /**\n   * @param {string} message\n")
    out.append(f"   * @param {{object}} [fields] {', '.join(n for n, _ in fields)} (absent ones are null)\n   */\n")
    out.append("  constructor(message, fields = {}) {\n")
    out.append("    // An error record (the machine's; the 0.1.0 Node constructor's argument) makes\n")
    out.append("    // the error of its kind.\n")
    out.append("    if (typeof message === 'object' && message !== null) {\n      const r = message;\n")
    out.append("      const Class = ERRORS_BY_KIND[r.kind] ?? new.target;\n")
    record = ", ".join(f"{n}: r.{f['name']}" for n, f in fields)
    out.append(f"      return new Class(String(r.message ?? 'unknown error'), {{ {record} }});\n    }}\n")
    out.append("    super(message);\n")
    out.append("    Object.defineProperty(this, 'name', { value: new.target.name, enumerable: false, configurable: true });\n")
    out.append(jsdoc(kind_doc, "    ") + "    this.code = new.target.kind;\n")
    for n, f in fields:
        out.append(jsdoc(f["doc"], "    ") + f"    this.{n} = fields?.{n} ?? null;\n")
    out.append("  }\n}\nImdsError.kind = 'unknown';\n\n")
    for k in desc["errors"]["kinds"]:
        out.append(jsdoc(f"`{k['kind']}`: {k['doc']}"))
        out.append(f"class {k['js']} extends ImdsError {{}}\n{k['js']}.kind = '{k['kind']}';\n")
    out.append("\n/** The error class for each kind. */\nconst ERRORS_BY_KIND = Object.freeze({\n")
    out.extend(f"  {k['kind']}: {k['js']},\n" for k in desc["errors"]["kinds"])
    out.append("});\n")
    return "".join(out)


def export_list(names: List[str]) -> str:
    lines = textwrap.wrap(", ".join(names) + ",", 110, initial_indent="  ", subsequent_indent="  ")
    return "export {\n" + "\n".join(lines) + "\n};\n"


def api_js(desc: Dict[str, Any]) -> str:
    kinds = [k["js"] for k in desc["errors"]["kinds"]]
    return "".join([
        f"// {BANNER}\n",
        "// The token and the errors: one base class, one subclass per error kind of the core\n",
        "// (`code` is the kind, as Node's own errors carry a `code`).\n\n",
        "const INSPECT = Symbol.for('nodejs.util.inspect.custom');\nconst REDACTED = '[REDACTED]';\n\n",
        token_js(desc), "\n", errors_js(desc),
        "\n", export_list(["Token", "ImdsError", *kinds, "ERRORS_BY_KIND"]),
    ])


# -- index.d.ts ----------------------------------------------------------------------

def field_ts(t: str) -> str:
    nullable = t.endswith("?")
    base = t.rstrip("?")
    ts = FIELD_TS.get(element(base), element(base))
    ts = f"{ts}[]" if base.startswith("[") else ts
    return f"{ts} | null" if nullable else ts


def models_ts(desc: Dict[str, Any]) -> str:
    out = ["// -- documents (IBM's field names; an absent optional member is null) ---------------\n"]
    for m in desc["models"]:
        if m["name"] == "Token":
            continue
        out.append("\n" + jsdoc(m["doc"]) + f"export interface {m['name']} {{\n")
        for f in m["fields"]:
            out.append(jsdoc(f["doc"], "  ") + f"  {f['name']}: {field_ts(f['type'])};\n")
        out.append("}\n")
    return "".join(out)


def token_ts(desc: Dict[str, Any]) -> str:
    model = token_model(desc)
    out = [jsdoc(model["doc"] + " `accessToken` is left out of inspect, JSON and toString."),
           "export declare class Token {\n  private constructor();\n"]
    toj = []
    for f in model["fields"]:
        doc = f"{f['doc'].split(';')[0]}; a secret: never log it." if f["name"] == SECRET else f["doc"]
        out.append(jsdoc(doc, "  ") + f"  readonly {camel(f['name'])}: {field_ts(f['type'])};\n")
        toj.append(f"{f['name']}: {quote('[REDACTED]') if f['name'] == SECRET else field_ts(f['type'])}")
    out.append(f"  toJSON(): {{ {'; '.join(toj)} }};\n}}\n")
    return "".join(out)


def quote(s: str) -> str:
    return "'" + s + "'"


def returns_ts(op: Dict[str, Any]) -> str:
    ret = op["returns"]
    item = {"Token": "Token", "bytes": "UserData", "lines": "string[]", "json": "T", "none": "void"}.get(
        element(ret), element(ret))
    if op.get("paged"):
        return f"AsyncGenerator<{item}, void, undefined>"
    return f"Promise<{item}[]>" if ret.startswith("[") else f"Promise<{item}>"


def arg_ts(a: Dict[str, Any]) -> str:
    return ARG_TS[a["type"]]


def method_ts(op: Dict[str, Any]) -> str:
    positional, options = signature(op)
    doc = op["doc"]
    for a in positional:
        doc += f"\n@param {camel(a['name'])} {a['doc']}"
    params = [f"{camel(a['name'])}{'?' if a.get('optional') else ''}: {arg_ts(a)}" for a in positional]
    if options:
        members = "".join(jsdoc(a["doc"], "    ") + f"    {camel(a['name'])}?: {arg_ts(a)};\n" for a in options)
        params.append(f"options?: CallOptions & {{\n{members}  }}")
    else:
        params.append("options?: CallOptions")
    generic = "<T = Json>" if op["returns"] == "json" else ""
    return jsdoc(doc, "  ") + f"  {camel(op['name'])}{generic}({', '.join(params)}): {returns_ts(op)};\n"


def limits(s: Dict[str, Any]) -> str:
    """A setting's range and default, as a sentence after its doc."""
    unit = {"s": " seconds", "B": " bytes"}.get(s.get("unit", ""), "")
    parts = []
    if "min" in s and "max" in s:
        parts.append(f"{s['min']}..{s['max']}{unit}")
    d = s.get("default")
    if d is not None:
        parts.append(f"default {str(d).lower() if isinstance(d, bool) else f'`{d}`' if isinstance(d, str) else d}")
    return f" {'; '.join(parts)}." if parts else ""


def setting_ts(s: Dict[str, Any]) -> str:
    return "boolean" if s["type"] == "boolean" else "string" if s["type"] == "string" else "number"


def client_ts(desc: Dict[str, Any]) -> str:
    out = ["/** Options of a client: the settings (times in seconds) and how it sends requests. */\n",
           "export interface ClientOptions extends HostOptions {\n"]
    for s in desc["settings"]:
        out.append(jsdoc(s["doc"] + limits(s), "  ") + f"  {camel(s['name'])}?: {setting_ts(s)};\n")
    out.append("}\n\n")
    out.append("/** The machine's settings, by the description's names (`Machine`'s first argument). */\n")
    out.append("export interface MachineSettings {\n")
    out.extend(f"  {s['name']}?: {setting_ts(s)} | null;\n" for s in desc["settings"])
    out.append("}\n\n")
    seen: Dict[str, str] = {}
    for op in desc["operations"]:
        for a in op["args"]:
            seen.setdefault(a["name"], arg_ts(a))
    out.append("/** Every operation's arguments, by the description's names (`Machine#start`'s). */\n")
    out.append("export interface OperationArgs {\n")
    out.extend(f"  {n}?: {t} | null;\n" for n, t in seen.items())
    out.append("}\n\n")
    out.append(
        "/**\n * A client of the IBM Cloud VPC Instance Metadata Service. Concurrent calls share one\n"
        " * identity token and one IAM token per trusted profile, each fetched by one call at a\n"
        " * time; every call takes a last `{signal}` option (aborting rejects with its reason).\n */\n"
        "export declare class Client {\n  constructor(options?: ClientOptions);\n"
        "  /** The service's base URL. */\n  readonly endpoint: string;\n"
        "  /** The API version date. */\n  readonly version: string;\n"
        "  /** Milliseconds on this client's monotonic clock. */\n  now(): number;\n"
        "  /** Closes idle connections (fetch keeps its own); the client stays usable. */\n  close(): void;\n\n"
    )
    out.append("\n".join(method_ts(op) for op in host_operations(desc)))
    out.append("}\n")
    return "".join(out)


def enum_values(doc: str) -> str:
    return " | ".join(quote(v) for v in re.findall(r"`([a-z_]+)`", doc))


def errors_ts(desc: Dict[str, Any]) -> str:
    kinds = desc["errors"]["kinds"]
    fields = error_fields(desc)
    out = ["/** The error kinds, the same in every binding. */\n",
           "export type ErrorKind = " + " | ".join(quote(k["kind"]) for k in kinds) + ";\n"]
    for f in desc["errors"]["fields"]:
        if f["name"] in ERROR_ENUMS:
            out.append(jsdoc(f["doc"]) + f"export type {ERROR_ENUMS[f['name']]} = {enum_values(f['doc'])};\n")

    def ts(f: Dict[str, Any]) -> str:
        if f["name"] == "kind":
            return "ErrorKind"
        base = ERROR_ENUMS.get(f["name"]) or field_ts(f["type"].rstrip("?"))
        return f"{base} | null" if f["type"].endswith("?") else base

    def nullable(t: str) -> str:
        return t if t.endswith(" | null") else f"{t} | null"

    out.append("\n/** The machine's error record, the same shape in every host. */\nexport interface ErrorRecord {\n")
    for f in desc["errors"]["fields"]:
        out.append(jsdoc(f["doc"], "  ") + f"  {f['name']}: {ts(f)};\n")
    out.append("}\n\n/** Base class of every error a call rejects with. Messages never hold a token. */\n")
    out.append("export declare class ImdsError extends Error {\n")
    given = "; ".join(f"{n}?: {nullable(ts(f))}" for n, f in fields)
    out.append(f"  constructor(message: string, fields?: {{ {given} }});\n")
    kind_doc = next(f["doc"] for f in desc["errors"]["fields"] if f["name"] == "kind")
    out.append(jsdoc(kind_doc, "  ") + "  readonly code: ErrorKind;\n")
    for n, f in fields:
        out.append(jsdoc(f["doc"], "  ") + f"  readonly {n}: {nullable(ts(f))};\n")
    out.append("}\n")
    for k in kinds:
        out.append(jsdoc(k["doc"]) + f"export declare class {k['js']} extends ImdsError {{ readonly code: '{k['kind']}'; }}\n")
    out.append("/** The error class for each kind. */\n")
    out.append("export declare const ERRORS_BY_KIND: Readonly<Record<ErrorKind, typeof ImdsError>>;\n")
    return "".join(out)


def index_d_ts(desc: Dict[str, Any]) -> str:
    return "".join([
        f"// {BANNER}\n",
        "// Types of the npm packages `vpc-imds` (napi) and `vpc-imds-wasm` (WebAssembly): one\n",
        "// client layer over two backends. What the host glue adds (transports, user data,\n",
        "// the low-level machine) is declared in host.d.ts.\n",
        "import type { CallOptions, Json, HostOptions, UserData } from './host.js';\n\n",
        "export * from './host.js';\n\n",
        client_ts(desc), "\n", token_ts(desc), "\n", errors_ts(desc), "\n", models_ts(desc),
    ])


def outputs(desc: Dict[str, Any], repo: str) -> Dict[str, str]:
    return {API: api_js(desc), OPERATIONS: operations_js(desc), TYPES: index_d_ts(desc)}
