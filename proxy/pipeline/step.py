"""The step base class and the small shared vocabulary steps are written in.

A step is an immutable, validated pydantic model: its ``op``, its parameters, the phases it may
run in and a synchronous, pure ``apply``. Validation at load gives every config error a precise
location for free (``routes[3].response[1].map``); compiled artefacts (paths, converters,
templates) are built once in ``model_post_init`` so that nothing is parsed per request.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from proxy.exchange import Exchange, UpstreamCall
from proxy.pipeline.paths import MISSING, DataPath, render_path

REQUEST = "request"
RESPONSE = "response"
BOTH = frozenset({REQUEST, RESPONSE})


def compiled(obj: Any, name: str, value: Any) -> None:
    """Store a compiled artefact (a path, a converter) on a frozen step.

    It lands in the instance dictionary, where attribute lookup finds it directly: pydantic's
    private-attribute lookup goes through ``__getattr__`` and was the single largest cost of
    running a pipeline.
    """
    object.__setattr__(obj, name, value)


class StepFailure(Exception):
    """Raised by ``apply``; the runner adds the route, phase, index and op."""

    def __init__(
        self,
        reason: str,
        path: str | tuple[Any, ...] = "",
        *,
        status: int | None = None,
        code: int | None = None,
        message: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason, self.path = reason, render_path(path)
        self.status, self.code, self.message = status, code, message


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


_TEMPLATE_FIELD = re.compile(r"\{([^{}]+)\}")


class Template:
    """``"/Accounts/{$account.sid}/Messages/{sid}.json"``: literal text with references."""

    __slots__ = ("parts", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.parts: list[str | Ref] = []
        pos = 0
        for m in _TEMPLATE_FIELD.finditer(text):
            if m.start() > pos:
                self.parts.append(text[pos : m.start()])
            self.parts.append(Ref(m.group(1).strip()))
            pos = m.end()
        if pos < len(text):
            self.parts.append(text[pos:])

    def render(self, ex: Exchange, doc: Any) -> str:
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = part.get(ex, doc)
            if value is MISSING or value is None:
                raise StepFailure(f"template {self.text!r} needs {part.text!r}, which is missing")
            out.append(str(value))
        return "".join(out)


class Condition(BaseModel):
    """``when:`` on any step: run it only if the condition holds.

    ``{path: message_type, equals: mms}``, ``{path: $request.MediaUrl, exists: true}``,
    ``{path: status, in: [failed, undelivered]}``, ``{path: message_type, not_in: [mms]}``
    (an absent value is "not in" any list).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    path: str
    equals: Any = None
    exists: bool | None = None
    in_: list[Any] | None = Field(default=None, alias="in")
    not_in: list[Any] | None = None
    _ref: Ref = PrivateAttr()
    _has_equals: bool = PrivateAttr(default=False)

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        tests = [
            "equals" in self.model_fields_set,
            self.exists is not None,
            self.in_ is not None,
            self.not_in is not None,
        ]
        if sum(tests) != 1:
            raise ValueError("a condition takes exactly one of 'equals', 'exists', 'in', 'not_in'")
        return self

    def model_post_init(self, _: Any) -> None:
        compiled(self, "_ref", Ref(self.path))
        compiled(self, "_has_equals", "equals" in self.model_fields_set)

    def holds(self, ex: Exchange, doc: Any) -> bool:
        value = self._ref.get(ex, doc)
        if self.exists is not None:
            present = value is not MISSING and value is not None and value != "" and value != []
            return present == self.exists
        if self.in_ is not None:
            return value is not MISSING and value in self.in_
        if self.not_in is not None:
            return value is MISSING or value not in self.not_in
        return value is not MISSING and value == self.equals


class Step(BaseModel):
    """Base of every step. Subclasses set ``op`` (a Literal), ``phases`` and ``apply``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    phases: ClassVar[frozenset[str]] = BOTH
    op: str
    when: Condition | None = None

    def applies(self, ex: Exchange, doc: Any) -> bool:
        return self.when is None or self.when.holds(ex, doc)

    def apply(self, ex: Exchange, doc: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


class FollowsUpstream:
    """A response step that may need more upstream calls (cursor paging).

    ``follow`` looks at ``ex.replies`` and returns the next calls, or nothing when it has
    enough. It stays pure: the handler makes the calls and runs ``follow`` again.
    """

    def follow(self, ex: Exchange) -> list[UpstreamCall]:  # pragma: no cover - interface
        raise NotImplementedError


class AcceptsFailures:
    """Marks a response step that reads failed replies itself (some fanned-out calls failed)."""


def parse_path(text: str) -> DataPath:
    """Used by step validators so that bad paths are reported at load with their location."""
    return DataPath.parse(text)
