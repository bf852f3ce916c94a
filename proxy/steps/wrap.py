"""``wrap`` and ``unwrap``: put the document under a key, or take the value of one key.

Examples::

    - {op: wrap, key: message}        # {...} -> {"message": {...}}
    - {op: unwrap, key: data}         # {"data": {...}} -> {...}
"""

from __future__ import annotations

from typing import Any, Literal

from proxy.engine.exchange import Exchange
from proxy.pipeline.step import Step, StepFailure


class Wrap(Step):
    op: Literal["wrap"]
    key: str

    def apply(self, ex: Exchange, doc: Any) -> Any:
        return {self.key: doc}


class Unwrap(Step):
    op: Literal["unwrap"]
    key: str

    def apply(self, ex: Exchange, doc: Any) -> Any:
        if not isinstance(doc, dict) or self.key not in doc:
            raise StepFailure(f"key {self.key!r} is missing", self.key)
        return doc[self.key]
