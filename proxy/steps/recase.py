"""``recase``: re-case keys (snake_case, camelCase, PascalCase), deeply by default.

Useful in front of a service whose JSON keys follow another SDK's convention.

Example::

    - {op: recase, to: snake}
    - {op: recase, at: "objects[*]", to: camel, deep: false}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import PrivateAttr

from proxy.codecs.casing import CASINGS, recase_keys
from proxy.engine.exchange import Exchange
from proxy.pipeline.paths import DataPath, assign, has_slot
from proxy.pipeline.step import Step, compiled, parse_path


class Recase(Step):
    op: Literal["recase"]
    to: Literal["snake", "camel", "pascal"]
    at: str = ""
    deep: bool = True
    _at: DataPath = PrivateAttr()

    def model_post_init(self, _: Any) -> None:
        compiled(self, "_at", parse_path(self.at))

    def apply(self, ex: Exchange, doc: Any) -> Any:
        fn = CASINGS[self.to]
        if not self._at.segments:
            return recase_keys(doc, fn, deep=self.deep)
        for parent, key, _ in self._at.parents(doc, create=False):
            if has_slot(parent, key):
                assign(parent, key, recase_keys(parent[key], fn, deep=self.deep))
        return doc
