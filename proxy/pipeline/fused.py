"""A named pipeline fused into one generated Python function, with the per-step runner as its
fallback.

A record pipeline (``twilio_message``: about thirty steps) runs once per record, a thousand
times for a list page of 1000. Run step by step, each step costs a call, a repeated
``isinstance(doc, dict)`` and its own attribute lookups; the document is rebuilt by ``rename``
and again by ``select``, and context references look their value up each time. Together these
were most of a record's CPU. ``fuse`` writes the steps as straight-line code in one function,
compiled once when the config loads, in one of two forms:

- the *record* form, for a pipeline of steps on top-level keys that ends with a ``select``
  (every shipped record pipeline): each key lives in a local variable, read from the document
  when first needed, and only the final ``select`` builds a dict. It never changes the input
  (a nested ``set`` into an object the input already has is left to the per-step path, which
  edits it in place as before), so on anything unusual it simply runs the whole pipeline step
  by step on the untouched document. Key order cannot differ: the final
  ``select`` fixes it, and the one step that could observe it, ``rename`` (which of two keys
  renamed onto one name wins), hands over to the per-step path whenever that could happen.
- the *document* form, for anything else: steps edit the document as their own ``run`` would,
  and from the first step it has no template for, or on anything unusual, the document as it
  stands goes to the per-step runner from that step on (``run_nested`` with ``start``). That
  re-run is exact because each template computes its new value before it changes the
  document (the one exception, a nested ``set`` creating its missing parent first, is what
  the step itself does too).

Either way, what is unusual is decided by running the step's own code: a document that is not
a dict, a nested parent that is not an object, a template with a missing value, and any
exception at all inside the fused code. Every error is therefore the one the step itself
raises, with the index ``run_nested`` gives it. Converters, lookups, copies and templates are
pure, so running one again gives the same answer.

Safety of the generated code: its text is made only from the fixed templates below, with
identifiers and step indexes the generator chooses. Every value that comes from a config (keys,
literal text, tables, converters, defaults) is passed in as a bound constant and referred to by
a generated name (``_c12``), so no config string is ever part of the source.

The unit tests hold both forms to running the steps' plain ``apply`` one by one, for every
record pipeline of every shipped config (and variants that take the document form), on
generated records.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

from proxy.engine.exchange import Exchange
from proxy.pipeline.kernels import ATOMIC
from proxy.pipeline.paths import MISSING, DataPath
from proxy.pipeline.step import Condition, Ref, Step, Template
from proxy.steps.convert import Convert
from proxy.steps.drop import Drop
from proxy.steps.map_values import MapValues
from proxy.steps.rename import Rename
from proxy.steps.select import Select
from proxy.steps.set_value import SetValue

# fused(ex, doc, where, index): ``run_nested(steps, ex, doc, where)`` for ``index is None``,
# else ``run_nested(steps, ex, doc, f"{where}[{index}]")``; ``each`` passes the index so that
# the item's path is only formatted when a step fails.
Fused = Callable[[Exchange, Any, str, int | None], Any]
Rest = Callable[[int, Exchange, Any, str, int | None], Any]


class _Fallback(Exception):
    """Raised by generated code where the step's own ``run`` must decide (never escapes)."""


class _Unsupported(Exception):
    """A pipeline the record form does not cover (the document form takes it)."""


class _Source:
    """The text of one generated function, and the constants it refers to by name."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.consts: dict[str, Any] = {}
        self.uses_context = False

    def const(self, value: Any) -> str:
        name = f"_c{len(self.consts)}"
        self.consts[name] = value
        return name

    def line(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)


def fuse(steps: Sequence[Step]) -> Fused:
    """One function running ``steps`` exactly as ``run_nested`` would."""
    from proxy.pipeline.runner import run_nested

    steps = tuple(steps)

    def rest(start: int, ex: Exchange, doc: Any, where: str, index: int | None) -> Any:
        path = where if index is None else f"{where}[{index}]"
        return run_nested(steps, ex, doc, path, start=start)

    try:
        try:
            return _record_form(steps, rest)
        except _Unsupported:
            return _document_form(steps, rest)
    except SyntaxError:  # pragma: no cover - a generator bug must not stop a config loading
        return lambda ex, doc, where, index: rest(0, ex, doc, where, index)


def _compile(name: str, code: list[str], src: _Source, rest: Rest) -> Fused:
    namespace: dict[str, Any] = {
        **src.consts,
        "_rest": rest,
        "_Fallback": _Fallback,
        "_M": MISSING,
        "_deepcopy": copy.deepcopy,
        "_ATOMIC": ATOMIC,  # values set may share rather than copy
    }
    exec(compile("\n".join(code) + "\n", "<fused pipeline>", "exec"), namespace)  # noqa: S102
    fn: Fused = namespace[name]
    return fn


# == the document form ==========================================================================


def _document_form(steps: tuple[Step, ...], rest: Rest) -> Fused:
    src = _Source()
    fused_count = 0
    for k, step in enumerate(steps):
        mark, uses_context = len(src.lines), src.uses_context
        if k:
            src.line(2, f"k = {k}")
        if not _emit(src, step):  # no template: this step and the rest run one by one
            del src.lines[mark:]
            src.uses_context = uses_context
            break
        fused_count = k + 1
    if fused_count == 0:
        return lambda ex, doc, where, index: rest(0, ex, doc, where, index)
    code = [
        "def fused_document(ex, doc, where, index):",
        "    if not isinstance(doc, dict):",
        "        return _rest(0, ex, doc, where, index)",
        "    k = 0",
        "    try:",
    ]
    if src.uses_context:
        # Built once per record: nothing a fused step does changes it (``$status`` is read
        # through the exchange each time instead).
        code.append("        ctx = ex.context()")
    code.extend(src.lines)
    if fused_count == len(steps):
        code.append("        return doc")
    else:
        code.append(f"        k = {fused_count}")
    code += [
        "    except Exception:",  # any failure: the step runs again through its own run()
        "        pass",
        "    return _rest(k, ex, doc, where, index)",
    ]
    return _compile("fused_document", code, src, rest)


# Each template writes one step at depth 2 (inside the try) and returns False for a step it does
# not handle. Inside a template ``doc`` is known to be a dict: the function checks it on entry,
# and no handled step makes it anything else.


def _emit(src: _Source, step: Step) -> bool:
    kind = type(step)
    if kind is Rename:
        return _guarded(src, step, _rename)
    if kind is Drop:
        return _guarded(src, step, _drop)
    if kind is Select:
        return _guarded(src, step, _select)
    if kind is Convert:
        return _guarded(src, step, _convert)
    if kind is MapValues:
        return _guarded(src, step, _map_values)
    if kind is SetValue:
        return _guarded(src, step, _set)
    return False


def _guarded(src: _Source, step: Step, template: Callable[[_Source, Any, int], bool]) -> bool:
    """The step's template, under its ``when`` condition if it has one."""
    if step.when is None:
        return template(src, step, 2)
    src.line(2, f"if {_condition(src, step.when)}:")
    return template(src, step, 3)


def _condition(src: _Source, when: Condition) -> str:
    """``Condition.test()`` as an expression: one-key document paths inline, others called."""
    ref: Ref = when._ref
    key = ref.path.top_key if not ref.context else None
    if key is None or when.exists is not None:
        return f"{src.const(when.test())}(ex, doc)"
    k = src.const(key)
    if when.in_ is not None:
        return f"({k} in doc and doc[{k}] in {src.const(when.in_)})"
    if when.not_in is not None:
        return f"(not ({k} in doc and doc[{k}] in {src.const(when.not_in)}))"
    return f"({k} in doc and doc[{k}] == {src.const(when.equals)})"


def _rename(src: _Source, step: Rename, d: int) -> bool:
    if step._at.segments:
        return False
    table = dict(step.map)
    src.line(d, f"if not {src.const(table.keys())}.isdisjoint(doc):")
    src.line(d + 1, f"doc = {{{src.const(table.get)}(x, x): y for x, y in doc.items()}}")
    return True


def _drop(src: _Source, step: Drop, d: int) -> bool:
    if step._at.segments:
        return False
    for key in step.keys:
        src.line(d, f"doc.pop({src.const(key)}, None)")
    if not step.keys:
        src.line(d, "pass")
    return True


def _select(src: _Source, step: Select, d: int) -> bool:
    if step._at.segments:
        return False
    if step.skip_missing:
        src.line(d, f"doc = {{x: doc[x] for x in {src.const(tuple(step.keys))} if x in doc}}")
        return True
    src.line(d, "g = doc.get")
    default = "" if step.default is None else f", {src.const(step.default)}"
    items = []
    for key in step.keys:
        k = src.const(key)
        items.append(f"{k}: g({k}{default})")
    src.line(d, "doc = {" + ", ".join(items) + "}")
    return True


def _convert(src: _Source, step: Convert, d: int) -> bool:
    key = step._at.top_key
    if key is None:
        return False
    k = src.const(key)
    src.line(d, f"if {k} in doc:")
    src.line(d + 1, f"doc[{k}] = {src.const(step._fn)}(doc[{k}])")
    return True


def _map_values(src: _Source, step: MapValues, d: int) -> bool:
    key = step._at.top_key
    if key is None:
        return False
    k, table, lookup = src.const(key), src.const(step.map), src.const(step._lookup)
    where = src.const((key,))
    src.line(d, f"if {k} in doc:")
    src.line(d + 1, f"v = doc[{k}]")
    if step.fallback == "keep":  # a string the table does not name stays as it is
        src.line(d + 1, "if isinstance(v, str):")
        src.line(d + 2, f"if v in {table}:")
        src.line(d + 3, f"doc[{k}] = {table}[v]")
        src.line(d + 1, "else:")
    else:
        src.line(d + 1, f"if isinstance(v, str) and v in {table}:")
        src.line(d + 2, f"doc[{k}] = {table}[v]")
        src.line(d + 1, "else:")
    src.line(d + 2, f"doc[{k}] = {lookup}(v, {where})")
    return True


def _set(src: _Source, step: SetValue, d: int) -> bool:
    segments = step._at.segments
    if step._at.top_key is not None:
        k = src.const(step._at.top_key)
        if step.if_missing:
            src.line(d, f"if doc.get({k}) is None:")
            d += 1
        _value(src, step, d)
        src.line(d, f"doc[{k}] = v")
        return True
    if len(segments) == 2 and all(isinstance(s, str) for s in segments):
        outer, inner = src.const(segments[0]), src.const(segments[1])
        # As SetValue's own closure: the outer object is made before the value is computed.
        src.line(d, f"p = doc.get({outer})")
        src.line(d, "if p is None:")
        src.line(d + 1, f"p = doc[{outer}] = {{}}")
        src.line(d, "elif not isinstance(p, dict):")
        src.line(d + 1, "raise _Fallback")
        if step.if_missing:
            src.line(d, f"if p.get({inner}) is None:")
            d += 1
        _value(src, step, d)
        src.line(d, f"p[{inner}] = v")
        return True
    return False


def _value(src: _Source, step: SetValue, d: int) -> None:
    """Lines leaving the value ``set`` writes in ``v``, as ``SetValue._value`` computes it."""
    template: Template | None = step._template
    ref: Ref | None = step._from
    if template is not None:
        fields: list[str] = []
        names: list[str] = []
        for part in template.parts:
            if isinstance(part, str):
                fields.append("{" + src.const(part) + "}")
                continue
            name = f"a{len(names)}"
            _read(src, part, name, d)
            names.append(name)
            fields.append("{" + name + "!s}")
        if names:  # a missing value: the step's own renderer raises the failure
            src.line(d, f"if {' or '.join(f'{n} is None' for n in names)}:")
            src.line(d + 1, "raise _Fallback")
        src.line(d, 'v = f"' + "".join(fields) + '"')
    elif ref is not None:
        _read(src, ref, "v", d)
        src.line(d, "if type(v) not in _ATOMIC:")
        src.line(d + 1, "v = _deepcopy(v)")
    elif isinstance(step.value, ATOMIC):
        src.line(d, f"v = {src.const(step.value)}")
    else:
        src.line(d, f"v = {src.const(step._value)}(ex, doc)")


def _read(src: _Source, ref: Ref, name: str, d: int) -> None:
    """``name = ref.get(ex, doc, None)``: one-key document paths and context paths inline."""
    path: DataPath = ref.path
    if not ref.context and path.top_key is not None:
        src.line(d, f"{name} = doc.get({src.const(path.top_key)})")
        return
    plain = all(isinstance(s, str | int) for s in path.segments)
    # ``$status`` is the one context value that changes during a run: read it afresh.
    if not ref.context or not plain or (path.segments and path.segments[0] == "status"):
        src.line(d, f"{name} = {src.const(ref.get)}(ex, doc, None)")
        return
    src.uses_context = True
    src.line(d, f"{name} = ctx")
    for seg in path.segments:  # DataPath.get, unrolled
        s, n = src.const(seg), name
        if isinstance(seg, str):
            src.line(d, f"{n} = {n}[{s}] if isinstance({n}, dict) and {s} in {n} else None")
        else:
            test = f"isinstance({n}, list) and -len({n}) <= {s} < len({n})"
            src.line(d, f"{n} = {n}[{s}] if {test} else None")


# == the record form ============================================================================


def _record_form(steps: tuple[Step, ...], rest: Rest) -> Fused:
    """The record form of ``steps``, or ``_Unsupported``."""
    last = steps[-1] if steps else None
    if type(last) is not Select or last.when is not None:
        raise _Unsupported
    record = _Record()
    for step in steps[:-1]:
        record.step(step)
    record.final_select(last)
    code = [
        "def fused_record(ex, doc, where, index):",
        "    if not isinstance(doc, dict):",
        "        return _rest(0, ex, doc, where, index)",
        "    try:",
        "        g = doc.get",
    ]
    if record.prologue:
        code.append("        ctx = ex.context()")
        code.extend(record.prologue)
    code.extend(record.src.lines)
    code += [
        "    except Exception:",  # anything unusual: the whole pipeline, step by step
        "        pass",
        "    return _rest(0, ex, doc, where, index)",
    ]
    return _compile("fused_record", code, record.src, rest)


class _Record:
    """Writes the record form, one step at a time.

    Each document key a step touches has a local variable (``f3``) holding its current value,
    or ``_M`` when the key is absent. A key no step has touched yet is still the input's, read
    with ``g`` (the document's ``get``) right before the first step that needs it, outside that
    step's condition, so that the variable is bound on every path. What is known for certain
    at each point (a key is present; a nested object is one this run made) saves a test.
    """

    def __init__(self) -> None:
        self.src = _Source()
        self.var: dict[str, str] = {}  # key -> local variable
        self.bound: set[str] = set()  # keys whose variable holds their current value
        self.present: set[str] = set()  # keys certainly present (their variable is not _M)
        self.owned: set[str] = set()  # keys whose value is a dict this run made
        self.hoisted: dict[tuple[Any, ...], str] = {}  # context path -> local variable
        self.prologue: list[str] = []
        self.opened = 0  # the line count after the last condition written

    # -- keys and values -----------------------------------------------------------------

    def name(self, key: str) -> str:
        if key not in self.var:
            self.var[key] = f"f{len(self.var)}"
        return self.var[key]

    def need(self, keys: list[str]) -> None:
        for key in keys:
            if key not in self.bound:
                self.src.line(2, f"{self.name(key)} = g({self.src.const(key)}, _M)")
                self.bound.add(key)

    def value_of(self, key: str) -> str:
        """The key's value as ``doc.get(key)`` gives it (None when absent)."""
        f = self.name(key)
        return f if key in self.present else f"({f} if {f} is not _M else None)"

    def written(self, key: str, conditional: bool) -> None:
        """After a step wrote the key (which, when conditional, ``need`` bound first)."""
        self.bound.add(key)
        self.owned.discard(key)
        if not conditional:
            self.present.add(key)

    @staticmethod
    def doc_key(ref: Ref) -> str | None:
        """The top-level key a document reference reads; unsupported for any other path."""
        if ref.context:
            return None
        if ref.path.top_key is None:
            raise _Unsupported
        return ref.path.top_key

    def context_value(self, ref: Ref) -> str:
        """A context value, read once per record into a local (nothing in the record form can
        change one); ``$status`` and unusual paths through the reference itself."""
        segments = ref.path.segments
        plain = all(isinstance(s, str | int) for s in segments)
        if not plain or (segments and segments[0] == "status"):
            return f"{self.src.const(ref.get)}(ex, doc, None)"
        if segments not in self.hoisted:
            name = f"x{len(self.hoisted)}"
            self.hoisted[segments] = name
            self.prologue.append(f"        {name} = ctx")
            for seg in segments:  # DataPath.get, unrolled
                s = self.src.const(seg)
                if isinstance(seg, str):
                    test = f"isinstance({name}, dict) and {s} in {name}"
                else:
                    test = f"isinstance({name}, list) and -len({name}) <= {s} < len({name})"
                self.prologue.append(f"        {name} = {name}[{s}] if {test} else None")
        return self.hoisted[segments]

    # -- conditions ------------------------------------------------------------------------

    def condition_reads(self, when: Condition | None) -> list[str]:
        if when is None:
            return []
        key = self.doc_key(when._ref)
        return [] if key is None else [key]

    def condition(self, when: Condition) -> str:
        """``Condition.holds`` as an expression on the variables."""
        key = self.doc_key(when._ref)
        if key is None:  # a context path: the condition reads only the exchange
            return f"{self.src.const(when.test())}(ex, doc)"
        f = self.name(key)
        if when.exists is not None:
            present = f'{f} is not _M and {f} is not None and {f} != "" and {f} != []'
            return f"(({present}) == {self.src.const(when.exists)})"
        if when.in_ is not None:
            return f"({f} is not _M and {f} in {self.src.const(when.in_)})"
        if when.not_in is not None:
            return f"(not ({f} is not _M and {f} in {self.src.const(when.not_in)}))"
        return f"({f} is not _M and {f} == {self.src.const(when.equals)})"

    # -- steps -------------------------------------------------------------------------------

    def step(self, step: Step) -> None:
        conditional = step.when is not None
        reads = self.condition_reads(step.when)
        self.write_step(step, conditional, reads)
        if conditional and len(self.src.lines) == self.opened:
            # Nothing to do (no keys to drop, a rename onto itself): the condition needs a body.
            self.src.line(3, "pass")

    def write_step(self, step: Step, conditional: bool, reads: list[str]) -> None:
        if type(step) is Rename:
            self.rename(step, reads, conditional)
        elif type(step) is Drop and not step._at.segments:
            self.need(reads + (list(step.keys) if conditional else []))
            d = self.open(step)
            for key in step.keys:
                self.src.line(d, f"{self.name(key)} = _M")
            for key in step.keys:
                self.bound.add(key)
                self.present.discard(key)
                self.owned.discard(key)
        elif type(step) is Convert and step._at.top_key is not None:
            f, d = self.modify(step, step._at.top_key, reads)
            self.src.line(d, f"{f} = {self.src.const(step._fn)}({f})")
        elif type(step) is MapValues and step._at.top_key is not None:
            f, d = self.modify(step, step._at.top_key, reads)
            self.map_values(step, f, d)
        elif type(step) is SetValue:
            self.set_value(step, reads, conditional)
        else:
            raise _Unsupported

    def modify(self, step: Step, key: str, reads: list[str]) -> tuple[str, int]:
        """For a step that replaces a present key's value: the variable, and the depth."""
        self.need([*reads, key])
        d = self.open(step)
        f = self.name(key)
        if key not in self.present:
            self.src.line(d, f"if {f} is not _M:")
            d += 1
        self.written(key, conditional=True)  # present exactly when it was before
        return f, d

    def open(self, step: Step) -> int:
        """The step's condition line, if any; the depth its body is written at."""
        if step.when is None:
            return 2
        self.src.line(2, f"if {self.condition(step.when)}:")
        self.opened = len(self.src.lines)
        return 3

    def rename(self, step: Rename, reads: list[str], conditional: bool) -> None:
        table = dict(step.map)
        if step._at.segments or len(set(table.values())) != len(table):
            raise _Unsupported  # nested, or two keys renamed onto one
        pairs = [(old, new) for old, new in table.items() if old != new]
        olds = [old for old, _ in pairs]
        news = [new for _, new in pairs]
        vacated = [old for old in olds if old not in news]
        self.need(reads + olds + (news if conditional else []))
        d = self.open(step)
        # A new name already present would meet its old one: which wins depends on the
        # document's order, so the per-step path decides (not a case real records have).
        arriving = [new for new in news if new not in table]
        unread = [new for new in arriving if new not in self.bound]
        for new in arriving:
            if new in self.bound:
                self.src.line(d, f"if {self.name(new)} is not _M:")
                self.src.line(d + 1, "raise _Fallback")
        if unread:  # still the input's: one test for all of them
            self.src.line(d, f"if not {self.src.const(frozenset(unread))}.isdisjoint(doc):")
            self.src.line(d + 1, "raise _Fallback")
        if pairs:
            targets = [self.name(k) for k in news + vacated]
            values = [self.name(k) for k in olds] + ["_M"] * len(vacated)
            self.src.line(d, f"{', '.join(targets)}, = {', '.join(values)},")
        present = {new for old, new in pairs if old in self.present}
        for key in olds + news:
            self.bound.add(key)
            self.owned.discard(key)
            self.present.discard(key)
        if not conditional:
            self.present |= present

    def map_values(self, step: MapValues, f: str, d: int) -> None:
        table, lookup = self.src.const(step.map), self.src.const(step._lookup)
        where = self.src.const((step._at.top_key,))
        if step.fallback == "keep":  # a string the table does not name stays as it is
            self.src.line(d, f"if isinstance({f}, str):")
            self.src.line(d + 1, f"if {f} in {table}:")
            self.src.line(d + 2, f"{f} = {table}[{f}]")
        else:
            self.src.line(d, f"if isinstance({f}, str) and {f} in {table}:")
            self.src.line(d + 1, f"{f} = {table}[{f}]")
        self.src.line(d, "else:")
        self.src.line(d + 1, f"{f} = {lookup}({f}, {where})")

    def set_value(self, step: SetValue, reads: list[str], conditional: bool) -> None:
        segments = step._at.segments
        value_reads = self.value_reads(step)
        top = step._at.top_key
        if top is not None:
            self.need(reads + value_reads + ([top] if conditional or step.if_missing else []))
            d = self.open(step)
            f = self.name(top)
            if step.if_missing:
                test = f"{f} is None" if top in self.present else f"{f} is _M or {f} is None"
                self.src.line(d, f"if {test}:")
                d += 1
            self.value(step, d)
            self.src.line(d, f"{f} = v")
            self.written(top, conditional)
            return
        if len(segments) != 2 or not all(isinstance(s, str) for s in segments):
            raise _Unsupported
        outer, inner = str(segments[0]), self.src.const(segments[1])
        self.need([*reads, *value_reads, outer])
        d = self.open(step)
        f = self.name(outer)
        # As SetValue's own closure, the outer object is made before the value is computed.
        # Only into an object this run made: one the input has must be edited in place (it
        # may be shared), and the record form never changes the input, so the per-step path
        # takes that record.
        self.src.line(d, f"p = {f}")
        if outer not in self.owned:
            self.src.line(d, "if p is not _M and p is not None:")
            self.src.line(d + 1, "raise _Fallback")
            self.src.line(d, f"p = {f} = {{}}")
        if step.if_missing:
            self.src.line(d, f"if p.get({inner}) is None:")
            d += 1
        self.value(step, d)
        self.src.line(d, f"p[{inner}] = v")
        self.written(outer, conditional)
        if not conditional:
            self.owned.add(outer)

    def value_reads(self, step: SetValue) -> list[str]:
        refs: list[Ref] = []
        if step._template is not None:
            refs = [p for p in step._template.parts if isinstance(p, Ref)]
        elif step._from is not None:
            refs = [step._from]
        return [k for k in (self.doc_key(r) for r in refs) if k is not None]

    def value(self, step: SetValue, d: int) -> None:
        """Lines leaving the value ``set`` writes in ``v``, as ``SetValue._value`` computes it."""
        template: Template | None = step._template
        ref: Ref | None = step._from
        if template is not None:
            fields: list[str] = []
            names: list[str] = []
            for part in template.parts:
                if isinstance(part, str):
                    fields.append("{" + self.src.const(part) + "}")
                    continue
                name = f"a{len(names)}"
                self.src.line(d, f"{name} = {self.read(part)}")
                names.append(name)
                fields.append("{" + name + "!s}")
            if names:  # a missing value: the step's own renderer raises the failure
                self.src.line(d, f"if {' or '.join(f'{n} is None' for n in names)}:")
                self.src.line(d + 1, "raise _Fallback")
            self.src.line(d, 'v = f"' + "".join(fields) + '"')
        elif ref is not None:
            self.src.line(d, f"v = {self.read(ref)}")
            self.src.line(d, "if type(v) not in _ATOMIC:")
            self.src.line(d + 1, "v = _deepcopy(v)")
        elif isinstance(step.value, ATOMIC):
            self.src.line(d, f"v = {self.src.const(step.value)}")
        else:  # a constant to copy; _value reads neither the document nor the exchange
            self.src.line(d, f"v = {self.src.const(step._value)}(ex, doc)")

    def read(self, ref: Ref) -> str:
        """``ref.get(ex, doc, None)`` as an expression."""
        key = self.doc_key(ref)
        return self.context_value(ref) if key is None else self.value_of(key)

    def final_select(self, step: Select) -> None:
        if step._at.segments:
            raise _Unsupported
        default = None if step.default is None else self.src.const(step.default)
        if step.skip_missing:
            self.src.line(2, "out = {}")
            for key in step.keys:
                k, f = self.src.const(key), self.name(key)
                if key not in self.bound:
                    self.src.line(2, f"if {k} in doc:")
                    self.src.line(3, f"out[{k}] = doc[{k}]")
                elif key in self.present:
                    self.src.line(2, f"out[{k}] = {f}")
                else:
                    self.src.line(2, f"if {f} is not _M:")
                    self.src.line(3, f"out[{k}] = {f}")
            self.src.line(2, "return out")
            return
        items = []
        for key in step.keys:
            k, f = self.src.const(key), self.name(key)
            if key not in self.bound:  # untouched: the input's own value
                items.append(f"{k}: g({k})" if default is None else f"{k}: g({k}, {default})")
            elif key in self.present:
                items.append(f"{k}: {f}")
            else:
                items.append(f"{k}: ({f} if {f} is not _M else {default})")
        self.src.line(2, "return {" + ", ".join(items) + "}")
