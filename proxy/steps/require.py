"""``require``: fail with a chosen client error unless one of the paths holds a value.

This is how a façade answers a missing parameter the way its provider does (Twilio's 21604
"A 'To' phone number is required.") instead of passing it on and relaying a foreign error.
An empty string or empty list counts as missing, as it does for ``when: {exists: true}``.

Example::

    - op: require
      any_of: [Body, MediaUrl]
      error: {status: 400, code: 21602, message: "Message body is required."}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, PrivateAttr

from proxy.engine.exchange import Exchange
from proxy.pipeline.rules import present
from proxy.pipeline.step import Ref, Step, compiled
from proxy.steps.convert import ErrorSpec


class Require(Step):
    op: Literal["require"]
    any_of: list[str] = Field(min_length=1)
    error: ErrorSpec
    _refs: list[Ref] = PrivateAttr()

    def model_post_init(self, _: Any) -> None:
        compiled(self, "_refs", [Ref(p) for p in self.any_of])

    def apply(self, ex: Exchange, doc: Any) -> Any:
        for ref in self._refs:
            if present(ref.get(ex, doc)):
                return doc
        raise self.error.failure(ex, doc, f"none of {self.any_of} is present", self.any_of[0])
