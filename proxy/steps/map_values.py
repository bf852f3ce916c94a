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

from proxy.engine.exchange import Exchange
from proxy.pipeline.paths import DataPath, assign, has_slot
from proxy.pipeline.step import Step, StepFailure, StepFn, compiled, parse_path


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

    def apply(self, ex: Exchange, doc: Any) -> Any:
        top = self._at.top_key
        if top is not None and isinstance(doc, dict):  # the common case: one plain key
            if top in doc:
                doc[top] = self._lookup(doc[top], (top,))
            return doc
        for parent, key, where in self._at.parents(doc, create=False):
            if has_slot(parent, key):
                assign(parent, key, self._lookup(parent[key], where))
        return doc

    def fast_apply(self) -> StepFn:
        top, table, lookup = self._at.top_key, self.map, self._lookup
        if top is None or self.fallback != "keep":
            return self.apply

        def map_values(ex: Exchange, doc: Any) -> Any:
            if not isinstance(doc, dict):
                return self.apply(ex, doc)
            if top in doc:
                value = doc[top]
                if isinstance(value, str):
                    if value in table:
                        doc[top] = table[value]
                else:
                    doc[top] = lookup(value, (top,))
            return doc

        return map_values

    def _lookup(self, value: Any, where: tuple[Any, ...]) -> Any:
        lookup = value if isinstance(value, str) else ("null" if value is None else str(value))
        if lookup in self.map:
            return self.map[lookup]
        if self.fallback == "keep":
            return value
        if self.fallback == "default":
            return self.default
        raise StepFailure(f"value {lookup!r} is not in the map", where)
