"""Conditional fetches: an ``ETag`` and ``Last-Modified`` on every fetch, and the 304 a client
that already holds the representation gets instead of it (RFC 9110 §13).

Why here, after the one encode: the tag is of the bytes the client receives, per format (the
same resource as JSON and as XML are two representations with two tags), so it is derived from
the encoded body once, and no route repeats it. A Twilio-style body is the same bytes for the
same resource, so its tag is strong. A Plivo-style body carries a fresh ``api_id`` in every
answer: its tag is computed over the bytes after the ``api_id`` and is weak (``W/``), which is
what ``If-None-Match`` compares anyway.

``If-None-Match`` wins over ``If-Modified-Since`` (§13.2.2); the latter is compared with the
resource's update time (Twilio's ``date_updated``, Plivo's ``message_updated_time``) where the
body has one, to the second.

The client's conditional headers also reach the upstream as they came; an upstream that answers
304 to them is passed on as 304 (``upstream_not_modified``).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from multidict import CIMultiDict

from proxy.engine.exchange import Exchange
from proxy.http.headers import downstream_headers
from proxy.http.messages import Request, Response
from proxy.providers.twilio import rest as twilio

# Where each client style keeps a resource's update time, and how it is written.
_UPDATED = {"twilio": "date_updated", "plivo": "message_updated_time"}
# What a 304 leaves out of the 200 it stands for: it has no body to describe.
_BODY_HEADERS = frozenset({"content-type", "content-length", "content-encoding"})
_READS = frozenset({"GET", "HEAD"})


def asked(request: Request | None) -> bool:
    """Whether the client sent a condition this module answers."""
    if request is None:
        return False
    headers = request.headers
    return "If-None-Match" in headers or "If-Modified-Since" in headers


def revalidate(ex: Exchange, response: Response) -> Response:
    """A successful fetch's answer with its validators, or the 304 that replaces it."""
    request = ex.request
    if request is None or request.method not in _READS or response.status != 200:
        return response
    if request.method == "HEAD" and ex.forward_path is not None:
        return response  # a HEAD forwarded as HEAD: there is no body here to tag
    tag = entity_tag(response.body, ex.api_id)
    headers = response.headers
    headers["ETag"] = tag
    modified = last_modified(ex.style, ex.body)
    if modified is not None:
        headers["Last-Modified"] = modified
    if not asked(request):
        return response
    condition = request.headers.get("If-None-Match")
    if condition is not None:
        fresh = matches(condition, tag)
    else:
        since = _http_date(request.headers.get("If-Modified-Since", ""))
        changed = _http_date(modified or "")
        fresh = since is not None and changed is not None and changed <= since
    return not_modified(headers) if fresh else response


def not_modified_upstream(ex: Exchange) -> bool:
    """Whether the upstream answered a read's own condition 304, every call of it: only then
    does its 304 stand for the client's (a 304 nobody asked for is the upstream's error)."""
    request = ex.request
    return (
        request is not None
        and request.method in _READS
        and asked(request)
        and all(r.status == 304 for r in ex.replies)
    )


def upstream_not_modified(headers: Any) -> Response:
    """The upstream's 304 to the client's own condition. Its ``ETag`` and ``Last-Modified``
    describe the upstream's representation, not the translated one: they are not passed on."""
    kept = downstream_headers(headers)
    kept.popall("ETag", None)
    kept.popall("Last-Modified", None)
    return not_modified(kept)


def not_modified(headers: CIMultiDict[str]) -> Response:
    response = Response(304)
    for name, value in headers.items():
        if name.lower() not in _BODY_HEADERS:
            response.headers.add(name, value)
    return response


def entity_tag(body: bytes, api_id: str | None) -> str:
    """A strong tag of ``body``; a weak one of what follows a leading ``api_id`` field."""
    if api_id is not None:
        prefix = b'{"api_id":"' + api_id.encode("ascii") + b'"'
        if body.startswith(prefix):
            digest = hashlib.sha256(memoryview(body)[len(prefix) :]).digest()
            return f'W/"{_tag_text(digest)}"'
    return f'"{_tag_text(hashlib.sha256(body).digest())}"'


def matches(condition: str, tag: str) -> bool:
    """``If-None-Match`` against the current tag, by weak comparison (RFC 9110 §13.1.2)."""
    text = condition.strip()
    if text == "*":
        return True
    mine = _opaque(tag)
    return any(_opaque(candidate) == mine for candidate in text.split(","))


def last_modified(style: str, body: Any) -> str | None:
    """The resource's update time as an HTTP-date, where its body says it.

    Twilio-style dates are already RFC 2822 in GMT (the façades convert them): the header is the
    same text with ``GMT`` for ``+0000``, no parse on the way. Anything else is parsed once."""
    key = _UPDATED.get(style)
    if key is None or not isinstance(body, dict):
        return None
    value = body.get(key)
    if not isinstance(value, str) or not value:
        return None
    if style == "twilio" and len(value) == 31 and value.endswith(" +0000"):
        return value[:26] + "GMT"
    try:
        parse = parsedate_to_datetime if style == "twilio" else datetime.fromisoformat
        when = parse(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return twilio.rfc2822(when)[:26] + "GMT"


def _http_date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # an invalid date is ignored (RFC 9110 §13.1.3)
    return when.astimezone(UTC) if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _opaque(tag: str) -> str:
    text = tag.strip()
    return text[2:] if text.startswith("W/") else text


def _tag_text(digest: bytes) -> str:
    # 128 bits are plenty to tell two representations of one resource apart; hex rather than
    # base64 because it is one C call (the tag is opaque to clients either way).
    return digest[:16].hex()
