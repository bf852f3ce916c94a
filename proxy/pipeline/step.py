"""The step base class and the small shared vocabulary steps are written in.

A step is an immutable, validated pydantic model: its ``op``, its parameters, the phases it may
run in and a synchronous, pure ``apply``. Validation at load gives every config error a precise
location for free (``routes[3].response[1].map``); compiled artefacts (paths, converters,
templates) are built once in ``model_post_init`` so that nothing is parsed per request.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from proxy.engine.exchange import Exchange, UpstreamCall
from proxy.pipeline import kernels
from proxy.pipeline.paths import MISSING, DataPath, render_path

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

    def getter(self) -> Callable[[Exchange, Any], Any]:
        """``get`` with the default default, as a compiled closure (``proxy.pipeline.kernels``)."""
        return kernels.reference(self.context, self.path.segments, self.get)


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

    def renderer(self) -> Callable[[Exchange, Any], str]:
        """``render`` as a closure: literal parts bound, one-key document references read
        directly. Anything unusual (a missing value) falls back to ``render`` for its error."""
        getters: list[Callable[[Exchange, Any], Any]] = []
        for part in self.parts:
            if isinstance(part, str):
                getters.append(_literal(part))
            elif not part.context and part.path.top_key is not None:
                getters.append(_key_getter(part.path.top_key))
            else:
                getters.append(_ref_getter(part))
        slow = self.render

        def render(ex: Exchange, doc: Any) -> str:
            values = [get(ex, doc) for get in getters]
            if None in values:
                return slow(ex, doc)
            return "".join(v if isinstance(v, str) else str(v) for v in values)

        return render

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


def _literal(text: str) -> Callable[[Exchange, Any], Any]:
    return lambda _ex, _doc: text


def _key_getter(key: str) -> Callable[[Exchange, Any], Any]:
    return lambda _ex, doc: doc.get(key) if isinstance(doc, dict) else None


def _ref_getter(ref: Ref) -> Callable[[Exchange, Any], Any]:
    return lambda ex, doc: ref.get(ex, doc, None)


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

    def test(self) -> Callable[[Exchange, Any], bool]:
        """``holds`` as one closure; document paths of one key skip the general walk."""
        ref = self._ref
        key = ref.path.top_key if not ref.context else None
        if key is None or self.exists is not None:
            return self.holds
        if self.in_ is not None:
            among = self.in_
            return lambda _ex, doc: isinstance(doc, dict) and key in doc and doc[key] in among
        if self.not_in is not None:
            outside = self.not_in
            return lambda _ex, doc: (
                not (isinstance(doc, dict) and key in doc and doc[key] in outside)
            )
        expected = self.equals
        return lambda _ex, doc: isinstance(doc, dict) and key in doc and doc[key] == expected

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

    # -- compiled form: what the runner calls ------------------------------------------------

    def run(self, ex: Exchange, doc: Any) -> Any:
        """The step with its condition, as the runner calls it.

        ``prepare`` replaces this method on the instance with one closure that has the
        parameters bound and the common cases decided at load time: the per-request cost of
        a step is then one call, not two method calls and a dozen attribute lookups."""
        self.prepare()
        return self.__dict__["run"](ex, doc)

    def prepare(self) -> None:
        fn = self.fast_apply()
        if self.when is not None:
            fn = kernels.guarded(self.when.test(), fn)
        compiled(self, "run", fn)

    def fast_apply(self) -> StepFn:
        """``apply`` specialised for this step's parameters; steps on the hot path override
        it, and must behave exactly as ``apply`` (the unit tests run both)."""
        return self.apply


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
