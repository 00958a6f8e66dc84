"""Kotlin/JVM (bindings/uniffi): the uniffi surface in Rust (the settings record, the
error per kind, every operation as a blocking and a `suspend` method of `ImdsClient`,
the model records and the `AccessToken` object)
and the Kotlin that lists error kinds (`ImdsErrorDetails`, `details`, `kind`).

uniffi generates the Kotlin classes from the Rust, so the Rust is what is generated
here; its settings and arguments go to the driver by name (`Settings::set`,
`NamedArgs::set`, `start_named`), which checks them."""

from __future__ import annotations

import json
from typing import Any, Dict, List

from . import BANNER, DescriptionError, camel, element, host_operations, visible_args
from .rust import doc, rustfmt

RUST = "bindings/uniffi/src/surface.rs"
MODELS = "bindings/uniffi/src/models.rs"
KOTLIN = "bindings/uniffi/src/main/kotlin/io/github/vpcimds/ImdsErrors.kt"
PAGES = "bindings/uniffi/src/main/kotlin/io/github/vpcimds/ImdsPages.kt"
FACADE = "bindings/uniffi/src/main/kotlin/io/github/vpcimds/ImdsFacade.kt"

# Model fields whose name is no Kotlin/JVM property name: `class` would be the
# getter `getClass()`, which every Java object already has.
FIELD_RENAMES = {"class": "class_name"}
RUST_KEYWORDS = {"type", "ref", "move", "match", "loop", "impl", "mod", "use", "fn", "struct", "enum", "trait"}
# The models that are no record: tokens are `AccessToken` objects (redacted).
MODEL_SKIP = {"Token"}
# The Token fields as `AccessToken` getters: the secret's getter is `secret()`, and the
# lifetime the core judges is no field of the record's JSON.
TOKEN_GETTERS = {"access_token": ("secret", "The token itself (a JWT), to send as `Authorization: Bearer ...`.")}
TOKEN_SKIP = {"lifetime"}
# Integer Token fields that also get a signed getter, a `Long` that Java can call (a
# Kotlin `UInt` getter's name is mangled for Java).
TOKEN_JAVA_LONGS = {"expires_in": "expires_in_seconds"}

# Error record fields as uniffi fields: Kotlin's Throwable has `message` and `cause`,
# and the class already says the kind.
ERROR_FIELD_NAMES = {"message": "text", "cause": "reason"}
ERROR_FIELD_SKIP = {"kind"}
# HTTP statuses are u16 (Kotlin UShort), as before the description existed.
ERROR_FIELD_TYPES = {"status": "u16"}
# An error record of a kind this build does not know.
FALLBACK_KIND = "bad_response"

ARG_TYPES = {"string": "InputText", "id": "InputText", "path": "InputText",
             "integer": "u32", "seconds": "Duration", "boolean": "bool"}

KOTLIN_TYPES = {"String": "String", "u16": "UShort", "u32": "UInt", "u64": "ULong"}


# A kind only the JVM has: no other host's blocking call can see a thread's interrupt
# (Python's Ctrl-C raises KeyboardInterrupt, Go's context and JS's AbortSignal end
# a call in their own way).
HOST_KINDS = [{
    "kind": "interrupted", "kotlin": "Interrupted",
    "doc": "A blocking call ended because its thread was interrupted (`Thread.interrupt()`; reason "
           "`interrupted`): the operation is cancelled, the thread's interrupt flag left set.",
}]


def all_kinds(desc: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The description's error kinds, then the JVM's own."""
    return desc["errors"]["kinds"] + HOST_KINDS


def uniffi_error_class(name: str) -> str:
    """uniffi's Kotlin name for an error variant (a trailing `Error` becomes `Exception`)."""
    return name[: -len("Error")] + "Exception" if name.endswith("Error") else name


def error_fields(desc: Dict[str, Any]) -> List[Dict[str, str]]:
    out = []
    for f in desc["errors"]["fields"]:
        if f["name"] in ERROR_FIELD_SKIP:
            continue
        t = f["type"]
        optional = t.endswith("?")
        base = t.rstrip("?")
        if base == "string":
            ty = "String"
        elif base == "integer":
            ty = ERROR_FIELD_TYPES.get(f["name"], "u32")
        else:
            raise DescriptionError(f"error field {f['name']}: type {t!r} has no uniffi form")
        doc = f["doc"]
        if f["name"] == "cause":
            doc = doc.rstrip(".") + "; on the JVM also `interrupted` (its own kind)."
        out.append({"name": ERROR_FIELD_NAMES.get(f["name"], f["name"]), "record": f["name"],
                    "type": f"Option<{ty}>" if optional else ty, "base": ty, "optional": optional,
                    "doc": doc})
    return out


def settings_doc(st: Dict[str, Any]) -> str:
    text = st["doc"]
    unit = {"s": " s", "B": " bytes"}.get(st.get("unit", ""), "")
    default = st.get("default")
    parts = []
    if default is not None:
        shown = str(default).lower() if isinstance(default, bool) else str(default)
        parts.append(f"Default {shown}{unit}")
    if "min" in st:
        parts.append(f"{st['min']}..={st['max']}{unit}")
    return text + (" " + "; ".join(parts) + "." if parts else "")


def setting_type(st: Dict[str, Any]) -> str:
    t = st["type"]
    if t == "boolean":
        if st.get("default") not in (False, None):
            raise DescriptionError(f"setting {st['name']}: a boolean defaults to false here")
        return "bool"
    if t == "integer":
        # Byte counts are 64-bit, as JVM sizes are (`maxResponseBytes: ULong?`).
        return "Option<u64>" if st.get("unit") == "B" else "Option<u32>"
    return {"string": "Option<InputText>", "seconds": "Option<Duration>"}[t]


def settings_record(desc: Dict[str, Any]) -> str:
    out = ["/// What a user configures; `None` keeps the machine's default. Checked once,\n",
           "/// by the driver (`Settings::set`, then `Settings::build`).\n",
           "#[derive(Clone, Debug, Default, PartialEq, uniffi::Record)]\npub struct ImdsSettings {\n"]
    sets = []
    for st in desc["settings"]:
        ty = setting_type(st)
        default = "#[uniffi(default = false)]" if ty == "bool" else "#[uniffi(default)]"
        out.append(doc(settings_doc(st), "    ") + f"    {default}\n    pub {st['name']}: {ty},\n")
        if st["name"] == "endpoint":
            # Not a setting of the description: the host reads the environment.
            out.append("    /// The value of `VPC_IMDS_ENDPOINT` as the host read it (used when `endpoint`\n"
                       "    /// is unset).\n    #[uniffi(default)]\n    pub env_endpoint: Option<InputText>,\n")
        sets.append(f'        s.set("{st["name"]}", self.{st["name"]}.value())?;\n')
    out.append("}\n\nimpl ImdsSettings {\n    /// The driver's configuration: each setting set by name (and checked) there,\n"
               "    /// then all of them together.\n")
    out.append("    pub(crate) fn build(&self) -> Result<DriverConfig, ImdsError> {\n")
    out.append("        let env_endpoint = self.env_endpoint.as_ref().map(|t| t.0.clone());\n")
    out.append("        let mut s = Settings { env_endpoint, ..Settings::default() };\n")
    out.extend(sets)
    out.append("        Ok(s.build()?)\n    }\n}\n\n")
    return "".join(out)


def error_enum(desc: Dict[str, Any]) -> str:
    fields = error_fields(desc)
    kinds = desc["errors"]["kinds"]
    if FALLBACK_KIND not in [k["kind"] for k in kinds]:
        raise DescriptionError(f"errors: no {FALLBACK_KIND!r} kind")
    out = ["/// A failed operation: one variant per error kind, each with the same details\n",
           "/// (the driver's one error record). The text never holds a token.\n",
           "#[derive(Clone, Debug, PartialEq, Eq, uniffi::Error)]\npub enum ImdsError {\n"]
    for k in all_kinds(desc):
        out.append(doc(k["doc"], "    ") + f"    {k['kotlin']} {{\n")
        for f in fields:
            out.append(doc(f["doc"], "        ") + f"        {f['name']}: {f['type']},\n")
        out.append("    },\n")
    out.append("}\n\n")
    names = ", ".join(f["name"] for f in fields)
    conv = {"text": "r.message", "reason": "r.cause.to_owned()", "transport": "r.transport.map(str::to_owned)"}
    binds = ", ".join(conv.get(f["name"], f"r.{f['record']}") for f in fields)
    out.append("impl From<ErrorRecord> for ImdsError {\n    fn from(r: ErrorRecord) -> Self {\n")
    out.append(f"        let ({names}) = ({binds});\n        match r.kind {{\n")
    for k in all_kinds(desc):  # a JVM kind's record is made by the binding
        if k["kind"] != FALLBACK_KIND:
            out.append(f'            "{k["kind"]}" => ImdsError::{k["kotlin"]} {{ {names} }},\n')
    fallback = next(k for k in kinds if k["kind"] == FALLBACK_KIND)
    out.append(f"            _ => ImdsError::{fallback['kotlin']} {{ {names} }},\n        }}\n    }}\n}}\n\n")
    out.append("/// What went wrong, whatever the kind.\nimpl fmt::Display for ImdsError {\n")
    out.append("    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {\n        match self {\n")
    pats = " | ".join(f"ImdsError::{k['kotlin']} {{ text, .. }}" for k in all_kinds(desc))
    out.append(f"            {pats} => f.write_str(text),\n        }}\n    }}\n}}\n\n")
    out.append("impl std::error::Error for ImdsError {}\n\n")
    out.append("/// The error kind's name (`invalid_input`, `refused`, `timed_out`, ...), as the\n")
    out.append("/// test vectors and the other bindings spell it.\n#[uniffi::export]\n")
    out.append("pub fn error_kind(error: &ImdsError) -> String {\n    match error {\n")
    for k in all_kinds(desc):
        out.append(f'        ImdsError::{k["kotlin"]} {{ .. }} => "{k["kind"]}",\n')
    out.append("    }\n    .to_owned()\n}\n\n")
    return "".join(out)


def rust_arg_type(arg: Dict[str, Any]) -> str:
    ty = ARG_TYPES[arg["type"]]
    return f"Option<{ty}>" if arg.get("optional") else ty


def value_literal(v: Any) -> str:
    if isinstance(v, bool):
        return f"Value::Bool({str(v).lower()})"
    if isinstance(v, int):
        return f"Value::Int({v})"
    if isinstance(v, str):
        return f"Value::Text({json.dumps(v)})"
    raise DescriptionError(f"fixed argument value {v!r} has no uniffi form")


def models_by_name(desc: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    return {m["name"]: m for m in desc["models"]}


def typed_models(desc: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The models an operation returns (its items, for a list) and every model
    they hold, in the description's order; tokens aside."""
    by_name = models_by_name(desc)
    seen: set = set()

    def visit(name: str) -> None:
        if name in seen or name not in by_name or name in MODEL_SKIP:
            return
        seen.add(name)
        for f in by_name[name]["fields"]:
            visit(element(f["type"]).rstrip("?"))

    for op in desc["operations"]:
        visit(element(op["returns"]))
    return [m for m in desc["models"] if m["name"] in seen]


def model_field_type(t: str) -> str:
    optional = t.endswith("?")
    base = t.rstrip("?")
    if base.startswith("["):
        return f"Vec<{model_field_type(element(base))}>"
    ty = {"string": "String", "integer": "i64", "boolean": "bool", "number": "f64"}.get(base, base)
    return f"Option<{ty}>" if optional else ty


def model_doc(text: str) -> str:
    return text.replace("``", "`")


def models_rust(desc: Dict[str, Any]) -> str:
    out = [f"// {BANNER}\n",
           "//! The models the operations return, as uniffi records (Kotlin data classes),\n",
           "//! and the token as the `AccessToken` object: each read from the driver\n",
           "//! record's JSON (the core's model, IBM's field names; fields IBM adds later\n",
           "//! are ignored, absent ones are `None` or empty).\n\n"]
    for m in typed_models(desc):
        out.append(doc(model_doc(m["doc"]), ""))
        out.append("#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize, uniffi::Record)]\n")
        out.append("#[serde(default)]\npub struct " + m["name"] + " {\n")
        for f in m["fields"]:
            name = FIELD_RENAMES.get(f["name"], f["name"])
            out.append(doc(model_doc(f["doc"]), "    "))
            if name != f["name"]:
                out.append(f'    #[serde(rename = "{f["name"]}")]\n')
            ident = f"r#{name}" if name in RUST_KEYWORDS else name
            out.append(f"    pub {ident}: {model_field_type(f['type'])},\n")
        out.append("}\n\n")
    out.append(access_token(desc))
    return "".join(out)


def access_token(desc: Dict[str, Any]) -> str:
    """The `Token` model as the `AccessToken` object: read from the token record's JSON
    (as received, or the machine's for a cached token), a getter per field; its
    `toString()` (lib.rs) never shows the token."""
    model = models_by_name(desc)["Token"]
    fields = [f for f in model["fields"] if f["name"] not in TOKEN_SKIP]
    out = [doc(model_doc(model["doc"]) + " `toString()` never shows the token.", ""),
           "#[derive(serde::Deserialize, uniffi::Object)]\n#[uniffi::export(Display)]\npub struct AccessToken {\n"]
    getters = []
    for f in fields:
        name, text = TOKEN_GETTERS.get(f["name"], (f["name"], model_doc(f["doc"])))
        if name != f["name"]:
            out.append(f'    #[serde(rename = "{f["name"]}")]\n')
        base = f["type"].rstrip("?")
        ty = {"string": "String", "integer": "u32"}.get(base)
        if ty is None:
            raise DescriptionError(f"Token.{f['name']}: type {f['type']!r} has no AccessToken form")
        ty = f"Option<{ty}>" if f["type"].endswith("?") else ty
        out.append(f"    pub(crate) {name}: {ty},\n")
        value = f"self.{name}" if base == "integer" else f"self.{name}.clone()"
        getters.append(doc(text, "    ") + f"    pub fn {name}(&self) -> {ty} {{\n        {value}\n    }}\n\n")
        if f["name"] in TOKEN_JAVA_LONGS:
            signed = "Option<i64>" if ty.startswith("Option") else "i64"
            conv = f"self.{name}.map(i64::from)" if ty.startswith("Option") else f"i64::from(self.{name})"
            getters.append(doc(f"[`{name}`](Self::{name}) as a signed number: a `Long` that Java can\n"
                               "call (a Kotlin `UInt` getter's name is mangled for Java).", "    ")
                           + f"    pub fn {TOKEN_JAVA_LONGS[f['name']]}(&self) -> {signed} {{\n        {conv}\n    }}\n\n")
    out.append("}\n\n#[uniffi::export]\nimpl AccessToken {\n" + "".join(getters).rstrip("\n") + "\n}\n\n")
    return "".join(out)


def typed_item(op: Dict[str, Any], desc: Dict[str, Any]) -> str | None:
    """The model of the operation's result (of each item, for a list), if any."""
    name = element(op["returns"])
    return name if name in {m["name"] for m in typed_models(desc)} else None


def pages_class(item: str) -> str:
    return f"{item}Pages"


def result(op: Dict[str, Any], desc: Dict[str, Any]) -> tuple[str, str]:
    """(Rust type, converter of the operation's records: a function of them, or an
    expression with `{}` for them)."""
    ret = op["returns"]
    item = typed_item(op, desc)
    if op.get("paged"):
        return (f"Arc<{pages_class(item)}>", item) if item else ("Arc<Pages>", "")
    if ret == "Token":
        return "Arc<AccessToken>", "token"
    if ret == "bytes":
        return "Vec<u8>", "bytes"
    if ret == "lines":
        return "Vec<String>", "lines"
    if ret == "none":
        return "()", "nothing"
    if ret == "json" and op.get("layer") == "driver":
        # The driver's merge of every page: one document, as text.
        return "String", "merged"
    if ret == "json":
        return "Document", "document"
    if item is None:
        raise DescriptionError(f"{op['name']}: returns {ret!r}, which has no uniffi form")
    if ret.startswith("["):
        # The list, not the page.
        if "field" not in op:
            raise DescriptionError(f"{op['name']}: a list without `field`")
        return f"Vec<{item}>", f'page_items(&last({{}})?, "{op["field"]}")'
    return item, "model"


def typed_pages(desc: Dict[str, Any]) -> str:
    out = []
    for op in host_operations(desc):
        item = typed_item(op, desc)
        if not (op.get("paged") and item):
            continue
        cls, field = pages_class(item), op["field"]
        out.append(f"/// The pages of `{camel(op['name'])}`: each `next` is one page's `{item}`s, in\n"
                   "/// order; `None` after the last page (or an error). The operation deadline\n"
                   f"/// covers them all.\n#[derive(uniffi::Object)]\npub struct {cls}(pub(crate) Pages);\n\n")
        out.append(f"#[uniffi::export]\nimpl {cls} {{\n")
        out.append("    /// The next page's items, blocking; `None` after the last.\n")
        out.append(f"    pub fn next(&self) -> Result<Option<Vec<{item}>>, ImdsError> {{\n")
        out.append(f'        self.0.next_record()?.map(|r| page_items(&r, "{field}")).transpose()\n    }}\n\n')
        out.append("    /// The next page's items as a coroutine; `None` after the last.\n")
        out.append(f"    pub async fn next_async(&self) -> Result<Option<Vec<{item}>>, ImdsError> {{\n")
        out.append("        let record = self.0.next_record_async().await?;\n")
        out.append(f'        record.map(|r| page_items(&r, "{field}")).transpose()\n    }}\n}}\n\n')
    return "".join(out)


def method_doc(op: Dict[str, Any], suspend: bool) -> str:
    text = op["doc"]
    for a in visible_args(op):
        text += f"\n- `{camel(a['name'])}`: {a['doc']}"
    if suspend:
        text += f"\n\nThe `suspend` form of `{camel(op['name'])}`."
    return doc(text, "    ")


def client_methods(desc: Dict[str, Any]) -> str:
    out = ["/// The operations of the description, each a blocking method and, unless it\n",
           "/// pages, a `suspend` one (`..._async`).\n#[uniffi::export]\nimpl ImdsClient {\n"]
    ops = host_operations(desc)
    for op in ops:
        args = visible_args(op)
        params = "".join(f", {a['name']}: {rust_arg_type(a)}" for a in args)
        pairs = [f'("{a["name"]}", {a["name"]}.value())' for a in args]
        pairs += [f'("{n}", {value_literal(v)})' for n, v in op.get("fixed", {}).items()]
        named = f"named(&[{', '.join(pairs)}])"
        defaults = [f"{a['name']} = None" for a in args if a.get("optional")]
        attr = f"    #[uniffi::method(default({', '.join(defaults)}))]\n" if defaults else ""
        ty, convert = result(op, desc)
        name, machine_op = op["name"], op["op"]
        if op.get("paged"):
            wrap = f"{pages_class(convert)}(" if convert else ""
            out.append(method_doc(op, False) + attr)
            out.append(f"    pub fn {name}(&self{params}) -> {ty} {{\n")
            out.append(f'        Arc::new({wrap}self.pages("{machine_op}", {named}){")" if wrap else ""})\n    }}\n\n')
            continue
        for suspend in (False, True):
            out.append(method_doc(op, suspend) + attr)
            fn = f"async fn {name}_async" if suspend else f"fn {name}"
            finish = "finish_async().await" if suspend else "finish()"
            out.append(f"    pub {fn}(&self{params}) -> Result<{ty}, ImdsError> {{\n")
            out.append(f"        let args = {named}?;\n")
            records = f'self.start("{machine_op}", &args)?.{finish}?'
            value = convert.replace("{}", records) if "{}" in convert else f"{convert}({records})"
            out.append(f"        {value}\n    }}\n\n")
    out.append("}\n")
    return "".join(out)


def rust(desc: Dict[str, Any]) -> str:
    models = ", ".join(sorted({typed_item(op, desc) for op in desc["operations"]} - {None}))
    head = (f"// {BANNER}\n"
            "//! The surface the description lists: the settings record, the error per kind,\n"
            "//! every operation as methods of [`ImdsClient`] (the driver checks the\n"
            "//! values, by name) and the typed pages of the paged ones.\n\n"
            "use std::fmt;\nuse std::sync::Arc;\nuse std::time::Duration;\n\n"
            "use vpc_imds_driver::{DriverConfig, ErrorRecord, Settings, Value};\n\n"
            "use crate::client::{\n    bytes, document, last, lines, merged, model, named, nothing, page_items, token,\n};\n"
            f"use crate::models::{{{models}}};\n"
            "use crate::{AccessToken, Document, ImdsClient, InputText, Pages, ToValue};\n\n")
    return head + settings_record(desc) + error_enum(desc) + client_methods(desc) + "\n" + typed_pages(desc)


def kotlin_pages(desc: Dict[str, Any]) -> str:
    out = [f"// {BANNER}\n", "package io.github.vpcimds\n\n",
           "import kotlinx.coroutines.flow.Flow\nimport kotlinx.coroutines.flow.flow\n"]
    for op in host_operations(desc):
        item = typed_item(op, desc)
        if not (op.get("paged") and item):
            continue
        cls = pages_class(item)
        out.append(f"\n/** Every [{item}] of `{camel(op['name'])}()`, page by page (blocking on each page). */\n")
        out.append(f"fun {cls}.asSequence(): Sequence<{item}> = generateSequence {{ next() }}.flatten()\n")
        out.append(f"\n/** Every [{item}] of `{camel(op['name'])}()` as a cold flow (suspending on each page). */\n")
        out.append(f"fun {cls}.asFlow(): Flow<{item}> = flow {{\n")
        out.append("    while (true) (nextAsync() ?: break).forEach { emit(it) }\n}\n")
    connect = next(st for st in desc["settings"] if st["name"] == "connect_timeout")
    out.append("\n/**\n * The `connect_timeout` setting's default: the default transport's `HttpClient` is\n"
               " * built with it (on another thread, while the native library loads) when the\n"
               " * settings leave it unset.\n */\n")
    out.append("internal val DEFAULT_CONNECT_TIMEOUT: java.time.Duration = "
               f"java.time.Duration.ofMillis({round(connect['default'] * 1000)})\n")
    return "".join(out)


def kotlin(desc: Dict[str, Any]) -> str:
    fields = error_fields(desc)
    kinds = all_kinds(desc)
    out = [f"// {BANNER}\n", "package io.github.vpcimds\n\n"]
    out.append("/** The details every [ImdsException] kind carries, for code that catches the base class. */\n")
    out.append("data class ImdsErrorDetails(\n")
    for f in fields:
        ty = KOTLIN_TYPES[f["base"]] + ("?" if f["optional"] else "")
        out.append(f"    /** {f['doc']} */\n    val {camel(f['name'])}: {ty},\n")
    out.append(")\n\n")
    args = ", ".join(camel(f["name"]) for f in fields)
    out.append("/** This error's details, whatever its kind. */\nval ImdsException.details: ImdsErrorDetails\n")
    out.append("    get() = when (this) {\n")
    for k in kinds:
        out.append(f"        is ImdsException.{uniffi_error_class(k['kotlin'])} -> ImdsErrorDetails({args})\n")
    out.append("    }\n\n")
    out.append("/** The error kind as the other bindings spell it: `not_found`, `timed_out`, ... */\n")
    out.append("val ImdsException.kind: String\n    get() = when (this) {\n")
    for k in kinds:
        out.append(f'        is ImdsException.{uniffi_error_class(k["kotlin"])} -> "{k["kind"]}"\n')
    out.append("    }\n\n")
    first = next(k for k in desc["errors"]["kinds"] if k["kind"] == "invalid_input")
    out.append("/** An `invalid_input` error raised on the JVM side (the input never crossed). */\n")
    out.append(f"internal fun invalidInput(text: String) = ImdsException.{uniffi_error_class(first['kotlin'])}(\n")
    for f in fields:
        value = {"text": "text", "reason": '"input"'}.get(f["name"], "null")
        out.append(f"    {camel(f['name'])} = {value},\n")
    out.append(")\n")
    return "".join(out)


def kdoc(text: str, indent: str) -> str:
    """A KDoc comment (a `/*` or `*/` in the text would open or close a comment)."""
    text = text.replace("``", "`").replace("*/", "*&#47;").replace("/*", "/&#42;")
    lines = text.splitlines()
    if len(lines) == 1:
        return f"{indent}/** {lines[0]} */\n"
    return f"{indent}/**\n" + "".join(f"{indent} * {line}".rstrip() + "\n" for line in lines) + f"{indent} */\n"


# The Java facade: argument types, and how each reaches the Kotlin client.
JAVA_ARG_TYPES = {"string": "String", "id": "String", "path": "String", "integer": "Int",
                  "seconds": "Duration", "boolean": "Boolean"}


def bounds(item: Dict[str, Any]) -> str:
    if "min" not in item:
        raise DescriptionError(f"{item['name']}: a number without min and max")
    return f"{item['min']} and {item['max']}"


def java_arg(a: Dict[str, Any]) -> tuple[str, str]:
    """(Kotlin parameter type, the value handed to the Kotlin client)."""
    name, ty = camel(a["name"]), a["type"]
    convert = {"integer": f'u32("{a["name"]}", it, "{bounds(a) if ty == "integer" else ""}")',
               "seconds": f'duration("{a["name"]}", it)'}.get(ty)
    opt = "?" if a.get("optional") else ""
    if convert is None:
        return JAVA_ARG_TYPES[ty] + opt, name
    value = f"{name}{opt}.let {{ {convert} }}"
    return JAVA_ARG_TYPES[ty] + opt, value


def java_result(op: Dict[str, Any], desc: Dict[str, Any]) -> tuple[str, str]:
    """(the blocking method's Kotlin return type, the future's value type)."""
    rust_ty, _ = result(op, desc)
    item = typed_item(op, desc)
    if op.get("paged"):
        item = item or "Document"
        return f"Iterable<{item}>", f"List<{item}>"
    ty = {"Arc<AccessToken>": "AccessToken", "Vec<u8>": "ByteArray", "Vec<String>": "List<String>",
          "()": "Unit", "String": "String", "Document": "Document"}.get(rust_ty)
    if ty is None:
        ty = f"List<{item}>" if rust_ty.startswith("Vec<") else rust_ty
    return ty, "Void?" if ty == "Unit" else ty


def facade_methods(desc: Dict[str, Any]) -> str:
    out = []
    for op in host_operations(desc):
        args = visible_args(op)
        required = [a for a in args if not a.get("optional")]
        sigs = [required] + ([args] if len(required) < len(args) else [])
        ret, value = java_result(op, desc)
        name = camel(op["name"])
        for sig in sigs:
            params = ", ".join(f"{camel(a['name'])}: {java_arg(a)[0]}" for a in sig)
            call = ", ".join(f"{camel(a['name'])} = {java_arg(a)[1]}" for a in sig)
            text = op["doc"] + "".join(f"\n- `{camel(a['name'])}`: {a['doc']}" for a in sig)
            if len(sig) < len(args):
                text += "\n\nThe arguments not given take their defaults."
            if op.get("paged"):
                out.append(kdoc(text + "\n\nLazy: each `iterator()` starts over, fetching a page as it needs one.", "    "))
                out.append(f"    fun {name}({params}): {ret} = facadeIterable {{ client.{name}({call}).asSequence().iterator() }}\n\n")
                out.append(kdoc(text + "\n\nEvery item of every page, as a future.", "    "))
                out.append(f"    fun {name}Async({params}): CompletableFuture<{value}> =\n")
                out.append(f"        scope.facadeFuture {{ client.{name}({call}).use {{ it.asFlow().toList() }} }}\n\n")
                continue
            unit = "; null" if ret == "Unit" else ""
            out.append(kdoc(text, "    "))
            out.append(f"    fun {name}({params}): {ret} = facade {{ client.{name}({call}) }}\n\n")
            out.append(kdoc(text + f"\n\nThe future form of `{name}` (cancelling it cancels the call).", "    "))
            out.append(f"    fun {name}Async({params}): CompletableFuture<{value}> =\n")
            out.append(f"        scope.facadeFuture {{ client.{name}Async({call}){unit} }}\n\n")
    return "".join(out)


def facade_builder(desc: Dict[str, Any]) -> str:
    out = ["    /** The settings of a new client, each checked (`build()` checks them together). */\n",
           "    class Builder internal constructor() {\n",
           "        private var settings = ImdsSettings()\n        private var readEnv = true\n",
           "        private var transport: JavaHttpTransport? = null\n\n"]
    for st in desc["settings"]:
        name, ty = camel(st["name"]), st["type"]
        if ty == "boolean":
            param, value = "Boolean", "value"
        elif ty == "string":
            param, value = "String?", "value"
        elif ty == "seconds":
            param, value = "Duration?", f'value?.let {{ duration("{st["name"]}", it) }}'
        elif st.get("unit") == "B":
            param, value = "Long", f'u64("{st["name"]}", value, "{bounds(st)}")'
        else:
            param, value = "Int", f'u32("{st["name"]}", value, "{bounds(st)}")'
        out.append(kdoc(settings_doc(st), "        "))
        out.append(f"        fun {name}(value: {param}): Builder = apply {{ settings = settings.copy({name} = {value}) }}\n\n")
    out.append("        /** Whether `VPC_IMDS_ENDPOINT` is read when no endpoint is set. Default true. */\n")
    out.append("        fun readEnv(value: Boolean): Builder = apply { readEnv = value }\n\n")
    out.append("        /** The HTTP transport; default: a [JavaHttpTransport] with the connect timeout. */\n")
    out.append("        fun transport(value: JavaHttpTransport?): Builder = apply { transport = value }\n\n")
    out.append("        /** The client; nothing is sent yet. */\n")
    out.append("        fun build(): ImdsFacade = facade { ImdsFacade(imdsClient(settings, readEnv, transport)) }\n    }\n")
    return "".join(out)


# The facade's exception per kind extends this JVM class (else ImdsFacadeException).
FACADE_BASES = {"invalid_input": "IllegalArgumentException"}
FACADE_KIND_DOCS = {
    "interrupted": "Unchecked, as every facade exception (a checked `InterruptedException` would have to "
                   "be declared on every method); the interrupt flag stays set for the caller's next "
                   "blocking call to see.",
    "invalid_input": "An `IllegalArgumentException`, as JVM code expects of a bad argument or setting "
                     "(so it cannot extend [ImdsFacadeException]; both are [ImdsFailure]s).",
    "timed_out": "Unchecked, like every facade exception, and so not a `java.util.concurrent.TimeoutException`: "
                 "that one is checked, and Java refuses `catch (TimeoutException e)` around a call that does not "
                 "declare it, while declaring it on every method would make every caller handle it.",
}


def facade_class(kind: Dict[str, Any]) -> str:
    return f"Imds{kind['kotlin']}Exception"


def facade_errors(desc: Dict[str, Any]) -> str:
    fields = [f for f in error_fields(desc) if f["name"] != "text"]
    out = ["\n/**\n * What every facade exception carries (the driver's error record), in Java types: a\n",
           " * `catch (RuntimeException e)` reads them with `e instanceof ImdsFailure`.\n */\n",
           "interface ImdsFailure {\n",
           "    /** The error kind's name (`not_found`, `timed_out`, ...), as every binding spells it. */\n",
           "    val kind: String\n"]
    java = {"String": "String", "u16": "Int", "u32": "Int", "u64": "Long"}
    for f in fields:
        out.append(kdoc(f["doc"], "    "))
        out.append(f"    val {camel(f['name'])}: {java[f['base']]}{'?' if f['optional'] else ''}\n")
    out.append("}\n\n/** The record's fields of [e]. */\n")
    out.append("internal class FailureFields(e: ImdsException) : ImdsFailure {\n")
    out.append("    override val kind = e.kind\n")
    for f in fields:
        conv = "" if f["base"] == "String" else (".toLong()" if f["base"] == "u64" else ".toInt()")
        q = "?" if f["optional"] else ""
        ty = java[f["base"]] + q
        out.append(f"    override val {camel(f['name'])}: {ty} = e.details.{camel(f['name'])}{q if conv else ''}{conv}\n")
    out.append("}\n\n")
    out.append("/**\n * The base of the facade's exceptions (all but [ImdsInvalidInputException]): unchecked,\n"
               " * the error record's fields on it ([ImdsFailure]), the Kotlin [ImdsException] as its cause.\n */\n"
               "open class ImdsFacadeException internal constructor(failure: ImdsFailure, message: String, cause: ImdsException) :\n"
               "    RuntimeException(message, cause), ImdsFailure by failure\n")
    for k in all_kinds(desc):
        cls, base = facade_class(k), FACADE_BASES.get(k["kind"])
        text = f"`{k['kind']}`: {k['doc']}"
        if k["kind"] in FACADE_KIND_DOCS:
            text += "\n\n" + FACADE_KIND_DOCS[k["kind"]]
        out.append("\n" + kdoc(text, ""))
        if base:
            out.append(f"class {cls} internal constructor(e: ImdsException) :\n"
                       f"    {base}(e.details.text, e), ImdsFailure by FailureFields(e)\n")
        else:
            out.append(f"class {cls} internal constructor(e: ImdsException) :\n"
                       "    ImdsFacadeException(FailureFields(e), e.details.text, e)\n")
    out.append("\n/** This error as the facade throws it. */\n")
    out.append("internal fun ImdsException.toFacade(): RuntimeException = when (this) {\n")
    for k in all_kinds(desc):
        out.append(f"    is ImdsException.{uniffi_error_class(k['kotlin'])} -> {facade_class(k)}(this)\n")
    out.append("}\n")
    return "".join(out)


def facade(desc: Dict[str, Any]) -> str:
    head = f"""// {BANNER}
package io.github.vpcimds

import kotlinx.coroutines.cancel
import kotlinx.coroutines.flow.toList
import java.time.Duration
import java.util.concurrent.CompletableFuture

/**
 * The client for Java: every operation as a blocking method and as one returning a
 * `CompletableFuture`, with Java types only (`int`, `long`, `Integer` for an
 * optional number, `java.time.Duration`, `java.util.List`, `Iterable`), an overload
 * per set of arguments instead of default values, and errors as [ImdsFacadeException]
 * kinds ([ImdsInvalidInputException] is an `IllegalArgumentException`). One
 * [ImdsClient] underneath ([client]): the same machine, tokens and transport.
 *
 * ```java
 * try (ImdsFacade imds = ImdsFacade.builder().endpoint("http://127.0.0.1:8080").build()) {{
 *     Instance instance = imds.instance();
 *     imds.keysAsync().thenAccept(keys -> System.out.println(keys.size()));
 * }}
 * ```
 */
class ImdsFacade private constructor(
    /** The Kotlin client underneath. */
    @get:JvmName("client") val client: ImdsClient,
) : AutoCloseable {{
    private val scope = facadeScope()

"""
    tail = """    /** Cancels the futures in flight and frees the native client. */
    override fun close() {
        scope.cancel()
        client.close()
    }

    companion object {
        /** A builder of a client's settings. */
        @JvmStatic
        fun builder(): Builder = Builder()

        /** A client with every setting at its default (`VPC_IMDS_ENDPOINT` is read). */
        @JvmStatic
        fun create(): ImdsFacade = Builder().build()

        /** A facade over an existing Kotlin client (closing the facade closes it). */
        @JvmStatic
        fun of(client: ImdsClient): ImdsFacade = ImdsFacade(client)
    }

"""
    return head + facade_methods(desc) + tail + facade_builder(desc) + "}\n" + facade_errors(desc)


def outputs(desc: Dict[str, Any], repo: str) -> Dict[str, str]:
    return {RUST: rustfmt(rust(desc)), MODELS: rustfmt(models_rust(desc)), KOTLIN: kotlin(desc),
            PAGES: kotlin_pages(desc), FACADE: facade(desc)}
