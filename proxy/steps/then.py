"""``then``: one more upstream call after the route's own, and its answer used in the reply.

Some requests take two calls on the other side. Plivo answers a number update with
``{"message": "changed"}`` where a Twilio client needs the number itself; Twilio keeps an
account's balance at a path of its own where Plivo's account details carry it; and Twilio
addresses a number by its SID, so a Plivo client's number must first be looked up. The route's
request steps plan the first call; ``then`` plans the second once the first has succeeded, and
then puts its body in the document: in place of the first one's (its status becomes the
answer's, a 204 of a delete included), or at ``into``.

``path`` is a template read against the first call's body and the request context (each value
percent-encoded as one path segment); without it the second call goes to the first call's path.
``params`` are the second call's parameters, each a reference (``$request.alias``), absent ones
left out; ``query`` adds fixed query parameters (``{status: live}``). When the first call
succeeded but the path cannot be made (the lookup found nothing), the client gets ``error``.
One ``then`` per route; a failing second call is answered through the route's error rules like
the first.

``on_status`` turns it into a fallback: the second call is made only when the first one
*failed* with one of these statuses (400-599), and its answer stands in place of the first
one's, success or failure; a first call that succeeded, or failed otherwise, is answered as
it is, and no second call is made. Plivo serves a call's record only once the call has ended,
and a call in progress at the same path with ``?status=live``: one more upstream call, only on
that 404. With ``on_status`` there is no first document to put the answer ``into``, and no
``error``: a path that cannot be made leaves the first call's failure as the answer. The
response steps after it can tell the two answers apart by their fields (``when``).

Examples::

    - {op: then, method: GET}
    - {op: then, path: "/2010-04-01/Accounts/{$upstream.user}/Balance.json", into: balance}
    - op: then
      method: DELETE
      path: "/2010-04-01/Accounts/{$upstream.user}/IncomingPhoneNumbers/{numbers[0].sid}.json"
      error: {status: 404, message: "not found"}
    - {op: then, on_status: [404], query: {status: live}}
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from pydantic import Field, PrivateAttr, field_validator, model_validator

from proxy.engine.exchange import Exchange, UpstreamCall, UpstreamReply
from proxy.pipeline.paths import MISSING, DataPath
from proxy.pipeline.step import (
    RESPONSE,
    FollowsUpstream,
    Ref,
    Step,
    StepFailure,
    Template,
    compiled,
    parse_path,
)
from proxy.steps.convert import ErrorSpec

_NOTE = "then"


class Then(Step, FollowsUpstream):
    phases = frozenset({RESPONSE})
    op: Literal["then"]
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    path: str | None = None
    params: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str] = Field(default_factory=dict)
    into: str | None = None
    on_status: list[int] | None = None
    error: ErrorSpec | None = None
    _path: Template | None = PrivateAttr(default=None)
    _params: list[tuple[str, Ref]] = PrivateAttr(default_factory=list)
    _into: DataPath | None = PrivateAttr(default=None)

    @field_validator("path")
    @classmethod
    def _rooted(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith("/"):
            raise ValueError("the upstream path must start with '/'")
        return v

    @field_validator("query")
    @classmethod
    def _named(cls, v: dict[str, str]) -> dict[str, str]:
        if any(not name for name in v):
            raise ValueError("a query parameter needs a name")
        return v

    @field_validator("on_status")
    @classmethod
    def _failures(cls, v: list[int] | None) -> list[int] | None:
        if v is None:
            return v
        if not v:
            raise ValueError("'on_status' lists at least one status")
        if any(not 400 <= status <= 599 for status in v):
            raise ValueError(
                "'on_status' lists failure statuses (400-599): after a success "
                "the second call is made without it"
            )
        return sorted(set(v))

    @model_validator(mode="after")
    def _fallback_alone(self) -> Then:
        if self.on_status is not None and (self.into is not None or self.error is not None):
            raise ValueError(
                "with 'on_status' the second call's answer stands in place of the first one's "
                "failure: there is no document to put it 'into', and no 'error' (a path that "
                "cannot be made leaves the first failure as the answer)"
            )
        return self

    def model_post_init(self, _: Any) -> None:
        compiled(self, "_path", Template(self.path) if self.path is not None else None)
        compiled(self, "_params", [(name, Ref(ref)) for name, ref in self.params.items()])
        into = parse_path(self.into) if self.into is not None else None
        if into is not None and not into.segments:
            raise ValueError("'into' must name a place in the document")
        compiled(self, "_into", into)

    def follow(self, ex: Exchange) -> list[UpstreamCall]:
        replies = ex.replies
        if not replies or _ours(replies) is not None:
            return []
        first = replies[-1]
        if self.on_status is None:
            if not 200 <= first.status < 300:
                return []
        elif first.status not in self.on_status:
            return []
        path = first.call.path if self._path is None else self._render(ex, first.body)
        if path is None:
            return []  # apply answers with ``error``, or the first failure stands
        params: dict[str, Any] = {}
        for name, ref in self._params:
            value = ref.get(ex, first.body)
            if value is not MISSING and value is not None:
                params[name] = value
        return [
            UpstreamCall(
                self.method,
                path,
                query=list(self.query.items()),
                params=params,
                note={_NOTE: True},
                replaces=first if self.on_status is not None else None,
            )
        ]

    def apply(self, ex: Exchange, doc: Any) -> Any:
        reply = _ours(ex.replies)
        if reply is None and self.on_status is not None:
            return doc  # the first call succeeded: its answer stands, nothing was asked
        if reply is None:
            reason = "the second upstream call could not be made"
            if self.error is not None:
                raise self.error.failure(ex, doc, reason, self.path or "")
            raise StepFailure(reason)
        if self._into is None:
            ex.status = reply.status
            return reply.body
        if not isinstance(doc, dict):
            raise StepFailure(f"expected an object, found {type(doc).__name__}")
        for parent, key, _ in self._into.parents(doc, create=True):
            if isinstance(parent, dict) and isinstance(key, str):
                parent[key] = reply.body
        return doc

    def _render(self, ex: Exchange, body: Any) -> str | None:
        """The path, each value one percent-encoded segment; None when a value is missing."""
        assert self._path is not None
        parts: list[str] = []
        for part in self._path.parts:
            if isinstance(part, str):
                parts.append(part)
                continue
            value = part.get(ex, body)
            if value is MISSING or value is None or value == "" or str(value) in (".", ".."):
                return None
            parts.append(quote(str(value), safe=""))
        return "".join(parts)


def _ours(replies: list[UpstreamReply]) -> UpstreamReply | None:
    for reply in replies:
        if reply.call.note.get(_NOTE):
            return reply
    return None
