"""A record pipeline fused into one generated function: the fast form of its steps.

A record pipeline (``twilio_message``: about thirty steps) runs once per record, a thousand
times for a list page of 1000. Run step by step, each step costs a call, a repeated
``isinstance(doc, dict)`` and its own lookups, and the record is rebuilt by ``rename`` and again
by ``select``. ``fuse`` writes the steps as straight-line code in one function, through the
same ``emit`` templates that make each step's own function (``writer``), held differently:
each top-level key lives in a local variable, read from the record when first needed, and only
the final ``select`` builds a dict. What a step does is therefore its template's, not this
module's; this module decides only where a key's value is kept.

Which pipelines: those that end with a ``select`` (every shipped record pipeline) of steps
with a template, on top-level keys (and ``set`` two keys deep into an object the run made
itself). Any other pipeline runs step by step, as ``dialect translate --show-code`` says. A
``use`` among the steps is written in place as its pipeline's steps. A route's steps of one
phase are such a pipeline too when they end with a ``select``: a fetch's request steps (``set``
the id, ``convert`` it, ``rewrite_path``, ``select`` nothing) over the client's parameters, its
response steps (``use`` of a record pipeline) over the upstream's answer. ``fuse_phase`` fuses
them, with ``run_steps`` as what they fall back to.

Exactness: the fused function never changes its input, so on anything unusual it hands the
untouched record to the steps one by one (``run_nested``), which decide: a record that is not
an object, an error a step raises (a converter refusing a value), a nested ``set`` into an
object the input has (it may be shared, and the step edits it in place), and a ``rename`` onto
a key that is already there (which value wins depends on the record's key order, which the
final ``select`` otherwise makes irrelevant). ``tests/unit/test_fused_pipelines.py``
holds every shipped pipeline's fused form to its steps run one by one.

Switch: ``DIALECT_FUSE=0`` in the environment when a config loads turns fusion off; every
pipeline then runs step by step (each step still as its own generated function, which is the
definition). For comparing the two, or bisecting a suspected generator bug.

Fallbacks are never silent: each is counted in ``dialect_pipeline_fallbacks_total`` (by
pipeline and reason: ``record`` for a record handed to the steps one by one, ``generation``
for fused code that could not be made) and logged once per pipeline.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from proxy.engine.exchange import Exchange
from proxy.ops.logs import get_logger
from proxy.ops.metrics import PIPELINE_FALLBACKS
from proxy.pipeline import rules
from proxy.pipeline.codegen import Generated, Source, build
from proxy.pipeline.converters import ConversionError
from proxy.pipeline.failure import StepFailure
from proxy.pipeline.one_step import NAMESPACE
from proxy.pipeline.paths import DataPath
from proxy.pipeline.runner import run_nested, run_steps
from proxy.pipeline.step import Step
from proxy.pipeline.writer import Ref, Slot, Writer

# fused(ex, doc, where, index): ``run_nested(steps, ex, doc, where)`` for ``index is None``,
# else ``run_nested(steps, ex, doc, f"{where}[{index}]")``; ``each`` passes the index so that
# the item's path is only formatted when a step fails.
Fused = Callable[[Exchange, Any, str, int | None], Any]

SWITCH = "DIALECT_FUSE"


def enabled() -> bool:
    return os.environ.get(SWITCH, "1").strip().lower() not in ("0", "false", "no", "off")


class Fusion:
    """A pipeline as ``each``/``use`` run it: ``run``, and its fused code (None when it runs
    step by step, ``reason`` saying why)."""

    __slots__ = ("code", "name", "reason", "run")

    def __init__(self, name: str, run: Fused, code: Generated | None, reason: str) -> None:
        self.name, self.run, self.code, self.reason = name, run, code, reason


class _Unsupported(Exception):
    """A pipeline the record form does not take: it runs step by step."""


class _Fallback(Exception):
    """Raised by fused code where the steps one by one must decide (never escapes)."""


def fuse(steps: Sequence[Step], name: str) -> Fusion:
    """``steps`` as one function behaving exactly as ``run_nested`` running them."""
    steps = tuple(steps)

    def step_by_step(ex: Exchange, doc: Any, where: str, index: int | None) -> Any:
        return run_nested(steps, ex, doc, where if index is None else f"{where}[{index}]")

    return _fused(steps, name, step_by_step)


def fuse_phase(steps: Sequence[Step], name: str, phase: str) -> Fusion:
    """A route's steps of one phase as one function behaving exactly as ``run_steps``
    running them (failures become the ``StepError`` naming the step). A fetch's are record
    pipelines too: its request steps (``set``, ``convert``, ``rewrite_path``, ``select``)
    reshape the client's parameters into the upstream's, its response steps (a ``use``) the
    upstream's record into the client's."""
    steps = tuple(steps)

    def step_by_step(ex: Exchange, doc: Any, where: str, index: int | None) -> Any:
        return run_steps(steps, ex, doc, phase=phase)

    return _fused(steps, name, step_by_step)


def _fused(steps: tuple[Step, ...], name: str, step_by_step: Fused) -> Fusion:
    if not enabled():
        return Fusion(name, step_by_step, None, f"{SWITCH}=0")
    try:
        code = _record_form(steps, name, step_by_step)
    except _Unsupported as why:  # not a fallback: what --show-code says, not the log
        return Fusion(name, step_by_step, None, str(why))
    except Exception as exc:  # a generator bug must not stop a config loading
        PIPELINE_FALLBACKS.add(name, "generation")
        log = get_logger()
        log.warning("pipeline_fallback", pipeline=name, reason="generation", error=repr(exc))
        return Fusion(name, step_by_step, None, f"generation failed: {exc!r}")
    return Fusion(name, code.fn, code, "")


def _fallback_reporter(name: str) -> Callable[[BaseException | None], None]:
    """Counts every record handed over; logs the first (a record's values stay out of the log:
    only the kind of failure, and the message of one no step raises)."""
    logged = [False]

    def fell_back(exc: BaseException | None) -> None:
        PIPELINE_FALLBACKS.add(name, "record")
        if logged[0]:
            return
        logged[0] = True
        if exc is None:
            detail, expected = "not an object", True
        else:
            expected = isinstance(exc, _Fallback | StepFailure | ConversionError)
            detail = type(exc).__name__ if expected else repr(exc)
        log = get_logger()
        (log.info if expected else log.warning)(
            "pipeline_fallback", pipeline=name, reason="record", error=detail
        )

    return fell_back


def _record_form(steps: tuple[Step, ...], name: str, rest: Fused) -> Generated:
    if not steps:
        raise _Unsupported("no steps")
    w = RecordWriter(f"pipeline {name}")
    for i, step in enumerate(steps):
        w.step(step, last=i == len(steps) - 1)
    if not w.finished:
        raise _Unsupported("it does not end with a select")
    head = [
        "    if not isinstance(doc, dict):",
        "        _fell_back(None)",
        "        return _rest(ex, doc, where, index)",
        "    try:",
        "        g = doc.get",
    ]
    if w.prologue.lines:
        head.append("        ctx = ex.context()")
        head.extend(w.prologue.lines)
    w.src.depth = 1
    w.line("except Exception as exc:")  # anything unusual: the whole record, step by step
    w.line("    _fell_back(exc)")
    w.line("return _rest(ex, doc, where, index)")
    namespace = {
        **NAMESPACE,
        "_rest": rest,
        "_Fallback": _Fallback,
        "_fell_back": _fallback_reporter(name),
    }
    return build(w.src, "fused_record(ex, doc, where, index)", namespace, prologue=head)


class _KeySlot(Slot):
    def __init__(self, w: RecordWriter, key: str) -> None:
        self.w, self.key = w, key
        self.where = w.const((key,))
        self.known_present = key in w.present

    @property
    def value(self) -> str:
        return self.w.value_of(self.key)

    def assign(self, expression: str) -> None:
        self.w.line(f"{self.w.assigning(self.key)} = {expression}")

    def settled(self) -> None:
        if self.w.src.depth == self.w.depth:
            self.w.made_present.add(self.key)


class _NestedSlot(Slot):
    """``outer.inner`` where ``outer`` holds a dict this run made (``p``)."""

    def __init__(self, w: RecordWriter, outer: str, inner: str) -> None:
        self.w, self.parent, self.inner = w, w.name(outer), w.const(inner)
        self.where = w.const((outer, inner))
        self._value: str | None = None

    @property
    def value(self) -> str:
        if self._value is None:
            self._value = self.w.temp("n")
            self.w.line(f"{self._value} = {self.parent}.get({self.inner}, _M)")
        return self._value

    def assign(self, expression: str) -> None:
        self.w.line(f"{self.parent}[{self.inner}] = {expression}")


class RecordWriter(Writer):
    """Writes the record form, one step at a time.

    Each document key a step touches has a local variable (``f3``) holding its current value,
    or ``_M`` when the key is absent. A key no step has touched yet is still the input's: it
    is read with ``g`` (the record's ``get``) at the start of the first step that needs it,
    outside that step's condition, so that the variable is bound on every path. What is known
    for certain at each point (a key is present; an object is one this run made) saves a test.
    """

    def __init__(self, title: str) -> None:
        super().__init__(Source(title))
        self.src.depth = 2  # inside the function's ``try``
        self.prologue = self.src.sub()  # context values, read once per record
        self.var: dict[str, str] = {}  # key -> local variable
        self.bound: set[str] = set()  # keys whose variable holds their current value
        self.present: set[str] = set()  # keys certainly present (their variable is not _M)
        self.owned: set[str] = set()  # keys whose value is a dict this run made
        self.hoisted: dict[tuple[Any, ...], str] = {}  # (context path, absent) -> local
        self.finished = False
        # The step being written:
        self.start = 0  # where its reads of untouched keys go
        self.depth = 2  # the depth of its body
        self.conditional = False
        self.last = False
        self.made_present: set[str] = set()

    # -- steps -------------------------------------------------------------------------------

    def step(self, step: Step, *, last: bool) -> None:
        inner = step.inlined()
        if inner is not None:  # a ``use``: its pipeline's steps, written here
            if step.when is not None:
                raise _Unsupported(f"{step.op!r} has a condition")
            if not inner:
                raise _Unsupported(f"{step.op!r} of no steps")
            for j, each in enumerate(inner):
                self.step(each, last=last and j == len(inner) - 1)
            return
        if self.finished:
            raise _Unsupported("a select that is not the last step")
        self.start, self.last = len(self.src.lines), last
        self.conditional, self.made_present = step.when is not None, set()
        if step.when is None:
            self.depth = self.src.depth
            if not step.emit(self):
                raise _Unsupported(f"{step.op!r} has no template")
        else:
            with self.block(f"if {step.when.expression(self)}:"):
                self.depth = self.src.depth
                if not step.emit(self):
                    raise _Unsupported(f"{step.op!r} has no template")
        if not self.conditional:
            self.present |= self.made_present

    # -- keys and values ---------------------------------------------------------------------

    def name(self, key: str) -> str:
        if key not in self.var:
            self.var[key] = f"f{len(self.var)}"
        return self.var[key]

    def need(self, key: str) -> None:
        """The key's variable bound before the step (to the input's value if untouched)."""
        if key not in self.bound:
            line = f"{self.name(key)} = g({self.const(key)}, _M)"
            self.src.lines.insert(self.start, "    " * 2 + line)
            self.start += 1
            self.bound.add(key)

    def value_of(self, key: str, absent: str = "_M") -> str:
        self.need(key)
        f = self.name(key)
        if key in self.present or absent == "_M":
            return f
        return f"({f} if {f} is not _M else {absent})"

    def assigning(self, key: str) -> str:
        """The variable a step is about to assign; what is then known of the key."""
        certain = self.src.depth == self.depth
        if self.conditional or not certain:
            self.need(key)  # the path that does not assign keeps the value it had
        self.bound.add(key)
        self.owned.discard(key)
        if certain:
            self.made_present.add(key)
        return self.name(key)

    def value(self, ref: Ref, *, absent: str = "_M") -> str:
        segments = ref.path.segments
        if ref.path.has_wildcard:
            raise _Unsupported(f"the reference {ref.text!r} has a wildcard")
        plain = [s for s in segments if isinstance(s, str | int)]
        if ref.context:
            return self.context_value(tuple(plain), absent)
        if not plain or not isinstance(plain[0], str):
            raise _Unsupported(f"the reference {ref.text!r} is not below a key")
        if len(plain) == 1:
            return self.value_of(plain[0], absent)
        return rules.read(self.src, self.value_of(plain[0]), plain[1:], absent=absent)

    def context_value(self, segments: tuple[str | int, ...], absent: str) -> str:
        """A context value, read once per record into a local: nothing a step with a template
        does changes the context (``$status`` included)."""
        key = (segments, absent)
        if key not in self.hoisted:
            self.hoisted[key] = rules.read(
                self.prologue, "ctx", segments, absent=absent, root_is_dict=True
            )
        return self.hoisted[key]

    # -- places ------------------------------------------------------------------------------

    @contextmanager
    def slot(self, at: DataPath, *, creates: bool = False) -> Iterator[Slot]:
        segments = at.segments
        if at.top_key is not None:
            yield _KeySlot(self, at.top_key)
            return
        if not (creates and len(segments) == 2 and all(isinstance(s, str) for s in segments)):
            raise _Unsupported(f"the path {at.text!r}")
        outer, inner = str(segments[0]), str(segments[1])
        # As the step itself: the parent object is made before the value is computed. Only
        # an object this run made is edited here: one the input has may be shared, and the
        # step edits it in place, so such a record goes step by step.
        if outer not in self.owned:
            f = self.value_of(outer)
            with self.block(f"if {f} is not _M and {f} is not None:"):
                self.line("raise _Fallback")
            self.line(f"{self.assigning(outer)} = {{}}")
        yield _NestedSlot(self, outer, inner)
        if not self.conditional and self.src.depth == self.depth:
            self.owned.add(outer)

    # -- object primitives -------------------------------------------------------------------

    def rename(self, at: DataPath, table: Mapping[str, str]) -> None:
        table = dict(table)
        if at.segments:
            raise _Unsupported("a rename below the record")
        if len(set(table.values())) != len(table):
            raise _Unsupported("a rename of two keys onto one")
        pairs = [(old, new) for old, new in table.items() if old != new]
        olds = [old for old, _ in pairs]
        news = [new for _, new in pairs]
        vacated = [old for old in olds if old not in news]
        for key in olds + (news if self.conditional else []):
            self.need(key)
        # A new name already there would meet its old one: which wins depends on the record's
        # order, so the steps one by one decide (not a case real records have).
        arriving = [new for new in news if new not in table]
        unread = [new for new in arriving if new not in self.bound]
        for new in arriving:
            if new in self.bound:
                with self.block(f"if {self.name(new)} is not _M:"):
                    self.line("raise _Fallback")
        if unread:  # still the input's: one test for all of them
            with self.block(f"if not {self.const(frozenset(unread))}.isdisjoint(doc):"):
                self.line("raise _Fallback")
        if pairs:
            targets = [self.name(k) for k in news + vacated]
            values = [self.name(k) for k in olds] + ["_M"] * len(vacated)
            self.line(f"{', '.join(targets)}, = {', '.join(values)},")
        moved = {new for old, new in pairs if old in self.present}
        for key in olds + news:
            self.bound.add(key)
            self.owned.discard(key)
            self.present.discard(key)
        self.made_present |= moved

    def drop(self, at: DataPath, keys: Sequence[str]) -> None:
        if at.segments:
            raise _Unsupported("a drop below the record")
        for key in keys:
            if self.conditional:
                self.need(key)
            self.line(f"{self.name(key)} = _M")
            self.bound.add(key)
            self.present.discard(key)
            self.owned.discard(key)

    def select(self, at: DataPath, keys: Sequence[str], default: Any, skip_missing: bool) -> None:
        if at.segments or not self.last or self.conditional:
            raise _Unsupported("a select that is not the pipeline's unconditional last step")
        self.finished = True
        if skip_missing:
            self.line("out = {}")
            for key in keys:
                k, f = self.const(key), self.name(key)
                if key not in self.bound:
                    with self.block(f"if {k} in doc:"):
                        self.line(f"out[{k}] = doc[{k}]")
                elif key in self.present:
                    self.line(f"out[{k}] = {f}")
                else:
                    with self.block(f"if {f} is not _M:"):
                        self.line(f"out[{k}] = {f}")
            self.line("return out")
            return
        d = None if default is None else self.const(default)
        items = []
        for key in keys:
            k, f = self.const(key), self.name(key)
            if key not in self.bound:  # untouched: the input's own value
                items.append(f"{k}: g({k})" if d is None else f"{k}: g({k}, {d})")
            elif key in self.present:
                items.append(f"{k}: {f}")
            else:
                items.append(f"{k}: ({f} if {f} is not _M else {d})")
        self.line("return {" + ", ".join(items) + "}")
