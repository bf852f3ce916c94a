"""``each`` and ``use``: apply a list of steps to every item of a list, or reuse a named pipeline.

Named pipelines live under the config's top-level ``pipelines:`` and are how one resource
shape is written once and used by fetch, list and create routes alike.

Examples::

    - {op: each, at: messages, use: twilio_message}
    - {op: each, at: objects, steps: [{op: drop, keys: [api_id]}]}
    - {op: use, pipeline: twilio_message}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import PrivateAttr, model_validator

from proxy.engine.exchange import Exchange
from proxy.pipeline.fused import Fused, Fusion
from proxy.pipeline.paths import DataPath
from proxy.pipeline.step import Step, StepFailure, compiled, parse_path


def _unbound(ex: Exchange, doc: Any, where: str, index: int | None) -> Any:
    raise StepFailure("the step was not bound to its pipeline")  # pragma: no cover


class NestedSteps(Step):
    """Base for steps that hold other steps; the config compiler binds them, with the
    pipeline they make (``proxy.pipeline.fused``: one generated function per record pipeline,
    built when the config loads, or the steps one by one)."""

    _steps: Sequence[Step] = PrivateAttr(default=())
    _fusion: Fusion | None = PrivateAttr(default=None)
    _run: Fused = PrivateAttr(default=_unbound)  # the fusion's ``run``, bound with the steps

    def nested_source(self) -> tuple[str | None, list[dict[str, Any]] | None]:
        raise NotImplementedError  # pragma: no cover

    def bind(self, steps: Sequence[Step], fusion: Fusion) -> None:
        compiled(self, "_steps", steps)
        compiled(self, "_fusion", fusion)
        compiled(self, "_run", fusion.run)
        self.prepare()

    def nested(self) -> Sequence[Step]:
        return self._steps

    def fusion(self) -> Fusion | None:
        return self._fusion


class Each(NestedSteps):
    op: Literal["each"]
    at: str
    use: str | None = None
    steps: list[dict[str, Any]] | None = None
    _at: DataPath = PrivateAttr()

    @model_validator(mode="after")
    def _one(self) -> Each:
        if (self.use is None) == (self.steps is None):
            raise ValueError("'each' takes exactly one of 'use' or 'steps'")
        return self

    def model_post_init(self, _: Any) -> None:
        compiled(self, "_at", parse_path(self.at))

    def nested_source(self) -> tuple[str | None, list[dict[str, Any]] | None]:
        return self.use, self.steps

    def apply(self, ex: Exchange, doc: Any) -> Any:
        pipeline = self._run
        if ex.tracer is not None:  # the inspector: the steps one by one, each one's changes kept
            pipeline = ex.tracer.pipeline(self._steps, self.use or "steps")
        for value, where in self._at.find(doc):
            if value is None:
                continue
            if not isinstance(value, list):
                raise StepFailure(f"expected a list, found {type(value).__name__}", where)
            for i, item in enumerate(value):
                value[i] = pipeline(ex, item, where, i)
        return doc


class Use(NestedSteps):
    op: Literal["use"]
    pipeline: str

    def nested_source(self) -> tuple[str | None, list[dict[str, Any]] | None]:
        return self.pipeline, None

    def inlined(self) -> Sequence[Step] | None:
        return self._steps

    def apply(self, ex: Exchange, doc: Any) -> Any:
        if ex.tracer is not None:  # the inspector: the steps one by one, each one's changes kept
            return ex.tracer.pipeline(self._steps, self.pipeline)(ex, doc, "", None)
        return self._run(ex, doc, "", None)
