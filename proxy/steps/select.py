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

from proxy.pipeline.paths import DataPath
from proxy.pipeline.step import Step, compiled, parse_path
from proxy.pipeline.writer import Writer


class Select(Step):
    op: Literal["select"]
    at: str = ""
    keys: list[str]
    default: Any = None
    skip_missing: bool = False
    _at: DataPath = PrivateAttr()

    def model_post_init(self, _: Any) -> None:
        compiled(self, "_at", parse_path(self.at))

    def emit(self, w: Writer) -> bool:
        w.select(self._at, self.keys, self.default, self.skip_missing)
        return True
