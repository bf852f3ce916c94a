"""``to_header``: move a body field into a response header.

Provider request ids (Plivo's ``api_id``) belong to tracing, not to the other provider's body.

Example::

    - {op: to_header, at: api_id, header: X-Upstream-Api-Id}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import PrivateAttr

from proxy.engine.exchange import Exchange
from proxy.pipeline.paths import MISSING, DataPath
from proxy.pipeline.step import RESPONSE, Step, compiled, parse_path


class ToHeader(Step):
    phases = frozenset({RESPONSE})
    op: Literal["to_header"]
    at: str
    header: str
    keep: bool = False
    _at: DataPath = PrivateAttr()

    def model_post_init(self, _: Any) -> None:
        compiled(self, "_at", parse_path(self.at))
        if not self._at.segments:
            raise ValueError("'to_header' needs a non-empty 'at'")
        if any(c in self.header for c in "\r\n:") or not self.header.strip():
            raise ValueError("'header' must be a plain header name")

    def apply(self, ex: Exchange, doc: Any) -> Any:
        value = self._at.get(doc)
        if value is not MISSING and value is not None:
            ex.headers[self.header] = str(value).replace("\r", " ").replace("\n", " ")
        if not self.keep:
            for parent, key, _ in self._at.parents(doc, create=False):
                if isinstance(parent, dict):
                    parent.pop(key, None)
        return doc
