"""The rules every step shares, each written once, as the code that carries it out.

- *How paths read* (``read``): a key reads a dict's entry, an index a list's item (negative
  from the end); anything else, a missing key or an index out of range reads as absent.
- *Which values are copied* (``copy_of``): ``set … from:`` never shares a value with where it
  came from, so that a later edit of one place cannot change the other. Values of exactly the
  ``ATOMIC`` types are immutable and stay shared; anything else is deep-copied, a ``str``
  subclass included (it may carry state of its own).
- *What counts as present* (``PRESENT``): a value that is there and is not null, ``""`` or
  ``[]``; ``when: {exists: …}`` and ``require`` both ask it.
- *How ``when`` decides* (``condition``): ``equals`` and ``in`` hold only for a value that is
  there (``equals: null`` holds for an explicit null, not an absent key); ``not_in`` holds for
  an absent value; ``exists`` asks ``PRESENT``.

Each rule is a template: a function that writes the lines carrying it out into generated code
(``codegen.Source``). A step's own function, the fused pipelines and the few plain-Python
callers (``DataPath.get`` through ``reader``, ``require`` through ``present``) all run code
made from these templates, so no rule can mean one thing in one path and another elsewhere.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

from proxy.pipeline.codegen import Source, build

__all__ = ["ATOMIC", "MISSING", "RUNTIME", "Missing", "condition", "copy_of", "present", "read"]


class Missing:
    """Marker for an absent value (distinct from a JSON null)."""

    _instance: Missing | None = None

    def __new__(cls) -> Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING = Missing()

# The types whose values ``set`` shares rather than copies (exact types: see above).
ATOMIC: tuple[type, ...] = (str, int, float, bool, type(None))

# The names the templates below use, bound in every generated function's namespace.
RUNTIME: dict[str, Any] = {"_M": MISSING, "_ATOMIC": frozenset(ATOMIC), "_deepcopy": copy.deepcopy}


# -- how paths read ----------------------------------------------------------------------------


def read(
    src: Source,
    root: str,
    segments: Sequence[str | int],
    *,
    absent: str = "_M",
    root_is_dict: bool = False,
) -> str:
    """Lines leaving the value at ``segments`` below ``root`` in a new local, whose name is
    returned; ``absent`` (``_M`` or ``None``) where there is none. ``root_is_dict`` says the
    root is known to be a dict. Paths with a wildcard are not read here: ``DataPath.get``
    takes their first match."""
    if not segments:
        return root
    value, data = src.temp("r"), root
    for i, seg in enumerate(segments):
        if isinstance(seg, str):
            key = src.const(seg)
            if i == 0 and root_is_dict:
                src.line(f"{value} = {data}.get({key}, {absent})")
            else:
                test = f"isinstance({data}, dict) and {key} in {data}"
                src.line(f"{value} = {data}[{key}] if {test} else {absent}")
        else:  # an index: a generated int, written as itself
            test = f"isinstance({data}, list) and {-seg - 1 if seg < 0 else seg} < len({data})"
            src.line(f"{value} = {data}[{seg}] if {test} else {absent}")
        data = value  # ``absent`` is neither a dict nor a list: the rest reads as absent too
    return value


_READERS: dict[tuple[str | int, ...], Callable[[Any], Any]] = {}


def reader(segments: tuple[str | int, ...]) -> Callable[[Any], Any]:
    """``read`` as a plain function of the root (``MISSING`` where there is none), for the
    code that walks a path outside generated code. One per distinct path."""
    found = _READERS.get(segments)
    if found is None:
        src = Source(f"read {_text(segments)}")
        src.line(f"return {read(src, 'data', segments)}")
        found = _READERS[segments] = build(src, "read(data)", RUNTIME).fn
    return found


def _text(segments: tuple[str | int, ...]) -> str:
    return "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in segments) or "."


# -- which values are copied -------------------------------------------------------------------


def copy_of(src: Source, expression: str) -> str:
    """Lines leaving ``expression``'s value, copied as ``set`` copies, in a new local."""
    value = src.temp("v")
    src.line(f"{value} = {expression}")
    src.line(f"if type({value}) not in _ATOMIC:")
    src.line(f"    {value} = _deepcopy({value})")
    return value


def constant(src: Source, value: Any) -> str:
    """A constant as ``set … value:`` writes it: ``copy_of`` decided once, at load."""
    name = src.const(value)
    return name if type(value) in ATOMIC else f"_deepcopy({name})"


# -- what counts as present; how ``when`` decides ----------------------------------------------

PRESENT = "({v} is not _M and {v} is not None and {v} != '' and {v} != [])"


def is_present(value: str) -> str:
    """``PRESENT`` of a local (or any expression without side effects)."""
    return PRESENT.format(v=value)


def condition(src: Source, value: str, test: str, operand: Any) -> str:
    """The expression deciding ``when: {path: …, TEST: OPERAND}``, ``value`` holding the
    path's value (``_M`` where there is none)."""
    if test == "exists":
        return is_present(value) if operand else f"not {is_present(value)}"
    known = f"{value} is not _M"
    if test == "in":
        return f"({known} and {value} in {src.const(operand)})"
    if test == "not_in":
        return f"not ({known} and {value} in {src.const(operand)})"
    if test == "equals":
        return f"({known} and {value} == {src.const(operand)})"
    if test == "same_as":  # operand: an expression for the other reference's value
        return f"({known} and {value} == {operand})"
    raise ValueError(f"unknown condition test {test!r}")


def _present_function() -> Callable[[Any], bool]:
    src = Source("present")
    src.line(f"return {is_present('value')}")
    fn: Callable[[Any], bool] = build(src, "present(value)", RUNTIME).fn
    return fn


present = _present_function()
