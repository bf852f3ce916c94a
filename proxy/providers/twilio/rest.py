"""Twilio's 2010-04-01 API: what its SDK sends and what it needs back.

Facts here are the ones verified against twilio-python 9.13 (see the project's reference notes):
dates are RFC 2822 and the SDK drops their offset, so the proxy must convert to GMT itself; list
pages must have exactly one records key besides the envelope keys; ``next_page_uri`` must be
root-relative and include ``/2010-04-01``; errors must be ``{code, message, more_info, status}``
and never carry ``type`` plus ``title`` (the SDK would raise a different exception class).
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from proxy.engine.errors import Problem

API_VERSION = "2010-04-01"
LIST_ENVELOPE_KEYS = frozenset(
    {
        "end",
        "first_page_uri",
        "next_page_uri",
        "last_page_uri",
        "page",
        "page_size",
        "previous_page_uri",
        "total",
        "num_pages",
        "start",
        "uri",
    }
)
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 50

GENERIC_CODES: Mapping[int, int] = {
    400: 20001,  # bad request
    401: 20003,  # authenticate
    403: 20003,
    404: 20404,  # not found
    405: 20004,  # method not allowed
    413: 20001,
    415: 20001,
    429: 20429,  # too many requests
    500: 20500,  # internal server error
    502: 20500,
    503: 20503,  # service unavailable
    504: 20500,
}


def more_info_url(code: int) -> str:
    return f"https://www.twilio.com/docs/errors/{code}"


def generic_code(status: int) -> int:
    if status in GENERIC_CODES:
        return GENERIC_CODES[status]
    return 20500 if status >= 500 else 20001


def error_body(problem: Problem) -> dict[str, Any]:
    code = problem.code if problem.code is not None else generic_code(problem.status)
    return {
        "code": code,
        "message": problem.message,
        "more_info": more_info_url(code),
        "status": problem.status,
    }


# -- dates ------------------------------------------------------------------------------------

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


# -- identifiers ------------------------------------------------------------------------------

_SID = re.compile(r"^([A-Z]{2})([0-9a-fA-F]{32})$")
_UUID = re.compile(
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
)


def is_uuid(value: str) -> bool:
    """Whether ``sid_from_uuid`` takes this text (a string it takes is never a SID: a SID has
    no hyphens, and without them a UUID is 32 characters, a SID 34)."""
    return _UUID.match(value) is not None


def sid_of_uuid(prefix: str, value: str) -> str | None:
    """``sid_from_uuid(prefix, value)`` for a UUID written in full (``8-4-4-4-12``) or as 32
    digits, or None for anything else (including the other hyphen placements ``is_uuid``
    takes). Without the regular expression: a list page converts one or two per record."""
    n = len(value)
    if n == 36:
        if ord(value[8]) != 45 or ord(value[13]) != 45 or ord(value[18]) != 45:  # "-"
            return None
        if ord(value[23]) != 45:
            return None
        digits = value.replace("-", "")
        if len(digits) != 32:
            return None
    elif n == 32:
        digits = value
    else:
        return None
    for i in range(32):
        c = ord(digits[i])
        if not (48 <= c <= 57 or 97 <= c <= 102 or 65 <= c <= 70):  # 0-9, a-f, A-F
            return None
    return prefix + digits.lower()


def sid_from_uuid(prefix: str, value: str) -> str:
    if not isinstance(value, str) or not _UUID.match(value):
        raise ValueError(f"not a UUID: {str(value)[:40]!r}")
    return prefix + value.replace("-", "").lower()


def uuid_from_sid(sid: str, prefixes: Sequence[str] | None = None) -> str:
    m = _SID.match(sid) if isinstance(sid, str) else None
    if m is None or (prefixes and m.group(1) not in prefixes):
        want = "/".join(prefixes) if prefixes else "two letters"
        raise ValueError(f"not a SID ({want} + 32 hex digits): {str(sid)[:40]!r}")
    h = m.group(2).lower()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def is_sid(value: Any, prefix: str | None = None) -> bool:
    m = _SID.match(value) if isinstance(value, str) else None
    return m is not None and (prefix is None or m.group(1) == prefix)


# -- paging -----------------------------------------------------------------------------------


def page_token(offset: int) -> str:
    """An opaque-looking token that encodes the offset, so paging needs no server state."""
    raw = base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")
    return "PA" + raw


def parse_page_token(token: str) -> int | None:
    if not token.startswith("PA"):
        return None
    body = token[2:]
    try:
        text = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not text.startswith("o:") or not text[2:].isdigit():
        return None
    return int(text[2:])


def build_page_uri(
    path: str,
    filters: Sequence[tuple[str, str]],
    page_size: int,
    page: int | None,
    token: str | None,
) -> str:
    parts = [f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in filters]
    parts.append(f"PageSize={page_size}")
    if page is not None:
        parts.append(f"Page={page}")
    if token is not None:
        parts.append(f"PageToken={quote(token, safe='')}")
    return f"{path}?{'&'.join(parts)}"


def list_envelope(
    records_key: str,
    records: list[Any],
    *,
    path: str,
    filters: Sequence[tuple[str, str]],
    page: int,
    page_size: int,
    has_next: bool,
    offset: int | None = None,
) -> dict[str, Any]:
    """Twilio's list page: the envelope keys and exactly one records key, nothing else.

    ``start``/``end`` are inclusive record positions (0/0 for an empty page); the links carry
    the filters, ``PageSize``, ``Page`` and a ``PageToken`` that encodes the offset.
    """
    start = page * page_size if offset is None else offset
    first = build_page_uri(path, filters, page_size, 0, None)
    here = first if page == 0 else build_page_uri(path, filters, page_size, page, page_token(start))
    nxt = None
    if has_next:
        nxt = build_page_uri(path, filters, page_size, page + 1, page_token(start + page_size))
    prev = None
    if page > 0:
        prev = build_page_uri(
            path, filters, page_size, page - 1, page_token(max(start - page_size, 0))
        )
    return {
        "first_page_uri": first,
        "end": start + len(records) - 1 if records else 0,
        "previous_page_uri": prev,
        "uri": here,
        "page_size": page_size,
        "start": start if records else 0,
        "next_page_uri": nxt,
        "page": page,
        records_key: records,
    }
