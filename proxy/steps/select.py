"""``select``: keep exactly the listed keys, in the listed order.

This is how a route guarantees a provider's full resource shape: every listed key is present
(missing ones get ``default``, null unless set; or, with ``skip_missing: true``, stay
absent, which is how a request whitelists the parameters an upstream accepts) and nothing
else survives, so upstream-only fields such as ``api_id`` can never leak to the client.

Example::

    - op: select
      keys: [account_sid, api_version, body, date_created, sid, status, to, uri]
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import PrivateAttr

from proxy.engine.exchange import Exchange
from proxy.pipeline import kernels
from proxy.pipeline.paths import DataPath
from proxy.pipeline.step import Step, StepFn, compiled, parse_path
from proxy.steps._targets import objects_at


class Select(Step):
    op: Literal["select"]
    at: str = ""
    keys: list[str]
    default: Any = None
    skip_missing: bool = False
    _at: DataPath = PrivateAttr()

    def model_post_init(self, _: Any) -> None:
        compiled(self, "_at", parse_path(self.at))

    def fast_apply(self) -> StepFn:
        if self._at.segments:
            return self.apply
        return kernels.select_keys(self.keys, self.default, self.skip_missing, self.apply)

    def apply(self, ex: Exchange, doc: Any) -> Any:
        for obj, _ in objects_at(doc, self._at):
            if self.skip_missing:
                kept = [(k, obj[k]) for k in self.keys if k in obj]
            else:
                kept = [(k, obj.get(k, self.default)) for k in self.keys]
            obj.clear()
            obj.update(kept)
        return doc
