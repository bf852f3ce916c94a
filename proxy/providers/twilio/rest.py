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
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from proxy.engine.errors import Problem
from proxy.providers.twilio.dates import (
    parse_datetime,
    rfc2822,
    rfc2822_of_iso,
    rfc2822_of_plivo,
    utc_text,
)

__all__ = [
    "parse_datetime",
    "rfc2822",
    "rfc2822_of_iso",
    "rfc2822_of_plivo",
    "utc_text",
]

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


# -- identifiers ------------------------------------------------------------------------------

# \Z, not $: "$" also matches before a final newline, and "CA…\n" is not a SID.
_SID = re.compile(r"^([A-Z]{2})([0-9a-fA-F]{32})\Z")
_UUID = re.compile(
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\Z"
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
