"""A record pipeline fused into one generated function: the fast form of its steps.

A record pipeline (``twilio_message``: about thirty steps) runs once per record, a thousand
times for a list page of 1000. Run step by step, each step costs a call, a repeated
``isinstance(doc, dict)`` and its own lookups, and the record is rebuilt by ``rename`` and again
by ``select``. ``fuse`` writes the steps as straight-line code in one function, through the
same ``emit`` templates that make each step's own function (``writer``), held differently
(``record_writer``): each top-level key lives in a local variable, read from the record when
first needed, and only the final ``select`` builds a dict. What a step does is therefore its
template's; where a key's value is kept, ``record_writer``'s; this module decides which
pipelines fuse and what happens to a record the fused form cannot take.

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
holds every shipped pipeline's fused form to its steps run one by one,
``tests/unit/test_fused_routes.py`` every fused route phase to ``run_steps``.

Switch: ``DIALECT_FUSE=0`` in the environment when a config loads turns fusion off; every
pipeline then runs step by step (each step still as its own generated function, which is the
definition). For comparing the two, or bisecting a suspected generator bug.

Fallbacks are never silent: each is counted in ``dialect_pipeline_fallbacks_total`` (by
pipeline and reason: ``record`` for a record handed to the steps one by one, ``generation``
for fused code that could not be made) and logged once per pipeline.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from proxy.engine.exchange import Exchange
from proxy.ops.logs import get_logger
from proxy.ops.metrics import PIPELINE_FALLBACKS
from proxy.pipeline.codegen import Generated, build
from proxy.pipeline.converters import ConversionError
from proxy.pipeline.failure import StepFailure
from proxy.pipeline.one_step import NAMESPACE
from proxy.pipeline.record_writer import Fallback, RecordWriter, Unsupported
from proxy.pipeline.runner import run_nested, run_steps
from proxy.pipeline.step import Step

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
    except Unsupported as why:  # not a fallback: what --show-code says, not the log
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
            expected = isinstance(exc, Fallback | StepFailure | ConversionError)
            detail = type(exc).__name__ if expected else repr(exc)
        log = get_logger()
        (log.info if expected else log.warning)(
            "pipeline_fallback", pipeline=name, reason="record", error=detail
        )

    return fell_back


def _record_form(steps: tuple[Step, ...], name: str, rest: Fused) -> Generated:
    if not steps:
        raise Unsupported("no steps")
    w = RecordWriter(f"pipeline {name}")
    for i, step in enumerate(steps):
        w.step(step, last=i == len(steps) - 1)
    if not w.finished:
        raise Unsupported("it does not end with a select")
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
        "_Fallback": Fallback,
        "_fell_back": _fallback_reporter(name),
    }
    return build(w.src, "fused_record(ex, doc, where, index)", namespace, prologue=head)
