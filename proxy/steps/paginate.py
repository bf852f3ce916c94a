"""``paginate``: translate one provider's paging into the other's.

``from`` names the style of the paging being read, ``to`` the style it becomes; the phase the
step stands in says whether it reads the client's request or the upstream's answer.

Twilio façade (client Twilio, upstream Plivo)::

    request:  [{op: paginate, from: twilio, to: plivo}]
    response: [{op: paginate, from: plivo, to: twilio, list_key: messages}]

The request step reads ``PageSize`` (1-1000, default 50; above 1000 is Twilio's 20007),
``Page`` and ``PageToken`` and plans ``ceil(PageSize / 20)`` concurrent Plivo requests, each
with its own ``limit``/``offset``. It stays stateless: the offset is ``Page x PageSize`` and the
``PageToken`` it hands out encodes that offset (a token it did not make is 21481). The response
step joins the ``objects`` in order and builds Twilio's envelope; a next page exists while the
upstream says so (``meta.next`` or ``total_count``).

Plivo façade (client Plivo, upstream Twilio)::

    request:  [{op: paginate, from: plivo, to: twilio}]
    response: [{op: paginate, from: twilio, to: plivo, list_key: messages}]

Twilio refuses ``Page`` > 0 without the ``PageToken`` it handed out, so an arbitrary Plivo
``offset`` cannot be computed into a Twilio page. The request step asks for the first
``offset + limit`` records in one page (``PageSize`` up to 1000); beyond 1000 the response step
follows the upstream's own ``next_page_uri`` 1000 records at a time, then slices the window.
Cost per Plivo request: one upstream request while ``offset + limit <= 1000``, otherwise
``ceil((offset + limit) / 1000)`` sequential ones; no state is kept between requests.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from pydantic import Field, PrivateAttr, model_validator

from proxy.engine.exchange import Exchange, UpstreamCall
from proxy.pipeline.step import (
    BOTH,
    REQUEST,
    RESPONSE,
    FollowsUpstream,
    Step,
    StepFailure,
    compiled,
)
from proxy.providers.plivo import rest as plivo
from proxy.providers.twilio import rest as twilio

_TWILIO_PAGING = ("PageSize", "Page", "PageToken")
_PLIVO_PAGING = ("limit", "offset")
_NOTE = "paging"
TWILIO_WALK_PAGE = 1000
MAX_WALK = 50  # pages of 1000: the deepest offset reachable is 50,000 records


class Paginate(Step, FollowsUpstream):
    phases = BOTH
    op: Literal["paginate"]
    from_: Literal["twilio", "plivo"] = Field(alias="from")
    to: Literal["twilio", "plivo"]
    list_key: str | None = None
    upstream_limit: int = Field(default=plivo.MAX_LIMIT, ge=1, le=1000)
    max_page_size: int = Field(default=twilio.MAX_PAGE_SIZE, ge=1)
    default_page_size: int = Field(default=twilio.DEFAULT_PAGE_SIZE, ge=1)
    records: str = "objects"
    _phase: str = PrivateAttr(default="")

    @model_validator(mode="after")
    def _direction(self) -> Paginate:
        if self.from_ == self.to:
            raise ValueError("'from' and 'to' must be different styles")
        return self

    def bind_phase(self, phase: str) -> str | None:
        """Called by the compiler; returns a problem if the step cannot run in ``phase``."""
        reading_response = (self.from_, self.to) in {("plivo", "twilio"), ("twilio", "plivo")}
        compiled(self, "_phase", phase)
        if phase == RESPONSE and not self.list_key:
            return "'list_key' names the Twilio records key (e.g. messages)"
        return None if reading_response else "unsupported direction"

    def apply(self, ex: Exchange, doc: Any) -> Any:
        if self._phase == REQUEST:
            return (
                self._twilio_plan(ex, doc) if self.from_ == "twilio" else self._plivo_plan(ex, doc)
            )
        if self.from_ == "plivo":
            return self._twilio_page(ex)
        return self._plivo_page(ex)

    def follow(self, ex: Exchange) -> list[UpstreamCall]:
        if self._phase != RESPONSE or self.from_ != "twilio":
            return []
        paging = ex.notes.get(_NOTE)
        if paging is None or not ex.replies:
            return []
        last = ex.replies[-1]
        if not 200 <= last.status < 300 or not isinstance(last.body, dict):
            return []
        have = sum(
            len(r.body.get(self.list_key or "", []) or [])
            for r in ex.replies
            if isinstance(r.body, dict)
        )
        nxt = last.body.get("next_page_uri")
        if have >= paging["offset"] + paging["limit"] + 1 or not nxt or len(ex.replies) >= MAX_WALK:
            return []
        parts = urlsplit(str(nxt))
        return [
            UpstreamCall(method="GET", path=parts.path, query=parse_qsl(parts.query), params={})
        ]

    # -- Twilio client, Plivo upstream ----------------------------------------------------

    def _twilio_plan(self, ex: Exchange, doc: Any) -> Any:
        if not isinstance(doc, dict):
            raise StepFailure("expected the request parameters")
        raw_size = _scalar(doc.pop("PageSize", None))
        raw_page = _scalar(doc.pop("Page", None))
        token = _scalar(doc.pop("PageToken", None))
        page_size = self.default_page_size if raw_size in (None, "") else _int(raw_size, "PageSize")
        if page_size < 1:
            raise StepFailure(
                "PageSize below 1",
                "PageSize",
                status=400,
                code=20001,
                message="PageSize must be a positive integer.",
            )
        if page_size > self.max_page_size:
            raise StepFailure(
                "PageSize too large",
                "PageSize",
                status=400,
                code=20007,
                message=f"PageSize must be less than or equal to {self.max_page_size}.",
            )
        page = 0 if raw_page in (None, "") else _int(raw_page, "Page")
        if page < 0:
            raise StepFailure(
                "negative Page",
                "Page",
                status=400,
                code=20001,
                message="Page must be a non-negative integer.",
            )
        offset = page * page_size
        if token not in (None, ""):
            token_offset = twilio.parse_page_token(str(token))
            if token_offset is None:
                raise StepFailure(
                    "foreign PageToken",
                    "PageToken",
                    status=400,
                    code=21481,
                    message="Invalid PageToken.",
                )
            offset = token_offset
        calls: list[UpstreamCall] = []
        remaining, at = page_size, offset
        while remaining > 0:
            limit = min(self.upstream_limit, remaining)
            calls.append(
                UpstreamCall(
                    method=ex.upstream_method or ex.method,
                    path=ex.upstream_path,
                    query=[("limit", str(limit)), ("offset", str(at))],
                    note={"limit": limit, "offset": at},
                )
            )
            remaining -= limit
            at += limit
        ex.plan = calls
        ex.notes[_NOTE] = {"page": page, "page_size": page_size, "offset": offset}
        return doc

    def _twilio_page(self, ex: Exchange) -> Any:
        paging = ex.notes.get(_NOTE)
        if paging is None:
            raise StepFailure("the request phase did not plan Twilio paging")
        page_size: int = paging["page_size"]
        records: list[Any] = []
        has_next = False
        for reply in ex.replies:
            body = reply.body
            items = body.get(self.records) if isinstance(body, dict) else None
            if items is None:
                items = []
            if not isinstance(items, list):
                raise StepFailure(f"expected a list, found {type(items).__name__}", self.records)
            records.extend(items)
            has_next = _plivo_has_more(body, reply.call.note, len(items))
            if len(items) < int(reply.call.note.get("limit", len(items))):
                has_next = False
                break
        records = records[:page_size]
        filters = [(k, v) for k, v in ex.query if k not in _TWILIO_PAGING]
        return twilio.list_envelope(
            self.list_key or "records",
            records,
            path=ex.path,
            filters=filters,
            page=paging["page"],
            page_size=page_size,
            has_next=has_next and len(records) == page_size,
            offset=paging["offset"],
        )

    # -- Plivo client, Twilio upstream ----------------------------------------------------

    def _plivo_plan(self, ex: Exchange, doc: Any) -> Any:
        if not isinstance(doc, dict):
            raise StepFailure("expected the request parameters")
        limit = _plivo_int(doc.pop("limit", None), "limit", plivo.MAX_LIMIT)
        offset = _plivo_int(doc.pop("offset", None), "offset", 0)
        if not 1 <= limit <= plivo.MAX_LIMIT:
            raise StepFailure(
                "limit out of range",
                "limit",
                status=400,
                message=f"limit should be between 1 and {plivo.MAX_LIMIT}",
            )
        if offset < 0:
            raise StepFailure(
                "negative offset",
                "offset",
                status=400,
                message="offset should be a non-negative integer",
            )
        if offset + limit > MAX_WALK * TWILIO_WALK_PAGE:
            raise StepFailure(
                "offset too deep",
                "offset",
                status=400,
                message=f"offset + limit cannot exceed {MAX_WALK * TWILIO_WALK_PAGE}",
            )
        # One record more than asked tells whether a next page exists.
        doc["PageSize"] = str(min(TWILIO_WALK_PAGE, offset + limit + 1))
        ex.notes[_NOTE] = {"limit": limit, "offset": offset}
        return doc

    def _plivo_page(self, ex: Exchange) -> Any:
        paging = ex.notes.get(_NOTE)
        if paging is None:
            raise StepFailure("the request phase did not plan Plivo paging")
        limit, offset = paging["limit"], paging["offset"]
        records: list[Any] = []
        upstream_more = False
        for reply in ex.replies:
            body = reply.body if isinstance(reply.body, dict) else {}
            items = body.get(self.list_key or "", [])
            if not isinstance(items, list):
                raise StepFailure(
                    f"expected a list, found {type(items).__name__}", self.list_key or ""
                )
            records.extend(items)
            upstream_more = bool(body.get("next_page_uri"))
        window = records[offset : offset + limit]
        has_next = len(records) > offset + limit or (upstream_more and len(window) == limit)
        known_total = len(records) if not upstream_more else max(len(records), offset + limit + 1)
        filters = [(k, v) for k, v in ex.query if k not in _PLIVO_PAGING]
        return {
            "meta": plivo.list_meta(
                ex.path,
                limit=limit,
                offset=offset,
                total_count=known_total,
                has_next=has_next,
                filters=filters,
            ),
            "objects": window,
        }


def _plivo_has_more(body: Any, note: dict[str, Any], got: int) -> bool:
    meta = body.get("meta") if isinstance(body, dict) else None
    if isinstance(meta, dict):
        if meta.get("next"):
            return True
        total = meta.get("total_count")
        if isinstance(total, int) and "offset" in note:
            return total > int(note["offset"]) + got
        return False
    return got >= int(note.get("limit", got + 1))


def _scalar(value: Any) -> Any:
    if isinstance(value, list):
        return value[-1] if value else None
    return value


def _int(value: Any, name: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise StepFailure(
            f"{name} is not an integer",
            name,
            status=400,
            code=20001,
            message=f"{name} must be an integer.",
        ) from None


def _plivo_int(value: Any, name: str, default: int) -> int:
    value = _scalar(value)
    if value in (None, ""):
        return default
    try:
        return int(str(value))
    except ValueError:
        raise StepFailure(
            f"{name} is not an integer", name, status=400, message=f"{name} must be an integer"
        ) from None
