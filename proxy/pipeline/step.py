"""The step base class and the small shared vocabulary steps are written in.

A step is an immutable, validated pydantic model: its ``op``, its parameters, the phases it may
run in, and what it does: written once as code through ``emit`` (the steps every record runs;
see ``writer``), or as a synchronous, pure ``apply``. Validation at load gives every config
error a precise location for free (``routes[3].response[1].map``); compiled artefacts (paths,
converters, templates, the step's own function) are built once when the config loads, so that
nothing is parsed per request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from proxy.engine.exchange import Exchange, UpstreamCall
from proxy.pipeline import rules
from proxy.pipeline.codegen import Generated
from proxy.pipeline.failure import StepFailure
from proxy.pipeline.one_step import compile_function, compile_step
from proxy.pipeline.paths import DataPath
from proxy.pipeline.writer import Ref, Writer

if TYPE_CHECKING:  # for annotations only: fused builds on this module
    from proxy.pipeline.fused import Fusion

__all__ = [
    "BOTH",
    "REQUEST",
    "RESPONSE",
    "AcceptsFailures",
    "Condition",
    "FollowsUpstream",
    "Ref",
    "Step",
    "StepFailure",
    "StepFn",
    "Template",
    "compiled",
    "parse_path",
]

StepFn = Callable[[Exchange, Any], Any]

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


_TEMPLATE_FIELD = re.compile(r"\{([^{}]+)\}")


class Template:
    """``"/Accounts/{$account.sid}/Messages/{sid}.json"``: literal text with references.

    Rendering is written once, by ``emit``: each reference's value as ``str`` gives it; a
    reference with no value, or a null one, fails naming the first such reference."""

    __slots__ = ("_render", "parts", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.parts: list[str | Ref] = []
        self._render: Callable[[Exchange, Any], str] | None = None
        pos = 0
        for m in _TEMPLATE_FIELD.finditer(text):
            if m.start() > pos:
                self.parts.append(text[pos : m.start()])
            self.parts.append(Ref(m.group(1).strip()))
            pos = m.end()
        if pos < len(text):
            self.parts.append(text[pos:])

    def emit(self, w: Writer) -> str:
        """Lines checking every reference, and the expression of the rendered text."""
        fields: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                fields.append("{" + w.const(part) + "}")
                continue
            value = w.temp("a")
            w.line(f"{value} = {w.value(part, absent='None')}")
            with w.block(f"if {value} is None:"):
                reason = f"template {self.text!r} needs {part.text!r}, which is missing"
                w.fail(w.const(reason))
            fields.append("{" + value + "!s}")
        return 'f"' + "".join(fields) + '"'

    def render(self, ex: Exchange, doc: Any) -> str:
        if self._render is None:
            self._render, _ = compile_function(
                f"template {self.text}", "render(ex, doc)", self.emit
            )
        return self._render(ex, doc)


class Condition(BaseModel):
    """``when:`` on any step: run it only if the condition holds (``rules.condition``).

    ``{path: message_type, equals: mms}``, ``{path: $request.MediaUrl, exists: true}``,
    ``{path: status, in: [failed, undelivered]}``, ``{path: message_type, not_in: [mms]}``
    (an absent value is "not in" any list), ``{path: ALegUUID, same_as: CallUUID}`` (both there
    and equal: a reference, not a constant).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    path: str
    equals: Any = None
    exists: bool | None = None
    in_: list[Any] | None = Field(default=None, alias="in")
    not_in: list[Any] | None = None
    same_as: str | None = None
    _ref: Ref = PrivateAttr()
    _test: tuple[str, Any] = PrivateAttr()
    _holds: Callable[[Exchange, Any], bool] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        tests = [
            "equals" in self.model_fields_set,
            self.exists is not None,
            self.in_ is not None,
            self.not_in is not None,
            self.same_as is not None,
        ]
        if sum(tests) != 1:
            raise ValueError(
                "a condition takes exactly one of 'equals', 'exists', 'in', 'not_in', 'same_as'"
            )
        return self

    def model_post_init(self, _: Any) -> None:
        compiled(self, "_ref", Ref(self.path))
        if self.exists is not None:
            test: tuple[str, Any] = ("exists", self.exists)
        elif self.in_ is not None:
            test = ("in", self.in_)
        elif self.not_in is not None:
            test = ("not_in", self.not_in)
        elif self.same_as is not None:
            test = ("same_as", Ref(self.same_as))
        else:
            test = ("equals", self.equals)
        compiled(self, "_test", test)
        compiled(self, "_holds", None)

    def expression(self, w: Writer) -> str:
        test, operand = self._test
        if test == "same_as":
            operand = w.value(operand)
        return rules.condition(w.src, w.value(self._ref), test, operand)

    def holds(self, ex: Exchange, doc: Any) -> bool:
        if self._holds is None:
            fn, _ = compile_function(f"when {self.path}", "holds(ex, doc)", self.expression)
            compiled(self, "_holds", fn)
            return bool(fn(ex, doc))
        return self._holds(ex, doc)


class Step(BaseModel):
    """Base of every step. Subclasses set ``op`` (a Literal), ``phases``, and either ``emit``
    (a step that runs per record: its behaviour written once as code, see ``writer``) or
    ``apply`` (plain Python)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    phases: ClassVar[frozenset[str]] = BOTH
    op: str
    when: Condition | None = None

    def emit(self, w: Writer) -> bool:
        """Write what the step does through ``w``; False for a step that has only ``apply``."""
        return False

    def apply(self, ex: Exchange, doc: Any) -> Any:
        """The step itself, without its condition, for a step written in plain Python."""
        raise NotImplementedError(f"{self.op!r} is written by its template: run it with run()")

    # -- compiled form: what the runner calls ------------------------------------------------

    def run(self, ex: Exchange, doc: Any) -> Any:
        """The step with its condition, as the runner calls it.

        ``prepare`` replaces this method on the instance with the step's generated function
        (``one_step``), so that the per-request cost of a step is one call."""
        self.prepare()
        return self.__dict__["run"](ex, doc)

    def prepare(self, where: str = "") -> None:
        """Compile the step's function; ``where`` (its config location) names its code."""
        title = f"{where} {self.op}".strip()
        fn, code = compile_step(self, title)
        compiled(self, "run", fn)
        compiled(self, "_code", code)

    def nested(self) -> Sequence[Step]:
        """The steps this one runs in turn (``each``, ``use``)."""
        return ()

    def inlined(self) -> Sequence[Step] | None:
        """The steps that, run in this one's place on the same document, do exactly what it
        does (``use``: its pipeline); None for any other step. A fused pipeline writes them
        in its own body."""
        return None

    def fusion(self) -> Fusion | None:
        """How the nested steps run (fused, or step by step and why)."""
        return None

    def code(self) -> list[Generated]:
        """The generated functions this step runs (``dialect translate --show-code``)."""
        if "run" not in self.__dict__:
            self.prepare()
        code: Generated | None = self.__dict__.get("_code")
        return [code] if code is not None else []


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
