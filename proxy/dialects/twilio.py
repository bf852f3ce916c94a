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

from proxy.errors import Problem

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


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def rfc2822(dt: datetime) -> str:
    """``Thu, 01 May 2025 12:00:00 +0000``: always GMT, English names whatever the locale.

    Formatted by hand: ``email.utils.format_datetime`` took a third of a message's whole
    translation, three dates per message."""
    u = dt.astimezone(UTC)
    return (
        f"{_DAYS[u.weekday()]}, {u.day:02d} {_MONTHS[u.month - 1]} {u.year:04d} "
        f"{u.hour:02d}:{u.minute:02d}:{u.second:02d} +0000"
    )


# -- identifiers ------------------------------------------------------------------------------

_SID = re.compile(r"^([A-Z]{2})([0-9a-fA-F]{32})$")
_UUID = re.compile(
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
)


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
