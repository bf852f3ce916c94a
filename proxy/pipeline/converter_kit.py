"""What every named converter is built from: its error, its type and the two wrappers.

Kept apart from the catalogue (``proxy.pipeline.converters``) so that each family of converters
(times, identifiers, amounts, types, text) builds on the same refusal and the same cache without
importing the registry, and the registry imports the families, never the other way round.
Compiled with the converters (setup.py): they run for every record.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


class ConversionError(ValueError):
    """A value the converter cannot handle; the message says what was wrong with it."""


Converter = Callable[[Any], Any]


def none_safe(fn: Callable[[Any], Any]) -> Converter:
    def convert(value: Any) -> Any:
        if value is None:
            return None
        try:
            return fn(value)
        except ConversionError:
            raise
        except (ValueError, TypeError, OverflowError) as exc:
            raise ConversionError(str(exc)) from None

    return convert


def cached_text(general: Converter, maxsize: int = 4096) -> Converter:
    """``general`` with its answers for plain strings kept in a bounded LRU cache.

    For converters whose inputs recur across records (phone numbers, prices) and whose work
    costs more than a lookup. Only for pure converters answering immutable values: a cached
    answer is shared by every record that gets it. Only exact ``str`` inputs are cached, since
    the cache's keys would otherwise treat ``1``, ``1.0`` and ``True`` as one. A refusal is
    cached as its message and raised afresh, the same ConversionError; any other exception is
    not cached and propagates as it did.
    """

    def answer(text: str) -> tuple[bool, Any]:
        try:
            return True, general(text)
        except ConversionError as exc:
            return False, str(exc)

    # Not a decorator: compiled, a decorated inner function is not bound where it is used.
    of_text = functools.lru_cache(maxsize=maxsize)(answer)

    def convert(value: Any) -> Any:
        if type(value) is str:
            ok, answer = of_text(value)
            if ok:
                return answer
            raise ConversionError(answer)
        return general(value)

    return convert


def short(value: Any) -> str:
    """A value as a refusal quotes it: its repr, cut to 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
