"""What a loaded config says about callbacks, compiled: the token issuer, each kind's
parameter steps and document type, and the carrier's style. Built by ``proxy.settings`` when a
config loads; read by the relay."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from proxy.callbacks.issuer import Issuer
from proxy.pipeline.step import Step

if TYPE_CHECKING:
    from proxy.callbacks.aliases import CompiledAlias

# The token ``extra`` that marks a callback URL the carrier is given with no app behind it (the
# ``callback`` step's ``always``): the relay verifies it, records what its kind records (its
# alias) and answers the carrier 2xx itself; no app is called.
NO_APP = "no-app"


class CompiledKind:
    """A callback kind as the config describes it, with its steps compiled; ``alias``: the id
    pair its callbacks carry, recorded for the routes that resolve (``callbacks.aliases``)."""

    def __init__(
        self,
        name: str,
        document: str,
        steps: Sequence[Step],
        alias: CompiledAlias | None = None,
    ) -> None:
        self.name = name
        self.document = document
        self.steps = tuple(steps)
        self.alias = alias


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
