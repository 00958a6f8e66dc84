"""Go (bindings/go): the error kinds (constants and sentinels), the models (a struct
per described model and its reflection-free decoder over decode.go's jdec), the
Client's per-operation methods, and the test's table of models.

Go's rule for a field of type ... (the models file's comment says it to users):
`string?` and `integer?` are plain values ("" or 0 when absent; json.Marshal omits
them), `boolean?` is *bool (false is a statement, absent is not), `Model?` is
*Model (nil when absent or null), `[X]` is []X (nil when absent). Required
scalars are plain values, always marshalled."""

from __future__ import annotations

import re
import subprocess
import textwrap
from typing import Any, Dict, List, Set

from . import BANNER, GENERATOR, element, host_operations, model_by_core, pascal, visible_args

KINDS = "bindings/go/kinds.go"
MODELS = "bindings/go/models_gen.go"
API = "bindings/go/api_gen.go"
MODELS_TEST = "bindings/go/models_gen_test.go"
BUILDER = "bindings/go/ibmauth/builder_gen.go"

#: Words Go spells as initialisms in identifiers.
INITIALISMS = {"id": "ID", "ids": "IDs", "crn": "CRN", "vpc": "VPC", "ip": "IP", "ips": "IPs", "ipv4": "IPv4",
               "vcpu": "VCPU", "gpu": "GPU", "url": "URL", "http": "HTTP", "https": "HTTPS", "ssh": "SSH",
               "csr": "CSR", "iam": "IAM", "api": "API", "json": "JSON", "ttl": "TTL", "numa": "NUMA"}
#: Models whose public type is hand-written (models.go): the generated struct is the
#: unexported wire form the hand-written type is built from.
HAND_MODELS = {"Token": "tokenJSON"}
#: Models that also keep the whole document (Raw: unmodelled members stay reachable).
RAW = {"Instance", "Initialization"}
#: Operations whose Go method is hand-written (api.go): transport or loop glue.
HAND_OPS = {"get_all"}
#: Go method names that are not the operation's name in Go spelling.
METHOD_NAMES = {"identity_token": "IdentityTokenWith"}
#: Go parameter names that are not the argument's name (max is a Go builtin).
ARG_NAMES = {"max": "limit"}
SCALARS = {"string": "string", "integer": "int", "number": "float64", "boolean": "bool"}
ARG_TYPES = {"string": "string", "id": "string", "path": "string", "integer": "int", "seconds": "time.Duration",
             "boolean": "bool"}


def go_words(words: List[str]) -> str:
    return "".join(INITIALISMS.get(w.lower(), w[:1].upper() + w[1:]) for w in words)


def exported(snake: str) -> str:
    """`primary_ipv4_address` -> `PrimaryIPv4Address`."""
    return go_words(snake.split("_"))


def unexported(snake: str) -> str:
    name = exported(snake)
    head = re.match(r"[A-Z]+(?![a-z])|[A-Z][a-z0-9]*", name).group(0)
    if len(head) > 1 and head.isupper() and len(head) < len(name) and not name[len(head)].isupper():
        head = head[:-1]  # IDToken -> idToken, but IPv4 stays whole
    return head.lower() + name[len(head):]


def type_name(model: str) -> str:
    """A described model's Go type: `Vcpu` -> `VCPU`, `ReservedIp` -> `ReservedIP`."""
    return HAND_MODELS.get(model) or go_words(re.findall(r"[A-Z][a-z0-9]*", model))


def plain(text: str) -> str:
    """A description doc as Go doc text (no reST literals)."""
    return " ".join(text.replace("``", "").split())


def comment(text: str, indent: str = "", width: int = 100) -> str:
    lines = textwrap.wrap(plain(text), width - len(indent) - 3, break_long_words=False, break_on_hyphens=False)
    return "".join(f"{indent}// {line}\n" for line in lines)


def gofmt(text: str) -> str:
    """The text as gofmt leaves it (the Go step checks formatting)."""
    try:
        done = subprocess.run(["gofmt"], input=text, capture_output=True, text=True, check=True)
    except FileNotFoundError:
        return text
    return done.stdout


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


# --- models ---------------------------------------------------------------------------------------


def op_model(desc: Dict[str, Any], op: Dict[str, Any]) -> str | None:
    """The described model an operation's document decodes into (a collection for a list)."""
    ret = op["returns"]
    if ret.startswith("["):
        core = op.get("core")
        m = model_by_core(desc, core["model"]) if core else None
        return m["name"] if m else None
    return ret if ret in {m["name"] for m in desc["models"]} else None


def used_models(desc: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The models the Go API returns or holds, in the description's order."""
    by_name = {m["name"]: m for m in desc["models"]}
    seen: Set[str] = set()
    todo = [n for op in host_operations(desc) if (n := op_model(desc, op))]
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        for f in by_name[n]["fields"]:
            t = element(f["type"]).rstrip("?")
            if t in by_name:
                todo.append(t)
    return [m for m in desc["models"] if m["name"] in seen]


def field_type(t: str) -> str:
    if t.startswith("["):
        return "[]" + field_type(element(t))
    optional = t.endswith("?")
    base = t.rstrip("?")
    if base in SCALARS:
        return "*bool" if optional and base == "boolean" else SCALARS[base]
    return ("*" if optional else "") + type_name(base)


def tag(f: Dict[str, Any]) -> str:
    t = f["type"]
    omit = ",omitzero" if t.endswith("?") or t.startswith("[") else ""
    return f'`json:"{f["name"]}{omit}"`'


def element_decoder(t: str) -> str:
    """A func(*T, *jdec) error for an element or pointee type."""
    if t in SCALARS:
        return f"{SCALARS[t].replace('float64', 'float')}Into"
    return f"(*{type_name(t)}).decode"


def decode_case(f: Dict[str, Any]) -> str:
    name, t = exported(f["name"]), f["type"]
    base = element(t).rstrip("?")
    if t.startswith("["):
        call = f"decodeSlice(d, &v.{name}, {element_decoder(base)})"
    elif base in SCALARS and (base != "boolean" or not t.endswith("?")):
        call = f"d.{ {'string': 'String', 'integer': 'Int', 'boolean': 'Bool', 'number': 'Float'}[base]}(&v.{name})"
    elif t.endswith("?"):
        call = f"decodePtr(d, &v.{name}, {element_decoder(base)})"
    else:
        call = f"v.{name}.decode(d)"
    return f'\t\tcase "{f["name"]}":\n\t\t\treturn {call}\n'


def models(desc: Dict[str, Any]) -> str:
    out = [f"// {BANNER}\n\npackage imds\n\n"]
    if any(m["name"] in RAW for m in used_models(desc)):
        out.append('import "encoding/json"\n\n')
    out.append("// The models: one struct per document the description types, with IBM's member\n"
               "// names as JSON tags. A member the service may leave out is, when absent: \"\"\n"
               "// or 0 for a string or an integer; nil for a boolean (*bool: false is a\n"
               "// statement, absence is not), an object (a pointer) or a list (a slice; [] is\n"
               "// empty, not nil). json.Marshal leaves such members out when absent (omitzero),\n"
               "// so it gives the service's form and json.Unmarshal reads it back as it was.\n"
               "// Each model's decode reads it with decode.go's jdec as encoding/json.Unmarshal\n"
               "// would (decode_test.go checks they agree on every fixture).\n\n")
    for m in used_models(desc):
        name = type_name(m["name"])
        doc = m["doc"] if m["name"] not in HAND_MODELS else f"the wire form of {m['name']} ({m['doc']})"
        out.append(comment(f"{name}: {doc}"))
        out.append(f"type {name} struct {{\n")
        for f in m["fields"]:
            out.append(comment(f"{exported(f['name'])}: {f['doc']}", "\t"))
            out.append(f"\t{exported(f['name'])} {field_type(f['type'])} {tag(f)}\n")
        if m["name"] in RAW:
            out.append("\t// Raw is the whole document as received, unmodelled members included.\n")
            out.append('\tRaw json.RawMessage `json:"-"`\n')
        out.append("}\n\n")
        names = unexported(m["name"]) + "Members"
        quoted = ", ".join(f'"{f["name"]}"' for f in m["fields"])
        out.append(f"var {names} = []string{{{quoted}}}\n\n")
        out.append(f"func (v *{name}) decode(d *jdec) error {{\n\treturn d.fields(func(key string) error {{\n"
                   f"\t\treturn v.member(d, key)\n\t}})\n}}\n\n")
        out.append(f"func (v *{name}) member(d *jdec, key string) error {{\n\tswitch key {{\n")
        out.extend(decode_case(f)[1:].replace("\n\t\t\t", "\n\t\t") for f in m["fields"])
        out.append(f"\tdefault:\n\t\tif k, ok := foldKey(key, {names}); ok {{\n\t\t\treturn v.member(d, k)\n\t\t}}\n"
                   "\t\treturn d.skip()\n\t}\n}\n\n")
    return gofmt("".join(out))


def models_test(desc: Dict[str, Any]) -> str:
    out = [f"// {BANNER}\n\npackage imds\n\n"]
    out.append("// generatedModels makes a zero value of every generated model, by the\n"
               "// description's name.\nvar generatedModels = map[string]func() model{\n")
    for m in used_models(desc):
        out.append(f'\t"{m["name"]}": func() model {{ return new({type_name(m["name"])}) }},\n')
    out.append("}\n\n// operationModels is the model each typed operation's document decodes into.\n"
               "var operationModels = map[string]string{\n")
    for op in host_operations(desc):
        if (n := op_model(desc, op)) and op["name"] == op["op"]:
            out.append(f'\t"{op["name"]}": "{n}",\n')
    out.append("}\n")
    return gofmt("".join(out))


# --- operations -----------------------------------------------------------------------------------


def method_name(op: Dict[str, Any]) -> str:
    return METHOD_NAMES.get(op["name"], exported(op["name"]))


def groups(op: Dict[str, Any]) -> Dict[str, List[Dict[str, Any]]]:
    """Arguments that fill one core field (iam_token's profile_*) become one struct."""
    out: Dict[str, List[Dict[str, Any]]] = {}
    for a in visible_args(op):
        if "core_field" in a and sum(b.get("core_field") == a["core_field"] for b in visible_args(op)) > 1:
            out.setdefault(a["core_field"], []).append(a)
    return out


def group_member(group: str, arg: Dict[str, Any]) -> str:
    return exported(arg["name"][len(group) + 1:] if arg["name"].startswith(group + "_") else arg["name"])


def param(a: Dict[str, Any]) -> str:
    return ARG_NAMES.get(a["name"], unexported(a["name"]))


def present(expr: str, t: str) -> str:
    return {"string": f'{expr} != ""', "id": f'{expr} != ""', "path": f'{expr} != ""', "integer": f"{expr} != 0",
            "seconds": f"{expr} != 0", "boolean": expr}[t]


def value(expr: str, t: str) -> str:
    return f"{expr}.Seconds()" if t == "seconds" else expr


def result_type(desc: Dict[str, Any], op: Dict[str, Any]) -> str:
    ret = op["returns"]
    if ret == "none":
        return "error"
    if ret == "bytes":
        return "([]byte, error)"
    if ret == "lines":
        return "([]string, error)"
    if ret == "json":
        return "iter.Seq2[json.RawMessage, error]" if op.get("paged") else "(json.RawMessage, error)"
    if ret.startswith("["):
        item = type_name(element(ret))
        return f"iter.Seq2[{item}, error]" if op.get("paged") else f"([]{item}, error)"
    return "(*Token, error)" if ret == "Token" else f"(*{type_name(ret)}, error)"


def arg_doc(op: Dict[str, Any]) -> str:
    parts = []
    grouped = groups(op)
    for g, members in grouped.items():
        names = ", ".join(f"{pascal(g)}.{group_member(g, a)}: {a['doc'].rstrip('.')}" for a in members)
        parts.append(f"{g}: {names}; the zero {pascal(g)} sets none.")
    for a in visible_args(op):
        if a.get("core_field") in grouped:
            continue
        zero = {"seconds": "0", "integer": "0", "boolean": "false"}.get(a["type"], '""')
        note = f" ({zero}: not given)" if a.get("optional") else ""
        text = a["doc"].rstrip(".")
        if a["type"] == "seconds":  # a time.Duration here, not a number of seconds
            text = re.sub(r"\(default ([0-9.]+)\)", r"(default \1 s)", text.replace(" in seconds", ""))
        parts.append(f"{param(a)}: {text}{note}.")
    return " ".join(parts)


def method(desc: Dict[str, Any], op: Dict[str, Any]) -> str:
    name, ret = method_name(op), op["returns"]
    grouped = groups(op)
    params, lines = ["ctx context.Context"], []
    required, optional = [], []
    for g in grouped:
        params.append(f"{g[:1]} {pascal(g)}")
    for a in visible_args(op):
        g = a.get("core_field")
        if g in grouped:
            optional.append((f"{g[:1]}.{group_member(g, a)}", a))
            continue
        params.append(f"{param(a)} {ARG_TYPES[a['type']]}")
        (optional if a.get("optional") else required).append((param(a), a))
    fixed = [(k, "true" if v is True else "false" if v is False else repr(v)) for k, v in op.get("fixed", {}).items()]
    members = [f'"{a["name"]}": {value(e, a["type"])}' for e, a in required] + [f'"{k}": {v}' for k, v in fixed]
    if not members and not optional:
        args = "nil"
    else:
        lines.append(f"\targs := map[string]any{{{', '.join(members)}}}\n")
        for e, a in optional:
            lines.append(f"\tif {present(e, a['type'])} {{\n\t\targs[\"{a['name']}\"] = {value(e, a['type'])}\n\t}}\n")
        args = "args"
    text = op["doc"]
    for a in visible_args(op):
        if a["type"] == "seconds":
            text = text.replace(f"`{a['name']}` seconds", f"`{param(a)}`")
    doc = comment(f"{name}: {text} {arg_doc(op)}")
    head = f"func (c *Client) {name}({', '.join(params)}) {result_type(desc, op)} {{\n"
    run = f'"{op["op"]}"'
    if ret == "none":
        lines.append(f"\t_, err := c.run(ctx, {run}, {args})\n\treturn err\n")
    elif ret in ("bytes", "json") and not op.get("paged"):
        lines.append(f"\tout, err := c.run(ctx, {run}, {args})\n\tif err != nil {{\n\t\treturn nil, err\n\t}}\n"
                     "\treturn out.body, nil\n")
    elif ret == "json":
        lines.append(f"\treturn rawPages(ctx, c, {run}, {args})\n")
    elif ret == "lines":
        lines.append(f"\treturn lines(ctx, c, {run}, {args})\n")
    elif ret == "Token":
        lines.append(f"\treturn c.token(ctx, {run}, {args})\n")
    elif ret.startswith("["):
        coll = type_name(op_model(desc, op))
        field = exported(op["field"])
        if op.get("paged"):
            lines.append(f"\treturn pages(ctx, c, {run}, {args}, func(p *{coll}) []{type_name(element(ret))} "
                         f"{{ return p.{field} }})\n")
        else:
            lines.append(f"\tv, _, err := typed[{coll}](ctx, c, {run}, {args})\n\tif err != nil {{\n"
                         f"\t\treturn nil, err\n\t}}\n\treturn v.{field}, nil\n")
    elif ret in RAW:
        lines.append(f"\tv, body, err := typed[{type_name(ret)}](ctx, c, {run}, {args})\n"
                     "\tif v != nil {\n\t\tv.Raw = body\n\t}\n\treturn v, err\n")
    else:
        lines.append(f"\tv, _, err := typed[{type_name(ret)}](ctx, c, {run}, {args})\n\treturn v, err\n")
    return doc + head + "".join(lines) + "}\n\n"


def api(desc: Dict[str, Any]) -> str:
    ops = [op for op in host_operations(desc) if op["name"] not in HAND_OPS]
    out: List[str] = []
    for op in ops:
        for g, members in groups(op).items():
            out.append(comment(f"{pascal(g)}: the {g} of {method_name(op)}: one member at most."))
            out.append(f"type {pascal(g)} struct {{\n")
            for a in members:
                out.append(comment(f"{group_member(g, a)}: {a['doc']}", "\t"))
                out.append(f"\t{group_member(g, a)} string\n")
            out.append("}\n\n")
    for op in ops:
        out.append(method(desc, op))
    body = "".join(out)
    imports = "".join(f'\t"{p}"\n' for p in ("context", "encoding/json", "iter", "time")
                      if re.search(rf"\b{p.split('/')[-1]}\.", body))
    return gofmt(f"// {BANNER}\n\npackage imds\n\nimport (\n{imports})\n\n" + body)


#: ibmauth's builder, as go-sdk-core's VpcInstanceAuthenticatorBuilder has it: one
#: setter per field (field, parameter, its type, what the doc adds).
BUILDER_SETTERS = [
    ("IAMProfileCRN", "s", "string", ""),
    ("IAMProfileID", "s", "string", ""),
    ("IAMProfileName", "s", "string", ""),
    ("URL", "s", "string", ""),
    ("ServiceVersion", "s", "string", ""),
    ("TokenLifetime", "lifetime", "int", " (seconds)"),
    ("Client", "client", "*http.Client", " (only its Timeout and TLS configuration are used)"),
    ("Options", "opts", "...imds.Option", " (further vpc-imds options)"),
]


def builder() -> str:
    out = [f"// @generated by {GENERATOR} from scripts/gen/go.py (BUILDER_SETTERS). DO NOT EDIT.\n\n",
           "package ibmauth\n\nimport (\n\t\"net/http\"\n\n\timds \"github.com/vpc-imds/vpc-imds/bindings/go\"\n)\n"]
    for field, name, t, doc in BUILDER_SETTERS:
        out.append(f"\n// Set{field} sets {field}{doc}.\n"
                   f"func (b *VpcInstanceAuthenticatorBuilder) Set{field}({name} {t}) *VpcInstanceAuthenticatorBuilder {{\n"
                   f"\tb.a.{field} = {name}\n\treturn b\n}}\n")
    return gofmt("".join(out))


def outputs(desc: Dict[str, Any], repo: str) -> Dict[str, str]:
    return {KINDS: kinds(desc), MODELS: models(desc), API: api(desc), MODELS_TEST: models_test(desc),
            BUILDER: builder()}
