"""``map_values``: replace values through a table (status and direction vocabularies).

``fallback`` says what happens to a value the table does not name: ``keep`` it (default),
use ``default`` instead, or ``error`` (the step fails, naming the value's path).

Example::

    - op: map_values
      at: status
      map: {queued: queued, sent: sent, delivered: delivered, undelivered: undelivered}
      fallback: default
      default: failed
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import PrivateAttr

from proxy.pipeline.paths import DataPath
from proxy.pipeline.step import Step, compiled, parse_path
from proxy.pipeline.writer import Slot, Writer


class MapValues(Step):
    op: Literal["map_values"]
    at: str
    map: dict[str, Any]
    fallback: Literal["keep", "default", "error"] = "keep"
    default: Any = None
    _at: DataPath = PrivateAttr()

    def model_post_init(self, _: Any) -> None:
        compiled(self, "_at", parse_path(self.at))
        if not self._at.segments:
            raise ValueError("'map_values' needs a non-empty 'at'")

    def emit(self, w: Writer) -> bool:
        """Each value at ``at`` (an absent one is skipped) is looked up: a string as it is,
        anything else by its text (a null as ``null``, a number as ``str`` writes it); one
        the table does not name goes by ``fallback``."""
        with w.slot(self._at) as slot, w.if_present(slot):
            value, table = slot.value, w.const(self.map)
            with w.block(f"if isinstance({value}, str):"):
                self._look_up(w, slot, value, table)
            with w.block("else:"):
                text = w.temp("k")
                w.line(f"{text} = 'null' if {value} is None else str({value})")
                self._look_up(w, slot, text, table)
        return True

    def _look_up(self, w: Writer, slot: Slot, key: str, table: str) -> None:
        with w.block(f"if {key} in {table}:"):
            slot.assign(f"{table}[{key}]")
        if self.fallback == "default":
            with w.block("else:"):
                slot.assign(w.const(self.default))
        elif self.fallback == "error":
            with w.block("else:"):
                w.fail(f'f"value {{{key}!r}} is not in the map"', slot.where)
