"""``drop``: remove keys (missing keys are fine).

Example::

    - {op: drop, keys: [api_id, resource_uri]}
    - {op: drop, at: "objects[*]", keys: [requester_ip]}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import PrivateAttr

from proxy.pipeline.paths import DataPath
from proxy.pipeline.step import Step, compiled, parse_path
from proxy.pipeline.writer import Writer


class Drop(Step):
    op: Literal["drop"]
    at: str = ""
    keys: list[str]
    _at: DataPath = PrivateAttr()

    def model_post_init(self, _: Any) -> None:
        compiled(self, "_at", parse_path(self.at))

    def emit(self, w: Writer) -> bool:
        w.drop(self._at, self.keys)
        return True
