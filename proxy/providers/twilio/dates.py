"""Twilio's dates: RFC 2822 in GMT out, and every form a client or Plivo sends in.

Apart from ``rest`` because it is the one part of Twilio's conventions that runs per record and
carries state: the per-day and per-minute caches below make a list page's hundred timestamps
cost a few string joins. twilio-python parses dates with ``email.utils`` and drops the offset,
so every date Dialect writes for a Twilio client is already GMT. ``rest`` re-exports the public
names: callers see one module of Twilio conventions.
"""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

_PLIVOISH = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6})\d*)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)
_DATE_ONLY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_MAX_DATE_PREFIXES = 4096  # bound of each per-day cache below (a few years of days)
# Twilio's own form, "Mon, 22 May 2017 16:06:14 +0000", exactly as its API writes it.
_RFC2822 = re.compile(
    r"^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9]{2}) "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([0-9]{4}) "
    r"([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})$"
)
_MONTH_NUMBERS = {
    name: i + 1
    for i, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    )
}


def parse_datetime(value: Any) -> datetime:
    """An aware datetime from the timestamp forms both providers use; naive means UTC."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp: {type(value).__name__}")
    text = value.strip()
    if len(text) > 10 and text[4] == "-" and text[10] in " T":
        # The common case, Plivo's "2017-05-22 21:36:14+05:30", parsed in C.
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    elif len(text) == 31 and text[3] == ",":
        # Twilio's fixed form: what email.utils would answer, without its general tokenizer
        # (four times the cost). Anything it might read differently takes the general path.
        fixed = _twilio_form(text)
        if fixed is not None:
            return fixed
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


def _twilio_form(text: str) -> datetime | None:
    """``email.utils.parsedate_to_datetime`` (then UTC for ``-0000``) for the strict form of
    ``_RFC2822``; None for anything else, and where that function would fail or read the year
    differently (below 100 it means 19xx/20xx), so the caller's general path decides."""
    m = _RFC2822.match(text)
    if m is None:
        return None
    day, month, year, hour, minute, second, sign, off_h, off_m = m.groups()
    y = int(year)
    if y < 100:
        return None
    offset = int(off_h) * 3600 + int(off_m) * 60
    try:
        tz = UTC if offset == 0 else timezone(timedelta(seconds=-offset if sign == "-" else offset))
        return datetime(
            y, _MONTH_NUMBERS[month], int(day), int(hour), int(minute), int(second), tzinfo=tz
        )
    except ValueError:
        return None


# Twilio's own form in GMT, the time's ranges checked by the pattern itself.
_RFC2822_GMT = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
    r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9] [+-]0000"
)
_ISO_DATES: dict[str, str | None] = {}  # "22 May 2017" -> "2017-05-22" (None: not a date)


def utc_text(text: str) -> str | None:
    """``YYYY-MM-DD HH:MM:SS`` (UTC) of a timestamp in Twilio's own GMT form, or None.

    The same instant ``parse_datetime`` reads, without building a datetime: for this exact
    form the answer is a rearrangement of the text once the date is known to exist (checked
    once per distinct date). None for everything else, including years before 1000 (which
    ``parse_datetime`` and the formatters treat specially), so the caller's general path
    decides."""
    if len(text) != 31 or _RFC2822_GMT.fullmatch(text) is None:
        return None
    date_text = text[5:16]
    date = _ISO_DATES.get(date_text, "")
    if date == "":
        date = _iso_date(date_text)
        if len(_ISO_DATES) >= _MAX_DATE_PREFIXES:
            _ISO_DATES.clear()
        _ISO_DATES[date_text] = date
    return None if date is None else f"{date} {text[17:25]}"


def _iso_date(text: str) -> str | None:
    year = int(text[7:])
    if year < 1000:
        return None
    try:
        return datetime(year, _MONTH_NUMBERS[text[3:6]], int(text[:2])).strftime("%Y-%m-%d")
    except ValueError:
        return None


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


_TWO_DIGITS = tuple(f"{i:02d}" for i in range(60))
_DATE_PREFIXES: dict[int, str] = {}  # day ordinal -> "Mon, 22 May 2017 "


def rfc2822(dt: datetime) -> str:
    """``Thu, 01 May 2025 12:00:00 +0000``: always GMT, English names whatever the locale.

    Formatted by hand: ``email.utils.format_datetime`` took a third of a message's whole
    translation, three dates per message. The date half is kept per day (records cluster on a
    few days) and the time half is assembled from a table: formatting seven fields with format
    specs was still most of a record's date conversion."""
    return _gmt(dt.astimezone(UTC))


def _gmt(u: datetime) -> str:
    """``rfc2822`` of a time already in UTC."""
    day = u.toordinal()
    prefix = _DATE_PREFIXES.get(day)
    if prefix is None:
        prefix = f"{_DAYS[u.weekday()]}, {u.day:02d} {_MONTHS[u.month - 1]} {u.year:04d} "
        if len(_DATE_PREFIXES) >= _MAX_DATE_PREFIXES:
            _DATE_PREFIXES.clear()
        _DATE_PREFIXES[day] = prefix
    two = _TWO_DIGITS
    return f"{prefix}{two[u.hour]}:{two[u.minute]}:{two[u.second]} +0000"


def rfc2822_of_iso(text: str) -> str:
    """``rfc2822(parse_datetime(text))`` for a text ``parse_datetime`` reads with
    ``datetime.fromisoformat`` (Plivo's form), in one call: the calls around the parse cost as
    much as the parse. Raises ValueError or OverflowError where that would fail."""
    dt = datetime.fromisoformat(text)
    # Its zones are fixed offsets, so subtracting the offset gives the UTC fields (and fails at
    # the same bounds) as astimezone(UTC) does, at half the cost; naive means UTC already.
    offset = dt.utcoffset()
    return _gmt(dt - offset if offset is not None else dt)


# "2017-05-22 21:36" -> ("+05:30", "Mon, 22 May 2017 16:06:"): the UTC text of a local minute in
# the zone it was last seen with.
_MINUTE_HEADS: dict[str, tuple[str, str]] = {}


def rfc2822_of_plivo(text: str) -> str | None:
    """``rfc2822_of_iso(text)`` for Plivo's exact form ``YYYY-MM-DD HH:MM:SS[.f{1,6}]±HH:MM``,
    or None for any other text (the caller's general path decides).

    A list page is sorted by time, so its records' timestamps share minutes: the UTC text up to
    the minute is computed once per local minute and zone (a whole-minute offset leaves the
    seconds as they are), and each timestamp only checks its own seconds and fraction. The
    parse of the minute checks everything else exactly as ``datetime.fromisoformat`` does.
    Three of these per message were over half of a record's translation; characters are
    compared as code points, which compiled code does without making strings."""
    n = len(text)
    if n < 25 or n > 32 or ord(text[4]) != 45 or ord(text[16]) != 58 or ord(text[n - 3]) != 58:
        return None
    sep, sign, tens, units = ord(text[10]), ord(text[n - 6]), ord(text[17]), ord(text[18])
    if (sep != 32 and sep != 84) or (sign != 43 and sign != 45):  # " " or "T"; "+" or "-"
        return None
    if tens < 48 or tens > 53 or units < 48 or units > 57:  # seconds 00-59
        return None
    if n > 25:  # "." and one to six ASCII digits
        if ord(text[19]) != 46 or n == 26:
            return None
        for i in range(20, n - 6):
            digit = ord(text[i])
            if digit < 48 or digit > 57:
                return None
    minute = text[:16]
    cached = _MINUTE_HEADS.get(minute)
    if cached is not None and text.endswith(cached[0]):
        head = cached[1]
    else:
        zone = text[n - 6 :]
        head = rfc2822_of_iso(minute + ":00" + zone)[:-8]
        if len(_MINUTE_HEADS) >= _MAX_DATE_PREFIXES:
            _MINUTE_HEADS.clear()
        _MINUTE_HEADS[minute] = (zone, head)
    return head + text[17:19] + " +0000"
