"""``convert``: pass a value through a named converter (dates, numbers, identifiers, types).

``with`` names a converter, or maps one name to its arguments. Absent values are skipped. When
a converter rejects a value the step fails; ``error`` turns that into a chosen client error (a
malformed SID in the path is a 404 in Twilio's API, an invalid 'To' a 21211). The converters
are listed in ``proxy/pipeline/converters.py`` and in docs/steps.md (Converters).

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
from proxy.pipeline.converters import ConversionError, Converter, build_converter
from proxy.pipeline.paths import DataPath
from proxy.pipeline.step import Step, StepFailure, Template, compiled, parse_path
from proxy.pipeline.writer import Writer


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

    def emit(self, w: Writer) -> bool:
        """Each value at ``at`` goes through the converter (an absent one is skipped); a value
        the converter refuses fails the step, as ``error`` says if given."""
        with w.slot(self._at) as slot, w.if_present(slot):
            with w.block("try:"):
                slot.assign(f"{w.const(self._fn)}({slot.value})")
            with w.block("except _ConversionError as exc:"):
                w.line(f"raise {w.const(self._failure)}(ex, doc, exc, {slot.where}) from None")
        return True

    def _failure(
        self, ex: Exchange, doc: Any, exc: ConversionError, where: tuple[Any, ...]
    ) -> StepFailure:
        if self.error is not None:
            return self.error.failure(ex, doc, str(exc), where)
        return StepFailure(str(exc), where)
