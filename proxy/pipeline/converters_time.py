"""The converters of times: each provider's written form, its list filters, intervals, epochs.

Dates are in nearly every record, so the two record forms (``rfc2822_gmt``, ``plivo_time``) take
the provider's own fixed form on a fast path (``proxy.providers.twilio.rest``) and fall back to
the general parser, which says what was wrong, for anything else.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from proxy.pipeline.converter_args import AgoArgs
from proxy.pipeline.converter_kit import ConversionError, Converter, none_safe, short
from proxy.pipeline.converters_amounts import finite_decimal
from proxy.providers.plivo import rest as plivo
from proxy.providers.twilio import rest as twilio


def _timestamp(value: Any) -> datetime | None:
    if value == "":
        return None
    try:
        return twilio.parse_datetime(value)
    except ValueError:
        raise ConversionError(f"not a timestamp: {short(value)}") from None


def _rfc2822(value: Any) -> Any:
    dt = _timestamp(value)
    return None if dt is None else twilio.rfc2822(dt)


def _plivo_time(value: Any) -> Any:
    dt = _timestamp(value)
    return None if dt is None else plivo.format_time(dt)


def plivo_time_converter(_args: None) -> Converter:
    general = none_safe(_plivo_time)

    def convert(value: Any) -> Any:
        # Twilio's own GMT form (every Twilio date) is rearranged rather than parsed and
        # formatted: four times cheaper, the same text (``twilio.utc_text``).
        if type(value) is str:
            text = twilio.utc_text(value)
            if text is not None:
                return text + "+00:00"
        return general(value)

    return convert


def rfc2822_converter(_args: None) -> Converter:
    general = none_safe(_rfc2822)
    of_iso, of_plivo = twilio.rfc2822_of_iso, twilio.rfc2822_of_plivo

    def convert(value: Any) -> Any:
        # Plivo's exact form (every Plivo date): per minute, then the first branch of
        # ``twilio.parse_datetime`` and the formatting in one call, since the calls around them
        # cost as much as the parse. Anything else, or a failure: the general path, which
        # says what was wrong.
        if type(value) is str:
            try:
                text = of_plivo(value)
            except (ValueError, TypeError, OverflowError):
                text = None
            if text is not None:
                return text
            text = value.strip()
            if len(text) > 10 and text[4] == "-" and text[10] in " T":
                try:
                    return of_iso(text)
                except (ValueError, TypeError, OverflowError):
                    pass
        return general(value)

    return convert


def twilio_filter(value: Any) -> Any:
    dt = _timestamp(value)
    return None if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def plivo_filter(value: Any) -> Any:
    dt = _timestamp(value)
    return None if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def ago(args: AgoArgs) -> Converter:
    delta = timedelta(days=args.days, hours=args.hours)

    def convert(value: Any) -> Any:
        dt = _timestamp(value)
        return None if dt is None else dt - delta

    return none_safe(convert)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def from_epoch_ms(value: Any) -> Any:
    """Plivo's recording times: milliseconds since 1970 as a decimal string."""
    if value == "":
        return None
    number = finite_decimal(
        value, "a boolean is not a time", "not epoch milliseconds", "not epoch milliseconds"
    )
    try:
        return _EPOCH + timedelta(milliseconds=float(number))
    except (OverflowError, ValueError):
        raise ConversionError(f"epoch milliseconds out of range: {short(value)}") from None


def to_epoch_ms(value: Any) -> Any:
    dt = _timestamp(value)
    return None if dt is None else (dt - _EPOCH) // _MILLISECOND
