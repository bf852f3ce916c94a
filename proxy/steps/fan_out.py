"""``fan_out`` and ``gather``: one upstream call per item of a list parameter, and the answer
assembled from all of them.

Plivo takes several destinations in one request (``dst: "a<b<c"``); Twilio takes one ``To`` per
message or call. ``fan_out`` (request phase) splits the parameter and plans one call per item,
issued concurrently; ``gather`` (response phase) reads every reply: the ``collect`` field of each
success goes into ``into``, the items whose call the upstream refused (4xx) into ``failed_into``.
Only when every call failed does the client get the (first) error.

Example::

    request:
      - {op: fan_out, at: To, sep: "<", max: 1000}
    response:
      - {op: gather, collect: sid, into: message_uuid, failed_into: invalid_number}
      - {op: convert, at: "message_uuid[*]", with: uuid_from_sid}
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from pydantic import Field, PrivateAttr

from proxy.engine.exchange import Exchange, UpstreamCall
from proxy.pipeline.paths import MISSING, DataPath
from proxy.pipeline.step import (
    REQUEST,
    RESPONSE,
    AcceptsFailures,
    Step,
    StepFailure,
    compiled,
    parse_path,
)


class FanOut(Step):
    phases = frozenset({REQUEST})
    op: Literal["fan_out"]
    at: str
    sep: str = Field(default="<", min_length=1)
    max: int = Field(default=1000, ge=1)
    _at: DataPath = PrivateAttr()

    def model_post_init(self, _: Any) -> None:
        compiled(self, "_at", parse_path(self.at))
        if len(self._at.segments) != 1 or not isinstance(self._at.segments[0], str):
            raise ValueError("'fan_out' takes one top-level parameter name in 'at'")

    def apply(self, ex: Exchange, doc: Any) -> Any:
        key = self._at.segments[0]
        value = self._at.get(doc)
        if value is MISSING or value is None:
            return doc
        items = value if isinstance(value, list) else str(value).split(self.sep)
        items = list(dict.fromkeys(str(i).strip() for i in items if str(i).strip()))
        if not items:
            raise StepFailure("no item to send to", self.at, status=400)
        if len(items) > self.max:
            raise StepFailure(
                f"more than {self.max} items",
                self.at,
                status=400,
                message=f"At most {self.max} destinations are allowed.",
            )
        calls = []
        for item in items:
            params = copy.deepcopy(doc)
            params[key] = item
            calls.append(UpstreamCall(method="", path="", params=params, note={"item": item}))
        ex.plan = calls
        return doc


class Gather(Step, AcceptsFailures):
    phases = frozenset({RESPONSE})
    op: Literal["gather"]
    collect: str
    into: str
    failed_into: str | None = None
    _collect: DataPath = PrivateAttr()

    def model_post_init(self, _: Any) -> None:
        compiled(self, "_collect", parse_path(self.collect))

    def apply(self, ex: Exchange, doc: Any) -> Any:
        done: list[Any] = []
        failed: list[Any] = []
        for reply in ex.replies:
            if 200 <= reply.status < 300:
                value = self._collect.get(reply.body)
                if value is MISSING:
                    raise StepFailure("a successful reply has no such field", self.collect)
                done.append(value)
            else:
                failed.append(reply.call.note.get("item"))
        out: dict[str, Any] = {self.into: done}
        if self.failed_into and failed:
            out[self.failed_into] = failed
        return out
