"""Python (bindings/python): the model classes, the exception class of each error
kind, and the operations and settings of ``Client`` and ``AsyncClient`` (as
mixins the hand-written clients inherit), so the package lists none by hand."""

from __future__ import annotations

import keyword
import os
import re
import textwrap
from typing import Any, Dict, List

from . import BANNER, element, host_operations, splice, visible_args

PACKAGE = "bindings/python/python/vpc_imds"
MODELS = f"{PACKAGE}/_models.py"
ERRORS = f"{PACKAGE}/_errors.py"
API = f"{PACKAGE}/_api.py"
README = "bindings/python/README.md"

HEAD = f"# {BANNER}\n"
LAZY_TYPING = "TYPE_CHECKING = False\nif TYPE_CHECKING:  # typing is imported by type checkers only: it costs milliseconds at import\n"

SCALARS = {"string": "str", "id": "str", "path": "str", "integer": "int", "seconds": "float",
           "boolean": "bool", "number": "float"}
# What a host-level result is in Python ("bytes" is wrapped in UserData).
RESULTS = {"none": "None", "bytes": "UserData", "lines": "List[str]", "json": "Dict[str, Any]"}
UNITS = {"s": "seconds", "B": "bytes"}

# Options of the Python clients that are not the driver's settings: (name, type, default, doc).
HOST_OPTIONS = [
    ("transport", "Optional[{transport}]", "None",
     "Your own transport (:class:`vpc_imds.{transport}`) instead of the built-in sockets."),
    ("ca_file", "Optional[str]", "None", "A PEM bundle to trust for ``https`` (default: the system's)."),
    ("use_env", "bool", "True", "Read ``VPC_IMDS_ENDPOINT`` for the default endpoint."),
]


def rst(text: str) -> str:
    """Markdown code spans (`x`) as reST literals (``x``)."""
    return re.sub(r"(?<!`)`([^`]+)`(?!`)", r"``\1``", text)


def docstring(text: str, indent: str, width: int = 100) -> str:
    """A triple-quoted docstring: paragraphs wrapped (``:param`` items one a line)."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"""')
    one = " ".join(text.split())
    if "\n\n" not in text and len(indent) + len(one) + 6 <= width:
        space = " " if one.endswith('"') else ""  # else it runs into the closing quotes
        return f'{indent}"""{one}{space}"""\n'
    lines: List[str] = []
    for i, p in enumerate(text.split("\n\n")):
        if i:
            lines.append("")
        items = p.split("\n") if p.startswith(":param") else [" ".join(p.split())]
        for item in items:
            lines.extend(textwrap.wrap(item, width - len(indent), subsequent_indent="    " if i else "",
                                       break_long_words=False, break_on_hyphens=False))
    body = "".join(f"{indent}{line}".rstrip() + "\n" for line in lines[1:])
    return f'{indent}"""{lines[0]}\n{body}{indent}"""\n'


def call(indent: str, head: str, args: List[str], tail: str = "", note: str = "", width: int = 110) -> str:
    """``head(args)tail``, the arguments wrapped when the line is long; ``note`` is a
    comment for the first line (where mypy reads ``type: ignore``)."""
    comment = f"  # {note}" if note else ""
    one = f"{indent}{head}({', '.join(args)}){tail}"
    if len(one) <= width:
        return one + comment + "\n"
    inner = textwrap.wrap(", ".join(args) + ",", width - len(indent) - 4, break_long_words=False,
                          break_on_hyphens=False)
    return f"{indent}{head}({comment}\n" + "".join(f"{indent}    {line}\n" for line in inner) + f"{indent}){tail}\n"


def attr(name: str) -> str:
    """A field's Python attribute name (``class`` -> ``class_``, as the extension names it)."""
    return f"{name}_" if keyword.iskeyword(name) else name


def field_type(t: str) -> str:
    if t.startswith("["):
        return f"List[{field_type(element(t))}]"
    if t.endswith("?"):
        return f"Optional[{field_type(t[:-1])}]"
    return SCALARS.get(t, t)


def models(desc: Dict[str, Any]) -> str:
    out = [HEAD, '"""Typed documents of the metadata service, built by the core: one class per core\n'
           "model, with IBM's field names (a Python keyword gets a trailing ``_``). See\n"
           '``_model.Model`` for what every class can do."""\n\n'
           "from __future__ import annotations\n\nfrom ._model import Model\n\n", LAZY_TYPING,
           "    from typing import Dict, List, Optional\n\n"]
    # The models the operations return, which the package exports (the rest are reached through them).
    out.append("__all__ = [\n" + "".join(f'    "{n}",\n' for n in models_used(desc) + ["Model"]) + "]\n")
    for m in desc["models"]:
        out.append(f"\n\nclass {m['name']}(Model):\n" + docstring(rst(m["doc"]), "    ") + "\n")
        for f in m["fields"]:
            out.append(f"    {attr(f['name'])}: {field_type(f['type'])}\n" + docstring(rst(f["doc"]), "    "))
        # Each field and whether it holds a list, for ``Model``.
        items = [f'"{attr(f["name"])}": {f["type"].startswith("[")}' for f in m["fields"]]
        one = f"    _fields = {{{', '.join(items)}}}\n"
        out.append("\n" + (one if len(one) <= 111 else "    _fields = {\n" + "".join(f"        {i},\n" for i in items) + "    }\n"))
    out.append("\n\n#: Core struct name -> class (registered with the extension at import).\n")
    out.append("REGISTRY: Dict[str, type] = {\n")
    out.extend(f'    "{m.get("core", m["name"])}": {m["name"]},\n' for m in desc["models"])
    out.append("}\n")
    return "".join(out)


#: A field's doc where Python's attribute differs from the error record's field.
ERROR_DOCS = {
    "message": ("IBM's error message (``errors[0].message``, also ``api_message``); "
                "``str(error)`` is what went wrong, in words."),
}


def error_base(fields: List[Dict[str, Any]]) -> str:
    """``ImdsError``: the error record's fields as attributes."""
    out = ["\n\nclass ImdsError(Exception):\n", docstring(
        "Base class of every error this package raises for an operation: the fields of the "
        "error record every host gives, as attributes (``None`` when they do not apply; each kind "
        "has its subclass, e.g. ``not_found`` :class:`NotFound`). The message (``str(error)``) "
        "never contains a token.", "    "), "\n"]
    for f in fields:
        name, doc = f["name"], ERROR_DOCS.get(f["name"], rst(f["doc"]))
        # Set from the record when raised; the class's own are what an unset one reads.
        typed = ('str = "unknown"' if f["name"] == "kind"
                 else f"{field_type(f['type'].rstrip('?') + '?')} = None")
        out.append(f"    {name}: {typed}\n" + docstring(doc, "    "))
    out.append('\n    def __init__(self, text: str = "") -> None:\n        super().__init__(text)\n\n'
               "    def __reduce__(self):  # type: ignore[no-untyped-def]\n"
               "        return (_rebuild, (type(self), str(self), dict(self.__dict__)))\n\n\n"
               "def _rebuild(cls: Type[ImdsError], text: str, state: Dict[str, object]) -> ImdsError:\n"
               "    exc = cls(text)\n    exc.__dict__.update(state)\n    return exc\n")
    return "".join(out)


def errors(desc: Dict[str, Any]) -> str:
    kinds = desc["errors"]["kinds"]
    names = ["ImdsError"] + [k["python"] for k in kinds] + ["TransportError"]
    out = [HEAD, '"""Exceptions: :class:`ImdsError`, with the error record\'s fields, and one subclass\n'
           'of it per error kind of the core, the same kinds in every binding."""\n\n'
           "from __future__ import annotations\n\nfrom ._transport import TransportError\n\n",
           LAZY_TYPING, "    from typing import Dict, Optional, Type\n\n"]
    out.append("__all__ = [\n" + "".join(f'    "{n}",\n' for n in names) + "]\n")
    out.append(error_base(desc["errors"]["fields"]))
    for k in kinds:
        bases = ", ".join(["ImdsError"] + k["python_bases"])
        out.append(f"\n\nclass {k['python']}({bases}):\n")
        out.append(docstring(f"``{k['kind']}``: " + rst(k["doc"]), "    "))
        out.append(f'\n    kind = "{k["kind"]}"\n')
    out.append("\n\n#: Error kind -> class (registered with the extension at import).\n")
    out.append("BY_KIND: Dict[str, Type[ImdsError]] = {\n")
    out.extend(f'    "{k["kind"]}": {k["python"]},\n' for k in kinds)
    out.append("}\n")
    return "".join(out)


def arg_type(a: Dict[str, Any]) -> str:
    t = SCALARS[a["type"]]
    return f"Optional[{t}]" if a.get("optional") else t


def result(op: Dict[str, Any]) -> str:
    r: str = op["returns"]
    if r.startswith("["):
        return f"List[{element(r)}]"
    return RESULTS.get(r, r)


def models_used(desc: Dict[str, Any]) -> List[str]:
    used = {element(op["returns"]) for op in desc["operations"]}
    return sorted(n for n in used if any(m["name"] == n for m in desc["models"]))


def signature(indent: str, head: str, params: List[str], tail: str, width: int = 110) -> str:
    """``head(params) tail`` on one line if it fits, else one parameter a line."""
    one = f"{indent}{head}({', '.join(params)}){tail}\n"
    if len(one) <= width + 1:
        return one
    inner = "".join(f"{indent}    {p},\n" for p in params)
    return f"{indent}{head}(\n{inner}{indent}){tail}\n"


def setting_doc(s: Dict[str, Any]) -> str:
    facts = []
    if s.get("unit"):
        facts.append(UNITS.get(s["unit"], s["unit"]))
    if "min" in s:
        facts.append(f"{s['min']}..{s['max']}")
    if s["default"] is not None:
        d = s["default"]
        facts.append(f"default {d}" if isinstance(d, (int, float)) and not isinstance(d, bool) else f"default ``{d}``")
    tail = f" ({'; '.join(facts)})" if facts else ""
    return f":param {s['name']}: {rst(s['doc']).rstrip('.')}{tail}."


def init(desc: Dict[str, Any], transport: str) -> str:
    params, passed, docs = ["self"], [], []
    for i, s in enumerate(desc["settings"]):
        if i == 1:
            params.append("*")
        t = SCALARS[s["type"]]
        if isinstance(s["default"], bool):  # a flag's default is plain
            params.append(f"{s['name']}: {t} = {s['default']}")
        else:  # None: the driver's default
            params.append(f"{s['name']}: Optional[{t}] = None")
        passed.append(f"{s['name']}={s['name']}")
        docs.append(setting_doc(s))
    for name, t, default, doc in HOST_OPTIONS:
        params.append(f"{name}: {t.format(transport=transport)} = {default}")
        docs.append(f":param {name}: {doc.format(transport=transport)}")
    text = ("Makes a client: the settings are checked by the driver (a bad one raises "
            ":class:`InvalidArgument`, and nothing is sent); ``None`` is the driver's default.\n\n"
            + "\n".join(docs))
    body = call("        ", "self._setup", ["transport", "ca_file", "use_env"] + passed)
    return signature("    ", "def __init__", params, " -> None:") + docstring(text, "        ") + body


def method(op: Dict[str, Any], asynchronous: bool) -> str:
    args = visible_args(op)
    params = ["self"] + [f"{a['name']}: {arg_type(a)}" + (" = None" if a.get("optional") else "") for a in args]
    call_args = [f'"{op["op"]}"'] + [f"{a['name']}={a['name']}" for a in args]
    call_args += [f"{k}={v!r}" for k, v in op.get("fixed", {}).items()]
    ret = result(op)
    paged = op.get("paged")
    field = op.get("field")
    aw = "await " if asynchronous else ""
    if paged:
        item = element(op["returns"]) if field else RESULTS[op["returns"]]
        ret = f"{'AsyncIterator' if asynchronous else 'Iterator'}[{item}]"
    head = "async def" if asynchronous and not (paged and not field) else "def"
    doc_text = rst(op["doc"])
    if args:
        doc_text += "\n\n" + "\n".join(f":param {a['name']}: {rst(a['doc'])}" for a in args)
    out = signature("    ", f"{head} {op['name']}", params, f" -> {ret}:") + docstring(doc_text, "        ")
    ignore = "type: ignore[no-any-return]"
    run = f"self._run({', '.join(call_args)})"
    r = op["returns"]
    if paged and field:  # items of every page, lazily
        if asynchronous:
            out += f"        async for page in {run}:\n            for item in page.{field}:\n                yield item\n"
        else:
            out += f"        for page in {run}:\n            yield from page.{field}\n"
    elif paged:  # the pages themselves
        out += f"        return {run}\n"
    elif r == "none":
        out += call("        ", f"{aw}self._one", call_args)
    elif r == "bytes":
        out += call("        ", f"return UserData({aw}self._one", call_args, ")")
    elif r == "json" and op["layer"] == "driver":
        # A driver-made document (get_all's merged pages) comes in parts, as bytes.
        parts = f"[part async for part in {run}]" if asynchronous else run
        out += f'        return _core.loads(b"".join({parts}))  # {ignore}\n'
    elif field:  # the list member of the document
        head = "return (await self._one" if asynchronous else "return self._one"
        tail = (")." if asynchronous else ".") + field
        out += call("        ", head, call_args, tail, ignore)
    else:
        out += call("        ", f"return {aw}self._one", call_args, "", ignore)
    return out


def api(desc: Dict[str, Any]) -> str:
    ops = host_operations(desc)
    out = [HEAD, '"""The settings and operations of :class:`vpc_imds.Client` and\n'
           ":class:`vpc_imds.AsyncClient`, as mixins: the clients (``_client.py``,\n"
           '``_async.py``) step the machine and move the bytes."""\n\n'
           "from __future__ import annotations\n\nfrom . import _core\nfrom ._base import Base\n"
           "from ._userdata import UserData\n\n", LAZY_TYPING,
           "    from typing import Any, AsyncIterator, Dict, Iterator, List, Optional\n\n"]
    used = models_used(desc)
    line = f"    from ._models import {', '.join(used)}\n"
    out.append(line if len(line) <= 89 else "    from ._models import (\n" + "".join(f"        {n},\n" for n in used) + "    )\n")
    out.append("    from ._transport import AsyncTransport, Transport\n\n")
    out.append('__all__ = ["AsyncClientApi", "ClientApi"]\n')
    for cls, transport, asynchronous in (("ClientApi", "Transport", False), ("AsyncClientApi", "AsyncTransport", True)):
        kind = "coroutines; lists that page are async iterators" if asynchronous else "blocking calls"
        out.append(f"\n\nclass {cls}(Base):\n")
        out.append(docstring(f"Settings and operations ({kind}), from ``api/vpc-imds.json``.", "    "))
        out.append("\n    if TYPE_CHECKING:  # the client steps the machine\n\n")
        if asynchronous:
            out.append("        async def _one(self, op: str, **args: Any) -> Any: ...\n\n")
            out.append("        def _run(self, op: str, **args: Any) -> AsyncIterator[Any]: ...\n\n")
        else:
            out.append("        def _one(self, op: str, **args: Any) -> Any: ...\n\n")
            out.append("        def _run(self, op: str, **args: Any) -> Iterator[Any]: ...\n\n")
        out.append(init(desc, transport))
        for op in ops:
            out.append("\n" + method(op, asynchronous))
    return "".join(out)


def readme(desc: Dict[str, Any], repo: str) -> str:
    """The README's list of methods and of options, from the same description."""
    with open(os.path.join(repo, README), encoding="utf-8") as f:
        text = f.read()
    note = f"<!-- {BANNER} -->\n"
    ops = [note, "| method | returns | what it does |\n|---|---|---|\n"]
    for op in host_operations(desc):
        args = ", ".join(a["name"] + ("=None" if a.get("optional") else "") for a in visible_args(op))
        ret = result(op)
        if op.get("paged"):
            ret = f"Iterator[{element(op['returns']) if op.get('field') else 'Dict[str, Any]'}]"
        doc = " ".join(op["doc"].split()).replace("|", "\\|")
        ops.append(f"| `{op['name']}({args})` | `{ret}` | {doc} |\n")
    sets = [note, "| keyword | default | range | what |\n|---|---|---|---|\n"]
    for s in desc["settings"]:
        unit = f" {s['unit']}" if s.get("unit") else ""
        d = s["default"]
        default = "—" if d is None else f"`{d}`{unit}"
        rng = f"{s['min']}..{s['max']}{unit}" if "min" in s else "—"
        sets.append(f"| `{s['name']}` | {default} | {rng} | {' '.join(s['doc'].split())} |\n")
    for name, _, default, doc in HOST_OPTIONS:
        doc = doc.format(transport="Transport` or `AsyncTransport").replace(":class:", "").replace("``", "`")
        sets.append(f"| `{name}` | `{default}` | — | {doc} |\n")
    text = splice(text, "python-methods", "".join(ops))
    return splice(text, "python-settings", "".join(sets))


def outputs(desc: Dict[str, Any], repo: str) -> Dict[str, str]:
    return {MODELS: models(desc), ERRORS: errors(desc), API: api(desc), README: readme(desc, repo)}
