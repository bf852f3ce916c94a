"""The definition form: one step as one generated function of ``(ex, doc)``.

This is what the runner calls for every step, and what a fused pipeline hands a record to when
anything is unusual. The document is held as it is: a dict edited in place, any path (wildcards
included) walked with ``DataPath.parents``/``find``. The object primitives here are the
definitions of ``rename``, ``drop`` and ``select``; ``record_writer.RecordWriter`` is held to them.

A step's function, in order: the request context if anything reads it; its ``when`` (which
reads the document as it is, whatever its type); then its template. A step without a template
runs its own ``apply``; with neither a template nor a condition, ``apply`` is the function.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from proxy.pipeline import rules
from proxy.pipeline.codegen import Generated, Source, build
from proxy.pipeline.converters import ConversionError
from proxy.pipeline.failure import StepFailure
from proxy.pipeline.paths import DataPath, assign, has_slot
from proxy.pipeline.writer import Emitting, Guard, Ref, Slot, Writer

StepFn = Callable[[Any, Any], Any]


def objects_at(at: DataPath, doc: Any) -> Iterator[tuple[dict[str, Any], str]]:
    """The dicts found at ``at`` (the document itself for the empty path); a value there that
    is neither a dict nor null fails the step."""
    for value, where in at.find(doc):
        if isinstance(value, dict):
            yield value, where
        elif value is not None:
            raise StepFailure(f"expected an object, found {type(value).__name__}", where)


# What the templates may name, besides ``rules.RUNTIME`` and their constants.
NAMESPACE: dict[str, Any] = {
    **rules.RUNTIME,
    "_StepFailure": StepFailure,
    "_ConversionError": ConversionError,
    "_has_slot": has_slot,
    "_assign": assign,
}


class _DocumentSlot(Slot):
    """The slot's value in the local ``v``; the writer stores it back."""

    def __init__(self, w: StepWriter, where: str) -> None:
        self.w, self.where = w, where

    @property
    def value(self) -> str:
        return "v"

    def assign(self, expression: str) -> None:
        self.w.line(f"v = {expression}")


class StepWriter(Writer):
    """Writes one step's function: ``step(ex, doc)``, returning the document."""

    def __init__(self, title: str) -> None:
        super().__init__(Source(title))
        self.uses_context = False

    def value(self, ref: Ref, *, absent: str = "_M") -> str:
        root = "doc"
        if ref.context:
            root, self.uses_context = "ctx", True
        if ref.path.has_wildcard:
            found = self.temp("r")
            self.line(f"{found} = {self.const(ref.path.get)}({root}, {absent})")
            return found
        segments = [s for s in ref.path.segments if isinstance(s, str | int)]
        return rules.read(self.src, root, segments, absent=absent, root_is_dict=ref.context)

    def guard(self, when: Guard) -> None:
        with self.block(f"if not {when.expression(self)}:"):
            self.line("return doc")

    @contextmanager
    def slot(self, at: DataPath, *, creates: bool = False) -> Iterator[Slot]:
        if creates:
            with self.block("if not isinstance(doc, dict):"):
                self.fail('f"expected an object, found {type(doc).__name__}"')
        key = at.top_key
        if key is not None:  # one plain key: no walk
            if not creates:
                with self.block("if not isinstance(doc, dict):"):
                    self.line("return doc")
            k = self.const(key)
            self.line(f"v = doc.get({k}, _M)")
            yield _DocumentSlot(self, self.const((key,)))
            with self.block("if v is not _M:"):
                self.line(f"doc[{k}] = v")
            return
        parents = self.const(functools.partial(at.parents, create=creates))
        with self.block(f"for parent, key, where in {parents}(doc):"):
            self.line("v = parent[key] if _has_slot(parent, key) else _M")
            yield _DocumentSlot(self, "where")
            with self.block("if v is not _M and not _assign(parent, key, v):"):
                self.fail('"cannot set a value here"', "where")

    @contextmanager
    def _objects(self, at: DataPath) -> Iterator[str]:
        """Each object at ``at`` in the local ``o``, which the primitive may replace: the
        document itself is replaced, an object inside it edited in place."""
        if not at.segments:
            with self.block("if not isinstance(doc, dict):"):
                with self.block("if doc is None:"):
                    self.line("return doc")
                self.fail('f"expected an object, found {type(doc).__name__}"')
            self.line("o = doc")
            yield "o"
            self.line("doc = o")
            return
        found = self.const(functools.partial(objects_at, at))
        with self.block(f"for obj, where in {found}(doc):"):
            self.line("o = obj")
            yield "o"
            with self.block("if o is not obj:"):
                self.line("obj.clear()")
                self.line("obj.update(o)")

    def rename(self, at: DataPath, table: Mapping[str, str]) -> None:
        """The definition of ``rename``: when any old name is there, the object is rebuilt
        in its order, each old name replaced by its new one (a later key written onto the
        same name wins its value, the first keeps its place)."""
        with self._objects(at) as o:
            names, new = self.const(frozenset(table)), self.const(dict(table).get)
            with self.block(f"if not {names}.isdisjoint({o}):"):
                self.line(f"{o} = {{{new}(x, x): y for x, y in {o}.items()}}")

    def drop(self, at: DataPath, keys: Sequence[str]) -> None:
        """The definition of ``drop``: each key removed where it is there."""
        with self._objects(at) as o:
            for key in keys:
                self.line(f"{o}.pop({self.const(key)}, None)")

    def select(self, at: DataPath, keys: Sequence[str], default: Any, skip_missing: bool) -> None:
        """The definition of ``select``: a new object of exactly ``keys`` in their order, an
        absent one as ``default`` (or left out, with ``skip_missing``)."""
        with self._objects(at) as o:
            wanted = self.const(tuple(keys))
            if skip_missing:
                self.line(f"{o} = {{x: {o}[x] for x in {wanted} if x in {o}}}")
            else:
                self.line(f"{o} = {{x: {o}.get(x, {self.const(default)}) for x in {wanted}}}")


def _finish(w: StepWriter, signature: str, title: str) -> Generated:
    prologue = ["    ctx = ex.context()"] if w.uses_context else []
    return build(w.src, signature, NAMESPACE, prologue=prologue)


def compile_step(step: Emitting, title: str) -> tuple[StepFn, Generated | None]:
    """The function the runner calls for ``step``, and its generated code (None when the
    step's own ``apply`` is the function)."""
    w = StepWriter(title)
    if step.when is not None:
        w.guard(step.when)
    if not step.emit(w):
        if step.when is None:
            return step.apply, None
        w.line(f"return {w.const(step.apply)}(ex, doc)")
    else:
        w.line("return doc")
    code = _finish(w, "step(ex, doc)", title)
    fn: StepFn = code.fn
    return fn, code


def compile_function(
    title: str, signature: str, body: Callable[[StepWriter], str]
) -> tuple[Callable[..., Any], Generated]:
    """A function of ``(ex, doc)`` returning the expression ``body`` writes (a condition's
    test, a template's text), reading the document as it is."""
    w = StepWriter(title)
    w.line(f"return {body(w)}")
    code = _finish(w, signature, title)
    return code.fn, code
