"""Runs compiled steps in order, and turns a step's failure into an error that names it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from proxy.engine.errors import StepError
from proxy.engine.exchange import Exchange
from proxy.pipeline.failure import StepFailure
from proxy.pipeline.step import Step

if TYPE_CHECKING:  # for annotations only: trace builds on this module
    from proxy.pipeline.trace import StepTrace


class _NestedFailure(StepFailure):
    """A failure inside ``each``/``use``, carrying the inner step's index and op outward."""

    def __init__(self, inner: StepFailure, index: str, op: str) -> None:
        super().__init__(
            inner.reason, inner.path, status=inner.status, code=inner.code, message=inner.message
        )
        self.index, self.op = index, op


def run_nested(
    steps: Sequence[Step], ex: Exchange, doc: Any, where: str, tracer: StepTrace | None = None
) -> Any:
    """``steps`` one by one (what ``each`` and ``use`` run, fused or not: see ``fused``),
    failures named by their index in the list and the path of the item; with ``tracer``,
    each step's changes are kept (``proxy.pipeline.trace``)."""
    # One try around the loop: entering it costs nothing, and the index is known on failure.
    i = 0
    try:
        if tracer is None:
            for i, step in enumerate(steps):  # noqa: B007 - i is read on failure
                doc = step.run(ex, doc)
        else:
            for i, step in enumerate(steps):
                doc = tracer.inner(step, ex, doc, i)
    except _NestedFailure as deeper:
        deeper.index = f"{i}.{deeper.index}"
        deeper.path = _join(where, deeper.path)
        raise
    except StepFailure as failure:
        nested = _NestedFailure(failure, str(i), steps[i].op)
        nested.path = _join(where, failure.path)
        raise nested from None
    return doc


def run_steps(steps: Sequence[Step], ex: Exchange, doc: Any, *, phase: str) -> Any:
    """``steps`` in order; a failure becomes a ``StepError`` naming the step. An exchange
    being traced (the inspector, ``dialect translate --trace``) runs them through its tracer,
    which keeps what each step changed; otherwise tracing costs this one attribute read."""
    tracer = ex.tracer
    i = 0
    try:
        if tracer is None:
            for i, step in enumerate(steps):  # noqa: B007 - i is read on failure
                doc = step.run(ex, doc)
        else:
            for i, step in enumerate(steps):
                doc = tracer.top(step, ex, doc, phase, i)
    except _NestedFailure as deeper:
        raise StepError(
            deeper.reason,
            route=ex.route_name,
            phase=phase,
            index=f"{i}.{deeper.index}",
            op=f"{steps[i].op}/{deeper.op}",
            path=deeper.path,
            status=deeper.status,
            code=deeper.code,
            message=deeper.message,
        ) from None
    except StepFailure as exc:
        raise StepError(
            exc.reason,
            route=ex.route_name,
            phase=phase,
            index=i,
            op=steps[i].op,
            path=exc.path,
            status=exc.status,
            code=exc.code,
            message=exc.message,
        ) from None
    return doc


def _join(outer: str, inner: str) -> str:
    if not inner:
        return outer
    if not outer:
        return inner
    return outer + inner if inner.startswith("[") else f"{outer}.{inner}"
