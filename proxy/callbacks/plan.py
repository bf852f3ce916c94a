"""What a loaded config says about callbacks, compiled: the token issuer, each kind's
parameter steps and document type, and the carrier's style. Built by ``proxy.settings`` when a
config loads; read by the relay."""

from __future__ import annotations

from collections.abc import Sequence

from proxy.callbacks.issuer import Issuer
from proxy.pipeline.step import Step


class CompiledKind:
    """A callback kind as the config describes it, with its steps compiled."""

    def __init__(self, name: str, document: str, steps: Sequence[Step]) -> None:
        self.name = name
        self.document = document
        self.steps = tuple(steps)


class CallbackPlan:
    """What a generation needs to serve callbacks. ``key_derived``: no explicit secret, so the
    token key comes from the account secrets (rotating one invalidates outstanding URLs)."""

    def __init__(
        self,
        issuer: Issuer,
        kinds: dict[str, CompiledKind],
        carrier_style: str,
        key_derived: bool,
    ) -> None:
        self.issuer = issuer
        self.kinds = kinds
        self.carrier_style = carrier_style
        self.key_derived = key_derived
