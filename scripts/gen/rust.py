"""Rust: the core's operation table (enum, SPECS, Args, from_name, spec) and the
driver's by-name arguments and settings, so hosts never list either."""

from __future__ import annotations

import subprocess
from typing import Any, Dict, List

from . import BANNER, camel, pascal  # noqa: F401

CORE = "core/src/operation_table.rs"
DRIVER = "driver/src/by_name.rs"


def doc(text: str, indent: str) -> str:
    return "".join(f"{indent}/// {line}".rstrip() + "\n" for line in text.splitlines())


def core_ops(desc: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [op for op in desc["operations"] if op.get("core")]


def field_type(arg: Dict[str, Any]) -> str:
    if arg["type"] == "boolean":
        return "bool"
    base = "u32" if arg["type"] == "integer" else "&'a str"
    return f"Option<{base}>" if arg.get("optional") else base


def args_fields(desc: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    """Every core argument by name, with the operations that take it."""
    fields: Dict[str, Dict[str, Any]] = {}
    for op in core_ops(desc):
        for arg in op["args"]:
            f = fields.setdefault(arg["name"], dict(arg, ops=[]))
            f["ops"].append(op["name"])
    return fields


def resource(path: str) -> str:
    if path in ("IdentityToken", "IamToken", "Certificates"):
        return f"Resource::{path}"
    if path == "{path}":
        return "Resource::Generic"
    if path.endswith("/{id}"):
        return f'Resource::MetadataItem("{path[:-5]}")'
    return f'Resource::Metadata("{path}")'


def core_table(desc: Dict[str, Any]) -> str:
    ops = core_ops(desc)
    out = [f"// {BANNER}\n", "// The core's operations, listed once; `operation.rs` includes this file.\n\n"]
    out.append("/// An operation a [`Session`](crate::session::Session) carries out.\n")
    out.append("#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]\n#[non_exhaustive]\npub enum Operation<'a> {\n")
    for op in ops:
        c = op["core"]
        out.append(doc(op["doc"], "    "))
        fields = []
        for arg in op["args"]:
            if arg.get("core_field") == "profile":
                if "profile" not in [f[0] for f in fields]:
                    fields.append(("profile", "TrustedProfile<'a>", "Which trusted profile."))
            else:
                fields.append((arg["name"], field_type(arg), arg["doc"]))
        if fields:
            out.append(f"    {c['variant']} {{\n")
            for name, ty, text in fields:
                out.append(doc(text, "        ") + f"        {name}: {ty},\n")
            out.append("    },\n")
        else:
            out.append(f"    {c['variant']},\n")
    out.append("}\n\n")

    out.append("/// Every operation, in the order of [`Operation`]'s variants.\n")
    out.append(f"pub const SPECS: [Spec; {len(ops)}] = [\n")
    for op in ops:
        c = op["core"]
        parse = c.get("parse") or f"into!({c.get('output', c['variant'])}, {c['model']})"
        out.append(
            f"    Spec {{\n        name: \"{op['name']}\",\n        method: Method::{c['method']},\n"
            f"        resource: {resource(c['resource'])},\n        paged: {str(bool(op.get('paged'))).lower()},\n"
            f"        output: \"{c.get('type_name', op['name'])}\",\n        parse: {parse},\n    }},\n"
        )
    out.append("];\n\n")

    fields = args_fields(desc)
    out.append("/// The arguments an operation may take, by name, for hosts that name operations\n")
    out.append("/// with strings (bindings, the command line, test vectors).\n")
    out.append("#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]\npub struct Args<'a> {\n")
    for name, f in fields.items():
        ty = "bool" if f["type"] == "boolean" else ("Option<u32>" if f["type"] == "integer" else "Option<&'a str>")
        ops_list = " and ".join(f"`{o}`" for o in f["ops"])
        out.append(f"    /// `{name}` of {ops_list}.\n    pub {name}: {ty},\n")
    out.append("}\n\n")

    out.append("impl<'a> Operation<'a> {\n")
    out.append(
        "    /// The operation named `name` ([`Spec::name`]) with `args`. An argument the\n"
        "    /// operation does not take is ignored; a missing required one is an empty value\n"
        "    /// (which [`validate`](Self::validate) refuses).\n"
        "    ///\n    /// ```\n    /// use vpc_imds_core::operation::{Args, Operation};\n"
        "    /// let op = Operation::from_name(\"key\", &Args { id: Some(\"r006-1\"), ..Args::default() }).unwrap();\n"
        "    /// assert_eq!(op, Operation::Key { id: \"r006-1\" });\n    /// assert_eq!(op.name(), \"key\");\n"
        "    /// assert!(Operation::from_name(\"frobnicate\", &Args::default()).is_err());\n    /// ```\n"
    )
    out.append("    pub fn from_name(name: &str, args: &Args<'a>) -> Result<Self, InputError> {\n")
    out.append("        Ok(match name {\n")
    for op in ops:
        c = op["core"]
        inits = []
        for arg in op["args"]:
            n = arg["name"]
            if arg.get("core_field") == "profile":
                if "profile" not in [i[0] for i in inits]:
                    inits.append(("profile", "TrustedProfile::from_parts(args.profile_id, args.profile_crn, args.profile_name)?"))
            elif arg["type"] == "boolean" or arg.get("optional"):
                inits.append((n, f"args.{n}"))
            else:
                inits.append((n, f"args.{n}.unwrap_or(\"\")"))
        if inits:
            body = ", ".join(f"{n}: {v}" for n, v in inits)
            out.append(f"            \"{op['name']}\" => Operation::{c['variant']} {{ {body} }},\n")
        else:
            out.append(f"            \"{op['name']}\" => Operation::{c['variant']},\n")
    names = ", ".join(op["name"] for op in ops[:3])
    out.append(
        "            _ => {\n                return Err(InputError::Malformed {\n"
        "                    what: \"operation\",\n"
        f"                    expected: \"one of the operation names ({names}, ...)\",\n"
        "                })\n            }\n        })\n    }\n\n"
    )
    out.append("    /// How this operation maps to the wire.\n    pub const fn spec(&self) -> &'static Spec {\n")
    out.append("        let i = match self {\n")
    for i, op in enumerate(ops):
        c = op["core"]
        pat = f"Operation::{c['variant']} {{ .. }}" if op["args"] else f"Operation::{c['variant']}"
        out.append(f"            {pat} => {i},\n")
    out.append("        };\n        &SPECS[i]\n    }\n}\n")
    return "".join(out)


def by_name(desc: Dict[str, Any]) -> str:
    """The driver's owned arguments and `Settings::set`: every name a host may pass."""
    args: Dict[str, Dict[str, Any]] = {}
    users: Dict[str, List[str]] = {}
    for op in desc["operations"]:
        for arg in op["args"]:
            args.setdefault(arg["name"], arg)
            users.setdefault(arg["name"], []).append(op["name"])
    out = [f"// {BANNER}\n", "//! Operation arguments and settings by name, as hosts pass them.\n\n"]
    out.append("use alloc::string::String;\nuse core::time::Duration;\n\n")
    out.append("use vpc_imds_core::error::InputError;\nuse vpc_imds_core::operation::Args;\n\n")
    out.append("use crate::settings::Settings;\nuse crate::value::{self, Value};\n\n")
    out.append("/// Every operation's arguments, owned, set by name ([`NamedArgs::set`]).\n")
    out.append("#[derive(Clone, Debug, Default, PartialEq)]\npub struct NamedArgs {\n")
    sets, lends = [], []
    for name, a in args.items():
        t = a["type"]
        if t == "boolean":
            ty, conv = "bool", f'value::boolean("{name}", v)?.unwrap_or(false)'
            lends.append(f"{name}: self.{name}")
        elif t == "seconds":
            ty, conv = "Option<Duration>", f'value::duration("{name}", v)?'
        elif t == "integer":
            ty, conv = "Option<u32>", f'value::integer("{name}", v, 0, u32::MAX.into())?.map(|n| n as u32)'
            lends.append(f"{name}: self.{name}")
        else:
            ty, conv = "Option<String>", f'value::text("{name}", v)?'
            lends.append(f"{name}: self.{name}.as_deref()")
        text = a["doc"] if len(users[name]) == 1 else "`{}` of {}.".format(name, ", ".join(f"`{o}`" for o in users[name]))
        out.append(doc(text, "    ") + f"    pub {name}: {ty},\n")
        sets.append(f'            "{name}" => self.{name} = {conv},\n')
    out.append("}\n\nimpl NamedArgs {\n")
    out.append("    /// Sets argument `name`; [`Value::Null`] is its default. The operation checks\n")
    out.append("    /// the value's own rules when it starts.\n")
    out.append("    pub fn set(&mut self, name: &str, v: Value<'_>) -> Result<(), InputError> {\n        match name {\n")
    out.extend(sets)
    out.append('            _ => return Err(value::unknown("argument")),\n        }\n        Ok(())\n    }\n\n')
    out.append("    /// The core's arguments, borrowed.\n    pub fn args(&self) -> Args<'_> {\n        Args {\n")
    out.extend(f"            {x},\n" for x in lends)
    out.append("        }\n    }\n}\n\n")
    out.append("impl Settings {\n    /// Sets setting `name` from a host's value (or `env_endpoint`, the value of\n"
               "    /// [`ENDPOINT_ENV`](crate::ENDPOINT_ENV) as the host read it); [`Value::Null`]\n"
               "    /// keeps the default. [`Settings::build`] checks how the settings go together.\n")
    out.append("    pub fn set(&mut self, name: &str, v: Value<'_>) -> Result<(), InputError> {\n        match name {\n")
    for st in desc["settings"]:
        n, t = st["name"], st["type"]
        if t == "boolean":
            conv = f'value::boolean("{n}", v)?.unwrap_or(false)'
        elif t == "seconds":
            fn = "delay" if st.get("min") == 0 else "duration"
            conv = f'value::{fn}("{n}", v)?'
        elif t == "integer":
            conv = f'value::integer("{n}", v, {st["min"]}, {st["max"]})?.map(|n| n as _)'
        else:
            conv = f'value::text("{n}", v)?'
        out.append(f'            "{n}" => self.{n} = {conv},\n')
    out.append("            // The host read the environment; errors name the variable.\n"
               '            "env_endpoint" => self.env_endpoint = value::text(crate::ENDPOINT_ENV, v)?,\n')
    out.append('            _ => return Err(value::unknown("setting")),\n        }\n        Ok(())\n    }\n}\n')
    return "".join(out)


def rustfmt(text: str) -> str:
    """The text as `cargo fmt` leaves it (generated Rust is checked by it too)."""
    done = subprocess.run(["rustfmt", "--edition", "2021", "--emit", "stdout"], input=text,
                          capture_output=True, text=True, check=True)
    return done.stdout


def outputs(desc: Dict[str, Any], repo: str) -> Dict[str, str]:
    return {CORE: rustfmt(core_table(desc)), DRIVER: rustfmt(by_name(desc))}
