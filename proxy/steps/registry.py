"""The explicit table of step kinds, and the compiler that turns config dicts into steps.

An explicit table (rather than import-time self-registration) makes the set of ops a user can
write visible in one place, and lets ``dialect check`` list them. It lives with the steps, not
in ``proxy.pipeline``: the rule engine knows steps only through the ``Step`` base class, so the
two packages import in one direction (``steps`` on ``pipeline``).

The compiler also builds what runs: each step's own function (named by its config location,
``routes[3].response[1]``) and, once per named pipeline and phase, the fused form ``each`` and
``use`` run (``proxy.pipeline.fused``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from proxy.pipeline.fused import Fusion, fuse
from proxy.pipeline.step import Step
from proxy.steps.callback_url import CallbackUrl
from proxy.steps.convert import Convert
from proxy.steps.drop import Drop
from proxy.steps.each import Each, NestedSteps, Use
from proxy.steps.fan_out import FanOut, Gather
from proxy.steps.local_time import LocalTime
from proxy.steps.map_values import MapValues
from proxy.steps.paginate import Paginate
from proxy.steps.recase import Recase
from proxy.steps.rename import Rename
from proxy.steps.require import Require
from proxy.steps.rewrite_path import RewritePath
from proxy.steps.select import Select
from proxy.steps.set_value import SetValue
from proxy.steps.status import Status
from proxy.steps.then import Then
from proxy.steps.to_header import ToHeader
from proxy.steps.wrap import Unwrap, Wrap

REGISTRY: Mapping[str, type[Step]] = {
    "rename": Rename,
    "drop": Drop,
    "select": Select,
    "set": SetValue,
    "map_values": MapValues,
    "convert": Convert,
    "local_time": LocalTime,
    "require": Require,
    "status": Status,
    "to_header": ToHeader,
    "rewrite_path": RewritePath,
    "wrap": Wrap,
    "unwrap": Unwrap,
    "recase": Recase,
    "each": Each,
    "use": Use,
    "paginate": Paginate,
    "fan_out": FanOut,
    "gather": Gather,
    "callback": CallbackUrl,
    "then": Then,
}

Problems = list[tuple[str, str]]


def format_loc(base: str, loc: Sequence[int | str]) -> str:
    out = base
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def validation_problems(base: str, exc: ValidationError) -> Problems:
    problems: Problems = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if not (isinstance(p, str) and "[" in p)]
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        problems.append((format_loc(base, loc), msg))
    return problems


class StepCompiler:
    """Compiles step lists, resolving ``use``/``each`` against the named pipelines."""

    def __init__(self, raw_pipelines: Mapping[str, Any]) -> None:
        self._raw = raw_pipelines
        self._done: dict[str, list[Step]] = {}
        self._fused: dict[str, Fusion] = {}
        self._active: list[str] = []
        self.problems: Problems = []

    def used(self, name: str) -> bool:
        return any(key.endswith(f":{name}") for key in self._done)

    def pipeline(self, name: str, phase: str, where: str) -> list[Step] | None:
        if name not in self._raw:
            known = ", ".join(sorted(self._raw)) or "none"
            self.problems.append((where, f"unknown pipeline {name!r} (known: {known})"))
            return None
        key = f"{phase}:{name}"
        if key in self._done:
            return self._done[key]
        if name in self._active:
            self.problems.append((where, f"pipeline {name!r} uses itself"))
            return None
        self._active.append(name)
        steps = self.compile(self._raw[name], phase, f"pipelines.{name}")
        self._active.pop()
        self._done[key] = steps
        return steps

    def compile(self, raw: Any, phase: str, where: str) -> list[Step]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.problems.append((where, "expected a list of steps"))
            return []
        steps: list[Step] = []
        for i, item in enumerate(raw):
            loc = f"{where}[{i}]"
            step = self._one(item, phase, loc)
            if step is not None:
                steps.append(step)
        return steps

    def _one(self, item: Any, phase: str, loc: str) -> Step | None:
        if not isinstance(item, dict):
            self.problems.append((loc, "a step is a mapping with an 'op'"))
            return None
        op = item.get("op")
        cls = REGISTRY.get(op) if isinstance(op, str) else None
        if cls is None:
            known = ", ".join(sorted(REGISTRY))
            self.problems.append((f"{loc}.op", f"unknown op {op!r} (known: {known})"))
            return None
        try:
            step = cls.model_validate(item)
        except ValidationError as exc:
            self.problems.extend(validation_problems(loc, exc))
            return None
        except ValueError as exc:
            self.problems.append((loc, str(exc)))
            return None
        if phase != "any" and phase not in step.phases:
            self.problems.append((f"{loc}.op", f"op {op!r} cannot run in the {phase} phase"))
            return None
        if isinstance(step, Paginate) and phase != "any":
            problem = step.bind_phase(phase)
            if problem:
                self.problems.append((loc, problem))
                return None
        if isinstance(step, NestedSteps):
            name, inline = step.nested_source()
            if name is not None:
                inner = self.pipeline(name, phase, loc)
                key = f"{phase}:{name}"
                if inner is not None and key not in self._fused:
                    self._fused[key] = fuse(inner, name)
                fusion = self._fused.get(key)
            else:
                inner = self.compile(inline, phase, f"{loc}.steps")
                fusion = fuse(inner, f"{loc}.steps")
            if inner is not None and fusion is not None:
                step.bind(inner, fusion)
        else:
            step.prepare(loc)
        return step
