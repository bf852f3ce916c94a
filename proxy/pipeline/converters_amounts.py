"""The converters of amounts: prices and rates as fixed-point strings, and scaled numbers.

Both read a value as a finite ``Decimal`` (never a float: a price must keep its digits) and
answer a string with a fixed number of places. ``finite_decimal`` is the one reading of a finite
decimal, shared with the epoch-milliseconds converter of ``converters_time``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, DecimalException, InvalidOperation
from typing import Any

from proxy.pipeline.converter_args import DecimalArgs, ScaleArgs
from proxy.pipeline.converter_kit import (
    ConversionError,
    Converter,
    cached_text,
    none_safe,
    short,
)


def finite_decimal(value: Any, boolean: str, unreadable: str, infinite: str) -> Decimal:
    """``value`` as a finite Decimal, or the converter's own refusal for each way it is not."""
    if isinstance(value, bool):
        raise ConversionError(boolean)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ConversionError(f"{unreadable}: {short(value)}") from None
    if not number.is_finite():
        raise ConversionError(f"{infinite}: {short(value)}")
    return number


def scale(args: ScaleArgs) -> Converter:
    factor, quantum = args.by, Decimal(1).scaleb(-args.places)

    def convert(value: Any) -> Any:
        if value == "":
            return None
        number = finite_decimal(
            value, "a boolean is not a number", "not a decimal number", "not a finite number"
        )
        try:
            return str((number * factor).quantize(quantum, rounding=ROUND_HALF_UP))
        except DecimalException:
            raise ConversionError(f"cannot scale {short(value)}") from None

    return cached_text(none_safe(convert))


def decimal_string(args: DecimalArgs) -> Converter:
    quantum = Decimal(1).scaleb(-args.places)

    def convert(value: Any) -> Any:
        if value == "":
            return None
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ConversionError(f"not a decimal number: {short(value)}") from None
        if not number.is_finite():
            raise ConversionError(f"not a finite number: {short(value)}")
        try:
            if args.negate:
                number = -number
            if number == 0:
                number = abs(number)
            return str(number.quantize(quantum))
        except DecimalException:  # more digits, or a larger exponent, than the context holds
            raise ConversionError(
                f"not a decimal with {args.places} places: {short(value)}"
            ) from None

    # Prices and rates recur across records. (Decimal arithmetic reads the thread's decimal
    # context; the proxy never changes it, so a cached answer is the one it would compute.)
    return cached_text(none_safe(convert))
