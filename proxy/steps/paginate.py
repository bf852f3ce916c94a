"""``paginate``: translate one provider's paging into the other's.

``from: twilio, to: plivo`` (request phase) reads Twilio's ``PageSize`` (1-1000, default 50),
``Page`` and ``PageToken`` and plans as many concurrent upstream requests as the Plivo page
limit (20) requires to fill the Twilio page, each with its own ``limit``/``offset``.
The proxy stays stateless: the offset is ``Page x PageSize``, and the ``PageToken`` it hands
out encodes that offset, so a link it made is always honoured. ``PageSize`` above 1000 is
Twilio's error 20007; a ``PageToken`` the proxy did not make is 21481.

``from: plivo, to: twilio`` (response phase) joins the upstream pages' ``objects`` in order and
builds Twilio's list envelope (``page``, ``page_size``, ``uri``, ``first_page_uri``,
``next_page_uri``, ``previous_page_uri``, ``start``, ``end`` and one records key). The next
page exists while the upstream says so (``meta.next``, or ``total_count``).

Example::

    request:
      - {op: paginate, from: twilio, to: plivo}
    response:
      - {op: paginate, from: plivo, to: twilio, list_key: messages}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from proxy.dialects import twilio
from proxy.exchange import Exchange, UpstreamCall
from proxy.pipeline.step import BOTH, Step, StepFailure

_TWILIO_PAGING = ("PageSize", "Page", "PageToken")
_NOTE = "paging"


class Paginate(Step):
    phases = BOTH
    op: Literal["paginate"]
    from_: Literal["twilio", "plivo"] = Field(alias="from")
    to: Literal["twilio", "plivo"]
    list_key: str | None = None
    upstream_limit: int = Field(default=20, ge=1, le=1000)
    max_page_size: int = Field(default=twilio.MAX_PAGE_SIZE, ge=1)
    default_page_size: int = Field(default=twilio.DEFAULT_PAGE_SIZE, ge=1)
    records: str = "objects"

    @model_validator(mode="after")
    def _direction(self) -> Paginate:
        if (self.from_, self.to) not in {("twilio", "plivo"), ("plivo", "twilio")}:
            raise ValueError(f"paging from {self.from_} to {self.to} is not supported")
        if self.from_ == "plivo" and not self.list_key:
            raise ValueError("'list_key' names the Twilio records key (e.g. messages)")
        return self

    def phase(self) -> str:
        return "request" if self.from_ == "twilio" else "response"

    def apply(self, ex: Exchange, doc: Any) -> Any:
        if self.from_ == "twilio":
            return self._plan(ex, doc)
        return self._assemble(ex, doc)

    # -- request: Twilio page -> concurrent Plivo windows -----------------------------------

    def _plan(self, ex: Exchange, doc: Any) -> Any:
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

    # -- response: Plivo pages -> one Twilio page ------------------------------------------

    def _assemble(self, ex: Exchange, doc: Any) -> Any:
        paging = ex.notes.get(_NOTE)
        if paging is None:
            raise StepFailure("the request phase did not plan Twilio paging")
        page_size: int = paging["page_size"]
        records: list[Any] = []
        has_next = False
        replies = ex.replies or []
        for reply in replies:
            body = reply.body
            items = body.get(self.records) if isinstance(body, dict) else None
            if items is None:
                items = []
            if not isinstance(items, list):
                raise StepFailure(f"expected a list, found {type(items).__name__}", self.records)
            records.extend(items)
            has_next = _upstream_has_more(body, reply.call.note, len(items))
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


def _upstream_has_more(body: Any, note: dict[str, Any], got: int) -> bool:
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
