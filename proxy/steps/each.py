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
from proxy.pipeline import kernels
from proxy.pipeline.paths import DataPath
from proxy.pipeline.step import Step, StepFailure, StepFn, compiled, parse_path


class NestedSteps(Step):
    """Base for steps that hold other steps; the config compiler fills ``_steps``.

    The compiled form runs the steps as one fused function (``proxy.pipeline.fused``), built
    when they are bound, so at load time: a record pipeline runs once per record of a list.
    """

    _steps: Sequence[Step] = PrivateAttr(default=())

    def nested_source(self) -> tuple[str | None, list[dict[str, Any]] | None]:
        raise NotImplementedError  # pragma: no cover

    def bind(self, steps: Sequence[Step]) -> None:
        compiled(self, "_steps", steps)
        self.prepare()


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
        from proxy.pipeline.runner import run_nested

        for value, where in self._at.find(doc):
            if value is None:
                continue
            if not isinstance(value, list):
                raise StepFailure(f"expected a list, found {type(value).__name__}", where)
            for i, item in enumerate(value):
                value[i] = run_nested(self._steps, ex, item, f"{where}[{i}]")
        return doc

    def fast_apply(self) -> StepFn:
        from proxy.pipeline.fused import fuse

        pipeline, at = fuse(self._steps), self._at

        def each(ex: Exchange, doc: Any) -> Any:
            for value, where in at.find(doc):
                if value is None:
                    continue
                if not isinstance(value, list):
                    raise StepFailure(f"expected a list, found {type(value).__name__}", where)
                for i, item in enumerate(value):
                    value[i] = pipeline(ex, item, where, i)
            return doc

        return each


class Use(NestedSteps):
    op: Literal["use"]
    pipeline: str

    def nested_source(self) -> tuple[str | None, list[dict[str, Any]] | None]:
        return self.pipeline, None

    def apply(self, ex: Exchange, doc: Any) -> Any:
        from proxy.pipeline.runner import run_nested

        return run_nested(self._steps, ex, doc, "")

    def fast_apply(self) -> StepFn:
        from proxy.pipeline.fused import fuse

        return kernels.fused_document(fuse(self._steps))
