"""Plivo's v1 API: what its SDK sends and what it needs back.

The plivo SDK never reads ``api_id`` but every real body carries one; list bodies must carry an
``objects`` array, even on errors (without it the SDK raises TypeError/AttributeError instead of
its own exception classes); ``meta.next`` must use ``limit``/``offset``, never a cursor, on the
message list (the SDK crashes on it).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import orjson

from proxy.engine.errors import Problem

MAX_LIMIT = 20


def client_status(status: int) -> int:
    """The status a Plivo-style client gets for an error.

    The plivo SDK drops the error text for 502, 503, 504 and 429 (a bare ``PlivoRestError``
    with "Received status code N"), but keeps it for 500 (``PlivoServerError``); an upstream
    outage therefore reaches Plivo clients as 500, with the reason intact.
    """
    return 500 if status in (502, 503, 504) else status


def new_api_id() -> str:
    return str(uuid.uuid1())


def error_body(problem: Problem, *, api_id: str, list_endpoint: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"api_id": api_id, "error": problem.message}
    if list_endpoint:
        body["objects"] = []
    return body


def error_text(body: Any) -> str | None:
    if not isinstance(body, dict) or "error" not in body:
        return None
    err = body["error"]
    if err is None:
        return None
    if isinstance(err, str):
        return err
    return orjson.dumps(err).decode()


def api_id_of(body: Any) -> str | None:
    if isinstance(body, dict):
        value = body.get("api_id")
        if isinstance(value, str) and value:
            return value
    return None


def format_time(dt: datetime) -> str:
    """Plivo's ``YYYY-MM-DD HH:MM:SS+00:00``, always in UTC.

    ``isoformat`` writes exactly that for a UTC time with four-digit years, at a fraction of
    ``strftime``'s cost; earlier years keep ``strftime``, whose ``%Y`` does not pad them."""
    u = dt.astimezone(UTC)
    if u.year >= 1000:
        return u.isoformat(" ", "seconds")
    return u.strftime("%Y-%m-%d %H:%M:%S+00:00")


def list_meta(
    path: str,
    *,
    limit: int,
    offset: int,
    total_count: int,
    has_next: bool,
    filters: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    def link(at: int) -> str:
        return f"{path}?{urlencode([*filters, ('limit', str(limit)), ('offset', str(at))])}"

    return {
        "limit": limit,
        "next": link(offset + limit) if has_next else None,
        "offset": offset,
        "previous": link(max(offset - limit, 0)) if offset > 0 else None,
        "total_count": total_count,
    }
