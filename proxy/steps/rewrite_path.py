"""``rewrite_path``: choose the upstream path (and optionally method) for this route.

The template may use path fields and the request context. Values taken from the client are
percent-encoded as one path segment each, so a crafted ``Sid`` can never add segments or
climb out of the upstream path (``..``, ``/``, ``%2F`` all stay inside one segment).

Example::

    - {op: rewrite_path, to: "/v1/Account/{$upstream.user}/Message/{$path.Sid}/"}
    - {op: rewrite_path, to: "/v1/Account/{$upstream.user}/Call/", method: POST}
"""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import quote

from pydantic import Field, PrivateAttr, field_validator

from proxy.engine.exchange import Exchange
from proxy.pipeline.paths import MISSING
from proxy.pipeline.step import REQUEST, Ref, Step, StepFailure, Template, compiled

# What ``quote(segment, safe="")`` leaves as it is: checking for it first spares the quoting
# (Python code, per request) for the ids and account names nearly every path carries.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*\Z").match


class RewritePath(Step):
    phases = frozenset({REQUEST})
    op: Literal["rewrite_path"]
    to: str
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] | None = None
    # Paths tried in turn while the upstream answers 404 (a Plivo UUID may be an SM… or MM… SID).
    alternatives: list[str] = Field(default_factory=list)
    _template: Template = PrivateAttr()
    _alternatives: list[Template] = PrivateAttr()

    @field_validator("to")
    @classmethod
    def _rooted(cls, v: str) -> str:
        if not v.startswith("/"):
            raise ValueError("the upstream path must start with '/'")
        return v

    @field_validator("alternatives")
    @classmethod
    def _all_rooted(cls, v: list[str]) -> list[str]:
        if any(not t.startswith("/") for t in v):
            raise ValueError("every alternative path must start with '/'")
        return v

    def model_post_init(self, _: Any) -> None:
        compiled(self, "_template", Template(self.to))
        compiled(self, "_alternatives", [Template(t) for t in self.alternatives])

    def apply(self, ex: Exchange, doc: Any) -> Any:
        ex.upstream_path = self._render(self._template, ex, doc)
        ex.upstream_alternatives = [self._render(t, ex, doc) for t in self._alternatives]
        if self.method is not None:
            ex.upstream_method = self.method
        return doc

    @staticmethod
    def _render(template: Template, ex: Exchange, doc: Any) -> str:
        parts: list[str] = []
        for part in template.parts:
            if isinstance(part, str):
                parts.append(part)
                continue
            value = part.get(ex, doc) if isinstance(part, Ref) else MISSING
            if value is MISSING or value is None or value == "":
                raise StepFailure(f"upstream path needs {part.text!r}, which is missing")
            segment = str(value)
            if segment in (".", ".."):
                raise StepFailure(f"{part.text!r} is not a valid path segment", status=404)
            parts.append(segment if _UNRESERVED(segment) else quote(segment, safe=""))
        return "".join(parts)
