"""``convert``: pass a value through a named converter (dates, numbers, identifiers, types).

``with`` names a converter, or maps one name to its arguments. Absent values are skipped. When
a converter rejects a value the step fails; ``error`` turns that into a chosen client error (a
malformed SID in the path is a 404 in Twilio's API, an invalid 'To' a 21211). The converters
are listed in ``proxy/pipeline/converters.py`` and by ``dialect check --converters``.

Examples::

    - {op: convert, at: date_created, with: rfc2822_gmt}
    - {op: convert, at: sid, with: {twilio_sid: {prefix: SM}}}
    - op: convert
      at: Sid
      with: {uuid_from_sid: {prefixes: [SM, MM]}}
      error: {status: 404, code: 20404,
              message: "The requested resource {$route.path} was not found"}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from proxy.engine.exchange import Exchange
from proxy.pipeline import kernels
from proxy.pipeline.converters import ConversionError, Converter, build_converter
from proxy.pipeline.paths import DataPath, assign, has_slot
from proxy.pipeline.step import Step, StepFailure, StepFn, Template, compiled, parse_path


class ErrorSpec(BaseModel):
    """The client error a failing step becomes (instead of a generic translation failure)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    status: int = Field(ge=400, le=599)
    code: int | None = None
    message: str | None = None
    _template: Template | None = PrivateAttr(default=None)

    def model_post_init(self, _: Any) -> None:
        compiled(self, "_template", Template(self.message) if self.message else None)

    def failure(
        self, ex: Exchange, doc: Any, reason: str, where: str | tuple[Any, ...]
    ) -> StepFailure:
        message = None
        if self._template is not None:
            try:
                message = self._template.render(ex, doc)
            except StepFailure:
                message = self.message
        return StepFailure(reason, where, status=self.status, code=self.code, message=message)


class Convert(Step):
    op: Literal["convert"]
    at: str
    with_: str | dict[str, dict[str, Any] | None] = Field(alias="with")
    error: ErrorSpec | None = None
    _at: DataPath = PrivateAttr()
    _fn: Converter = PrivateAttr()

    @field_validator("with_")
    @classmethod
    def _known(cls, v: str | dict[str, dict[str, Any] | None]) -> str | dict[str, Any]:
        if isinstance(v, dict) and len(v) != 1:
            raise ValueError("'with' maps exactly one converter name to its arguments")
        name, args = (v, None) if isinstance(v, str) else next(iter(v.items()))
        build_converter(name, args)  # raises ValueError with a clear message
        return v

    def model_post_init(self, _: Any) -> None:
        compiled(self, "_at", parse_path(self.at))
        if not self._at.segments:
            raise ValueError("'convert' needs a non-empty 'at'")
        v = self.with_
        name, args = (v, None) if isinstance(v, str) else next(iter(v.items()))
        compiled(self, "_fn", build_converter(name, args))

    def apply(self, ex: Exchange, doc: Any) -> Any:
        key = self._at.top_key
        if key is not None and isinstance(doc, dict):  # the common case: one plain key
            if key in doc:
                try:
                    doc[key] = self._fn(doc[key])
                except ConversionError as exc:
                    raise self._failure(ex, doc, exc, (key,)) from None
            return doc
        for parent, slot, where in self._at.parents(doc, create=False):
            if not has_slot(parent, slot):
                continue
            try:
                assign(parent, slot, self._fn(parent[slot]))
            except ConversionError as exc:
                raise self._failure(ex, doc, exc, where) from None
        return doc

    def fast_apply(self) -> StepFn:
        key = self._at.top_key
        if key is None:
            return self.apply
        return kernels.convert_key(key, self._fn, self._failure, self.apply)

    def _failure(
        self, ex: Exchange, doc: Any, exc: ConversionError, where: tuple[Any, ...]
    ) -> StepFailure:
        if self.error is not None:
            return self.error.failure(ex, doc, str(exc), where)
        return StepFailure(str(exc), where)
