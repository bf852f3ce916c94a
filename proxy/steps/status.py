"""``status``: choose the HTTP status the client gets.

``map`` translates the upstream's status (Plivo answers a message send with 202; Twilio's API
answers a create with 201); ``set`` forces one.

Examples::

    - {op: status, map: {202: 201, 200: 201}}
    - {op: status, set: 201}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from proxy.engine.exchange import Exchange
from proxy.pipeline.step import RESPONSE, Step


class Status(Step):
    phases = frozenset({RESPONSE})
    op: Literal["status"]
    map: dict[int, int] | None = None
    set_: int | None = Field(default=None, alias="set", ge=100, le=599)

    @model_validator(mode="after")
    def _one(self) -> Status:
        if (self.map is None) == (self.set_ is None):
            raise ValueError("'status' takes exactly one of 'map' or 'set'")
        return self

    def apply(self, ex: Exchange, doc: Any) -> Any:
        if self.set_ is not None:
            ex.status = self.set_
        elif self.map is not None:
            ex.status = self.map.get(ex.status, ex.status)
        return doc
