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

from proxy.pipeline.step import REQUEST, Step, Template, compiled
from proxy.pipeline.writer import Writer

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

    def emit(self, w: Writer) -> bool:
        """The rendered path (and its alternatives) become the upstream call's; every field
        must have a value (none, null or empty fails the step), ``.`` and ``..`` are refused as
        not found, and a value is percent-encoded as one segment unless it is unreserved
        characters only (then it is already what ``quote`` would give)."""
        w.line(f"ex.upstream_path = {self._emit_path(w, self._template)}")
        alternatives = [self._emit_path(w, t) for t in self._alternatives]
        w.line(f"ex.upstream_alternatives = [{', '.join(alternatives)}]")
        if self.method is not None:
            w.line(f"ex.upstream_method = {w.const(self.method)}")
        return True

    @staticmethod
    def _emit_path(w: Writer, template: Template) -> str:
        fields: list[str] = []
        for part in template.parts:
            if isinstance(part, str):
                fields.append("{" + w.const(part) + "}")
                continue
            value, segment = w.temp("a"), w.temp("s")
            w.line(f"{value} = {w.value(part, absent='None')}")
            with w.block(f'if {value} is None or {value} == "":'):
                w.fail(w.const(f"upstream path needs {part.text!r}, which is missing"))
            w.line(f"{segment} = str({value})")
            with w.block(f'if {segment} == "." or {segment} == "..":'):
                w.fail(w.const(f"{part.text!r} is not a valid path segment"), status=404)
            with w.block(f"if not {w.const(_UNRESERVED)}({segment}):"):
                w.line(f"{segment} = {w.const(_quote_segment)}({segment})")
            fields.append("{" + segment + "}")
        return 'f"' + "".join(fields) + '"' if fields else '""'


def _quote_segment(text: str) -> str:
    return quote(text, safe="")
