"""The converters the shipped configs use answer as the standards and the providers' pages say,
on their fast paths too.

Dates, numbers and identifiers are most of a record's translation, so the converters have fast
paths: Plivo's and Twilio's fixed date forms read without the general parser, the date half of
a formatted time kept per day and per minute, answers for recurring strings cached. What they
must answer is stated here without re-implementing any of it: the standard library's reading
and writing of ISO 8601 and RFC 2822 times, Python's ``uuid`` for the UUID forms, ``decimal``
for prices, the examples of the reference pages (Plivo's ``2017-05-22 21:36:14+05:30``,
Twilio's ``Mon, 22 May 2017 16:06:14 +0000``, a price of ``0.00250`` that Twilio writes as
``-0.00250``), and two properties no cache may break: an answer never depends on what was
converted before, and a second call answers as the first.
"""

from __future__ import annotations

import contextlib
import email.utils
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from proxy.pipeline import converter_kit
from proxy.pipeline.converters import ConversionError, build_converter
from proxy.providers.plivo import rest as plivo
from proxy.providers.twilio import dates as twilio_dates
from proxy.providers.twilio import rest as twilio
from tests.unit.pipeline_records import SWEEP

# The converters and arguments the shipped configs use, built once and shared by every value
# as a step's converter is shared by every record.
USED: list[tuple[str, dict[str, Any] | None]] = [
    ("rfc2822_gmt", None),
    ("plivo_time", None),
    ("plivo_time_filter", None),
    ("twilio_time_filter", None),
    ("ago", {"days": 90}),
    ("ago", {"days": -1}),
    ("e164", None),
    ("e164", {"lenient": True}),
    ("plivo_number", None),
    ("string", None),
    ("integer", None),
    ("decimal_string", {"places": 5, "negate": True}),
    ("plivo_error_code", None),
    ("twilio_sid", {"prefix": "SM"}),
    ("twilio_sid", {"prefix": "CA"}),
    ("uuid_from_sid", None),
    ("uuid_from_sid", {"prefixes": ["SM", "MM"]}),
]
SHARED = {(name, repr(args)): build_converter(name, args) for name, args in USED}


def convert(name: str, value: Any, args: dict[str, Any] | None = None) -> Any:
    return SHARED[(name, repr(args))](value)


def outcome(fn: Callable[[Any], Any], value: Any) -> tuple[str, str]:
    """The answer with its type (``1`` and ``"1"`` differ), or the failure's type and text."""
    try:
        result = fn(value)
    except Exception as exc:
        return type(exc).__name__, str(exc)
    if isinstance(result, datetime):  # the same instant in the same zone
        return "datetime", f"{result.isoformat()} {result.utcoffset()!r}"
    return type(result).__name__, repr(result)


def refused(name: str, value: Any, args: dict[str, Any] | None = None) -> str:
    with pytest.raises(ConversionError) as info:
        convert(name, value, args)
    return str(info.value)


def history_free(value: Any) -> None:
    """Every used converter answers ``value`` as a fresh one would, twice: no cache may make
    an answer depend on the values converted before (``1``, ``1.0``, ``True``, ``"1"``)."""
    for name, args in USED:
        fresh = outcome(build_converter(name, args), value)
        shared = SHARED[(name, repr(args))]
        assert outcome(shared, value) == fresh, (name, value)
        assert outcome(shared, value) == fresh, (name, value)


# -- times ---------------------------------------------------------------------------------------

ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
    + [timezone(timedelta(minutes=m)) for m in (-1439, -61, 1, 59, 1439)]
)
INSTANTS = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59), timezones=ZONES
)


def rfc2822(instant: datetime) -> str:
    """Twilio's date form (its reference: ``Thu, 01 May 2025 12:00:00 +0000``), as the
    standard library writes RFC 2822 for a time in UTC."""
    return email.utils.format_datetime(instant.astimezone(UTC).replace(microsecond=0))


def utc_fields(instant: datetime) -> str:
    u = instant.astimezone(UTC)
    return f"{u.year:04d}-{u.month:02d}-{u.day:02d} {u.hour:02d}:{u.minute:02d}:{u.second:02d}"


def check_instant(text: str, instant: datetime) -> None:
    """Each time converter on a text that means ``instant``."""
    try:
        u = instant.astimezone(UTC)
    except OverflowError:  # before year 1 or after 9999 in UTC: no such time to write
        assert refused("rfc2822_gmt", text) and refused("plivo_time", text)
        return
    assert convert("rfc2822_gmt", text) == rfc2822(instant)
    if u.year >= 1000:  # Plivo's form, and the filters, are written for four-digit years
        assert convert("plivo_time", text) == utc_fields(instant) + "+00:00"
        assert convert("plivo_time_filter", text) == utc_fields(instant)
        assert convert("twilio_time_filter", text) == utc_fields(instant).replace(" ", "T") + "Z"
    for days in (90, -1):
        try:
            expected = instant - timedelta(days=days)
        except OverflowError:
            assert isinstance(refused("ago", text, {"days": days}), str)
            continue
        result = convert("ago", text, {"days": days})
        assert result == expected and result.utcoffset() == instant.utcoffset()
    history_free(text)


def test_the_reference_pages_examples() -> None:
    plivo_time, twilio_time = "2017-05-22 21:36:14+05:30", "Mon, 22 May 2017 16:06:14 +0000"
    assert convert("rfc2822_gmt", plivo_time) == twilio_time
    assert convert("plivo_time", twilio_time) == "2017-05-22 16:06:14+00:00"
    assert convert("rfc2822_gmt", "2024-08-21 18:28:51.94772+05:30") == (
        "Wed, 21 Aug 2024 12:58:51 +0000"
    )
    assert convert("twilio_time_filter", "2017-05-22") == "2017-05-22T00:00:00Z"
    assert convert("plivo_time_filter", "2017-05-22T21:36:14Z") == "2017-05-22 21:36:14"
    for empty in ("", None):
        assert convert("rfc2822_gmt", empty) is None
    for wrong in ("not a date", "2017-02-30 10:00:00+00:00", "Mon, 22 May 2017 24:00:00 +0000"):
        assert refused("rfc2822_gmt", wrong).startswith("not a timestamp")


@settings(max_examples=300, deadline=None)
@given(INSTANTS, st.sampled_from(["seconds", "microseconds", "auto"]))
def test_plivo_times(instant: datetime, precision: str) -> None:
    """Plivo's form, ``2017-05-22 21:36:14+05:30``, sometimes with a fraction."""
    text = instant.isoformat(" ", precision)
    check_instant(text, instant if precision != "seconds" else instant.replace(microsecond=0))


@settings(max_examples=300, deadline=None)
@given(INSTANTS)
def test_rfc2822_times(instant: datetime) -> None:
    """Twilio's own GMT form, and RFC 2822 with any other offset, meaning what the standard
    library reads (a year below 100 is 19xx or 20xx, as RFC 2822 has it)."""
    instant = instant.replace(microsecond=0)
    texts = [email.utils.format_datetime(instant)]
    with contextlib.suppress(OverflowError):  # no such time in UTC
        texts.append(rfc2822(instant))
    for text in texts:
        check_instant(text, email.utils.parsedate_to_datetime(text))


@settings(max_examples=200, deadline=None)
@given(INSTANTS, st.sampled_from(["%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M", "%Y-%m-%d"]))
def test_filter_times(instant: datetime, form: str) -> None:
    """A client's filter: a UTC time, or a date, written without an offset."""
    assume(instant.year >= 1000)
    wall = instant.replace(tzinfo=UTC, microsecond=0)
    if "%S" not in form:
        wall = wall.replace(second=0)
    if "%H" not in form:
        wall = wall.replace(hour=0, minute=0)
    check_instant(instant.strftime(form), wall)


@settings(max_examples=300, deadline=None)
@given(INSTANTS, st.integers(1, 40))
def test_times_out_of_range_are_refused(instant: datetime, pick: int) -> None:
    """A field no calendar has (month 13, 30 February, hour 24, minute or second 60)."""
    text = instant.replace(microsecond=0).isoformat(" ")
    fields = {1: (5, 7, "13"), 2: (11, 13, "24"), 3: (14, 16, "60"), 4: (17, 19, "60")}
    start, end, bad = fields[1 + pick % 4]
    text = text[:start] + bad + text[end:]
    for name in ("rfc2822_gmt", "plivo_time", "plivo_time_filter", "twilio_time_filter"):
        assert refused(name, text).startswith("not a timestamp")
    history_free(text)


@st.composite
def edited_plivo_times(draw: st.DrawFn) -> str:
    """Plivo's form with up to seven fraction digits, often one character changed, added or
    removed: the per-minute cache must refuse what the parser refuses, and read the rest as
    it does."""
    instant = draw(INSTANTS)
    text = instant.isoformat(" ", "seconds")
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


@settings(max_examples=1000, deadline=None)
@given(edited_plivo_times())
def test_edited_plivo_times(text: str) -> None:
    """Whatever the fast paths take, the answer is the general reading's: the time the
    standard library reads (where it reads one), written as RFC 2822; a text neither path
    can read is refused."""
    try:
        instant = twilio.parse_datetime(text)
    except ValueError:
        assert refused("rfc2822_gmt", text).startswith("not a timestamp")
        history_free(text)
        return
    try:
        stdlib = datetime.fromisoformat(text.strip())
    except ValueError:
        pass
    else:
        assert instant == (stdlib if stdlib.tzinfo else stdlib.replace(tzinfo=UTC))
    try:
        expected = rfc2822(instant)
    except OverflowError:
        assert refused("rfc2822_gmt", text)
    else:
        assert convert("rfc2822_gmt", text) == expected
    history_free(text)


def test_timestamps_sharing_a_minute() -> None:
    """What a time-sorted list page gives: many timestamps per minute, in several zones, the
    minute's text computed once and each second still its own."""
    for zone in ("+05:30", "-08:00", "+00:00", "-00:01"):
        for second in range(60):
            for fraction in ("", ".5", ".123456", ".9"):
                text = f"2024-08-21 18:28:{second:02d}{fraction}{zone}"
                assert convert("rfc2822_gmt", text) == rfc2822(datetime.fromisoformat(text))


@settings(max_examples=300, deadline=None)
@given(INSTANTS)
def test_formatters_match_the_standard_library(instant: datetime) -> None:
    try:
        u = instant.astimezone(UTC)
    except OverflowError:
        assume(False)
    assert twilio.rfc2822(instant) == rfc2822(instant)
    if u.year >= 1000:
        assert plivo.format_time(instant) == utc_fields(u) + "+00:00"
    assert twilio.parse_datetime(instant) == instant


def test_caches_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(twilio_dates, "_MAX_DATE_PREFIXES", 3)
    for day in range(1, 20):
        instant = datetime(2017, 5, day, 16, 6, 14, tzinfo=UTC)
        text = rfc2822(instant)
        assert twilio.rfc2822(instant) == text
        assert twilio.utc_text(text) == f"2017-05-{day:02d} 16:06:14"
        assert len(twilio_dates._ISO_DATES) <= 3 and len(twilio_dates._DATE_PREFIXES) <= 3
        assert twilio.rfc2822_of_plivo(f"2017-05-{day:02d} 21:36:14+05:30") == text
        assert len(twilio_dates._MINUTE_HEADS) <= 3
    cached = converter_kit.cached_text(str, maxsize=2)
    assert [cached(x) for x in "abcab"] == list("abcab")


# -- numbers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_", "expected"),
    [
        ("14155550100", "+14155550100"),
        ("+14155550100", "+14155550100"),
        ("+1 (415) 555-0100", "+14155550100"),
        ("911231231230", "+911231231230"),
        ("+919879879876", "+919879879876"),
        ("447700900123", "+447700900123"),
        ("sip:alice@example.com", "sip:alice@example.com"),  # not a number: kept
        ("MyBrand", "MyBrand"),  # an alphanumeric sender ID
        (None, None),
    ],
)
def test_e164_examples(given_: Any, expected: Any) -> None:
    assert convert("e164", given_) == expected
    assert convert("e164", given_, {"lenient": True}) == expected


def test_e164_refuses_a_number_that_cannot_be_one() -> None:
    assert refused("e164", "12345") == "not a possible phone number: '12345'"
    assert convert("e164", "12345", {"lenient": True}) == "+12345"


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"\A\+?[0-9 ()\-.]{0,16}\Z"))
def test_e164_answers_are_e164(text: str) -> None:
    """A number becomes ``+`` and digits, and stays itself when converted again; Plivo's form
    is the same digits without the ``+``."""
    try:
        number = convert("e164", text)
    except ConversionError:
        history_free(text)
        return
    if number != text:
        assert number[0] == "+" and number[1:].isdigit()
        assert convert("e164", number) == number
        assert convert("plivo_number", number) == number[1:]
        assert convert("e164", convert("plivo_number", text)) == number
    history_free(text)


@pytest.mark.parametrize(
    ("given_", "expected"),
    [
        ("0.00250", "-0.00250"),  # Plivo's total_amount; Twilio writes a charge as negative
        ("0.13600", "-0.13600"),
        ("0", "0.00000"),
        ("-0", "0.00000"),
        ("-0.1", "0.10000"),
        ("1E+2", "-100.00000"),
        (0.0025, "-0.00250"),
        (3, "-3.00000"),
        ("", None),
        (None, None),
    ],
)
def test_prices(given_: Any, expected: Any) -> None:
    assert convert("decimal_string", given_, {"places": 5, "negate": True}) == expected


@pytest.mark.parametrize("wrong", ["abc", "NaN", "inf", "1e999999999"])
def test_prices_that_are_not_numbers_are_refused(wrong: str) -> None:
    assert refused("decimal_string", wrong, {"places": 5, "negate": True})


@settings(max_examples=300, deadline=None)
@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, places=5, min_value=-(10**9), max_value=10**9
    )
)
def test_prices_keep_their_value(number: Decimal) -> None:
    text = convert("decimal_string", str(number), {"places": 5, "negate": True})
    assert Decimal(text) == -number
    assert len(text.split(".")[1]) == 5 and not text.startswith("-0.00000")
    history_free(str(number))


@pytest.mark.parametrize(
    ("name", "given_", "expected"),
    [
        ("integer", "42", 42),
        ("integer", " 42 ", 42),
        ("integer", "-7", -7),
        ("integer", 924, 924),
        ("integer", 1.0, 1),
        ("integer", "", None),
        ("string", 924, "924"),
        ("string", True, "true"),
        ("string", "0.5", "0.5"),
        ("plivo_error_code", "000", None),  # Plivo's "no error"
        ("plivo_error_code", "0", None),
        ("plivo_error_code", 0, None),
        ("plivo_error_code", "", None),
        ("plivo_error_code", "30003", 30003),
        ("plivo_error_code", 30003, 30003),
        ("plivo_number", "+1 (415) 555-0100", "14155550100"),
        ("plivo_number", "sip:alice@example.com", "sip:alice@example.com"),
    ],
)
def test_types(name: str, given_: Any, expected: Any) -> None:
    result = convert(name, given_)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(
    ("name", "wrong"),
    [("integer", "abc"), ("integer", True), ("integer", 1.5), ("string", []), ("string", {})],
)
def test_types_refused(name: str, wrong: Any) -> None:
    assert refused(name, wrong)


# -- identifiers ---------------------------------------------------------------------------------

WRITTEN = {
    "canonical": str,  # Plivo's: 36 characters, lower case, hyphens
    "upper": lambda u: str(u).upper(),
    "hex": lambda u: u.hex,
    "hex upper": lambda u: u.hex.upper(),
}


@settings(max_examples=300, deadline=None)
@given(st.uuids(), st.sampled_from(sorted(WRITTEN)))
def test_uuids_become_sids_and_back(u: uuid.UUID, form: str) -> None:
    text = WRITTEN[form](u)
    assert convert("twilio_sid", text, {"prefix": "SM"}) == "SM" + u.hex
    assert convert("twilio_sid", "SM" + u.hex, {"prefix": "SM"}) == "SM" + u.hex  # already one
    assert convert("uuid_from_sid", "SM" + u.hex) == str(u)
    assert convert("uuid_from_sid", "MM" + u.hex.upper(), {"prefixes": ["SM", "MM"]}) == str(u)
    assert refused("uuid_from_sid", "CA" + u.hex, {"prefixes": ["SM", "MM"]})
    history_free(text)


def canonical(text: str) -> bool:
    """A UUID in one of the two written forms the converters take."""
    hexdigits = set("0123456789abcdefABCDEF")
    if len(text) == 36:
        dashes = {8, 13, 18, 23}
        return all((c == "-") if i in dashes else (c in hexdigits) for i, c in enumerate(text))
    return len(text) == 32 and set(text) <= hexdigits


@settings(max_examples=500, deadline=None)
@given(st.uuids(), st.booleans(), st.integers(0, 35), st.characters())
def test_an_identifier_with_one_character_changed(
    u: uuid.UUID, full: bool, pos: int, char: str
) -> None:
    """Only what is still a UUID becomes a SID; anything else is refused."""
    text = str(u) if full else u.hex
    text = text[: pos % len(text)] + char + text[pos % len(text) + 1 :]
    if canonical(text):
        assert convert("twilio_sid", text, {"prefix": "CA"}) == "CA" + text.replace("-", "").lower()
    else:
        assert refused("twilio_sid", text, {"prefix": "CA"}).startswith("not a UUID")
    sid = "SM" + text
    if len(text) == 32 and canonical(text):
        assert convert("uuid_from_sid", sid) == str(uuid.UUID(text))
    else:
        assert refused("uuid_from_sid", sid).startswith("not a SID")
    history_free(text)


def test_odd_values_answer_as_a_fresh_converter_would() -> None:
    extra = ["", " ", None, "-0", "0.000001", "-0.000001", "1E+2", "\uff11\uff12", 1, 1.0, True]
    for value in [*SWEEP, *extra, 0, 0.0, False, "0", "1", *extra]:
        history_free(value)


def test_e164_never_changes_a_number_twice() -> None:
    """A trunk prefix after the country code is dropped once (+44 (0) 20…); a number that
    would lose another digit on every pass (+31 0 000000) is refused instead."""
    assert convert("e164", "+44 (0) 20 7946 0958") == "+442079460958"
    assert convert("e164", "+442079460958") == "+442079460958"
    assert refused("e164", "310000000") == "not a possible phone number: '310000000'"
