"""The trace of one exchange's steps: every step that changed something, and what it changed.

What the inspector shows for an exchange and ``dialect translate --trace`` prints: rows in the
order the steps ran, each naming the step (``response[0]/twilio_message[5]``), its op and
the fields it changed, before → after; a step that changes nothing has no row. Fields are
paths into the document (``messages[3].sid``) or, for what a step changes of the exchange
itself, ``$upstream.path``, ``$upstream.method``, ``$status``, ``$plan``, ``$headers.NAME``.

Only when tracing: the runner then hands every step to ``StepTrace.top`` (and ``run_nested``
to ``StepTrace.inner``), and ``each``/``use`` run their record pipelines through
``StepTrace.pipeline``, step by step, instead of the fused function: a fused pipeline keeps its
fields in locals and has no "between two steps" to look at. The functions run are each step's
own (``one_step``), the definition the fused form is held to, so the answer is the same.
With tracing off, nothing here runs and the fast forms are untouched.

Each step's document is copied before it runs (steps edit in place), so tracing a page of
1000 records costs milliseconds, not microseconds; past ``max_changes`` the trace stops
looking (the steps still run) and says so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from proxy.engine.exchange import Exchange
from proxy.pipeline.runner import run_nested
from proxy.pipeline.step import Step

Fused = Callable[[Exchange, Any, str, int | None], Any]
Change = dict[str, Any]  # {"path", "before"?, "after"?}: an absent side has no key

MAX_CHANGES = 1000


class StepTrace:
    """The rows of one exchange (``rows``), collected as its steps run."""

    def __init__(self, max_changes: int = MAX_CHANGES) -> None:
        self.rows: list[dict[str, Any]] = []
        self.max_changes = max_changes
        self.changes = 0
        # Steps run after the trace stopped looking (past max_changes).
        self.unseen = 0
        self._phase = ""
        self._label = ""  # the step running now: the parent of a pipeline it starts
        self._frames: list[tuple[str, str]] = []  # (the pipeline's label, its record's path)

    @property
    def full(self) -> bool:
        return self.changes >= self.max_changes

    # -- what the runner and the nested steps call -------------------------------------------

    def top(self, step: Step, ex: Exchange, doc: Any, phase: str, index: int) -> Any:
        """One of a route's (or callback kind's) own steps."""
        self._phase = phase
        return self._run(step, ex, doc, f"{phase}[{index}]", "")

    def inner(self, step: Step, ex: Exchange, doc: Any, index: int) -> Any:
        """A step of the record pipeline ``pipeline`` started."""
        label, at = self._frames[-1]
        return self._run(step, ex, doc, f"{label}[{index}]", at)

    def pipeline(self, steps: Sequence[Step], name: str) -> Fused:
        """What ``each``/``use`` run instead of their fused pipeline while tracing: the steps
        one by one (``run_nested``, as the fused form falls back to), each traced."""
        label = f"{self._label}/{name}"

        def traced(ex: Exchange, doc: Any, where: str, index: int | None) -> Any:
            at = where if index is None else f"{where}[{index}]"
            self._frames.append((label, at))
            try:
                return run_nested(steps, ex, doc, at, self)
            finally:
                self._frames.pop()

        return traced

    # -- one step ------------------------------------------------------------------------------

    def _run(self, step: Step, ex: Exchange, doc: Any, label: str, at: str) -> Any:
        outer, self._label = self._label, label
        try:
            if step.nested():  # each/use: the rows are its steps'
                return step.run(ex, doc)
            if self.full:
                self.unseen += 1
                return step.run(ex, doc)
            # Any step may change the exchange too (``rewrite_path`` its upstream call).
            before, state = _copy(doc), _state(ex)
            doc = step.run(ex, doc)
            changes: list[Change] = []
            _diff(before, doc, at, changes)
            _diff(state, _state(ex), "", changes)
            if changes:
                self.changes += len(changes)
                self.rows.append(
                    {"phase": self._phase, "step": label, "op": step.op, "changes": changes}
                )
            return doc
        finally:
            self._label = outer


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _copy(value: Any) -> Any:
    """A copy deep enough that the step cannot change it: documents are dicts, lists and
    immutable scalars (shared, not copied)."""
    if isinstance(value, dict):
        return {k: v if type(v) in _SCALARS else _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [v if type(v) in _SCALARS else _copy(v) for v in value]
    return value


def _state(ex: Exchange) -> dict[str, Any]:
    """What a step may change of the exchange besides the document."""
    return {
        "$upstream": {
            "method": ex.upstream_method,
            "path": ex.upstream_path,
            "alternatives": list(ex.upstream_alternatives),
        },
        "$status": ex.status,
        "$plan": None if ex.plan is None else [_call(c) for c in ex.plan],
        "$headers": {k: v for k, v in ex.headers.items()},
    }


def _call(call: Any) -> str:
    query = "&".join(f"{k}={v}" for k, v in call.query)
    return f"{call.method} {call.path}" + (f"?{query}" if query else "")


_PLAIN = re.compile(r"[\w$-]+")


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    text = str(key)
    if _PLAIN.fullmatch(text):
        return f"{path}.{text}" if path else text
    return f"{path}[{orjson.dumps(text).decode()}]"


def _diff(before: Any, after: Any, path: str, out: list[Change]) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        gone = [key for key in before if key not in after]
        came = [key for key in after if key not in before]
        # A key that went and one that came with the same value, in one step: a move (rename).
        moved: dict[Any, Any] = {}
        for new in came:
            for old in gone:
                if old not in moved.values() and _same(before[old], after[new]):
                    moved[new] = old
                    break
        for key, value in before.items():
            if key in after:
                now = after[key]
                # Most values did not change: a scalar is shared with the copy, and an equal
                # object is not walked.
                if value is not now and not (type(value) is type(now) and value == now):
                    _diff(value, now, _join(path, key), out)
            elif key not in moved.values():
                out.append({"path": _join(path, key), "before": value})
        for key in came:
            if key in moved:
                change = {"path": _join(path, key), "from": _join(path, moved[key])}
                out.append(change | {"after": _copy(after[key])})
            else:
                out.append({"path": _join(path, key), "after": _copy(after[key])})
        return
    if isinstance(before, list) and isinstance(after, list):
        for i in range(min(len(before), len(after))):
            if not _same(before[i], after[i]):
                _diff(before[i], after[i], _join(path, i), out)
        for i in range(len(after), len(before)):
            out.append({"path": _join(path, i), "before": before[i]})
        for i in range(len(before), len(after)):
            out.append({"path": _join(path, i), "after": _copy(after[i])})
        return
    if not _same(before, after):
        out.append({"path": path or "(document)", "before": before, "after": _copy(after)})


def _same(a: Any, b: Any) -> bool:
    # 1 and "1", 1 and 1.0, 1 and True are different values to a client.
    return type(a) is type(b) and a == b


# -- the terminal form -------------------------------------------------------------------------


def text(trace: StepTrace, width: int = 100) -> str:
    """The rows as ``dialect translate --trace`` prints them."""
    if not trace.rows:
        return "trace: no step changed anything\n"
    lines = []
    for row in trace.rows:
        lines.append(f"{row['step']}  {row['op']}")
        for change in row["changes"]:
            if "from" in change:
                shown = _side(change, "after", width)
                lines.append(f"    {change['from']} → {change['path']}: {shown}")
            else:
                before, after = _side(change, "before", width), _side(change, "after", width)
                lines.append(f"    {change['path']}: {before} → {after}")
    if trace.unseen:
        lines.append(
            f"(the trace stopped after {trace.changes} changes; {trace.unseen} more steps ran)"
        )
    return "\n".join(lines) + "\n"


def _side(change: Change, side: str, width: int) -> str:
    if side not in change:
        return "(absent)"
    shown = orjson.dumps(change[side], default=str).decode()
    return shown if len(shown) <= width else shown[: width - 1] + "…"
