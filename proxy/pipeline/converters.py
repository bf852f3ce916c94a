"""Named value converters for the ``convert`` step.

Each converter is a small, pure function of one value, looked up by name in the explicit table
``CONVERTERS`` and built once when the config loads (with its arguments validated then). ``None``
passes through unchanged unless a converter says otherwise. Provider knowledge stays in
``proxy.providers``; converters are thin named wrappers around it. The module is longer than
most because it is the whole catalogue: one table, read top to bottom, each converter a few
lines beside the ones of its kind (times, numbers, identifiers, types, lists and text).

| name | example |
|---|---|
| ``rfc2822_gmt`` | ``"2017-05-22 21:36:14+05:30"`` → ``"Mon, 22 May 2017 16:06:14 +0000"`` |
| ``plivo_time`` | ``"Thu, 01 May 2025 12:00:00 +0000"`` → ``"2025-05-01 12:00:00+00:00"`` |
| ``plivo_time_filter`` | ``"2025-05-01T10:30:00Z"`` → ``"2025-05-01 10:30:00"`` (UTC) |
| ``twilio_time_filter`` | ``"2025-05-01 10:30"`` → ``"2025-05-01T10:30:00Z"`` |
| ``ago`` ``{days, hours}`` | a timestamp → that timestamp minus the interval |
| ``e164`` ``{lenient?}`` | ``"14155550100"`` → ``"+14155550100"``; SIP URIs, sender IDs kept |
| ``plivo_number`` | ``"+14155550100"`` → ``"14155550100"`` |
| ``twilio_sid`` ``{prefix}`` | a UUID → ``"SM" + 32 hex`` |
| ``uuid_from_sid`` ``{prefixes?}`` | ``"SM" + 32 hex`` → the hyphenated UUID |
| ``digits_sid`` ``{prefix}`` / ``digits_from_sid`` | ``"+1415…"`` → ``"PN00…1415…"``; back |
| ``scale`` ``{by, places}`` | ``"345100.00000"`` → ``"345"`` with ``by: 0.001`` (ms to s) |
| ``epoch_ms`` / ``to_epoch_ms`` | ``"1407235163907.000"`` → its instant; an instant → ms |
| ``string`` / ``integer`` / ``boolean`` | type changes (``""`` → None for integer) |
| ``decimal_string`` ``{places, negate}`` | ``"0.0025"`` → ``"-0.00250"`` with ``negate: true`` |
| ``plivo_error_code`` | ``"000"`` / ``""`` → None; ``"30"`` → 30 |
| ``as_list`` / ``first`` / ``count`` | ``"a"`` → ``["a"]``; ``["a","b"]`` → ``"a"``; → 2 |
| ``single_or_list`` | ``["a"]`` → ``"a"``; ``["a","b"]`` unchanged (Plivo's ``request_uuid``) |
| ``split`` / ``join`` ``{sep: "<"}`` | ``"a<b"`` ⇄ ``["a","b"]`` |
| ``sms_segments`` | message text → SMS segment count (GSM-7 160/153, UCS-2 70/67) |
| ``lower`` / ``upper`` | case |
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, DecimalException, InvalidOperation
from typing import Any

import phonenumbers
from pydantic import BaseModel, ValidationError

from proxy.pipeline.converter_args import (
    AgoArgs,
    DecimalArgs,
    E164Args,
    ScaleArgs,
    SepArgs,
    SidArgs,
    UuidArgs,
)
from proxy.providers.plivo import rest as plivo
from proxy.providers.twilio import rest as twilio


class ConversionError(ValueError):
    """A value the converter cannot handle; the message says what was wrong with it."""


Converter = Callable[[Any], Any]


@dataclass(frozen=True)
class ConverterSpec:
    name: str
    summary: str
    args: type[BaseModel] | None
    build: Callable[[Any], Converter]


def _none_safe(fn: Callable[[Any], Any]) -> Converter:
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


def _cached_text(general: Converter, maxsize: int = 4096) -> Converter:
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


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# -- time --------------------------------------------------------------------------------------


def _timestamp(value: Any) -> datetime | None:
    if value == "":
        return None
    try:
        return twilio.parse_datetime(value)
    except ValueError:
        raise ConversionError(f"not a timestamp: {_short(value)}") from None


def _rfc2822(value: Any) -> Any:
    dt = _timestamp(value)
    return None if dt is None else twilio.rfc2822(dt)


def _plivo_time(value: Any) -> Any:
    dt = _timestamp(value)
    return None if dt is None else plivo.format_time(dt)


def _plivo_time_converter(_args: None) -> Converter:
    general = _none_safe(_plivo_time)

    def convert(value: Any) -> Any:
        # Twilio's own GMT form (every Twilio date) is rearranged rather than parsed and
        # formatted: four times cheaper, the same text (``twilio.utc_text``).
        if type(value) is str:
            text = twilio.utc_text(value)
            if text is not None:
                return text + "+00:00"
        return general(value)

    return convert


def _rfc2822_converter(_args: None) -> Converter:
    general = _none_safe(_rfc2822)
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


def _twilio_filter(value: Any) -> Any:
    dt = _timestamp(value)
    return None if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _plivo_filter(value: Any) -> Any:
    dt = _timestamp(value)
    return None if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _ago(args: AgoArgs) -> Converter:
    delta = timedelta(days=args.days, hours=args.hours)

    def convert(value: Any) -> Any:
        dt = _timestamp(value)
        return None if dt is None else dt - delta

    return _none_safe(convert)


# -- numbers -----------------------------------------------------------------------------------

_PHONEISH = re.compile(r"^\+?[\d\s().\-]+$")
_NOT_DIGIT = re.compile(r"\D")


@functools.lru_cache(maxsize=8192)
def _e164_of(digits: str) -> str | None:
    """E.164 for a digit string, or None; cached, since the same numbers recur constantly and
    parsing one costs more than the rest of a record's translation."""
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # phonenumbers drops a national trunk prefix written after the country code (+44 0 20…).
    # Only a result that is itself stable counts: otherwise a second conversion would drop
    # another digit (+31 0 000000 → +31000000 → +3100000), and a number must not change
    # each time it passes through.
    if formatted[1:] != digits and _e164_of(formatted[1:]) != formatted:
        return None
    return formatted


def _e164(args: E164Args | None) -> Converter:
    lenient = args.lenient if args else False

    def convert(value: Any) -> Any:
        text = str(value).strip()
        if not _PHONEISH.match(text):
            return value  # SIP URIs, client identifiers, alphanumeric sender IDs
        digits = _NOT_DIGIT.sub("", text)
        formatted = _e164_of(digits)
        if formatted is not None:
            return formatted
        if lenient:
            return "+" + digits if digits else value
        raise ConversionError(f"not a possible phone number: {_short(value)}")

    return _cached_text(_none_safe(convert))


def _plivo_number(value: Any) -> Any:
    text = str(value).strip()
    if not _PHONEISH.match(text):
        return value
    return _NOT_DIGIT.sub("", text)


def _plivo_number_converter(_args: None) -> Converter:
    return _cached_text(_none_safe(_plivo_number))


# -- identifiers -------------------------------------------------------------------------------


def _twilio_sid(args: SidArgs) -> Converter:
    def convert(value: Any) -> Any:
        if twilio.is_sid(value, args.prefix):
            return value
        try:
            return twilio.sid_from_uuid(args.prefix, value)
        except ValueError as exc:
            raise ConversionError(str(exc)) from None

    general, prefix = _none_safe(convert), args.prefix

    def fast(value: Any) -> Any:
        # A UUID (every record's): what sid_from_uuid answers, without the layers around it.
        if type(value) is str:
            sid = twilio.sid_of_uuid(prefix, value)
            if sid is not None:
                return sid
        return general(value)

    return fast


def _uuid_from_sid(args: UuidArgs) -> Converter:
    def convert(value: Any) -> Any:
        try:
            return twilio.uuid_from_sid(value, args.prefixes)
        except ValueError as exc:
            raise ConversionError(str(exc)) from None

    general, prefixes = _none_safe(convert), args.prefixes

    def fast(value: Any) -> Any:
        if type(value) is str:  # without the wrapper; a refusal is the general path's
            try:
                return twilio.uuid_from_sid(value, prefixes)
            except ValueError:
                pass
        return general(value)

    return fast


_DIGIT_ID = re.compile(r"^\+?([1-9][0-9]{0,31})$")
_DIGIT_SID = re.compile(r"^([A-Z]{2})0*([1-9][0-9]*)$")


def _digits_sid(args: SidArgs) -> Converter:
    """A Plivo number, or a numeric Plivo id (an application), as a Twilio SID: the prefix and
    the digits zero-padded to 32. Digits are hex digits, so the SID is well formed, and the
    mapping is exact both ways without any state (Plivo addresses numbers by the number)."""
    prefix = args.prefix

    def convert(value: Any) -> Any:
        m = _DIGIT_ID.match(str(value).strip())
        if m is None:
            raise ConversionError(f"not a number that fits in a SID: {_short(value)}")
        return prefix + m.group(1).rjust(32, "0")

    return _cached_text(_none_safe(convert))


def _digits_from_sid(args: UuidArgs) -> Converter:
    """The number in a SID made by ``digits_sid``; any other SID (hex letters in it) is refused,
    so a foreign SID in a path reads as not found."""
    prefixes = args.prefixes

    def convert(value: Any) -> Any:
        text = str(value)
        m = _DIGIT_SID.match(text) if len(text) == 34 else None
        if m is None or (prefixes and m.group(1) not in prefixes):
            want = "/".join(prefixes) if prefixes else "two letters"
            raise ConversionError(
                f"not a SID made of a number ({want} + 32 digits): {_short(value)}"
            )
        return m.group(2)

    return _none_safe(convert)


def _finite_decimal(value: Any, boolean: str, unreadable: str, infinite: str) -> Decimal:
    """``value`` as a finite Decimal, or the converter's own refusal for each way it is not."""
    if isinstance(value, bool):
        raise ConversionError(boolean)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ConversionError(f"{unreadable}: {_short(value)}") from None
    if not number.is_finite():
        raise ConversionError(f"{infinite}: {_short(value)}")
    return number


def _scale(args: ScaleArgs) -> Converter:
    factor, quantum = args.by, Decimal(1).scaleb(-args.places)

    def convert(value: Any) -> Any:
        if value == "":
            return None
        number = _finite_decimal(
            value, "a boolean is not a number", "not a decimal number", "not a finite number"
        )
        try:
            return str((number * factor).quantize(quantum, rounding=ROUND_HALF_UP))
        except DecimalException:
            raise ConversionError(f"cannot scale {_short(value)}") from None

    return _cached_text(_none_safe(convert))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def _from_epoch_ms(value: Any) -> Any:
    """Plivo's recording times: milliseconds since 1970 as a decimal string."""
    if value == "":
        return None
    number = _finite_decimal(
        value, "a boolean is not a time", "not epoch milliseconds", "not epoch milliseconds"
    )
    try:
        return _EPOCH + timedelta(milliseconds=float(number))
    except (OverflowError, ValueError):
        raise ConversionError(f"epoch milliseconds out of range: {_short(value)}") from None


def _to_epoch_ms(value: Any) -> Any:
    dt = _timestamp(value)
    return None if dt is None else (dt - _EPOCH) // _MILLISECOND


# -- types -------------------------------------------------------------------------------------


def _string(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str | Decimal):
        return str(value)
    raise ConversionError(f"cannot make a string of {type(value).__name__}")


def _string_converter(_args: None) -> Converter:
    general = _none_safe(_string)

    def convert(value: Any) -> Any:
        # A plain string is already its own ``str()``, and a plain int (Plivo's ``units``)
        # has nothing else to check: skip the wrapper and the type tests.
        kind = type(value)
        if kind is str:
            return value
        return str(value) if kind is int else general(value)

    return convert


_INTEGER_TEXT = re.compile(r"\s*[+-]?\d+\s*")


def _integer(value: Any) -> Any:
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
    raise ConversionError(f"not an integer: {_short(value)}")


def _boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ConversionError(f"not a boolean: {_short(value)}")


def _decimal_string(args: DecimalArgs) -> Converter:
    quantum = Decimal(1).scaleb(-args.places)

    def convert(value: Any) -> Any:
        if value == "":
            return None
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ConversionError(f"not a decimal number: {_short(value)}") from None
        if not number.is_finite():
            raise ConversionError(f"not a finite number: {_short(value)}")
        try:
            if args.negate:
                number = -number
            if number == 0:
                number = abs(number)
            return str(number.quantize(quantum))
        except DecimalException:  # more digits, or a larger exponent, than the context holds
            raise ConversionError(
                f"not a decimal with {args.places} places: {_short(value)}"
            ) from None

    # Prices and rates recur across records. (Decimal arithmetic reads the thread's decimal
    # context; the proxy never changes it, so a cached answer is the one it would compute.)
    return _cached_text(_none_safe(convert))


def _plivo_error_code(value: Any) -> Any:
    # ``not t.strip("0")``: t is only zeros (or empty), as ``set(t) <= {"0"}`` but cheaper.
    if value in ("", 0, "0") or (isinstance(value, str) and not value.strip().strip("0")):
        return None
    return _integer(value)


# -- lists and text ----------------------------------------------------------------------------


def _as_list(value: Any) -> Any:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _first(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return value[0] if value else None
    return value


def _single_or_list(value: Any) -> Any:
    if isinstance(value, list | tuple) and len(value) == 1:
        return value[0]
    return value


def _count(value: Any) -> Any:
    if value is None:
        return 0
    return len(value) if isinstance(value, list | tuple) else 1


def _split(args: SepArgs) -> Converter:
    return _none_safe(
        lambda v: v if isinstance(v, list) else [p for p in str(v).split(args.sep) if p]
    )


def _join(args: SepArgs) -> Converter:
    return _none_safe(lambda v: args.sep.join(str(p) for p in v) if isinstance(v, list) else v)


_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXT = set("^{}\\[~]|€\f")


def _sms_segments(value: Any) -> Any:
    text = str(value)
    if all(c in _GSM7 or c in _GSM7_EXT for c in text):
        units = sum(2 if c in _GSM7_EXT else 1 for c in text)
        single, multi = 160, 153
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
    if units <= single:
        return 1
    return -(-units // multi)


def _plain(fn: Callable[[Any], Any]) -> Callable[[Any], Converter]:
    return lambda _args: _none_safe(fn)


CONVERTERS: Mapping[str, ConverterSpec] = {
    spec.name: spec
    for spec in (
        ConverterSpec("rfc2822_gmt", "timestamp → RFC 2822 in GMT", None, _rfc2822_converter),
        ConverterSpec(
            "plivo_time", "timestamp → YYYY-MM-DD HH:MM:SS+00:00", None, _plivo_time_converter
        ),
        ConverterSpec(
            "plivo_time_filter", "timestamp → UTC YYYY-MM-DD HH:MM:SS", None, _plain(_plivo_filter)
        ),
        ConverterSpec(
            "twilio_time_filter",
            "timestamp → UTC YYYY-MM-DDTHH:MM:SSZ",
            None,
            _plain(_twilio_filter),
        ),
        ConverterSpec("ago", "timestamp minus {days, hours}", AgoArgs, _ago),
        ConverterSpec("e164", "phone number → +E.164 {lenient?}", E164Args, _e164),
        ConverterSpec("plivo_number", "+E.164 → digits", None, _plivo_number_converter),
        ConverterSpec("twilio_sid", "UUID → prefix + 32 hex", SidArgs, _twilio_sid),
        ConverterSpec("uuid_from_sid", "SID → UUID", UuidArgs, _uuid_from_sid),
        ConverterSpec("digits_sid", "number → prefix + 32 digits", SidArgs, _digits_sid),
        ConverterSpec("digits_from_sid", "SID of digits → number", UuidArgs, _digits_from_sid),
        ConverterSpec("scale", "number times by → fixed-point string", ScaleArgs, _scale),
        ConverterSpec("epoch_ms", "epoch milliseconds → timestamp", None, _plain(_from_epoch_ms)),
        ConverterSpec("to_epoch_ms", "timestamp → epoch milliseconds", None, _plain(_to_epoch_ms)),
        ConverterSpec("string", "number/bool → string", None, _string_converter),
        ConverterSpec(
            "integer", "string → integer", None, lambda _a: _cached_text(_none_safe(_integer))
        ),
        ConverterSpec("boolean", "text → boolean", None, _plain(_boolean)),
        ConverterSpec(
            "decimal_string", "number → fixed-point string", DecimalArgs, _decimal_string
        ),
        ConverterSpec(
            "plivo_error_code",
            "Plivo error code → int or None",
            None,
            lambda _a: _cached_text(_none_safe(_plivo_error_code)),
        ),
        ConverterSpec("as_list", "scalar → [scalar]", None, lambda _a: _as_list),
        ConverterSpec("first", "list → first item", None, _plain(_first)),
        ConverterSpec("count", "list → length", None, lambda _a: _count),
        ConverterSpec(
            "single_or_list", "[x] → x; longer lists stay", None, _plain(_single_or_list)
        ),
        ConverterSpec("split", "text → list on sep", SepArgs, _split),
        ConverterSpec("join", "list → text joined by sep", SepArgs, _join),
        ConverterSpec("sms_segments", "text → SMS segments", None, _plain(_sms_segments)),
        ConverterSpec("lower", "text → lower case", None, _plain(lambda v: str(v).lower())),
        ConverterSpec("upper", "text → upper case", None, _plain(lambda v: str(v).upper())),
    )
}


def build_converter(name: str, args: Mapping[str, Any] | None) -> Converter:
    """Builds a converter at load time; a ValueError here becomes a config problem."""
    spec = CONVERTERS.get(name)
    if spec is None:
        raise ValueError(f"unknown converter {name!r}; known: {', '.join(sorted(CONVERTERS))}")
    if spec.args is None:
        if args:
            raise ValueError(f"converter {name!r} takes no arguments")
        return spec.build(None)
    try:
        model = spec.args.model_validate(dict(args or {}))
    except ValidationError as exc:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'args'}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(f"converter {name!r}: {detail}") from None
    return spec.build(model)
