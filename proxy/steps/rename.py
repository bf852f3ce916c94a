"""``rename``: give keys new names.

Keys that are absent are skipped; the new key takes the old key's place in the order.

Example::

    - {op: rename, map: {message_uuid: sid, from_number: from, to_number: to}}
    - {op: rename, at: "objects[*]", map: {call_uuid: sid}}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import PrivateAttr

from proxy.engine.exchange import Exchange
from proxy.pipeline.paths import DataPath
from proxy.pipeline.step import Step, StepFn, compiled, parse_path
from proxy.steps._targets import objects_at


class Rename(Step):
    op: Literal["rename"]
    at: str = ""
    map: dict[str, str]
    _at: DataPath = PrivateAttr()

    def model_post_init(self, _: Any) -> None:
        compiled(self, "_at", parse_path(self.at))

    def fast_apply(self) -> StepFn:
        if self._at.segments:
            return self.apply
        table = dict(self.map)
        names = table.keys()

        def rename(ex: Exchange, doc: Any) -> Any:
            if not isinstance(doc, dict):
                return self.apply(ex, doc)
            if names.isdisjoint(doc):
                return doc
            return {table.get(k, k): v for k, v in doc.items()}

        return rename

    def apply(self, ex: Exchange, doc: Any) -> Any:
        for obj, _ in objects_at(doc, self._at):
            if not any(k in obj for k in self.map):
                continue
            items = [(self.map.get(k, k), v) for k, v in obj.items()]
            obj.clear()
            obj.update(items)
        return doc
