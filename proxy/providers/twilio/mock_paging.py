"""How the Twilio-style mock pages and filters a list, as strictly as the 2010-04-01 API does.

``PageSize`` 1-1000 (20007 above), ``Page`` above 0 only with the ``PageToken`` the page before
handed out (21481 for one it did not), cursor tokens (``PA`` + the last SID of the page before),
root-relative paging links that keep the list's filters, and Twilio's date filters (``Name``,
``Name<``, ``Name>``). One definition for every list the mock serves.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

from aiohttp import web

from proxy.providers.twilio import rest as twilio
from proxy.providers.twilio.mock_http import Failure, json_response

# A list request's paging: PageSize, Page, PageToken.
Paging = tuple[int, int, str | None]


def in_window(stamp: str, q: Any, name: str) -> bool:
    """Twilio's date filters: ``Name`` the day itself, ``Name<``/``Name>`` up to/from a day."""
    created = twilio.parse_datetime(stamp)
    try:
        if name + ">" in q and created < twilio.parse_datetime(q[name + ">"]):
            return False
        if name + "<" in q and created > twilio.parse_datetime(q[name + "<"]):
            return False
        if name in q:
            day = twilio.parse_datetime(q[name])
            return day <= created < day + timedelta(days=1)
    except ValueError:
        raise Failure(400, 20001, f"{name} must be a date (YYYY-MM-DD)") from None
    return True


def list_filters(q: Any) -> list[tuple[str, str]]:
    """A list request's own filters: what its paging links carry besides the paging."""
    return [(k, v) for k, v in q.items() if k not in ("PageSize", "Page", "PageToken")]


def page_uri(
    path: str, filters: list[tuple[str, str]], page_size: int, page_no: int, token: str | None
) -> str:
    parts = [f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in filters]
    parts += [f"PageSize={page_size}", f"Page={page_no}"]
    if token:
        parts.append(f"PageToken={token}")
    return f"{path}?{'&'.join(parts)}"


def paging(q: Any) -> Paging:
    """The request's paging, or Twilio's refusal of it."""
    try:
        page_size = int(q.get("PageSize", "50"))
        page_no = int(q.get("Page", "0"))
    except ValueError:
        raise Failure(400, 20001, "PageSize and Page must be integers") from None
    if page_size > 1000:
        raise Failure(400, 20007, "PageSize must be less than or equal to 1000")
    if page_size < 1 or page_no < 0:
        raise Failure(400, 20001, "Invalid paging parameters")
    token = q.get("PageToken")
    if page_no > 0 and not token:
        raise Failure(400, 20001, "PageToken is required for paging.")
    return page_size, page_no, token


def page(
    request: web.Request, records: list[dict[str, Any]], key: str, asked: Paging | None = None
) -> web.Response:
    """One Twilio list page of ``records`` (already filtered and in order), by SID cursor: the
    ``PageToken`` of the next page is ``PA`` + the last SID of this one. ``asked``: the paging
    when the caller read it (``paging``) before filtering, so that its refusal comes first."""
    page_size, page_no, token = asked or paging(request.query)
    start = 0
    if token:
        after = token[2:] if token.startswith("PA") else ""
        index = next((i for i, r in enumerate(records) if r["sid"] == after), None)
        if index is None:
            raise Failure(400, 21481, "Invalid PageToken")
        start = index + 1
    chunk = records[start : start + page_size]
    filters = list_filters(request.query)
    more = start + page_size < len(records)
    previous = None
    if page_no > 0 and chunk:
        previous = page_uri(request.path, filters, page_size, page_no - 1, "PB" + chunk[0]["sid"])
    following = None
    if more and chunk:
        following = page_uri(request.path, filters, page_size, page_no + 1, "PA" + chunk[-1]["sid"])
    body = {
        "first_page_uri": page_uri(request.path, filters, page_size, 0, None),
        "end": start + len(chunk) - 1 if chunk else 0,
        "previous_page_uri": previous,
        "uri": page_uri(request.path, filters, page_size, page_no, token),
        "page_size": page_size,
        "start": start if chunk else 0,
        "next_page_uri": following,
        "page": page_no,
        key: chunk,
    }
    return json_response(body)
