"""The record form's writer: how a fused pipeline holds a record while its steps run.

``fused`` turns a pipeline into one function; this module writes that function's body, one
step at a time, through each step's own ``emit`` template (``writer``), as ``one_step`` writes
the definition. What differs is only where a key's value lives: each top-level key in a local
variable, read from the record when first needed, and only the final ``select`` builds a dict.
What is known for certain at each point (a key is present, an object is one this run made)
saves a test; anything the form cannot hold exactly raises ``Unsupported`` while writing (the
pipeline then runs step by step) or, for one record, ``_Fallback`` from the generated code (that
record goes to the steps one by one: ``fused``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from proxy.pipeline import rules
from proxy.pipeline.codegen import Source
from proxy.pipeline.paths import DataPath
from proxy.pipeline.step import Step
from proxy.pipeline.writer import Ref, Slot, Writer


class Unsupported(Exception):
    """A pipeline the record form does not take: it runs step by step."""


class Fallback(Exception):
    """Raised by fused code where the steps one by one must decide (never escapes); the
    generated code names it ``_Fallback``."""


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
                raise Unsupported(f"{step.op!r} has a condition")
            if not inner:
                raise Unsupported(f"{step.op!r} of no steps")
            for j, each in enumerate(inner):
                self.step(each, last=last and j == len(inner) - 1)
            return
        if self.finished:
            raise Unsupported("a select that is not the last step")
        self.start, self.last = len(self.src.lines), last
        self.conditional, self.made_present = step.when is not None, set()
        if step.when is None:
            self.depth = self.src.depth
            if not step.emit(self):
                raise Unsupported(f"{step.op!r} has no template")
        else:
            with self.block(f"if {step.when.expression(self)}:"):
                self.depth = self.src.depth
                if not step.emit(self):
                    raise Unsupported(f"{step.op!r} has no template")
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
            raise Unsupported(f"the reference {ref.text!r} has a wildcard")
        plain = [s for s in segments if isinstance(s, str | int)]
        if ref.context:
            return self.context_value(tuple(plain), absent)
        if not plain or not isinstance(plain[0], str):
            raise Unsupported(f"the reference {ref.text!r} is not below a key")
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
            raise Unsupported(f"the path {at.text!r}")
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
            raise Unsupported("a rename below the record")
        if len(set(table.values())) != len(table):
            raise Unsupported("a rename of two keys onto one")
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
            raise Unsupported("a drop below the record")
        for key in keys:
            if self.conditional:
                self.need(key)
            self.line(f"{self.name(key)} = _M")
            self.bound.add(key)
            self.present.discard(key)
            self.owned.discard(key)

    def select(self, at: DataPath, keys: Sequence[str], default: Any, skip_missing: bool) -> None:
        if at.segments or not self.last or self.conditional:
            raise Unsupported("a select that is not the pipeline's unconditional last step")
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
