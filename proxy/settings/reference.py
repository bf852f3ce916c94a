"""The steps and converters reference (``docs/steps.md``), rendered from what a config is
checked against.

Why generated: the op table (``proxy.steps.registry.REGISTRY``), each op's validated keys, each
op's module docstring (its user reference) and the converter table
(``proxy.pipeline.converters.CONVERTERS``) are what ``dialect check`` accepts; a page written
by hand beside them would drift. ``tests/unit/test_docs.py`` renders the page again and compares
it with the committed one, so a new op or converter, a changed key or a reworded docstring
fails the tests until the page is regenerated::

    .venv/bin/python -m proxy.settings.reference > docs/steps.md

Docstrings are written in the reStructuredText habits of the package (````code````, ``Example::``
followed by an indented block); ``markdown`` turns exactly those into Markdown and no more.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import sys
import textwrap
import types
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from proxy.pipeline import converters
from proxy.pipeline.converters import CONVERTERS
from proxy.pipeline.step import Step
from proxy.steps.registry import REGISTRY

REGENERATE = ".venv/bin/python -m proxy.settings.reference > docs/steps.md"

_INTRO = f"""\
# Steps and converters

<!-- Generated from the step registry, each op's module docstring and the converter table.
     Edit those, then regenerate: {REGENERATE} -->

A route edits documents with **steps**: its `request` steps turn what the client sent into
what the upstream is asked, its `response` steps turn the upstream's answer into the client's.
Named step lists live under the config's top-level `pipelines:` and are run by `use` and
`each`. Every step is validated when the config loads (`dialect check FILE` prints every
problem with its location, such as `routes[3].response[1].map`), and a step never performs
I/O: the upstream calls a step plans (`paginate`, `fan_out`) are made by the engine.

## Keys every step takes

- `op`: which step, one of the ops below.
- `when`: run the step only if a condition holds, with exactly one test:
  `{{path: message_type, equals: mms}}`, `{{path: $request.MediaUrl, exists: true}}`,
  `{{path: status, in: [failed, undelivered]}}`, `{{path: message_type, not_in: [mms]}}`,
  `{{path: ALegUUID, same_as: CallUUID}}`.
  `equals` and `in` hold only for a value that is there (`equals: null` holds for an explicit
  null, not for an absent key); `not_in` holds for an absent value; `exists: true` holds for a
  value that is there and is not null, `""` or `[]`; `same_as` (a reference, not a constant)
  holds when the path's value is there and equals the reference's.

## Paths and references

A **path** addresses data inside the document being edited: `sid`, `subresource_uris.media`,
`message_uuid[0]` (negative indexes count from the end), `objects[*].sid` (every item), and
`["DateSent>"]` for a key that is not a plain name. A key that is missing, or an index out of
range, reads as absent.

A **reference** (`from:`, `when: {{path}}`, `require: {{any_of}}`, and the fields of templates)
is a path, or one of these request values:

| reference | value |
|---|---|
| `$request.NAME` | a parameter the client sent (query, form or JSON body), as it came |
| `$path.NAME` | a field of the route's path template (`$path.Sid`) |
| `$query.NAME` | a query-string parameter |
| `$account.sid` | the account the caller authenticated as |
| `$upstream.user` | the user the proxy presents upstream (a Plivo auth id, a Twilio account SID) |
| `$upstream.timezone` | its time zone (`accounts[].upstream.timezone`; `UTC` unless set) |
| `$route.name`, `$route.path`, `$route.method` | the route's name; the client's path, method |
| `$now` | the time the request arrived |
| `$status` | the HTTP status of the answer so far (response phase) |

A **template** is text with references in braces:
`"/2010-04-01/Accounts/{{$account.sid}}/Messages/{{sid}}.json"`. A reference with no value
fails the step, naming it.
"""


def markdown(doc: str) -> str:
    """Docstring text (dedented already, as ``inspect.cleandoc`` leaves it) as Markdown:
    ````x```` and ``:role:`x``` as code, ``text::`` followed by an indented block as ``text:``
    and a fenced YAML block (the examples are config)."""
    lines = doc.strip("\n").splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        i += 1
        if not line.endswith("::"):
            out.append(_inline(line))
            continue
        intro = line[:-2].rstrip()
        if intro:
            out.append(_inline(intro) + ":")
        block: list[str] = []
        while i < len(lines) and (not lines[i].strip() or lines[i].startswith(" ")):
            block.append(lines[i])
            i += 1
        code = textwrap.dedent("\n".join(block)).strip("\n")
        out += ["", "```yaml", code, "```", ""]
    text = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _inline(line: str) -> str:
    line = re.sub(r":[a-z]+:`([^`]+)`", r"`\1`", line)
    line = re.sub(r"``(.+?)``", r"`\1`", line)
    # A wrapped line must not start what Markdown reads as a quote, a heading or a list item.
    if re.match(r"\s*(>|#|\+ )", line):
        line = "\\" + line.lstrip()
    return line


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading (``## `each`, `use``` → ``each-use``)."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def type_text(annotation: Any) -> str:
    """A key's type in a user's words (no Python): ``list of text``, ```keep`` or ``error```."""
    origin, args = get_origin(annotation), get_args(annotation)
    if annotation is Any:
        return "any value"
    if annotation is type(None):
        return "null"
    simple = {str: "text", int: "integer", float: "number", bool: "boolean"}
    if annotation in simple:
        return simple[annotation]
    if origin is Literal:
        return _alternatives([f"`{value}`" for value in args])
    if origin in (Union, types.UnionType):
        return _alternatives([type_text(a) for a in args if a is not type(None)])
    if origin is list:
        return f"list of {type_text(args[0])}"
    if origin is dict:
        return f"mapping of {type_text(args[0])} to {type_text(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "`{" + ", ".join(_key_brief(name, f) for name, f in _fields(annotation)) + "}`"
    return str(annotation)  # pragma: no cover - a new kind of annotation shows as it is


def _alternatives(parts: list[str]) -> str:
    parts = list(dict.fromkeys(parts))
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def _fields(model: type[BaseModel]) -> Iterator[tuple[str, FieldInfo]]:
    """The keys a user writes (aliases where set), in declaration order."""
    for name, field in model.model_fields.items():
        yield field.alias or name, field


def _key_brief(name: str, field: FieldInfo) -> str:
    return name if field.is_required() else f"{name}?"


def default_text(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, str) and value:
        return f"`{value}`"
    return f"`{json.dumps(value)}`"


def _summary_and_body(op_names: list[str], doc: str) -> tuple[str, str]:
    """The module docstring's first paragraph without its ````op``:`` label, and the rest."""
    text = inspect.cleandoc(doc)
    first, _, rest = text.partition("\n\n")
    first = " ".join(first.split())
    label = " and ".join(f"``{op}``" for op in op_names) + ": "
    if first.startswith(label):
        first = first[len(label) :]
        first = first[:1].upper() + first[1:]
    return _inline(first), rest


def _op_groups() -> list[tuple[list[str], type[Step]]]:
    """Ops grouped by the module that defines them (``each`` and ``use`` share one), in the
    registry's order."""
    groups: dict[str, list[str]] = {}
    classes: dict[str, type[Step]] = {}
    for op, cls in REGISTRY.items():
        groups.setdefault(cls.__module__, []).append(op)
        classes.setdefault(cls.__module__, cls)
    return [(ops, classes[module]) for module, ops in groups.items()]


def _phases(cls: type[Step]) -> str:
    phases = sorted(cls.phases)
    return "both" if len(phases) == 2 else phases[0]


def _keys_table(cls: type[Step]) -> list[str]:
    rows = ["| key | type | default |", "|---|---|---|"]
    for name, field in _fields(cls):
        if name in ("op", "when"):
            continue
        rows.append(f"| `{name}` | {type_text(field.annotation)} | {default_text(field)} |")
    return rows


def _steps_section() -> list[str]:
    groups = _op_groups()
    out = ["## The ops", "", "| op | phases | keys | what it does |", "|---|---|---|---|"]
    for ops, _ in groups:
        module = sys.modules[REGISTRY[ops[0]].__module__]
        summary, _ = _summary_and_body(ops, _doc(module))
        anchor = slug(", ".join(f"`{op}`" for op in ops))
        for op in ops:
            cls = REGISTRY[op]
            keys = ", ".join(
                f"`{_key_brief(name, field)}`"
                for name, field in _fields(cls)
                if name not in ("op", "when")
            )
            out.append(f"| [`{op}`](#{anchor}) | {_phases(cls)} | {keys} | {summary} |")
    out.append("")
    for ops, _ in groups:
        module = sys.modules[REGISTRY[ops[0]].__module__]
        summary, body = _summary_and_body(ops, _doc(module))
        out += [f"## {', '.join(f'`{op}`' for op in ops)}", "", summary, ""]
        if body:
            out += [markdown(body)]
        for op in ops:
            cls = REGISTRY[op]
            title = f"Keys of `{op}`" if len(ops) > 1 else "Keys"
            out += [f"{title} ({_phases(cls)} phase{'s' if _phases(cls) == 'both' else ''}):", ""]
            out += _keys_table(cls)
            out.append("")
    return out


def _doc(module: types.ModuleType) -> str:
    """A module's docstring, read from its source when the module runs compiled: a module
    compiled with mypyc (``proxy.pipeline.converters``) has no ``__doc__``, and the reference
    must be the same whichever build renders it."""
    if module.__doc__:
        return module.__doc__
    source = Path(module.__file__ or "").with_name(module.__name__.rpartition(".")[2] + ".py")
    return ast.get_docstring(ast.parse(source.read_text(encoding="utf-8")), clean=False) or ""


def _converter_examples() -> Mapping[str, str]:
    """Each converter's example, from the table in ``proxy.pipeline.converters``' docstring
    (a row may name several converters: ``string`` / ``integer`` / ``boolean``)."""
    examples: dict[str, str] = {}
    for line in _doc(converters).splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 2 or not line.lstrip().startswith("|"):
            continue
        names = [name for name in re.findall(r"``(\w+)``", cells[0]) if name in CONVERTERS]
        # "``as_list`` / ``first`` / ``count``" with one example each, separated by "; ".
        parts = cells[1].split("; ")
        for n, name in enumerate(names):
            examples[name] = _inline(parts[n] if len(parts) == len(names) else cells[1])
    return examples


def _converters_section() -> list[str]:
    examples = _converter_examples()
    out = [
        "## Converters",
        "",
        "Used by `convert`: `{op: convert, at: PATH, with: NAME}`, or",
        "`with: {NAME: {ARGUMENT: VALUE}}` for a converter that takes arguments (checked when the",
        "config loads). An absent value is skipped, and null passes through unchanged.",
        "",
        "| converter | arguments | what it does | example |",
        "|---|---|---|---|",
    ]
    for name, spec in CONVERTERS.items():
        args = "—"
        if spec.args is not None:
            args = ", ".join(
                f"`{key}` ({type_text(field.annotation)}, {default_text(field)})"
                for key, field in _fields(spec.args)
            )
        summary = spec.summary.replace("|", "\\|")
        out.append(f"| `{name}` | {args} | {summary} | {examples.get(name, '')} |")
    out.append("")
    return out


def render() -> str:
    """The whole page, as committed in ``docs/steps.md``."""
    lines = [_INTRO, *_steps_section(), *_converters_section()]
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
