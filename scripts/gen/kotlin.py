"""Kotlin/JVM (bindings/uniffi): the uniffi surface in Rust (the settings record, the
error per kind, every operation as a blocking and a `suspend` method of `ImdsClient`)
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
KOTLIN = "bindings/uniffi/src/main/kotlin/io/github/vpcimds/ImdsErrors.kt"

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
        out.append({"name": ERROR_FIELD_NAMES.get(f["name"], f["name"]), "record": f["name"],
                    "type": f"Option<{ty}>" if optional else ty, "base": ty, "optional": optional,
                    "doc": f["doc"]})
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
    out.append("}\n\nimpl ImdsSettings {\n    /// The driver's settings, each set by name (and checked) there.\n")
    out.append("    pub(crate) fn settings(&self) -> Result<Settings, ImdsError> {\n")
    out.append("        let env_endpoint = self.env_endpoint.as_ref().map(|t| t.0.clone());\n")
    out.append("        let mut s = Settings { env_endpoint, ..Settings::default() };\n")
    out.extend(sets)
    out.append("        Ok(s)\n    }\n}\n\n")
    return "".join(out)


def error_enum(desc: Dict[str, Any]) -> str:
    fields = error_fields(desc)
    kinds = desc["errors"]["kinds"]
    if FALLBACK_KIND not in [k["kind"] for k in kinds]:
        raise DescriptionError(f"errors: no {FALLBACK_KIND!r} kind")
    out = ["/// A failed operation: one variant per error kind, each with the same details\n",
           "/// (the driver's one error record). The text never holds a token.\n",
           "#[derive(Clone, Debug, PartialEq, Eq, uniffi::Error)]\npub enum ImdsError {\n"]
    for k in kinds:
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
    for k in kinds:
        if k["kind"] != FALLBACK_KIND:
            out.append(f'            "{k["kind"]}" => ImdsError::{k["kotlin"]} {{ {names} }},\n')
    fallback = next(k for k in kinds if k["kind"] == FALLBACK_KIND)
    out.append(f"            _ => ImdsError::{fallback['kotlin']} {{ {names} }},\n        }}\n    }}\n}}\n\n")
    out.append("impl ImdsError {\n    /// What went wrong, whatever the kind.\n")
    out.append("    pub(crate) fn text(&self) -> &str {\n        match self {\n")
    pats = " | ".join(f"ImdsError::{k['kotlin']} {{ text, .. }}" for k in kinds)
    out.append(f"            {pats} => text,\n        }}\n    }}\n}}\n\n")
    out.append("/// The error kind's name (`invalid_input`, `refused`, `timed_out`, ...), as the\n")
    out.append("/// test vectors and the other bindings spell it.\n#[uniffi::export]\n")
    out.append("pub fn error_kind(error: &ImdsError) -> String {\n    match error {\n")
    for k in kinds:
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


def result(op: Dict[str, Any], ops: List[Dict[str, Any]]) -> tuple[str, str]:
    """(Rust type, converter of the operation's records)."""
    ret = op["returns"]
    if op.get("paged"):
        return "Arc<Pages>", ""
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
    if ret.startswith("["):
        # The list, not the page: each item typed as the operation returning one is.
        item = element(ret)
        one = next((o["name"] for o in ops if o["returns"] == item), None)
        if one is None or "field" not in op:
            raise DescriptionError(f"{op['name']}: no operation returns one {item}, or no `field`")
        return "Vec<Document>", f'list("{op["field"]}", "{one}")'
    return "Document", "document"


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
        ty, convert = result(op, ops)
        name, machine_op = op["name"], op["op"]
        if op.get("paged"):
            out.append(method_doc(op, False) + attr)
            out.append(f"    pub fn {name}(&self{params}) -> {ty} {{\n")
            out.append(f'        self.pages("{machine_op}", {named})\n    }}\n\n')
            continue
        for suspend in (False, True):
            out.append(method_doc(op, suspend) + attr)
            fn = f"async fn {name}_async" if suspend else f"fn {name}"
            finish = "finish_async().await" if suspend else "finish()"
            out.append(f"    pub {fn}(&self{params}) -> Result<{ty}, ImdsError> {{\n")
            out.append(f"        let args = {named}?;\n")
            out.append(f'        {convert}(self.start("{machine_op}", &args)?.{finish}?)\n    }}\n\n')
    out.append("}\n")
    return "".join(out)


def rust(desc: Dict[str, Any]) -> str:
    head = (f"// {BANNER}\n"
            "//! The surface the description lists: the settings record, the error per kind,\n"
            "//! and every operation as methods of [`ImdsClient`] (the driver checks the\n"
            "//! values, by name).\n\n"
            "use std::sync::Arc;\nuse std::time::Duration;\n\n"
            "use vpc_imds_driver::{ErrorRecord, Settings, Value};\n\n"
            "use crate::client::{bytes, document, lines, list, merged, named, nothing, token};\n"
            "use crate::{AccessToken, Document, ImdsClient, InputText, Pages, ToValue};\n\n")
    return head + settings_record(desc) + error_enum(desc) + client_methods(desc)


def kotlin(desc: Dict[str, Any]) -> str:
    fields = error_fields(desc)
    kinds = desc["errors"]["kinds"]
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
    first = next(k for k in kinds if k["kind"] == "invalid_input")
    out.append("/** An `invalid_input` error raised on the JVM side (the input never crossed). */\n")
    out.append(f"internal fun invalidInput(text: String) = ImdsException.{uniffi_error_class(first['kotlin'])}(\n")
    for f in fields:
        value = {"text": "text", "reason": '"input"'}.get(f["name"], "null")
        out.append(f"    {camel(f['name'])} = {value},\n")
    out.append(")\n")
    return "".join(out)


def outputs(desc: Dict[str, Any], repo: str) -> Dict[str, str]:
    return {RUST: rustfmt(rust(desc)), KOTLIN: kotlin(desc)}
