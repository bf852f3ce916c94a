"""The converters' fast paths answer exactly as the straightforward implementations did.

Dates, numbers and phone numbers are most of a record's translation, so the converters have
fast paths: Twilio's and Plivo's fixed date forms handled without the general parser, the date
half of a formatted time kept per day, answers for recurring strings cached. The reference
here is the code as it was before them (kept below, verbatim in behaviour): every converter a
shipped config uses must give the same value, of the same type, or fail with the same
exception type and message, on odd values and on generated timestamps in every form.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.pipeline import converters
from proxy.pipeline.converters import ConversionError, _e164_of, _none_safe, _short, build_converter
from proxy.providers.plivo import rest as plivo
from proxy.providers.twilio import rest as twilio
from tests.unit.test_fused_pipelines import SWEEP

# -- the reference: the implementations before the fast paths ---------------------------------

_PLIVOISH = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6})\d*)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)
_DATE_ONLY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def ref_parse_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp: {type(value).__name__}")
    text = value.strip()
    if len(text) > 10 and text[4] == "-" and text[10] in " T":
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    m = _PLIVOISH.match(text)
    if m:
        year, month, day, hour, minute, sec, frac, tz = m.groups()
        dt = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(sec or 0),
            int((frac or "0").ljust(6, "0")),
        )
        if tz in (None, "Z"):
            return dt.replace(tzinfo=UTC)
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 60 + int(digits[2:]))
        return dt.replace(tzinfo=timezone(timedelta(minutes=offset)))
    m = _DATE_ONLY.match(text)
    if m:
        return datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=UTC)
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"not a timestamp: {text[:40]!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def ref_rfc2822(dt: datetime) -> str:
    u = dt.astimezone(UTC)
    return (
        f"{_DAYS[u.weekday()]}, {u.day:02d} {_MONTHS[u.month - 1]} {u.year:04d} "
        f"{u.hour:02d}:{u.minute:02d}:{u.second:02d} +0000"
    )


def ref_format_time(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S+00:00")


def _ref_timestamp(value: Any) -> datetime | None:
    if value == "":
        return None
    try:
        return ref_parse_datetime(value)
    except ValueError:
        raise ConversionError(f"not a timestamp: {_short(value)}") from None


def _ref_dates(fmt: Callable[[datetime], Any]) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        dt = _ref_timestamp(value)
        return None if dt is None else fmt(dt)

    return _none_safe(convert)


_PHONEISH = re.compile(r"^\+?[\d\s().\-]+$")
_NOT_DIGIT = re.compile(r"\D")


def _ref_e164(lenient: bool) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        text = str(value).strip()
        if not _PHONEISH.match(text):
            return value
        digits = _NOT_DIGIT.sub("", text)
        formatted = _e164_of(digits)
        if formatted is not None:
            return formatted
        if lenient:
            return "+" + digits if digits else value
        raise ConversionError(f"not a possible phone number: {_short(value)}")

    return _none_safe(convert)


def _ref_plivo_number(value: Any) -> Any:
    text = str(value).strip()
    if not _PHONEISH.match(text):
        return value
    return _NOT_DIGIT.sub("", text)


def _ref_string(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str | Decimal):
        return str(value)
    raise ConversionError(f"cannot make a string of {type(value).__name__}")


def _ref_integer(value: Any) -> Any:
    if value == "":
        return None
    if isinstance(value, bool):
        raise ConversionError("a boolean is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    raise ConversionError(f"not an integer: {_short(value)}")


def _ref_decimal(places: int, negate: bool) -> Callable[[Any], Any]:
    quantum = Decimal(1).scaleb(-places)

    def convert(value: Any) -> Any:
        if value == "":
            return None
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ConversionError(f"not a decimal number: {_short(value)}") from None
        if not number.is_finite():
            raise ConversionError(f"not a finite number: {_short(value)}")
        if negate:
            number = -number
        if number == 0:
            number = abs(number)
        try:
            return str(number.quantize(quantum))
        except InvalidOperation:  # too many digits: refused, not a crash (a 500)
            raise ConversionError(f"not a decimal with {places} places: {_short(value)}") from None

    return _none_safe(convert)


def _ref_plivo_error_code(value: Any) -> Any:
    if value in ("", 0, "0") or (isinstance(value, str) and set(value.strip()) <= {"0"}):
        return None
    return _ref_integer(value)


def _ref_ago(days: float) -> Callable[[Any], Any]:
    delta = timedelta(days=days)

    def convert(value: Any) -> Any:
        dt = _ref_timestamp(value)
        return None if dt is None else dt - delta

    return _none_safe(convert)


def _ref_twilio_sid(prefix: str) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if twilio.is_sid(value, prefix):
            return value
        try:
            return twilio.sid_from_uuid(prefix, value)
        except ValueError as exc:
            raise ConversionError(str(exc)) from None

    return _none_safe(convert)


def _ref_uuid_from_sid(prefixes: list[str] | None) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        try:
            return twilio.uuid_from_sid(value, prefixes)
        except ValueError as exc:
            raise ConversionError(str(exc)) from None

    return _none_safe(convert)


# (name, args): the converters and arguments the shipped configs use, and their references.
CASES: list[tuple[str, dict[str, Any] | None, Callable[[Any], Any]]] = [
    ("rfc2822_gmt", None, _ref_dates(ref_rfc2822)),
    ("plivo_time", None, _ref_dates(ref_format_time)),
    (
        "plivo_time_filter",
        None,
        _ref_dates(lambda dt: dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")),
    ),
    (
        "twilio_time_filter",
        None,
        _ref_dates(lambda dt: dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
    ),
    ("ago", {"days": 90}, _ref_ago(90)),
    ("ago", {"days": -1}, _ref_ago(-1)),
    ("e164", None, _ref_e164(False)),
    ("e164", {"lenient": True}, _ref_e164(True)),
    ("plivo_number", None, _none_safe(_ref_plivo_number)),
    ("string", None, _none_safe(_ref_string)),
    ("integer", None, _none_safe(_ref_integer)),
    ("decimal_string", {"places": 5, "negate": True}, _ref_decimal(5, True)),
    ("plivo_error_code", None, _none_safe(_ref_plivo_error_code)),
    ("twilio_sid", {"prefix": "SM"}, _ref_twilio_sid("SM")),
    ("twilio_sid", {"prefix": "CA"}, _ref_twilio_sid("CA")),
    ("uuid_from_sid", None, _ref_uuid_from_sid(None)),
    ("uuid_from_sid", {"prefixes": ["SM", "MM"]}, _ref_uuid_from_sid(["SM", "MM"])),
]


def outcome(fn: Callable[[Any], Any], value: Any) -> tuple[str, str]:
    """The answer with its type (``1`` and ``"1"`` differ), or the failure's type and text."""
    try:
        result = fn(value)
    except Exception as exc:
        return type(exc).__name__, str(exc)
    if isinstance(result, datetime):  # the same instant in the same zone
        return "datetime", f"{result.isoformat()} {result.tzinfo!r}"
    return type(result).__name__, repr(result)


# Built once and shared by every value, as a step's converter is shared by every record: a
# cache must tell ``1``, ``1.0``, ``True`` and ``"1"`` apart.
BUILT = [(name, build_converter(name, args), ref) for name, args, ref in CASES]


def check(value: Any) -> None:
    for name, new, ref in BUILT:
        for _ in range(2):  # the second call may be answered from a cache
            assert outcome(new, value) == outcome(ref, value), (name, value)


# -- values ------------------------------------------------------------------------------------

ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
    + [timezone(timedelta(minutes=m)) for m in (-1439, -61, 1, 59, 1439)]
)
INSTANTS = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59), timezones=ZONES
)


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    """A timestamp written the way Plivo, Twilio or a client might, sometimes slightly off."""
    dt = draw(INSTANTS)
    form = draw(st.integers(0, 6))
    if form == 0:  # Plivo: "2017-05-22 21:36:14+05:30", sometimes with a fraction
        text = dt.isoformat(" ", draw(st.sampled_from(["seconds", "microseconds", "auto"])))
    elif form == 1:  # Twilio: "Mon, 22 May 2017 16:06:14 +0000"
        text = email.utils.format_datetime(dt.astimezone(UTC)).replace("-0000", "+0000")
    elif form == 2:  # RFC 2822 with its own offset
        text = email.utils.format_datetime(dt)
    elif form == 3:  # a filter: "2017-05-22T21:36:14Z" or "2017-05-22 21:36"
        text = dt.strftime(draw(st.sampled_from(["%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M"])))
    elif form == 4:  # a date alone
        text = f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}"
    elif form == 5:  # a field out of range
        text = email.utils.format_datetime(dt.astimezone(UTC))
        pos = draw(st.sampled_from([5, 12, 17, 20, 23]))
        text = text[:pos] + draw(st.sampled_from(["99", "00", "60", "24", "0x"])) + text[pos + 2 :]
    else:  # whitespace, case, truncation
        text = email.utils.format_datetime(dt.astimezone(UTC))
        text = draw(st.sampled_from([f" {text}", text.lower(), text[:-1], text + " "]))
    return text


@st.composite
def plivo_timestamps(draw: st.DrawFn) -> str:
    """Plivo's own form, ``2024-08-21 18:28:51.94772+05:30`` (fractions of up to six digits),
    often with one character changed, added or removed: the minute cache must refuse exactly
    what the parser refuses and read the rest as it does."""
    dt = draw(INSTANTS)
    text = dt.isoformat(" ", "seconds")
    if dt.utcoffset() is None:
        text += "+00:00"
    digits = draw(st.integers(0, 7))
    if digits:
        fraction = draw(st.integers(0, 10**digits - 1))
        text = f"{text[:19]}.{fraction:0{digits}d}{text[19:]}"
    edit = draw(st.integers(0, 3))
    if edit:
        pos = draw(st.integers(0, len(text)))
        char = draw(st.sampled_from(list("0159:.-+ TZ,\u0663x")))
        if edit == 1:
            text = text[:pos] + char + text[pos + 1 :]
        elif edit == 2:
            text = text[:pos] + char + text[pos:]
        else:
            text = text[:pos] + text[pos + 1 :]
    return text


NUMBERS = st.one_of(
    st.from_regex(r"\A\+?[0-9 ()\-.]{0,16}\Z"),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.from_regex(r"\A\s?[+-]?0*[0-9]{0,6}\s?\Z"),
)


IDENTIFIERS = st.one_of(
    st.uuids().map(str),
    st.uuids().map(lambda u: str(u).upper().replace("-", "", 2)),
    st.tuples(st.sampled_from(["SM", "MM", "CA", "sm", "S"]), st.uuids()).map(
        lambda t: t[0] + t[1].hex
    ),
    st.from_regex(r"\A[0-9a-fA-F\-]{30,38}\n?\Z"),
    st.from_regex(r"\A[A-Z]{2}[0-9a-fA-F]{31,33}\n?\Z"),
    # One character of a UUID (either written form) replaced by any character at all.
    st.tuples(st.uuids(), st.booleans(), st.integers(0, 35), st.characters()).map(
        lambda t: (lambda u: u[: t[2] % len(u)] + t[3] + u[t[2] % len(u) + 1 :])(
            str(t[0]) if t[1] else t[0].hex
        )
    ),
)


@settings(max_examples=300, deadline=None)
@given(IDENTIFIERS)
def test_identifiers(text: str) -> None:
    check(text)


def test_identifiers_with_every_odd_character() -> None:
    """Each of the first code points in place of a hex digit, a hyphen or at the end: only
    what the UUID pattern takes may become a SID."""
    full, bare = "0936ec98-7c4c-11e7-9891-06ad4ba32f2b", "0936ec987c4c11e7989106ad4ba32f2b"
    for code in range(0x300):
        char = chr(code)
        for text in (char + full[1:], full[:8] + char + full[9:], bare[:31] + char):
            check(text)


def test_odd_values() -> None:
    extra = [
        "",
        " ",
        None,
        "-0",
        "0.000001",
        "-0.000001",
        "1E+2",
        "\uff11\uff12",
        1,
        1.0,
        True,
        "1",
    ]
    for value in [*SWEEP, *extra, 0, 0.0, False, "0", *extra]:
        check(value)


@settings(max_examples=400, deadline=None)
@given(timestamps())
def test_timestamps(text: str) -> None:
    check(text)


@settings(max_examples=1000, deadline=None)
@given(plivo_timestamps())
def test_plivo_timestamps(text: str) -> None:
    check(text)


def test_timestamps_sharing_a_minute() -> None:
    """What a time-sorted list page gives: many timestamps per minute, in several zones, the
    minute's text computed once and each second and fraction still its own."""
    for zone in ("+05:30", "-08:00", "+00:00", "-00:01"):
        for second in range(60):
            for fraction in ("", ".5", ".123456", ".9"):
                check(f"2024-08-21 18:28:{second:02d}{fraction}{zone}")
        for minute in range(0, 60, 7):
            check(f"2024-12-31 23:{minute:02d}:59{zone}")
            check(f"0001-01-01 00:{minute:02d}:00{zone}")


@settings(max_examples=300, deadline=None)
@given(NUMBERS)
def test_numbers(text: str) -> None:
    check(text)


@settings(max_examples=300, deadline=None)
@given(INSTANTS)
def test_formatters_match_the_straightforward_ones(dt: datetime) -> None:
    assert outcome(twilio.rfc2822, dt) == outcome(ref_rfc2822, dt)
    assert outcome(plivo.format_time, dt) == outcome(ref_format_time, dt)
    assert outcome(twilio.parse_datetime, dt) == outcome(ref_parse_datetime, dt)


def test_caches_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(twilio, "_MAX_DATE_PREFIXES", 3)
    for day in range(1, 20):
        dt = datetime(2017, 5, day, 16, 6, 14, tzinfo=UTC)
        text = ref_rfc2822(dt)
        assert twilio.rfc2822(dt) == text
        assert twilio.utc_text(text) == f"2017-05-{day:02d} 16:06:14"
        assert len(twilio._ISO_DATES) <= 3 and len(twilio._DATE_PREFIXES) <= 3
        plivo_text = f"2017-05-{day:02d} 21:36:14+05:30"
        assert twilio.rfc2822_of_plivo(plivo_text) == text
        assert len(twilio._MINUTE_HEADS) <= 3
    cached = converters._cached_text(str, maxsize=2)
    assert [cached(x) for x in "abcab"] == list("abcab")
