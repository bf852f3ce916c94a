"""The converters that change a value's type: string, integer, boolean, Plivo's error codes.

Each accepts the forms the providers write (Plivo's ``units`` as an int, Twilio's counts as
strings, ``""`` for an absent integer) and refuses the rest by name; a boolean is never read as
the number it happens to be in Python.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from proxy.pipeline.converter_kit import ConversionError, Converter, none_safe, short


def _string(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str | Decimal):
        return str(value)
    raise ConversionError(f"cannot make a string of {type(value).__name__}")


def string_converter(_args: None) -> Converter:
    general = none_safe(_string)

    def convert(value: Any) -> Any:
        # A plain string is already its own ``str()``, and a plain int (Plivo's ``units``)
        # has nothing else to check: skip the wrapper and the type tests.
        kind = type(value)
        if kind is str:
            return value
        return str(value) if kind is int else general(value)

    return convert


_INTEGER_TEXT = re.compile(r"\s*[+-]?\d+\s*")


def integer(value: Any) -> Any:
    if value == "":
        return None
    if isinstance(value, bool):
        raise ConversionError("a boolean is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value):
        return int(value)
    raise ConversionError(f"not an integer: {short(value)}")


def boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ConversionError(f"not a boolean: {short(value)}")


def plivo_error_code(value: Any) -> Any:
    # ``not t.strip("0")``: t is only zeros (or empty), as ``set(t) <= {"0"}`` but cheaper.
    if value in ("", 0, "0") or (isinstance(value, str) and not value.strip().strip("0")):
        return None
    return integer(value)
