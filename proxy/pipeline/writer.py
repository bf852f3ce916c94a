"""What a step's template writes through: the one definition of an op, in two forms.

A step that runs per record (``set``, ``convert``, ``map_values``, ``rename``, ``drop``,
``select``) does not implement its behaviour in Python directly. Its ``emit`` writes it, once,
as code, through a ``Writer``: what to read (``value``), which place to change (``slot``, or
the object primitives ``rename``/``drop``/``select``), what to compute. Two writers turn that
into a function, and differ only in how they hold the document:

- ``one_step.StepWriter``, the *definition*: one step, on a document held as it is (a dict,
  edited in place; any path, wildcards included). The runner runs a step as this function.
- ``record_writer.RecordWriter``, the *fast form*: a whole record pipeline in one function, each
  top-level key in a local variable, the record built once by its final ``select``.

So an op's semantics live in its ``emit`` and in the shared rules (``rules``); a writer adds
only how a key is read and written. ``tests/unit/test_fused_pipelines.py`` runs every
shipped pipeline both ways and demands the same output.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

from proxy.engine.exchange import Exchange
from proxy.pipeline import rules
from proxy.pipeline.codegen import Source
from proxy.pipeline.paths import MISSING, DataPath


class Ref:
    """A value source: ``$request.To`` reads the request context, anything else the document."""

    __slots__ = ("context", "path", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.context = text.startswith("$")
        self.path = DataPath.parse(text[1:] if self.context else text)

    def get(self, ex: Exchange, doc: Any, default: Any = MISSING) -> Any:
        source = ex.context() if self.context else doc
        return self.path.get(source, default)


class Slot:
    """One place a step changes: ``value`` reads what it holds (``_M`` when nothing),
    ``assign`` writes it. ``where`` is an expression for its concrete path (for errors)."""

    where: str
    known_present: bool = False

    @property
    def value(self) -> str:  # pragma: no cover - interface
        raise NotImplementedError

    def assign(self, expression: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def settled(self) -> None:
        """From here on the slot surely holds a value (whichever branch assigned it)."""


class Guard(Protocol):
    """A ``when:`` condition, as a writer asks it."""

    def expression(self, w: Writer) -> str: ...


class Emitting(Protocol):
    """What the writers need of a step."""

    @property
    def op(self) -> str: ...

    @property
    def when(self) -> Guard | None: ...

    def emit(self, w: Writer) -> bool: ...

    def apply(self, ex: Exchange, doc: Any) -> Any: ...


class Writer:
    """The calls a step's ``emit`` makes; ``one_step`` and ``fused`` implement them."""

    def __init__(self, src: Source) -> None:
        self.src = src

    # -- text ------------------------------------------------------------------------------

    def const(self, value: Any) -> str:
        return self.src.const(value)

    def line(self, text: str) -> None:
        self.src.line(text)

    def block(self, header: str) -> AbstractContextManager[None]:
        return self.src.block(header)

    def temp(self, stem: str) -> str:
        return self.src.temp(stem)

    # -- values ------------------------------------------------------------------------------

    def value(self, ref: Ref, *, absent: str = "_M") -> str:
        """An expression for ``ref``'s value, ``absent`` (``_M`` or ``None``) when it has none.
        It may write lines first; the expression has no side effects."""
        raise NotImplementedError  # pragma: no cover - interface

    def copy_of(self, expression: str) -> str:
        return rules.copy_of(self.src, expression)

    def constant(self, value: Any) -> str:
        return rules.constant(self.src, value)

    def fail(self, reason: str, where: str = '""', *, status: int | None = None) -> None:
        """A line raising the step's failure; ``reason`` and ``where`` are expressions,
        ``status`` the client status it asks for (the route's default when None)."""
        extra = "" if status is None else f", status={int(status)}"
        self.line(f"raise _StepFailure({reason}, {where}{extra})")

    # -- places ------------------------------------------------------------------------------

    def slot(self, at: DataPath, *, creates: bool = False) -> AbstractContextManager[Slot]:
        """The place(s) ``at`` names, one at a time. With ``creates`` the document must be an
        object, missing parents are made and an absent place is created when assigned;
        without, a place that is absent stays so unless the step assigns it."""
        raise NotImplementedError  # pragma: no cover - interface

    @contextmanager
    def if_present(self, slot: Slot) -> Iterator[None]:
        """Lines that run only when the slot holds a value (none needed when it surely does)."""
        if slot.known_present:
            yield
            return
        with self.block(f"if {slot.value} is not _M:"):
            yield

    # -- object primitives (each op's whole behaviour is one of these) -----------------------

    def rename(self, at: DataPath, table: Mapping[str, str]) -> None:
        raise NotImplementedError  # pragma: no cover - interface

    def drop(self, at: DataPath, keys: Sequence[str]) -> None:
        raise NotImplementedError  # pragma: no cover - interface

    def select(self, at: DataPath, keys: Sequence[str], default: Any, skip_missing: bool) -> None:
        raise NotImplementedError  # pragma: no cover - interface
