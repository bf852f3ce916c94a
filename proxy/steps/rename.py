"""``rename``: give keys new names.

Keys that are absent are skipped; the new key takes the old key's place in the order.

Example::

    - {op: rename, map: {message_uuid: sid, from_number: from, to_number: to}}
    - {op: rename, at: "objects[*]", map: {call_uuid: sid}}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import PrivateAttr

from proxy.pipeline.paths import DataPath
from proxy.pipeline.step import Step, compiled, parse_path
from proxy.pipeline.writer import Writer


class Rename(Step):
    op: Literal["rename"]
    at: str = ""
    map: dict[str, str]
    _at: DataPath = PrivateAttr()

    def model_post_init(self, _: Any) -> None:
        compiled(self, "_at", parse_path(self.at))

    def emit(self, w: Writer) -> bool:
        w.rename(self._at, self.map)
        return True
