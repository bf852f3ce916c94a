"""The config's schema: ``ConfigModel``, the whole file, and every section's models by name.

Each section lives in its own module (``upstream_models``, ``server_models``, ``route_models``,
``callback_models``, over ``model_base``); code outside the package imports them from here, so
that where a model is defined stays this package's business.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from proxy.settings.callback_models import (
    CallbackAlias,
    CallbackDocument,
    CallbackKind,
    CallbackSettings,
    NumberTarget,
)
from proxy.settings.model_base import StrictModel, Style
from proxy.settings.route_models import (
    ErrorRule,
    Format,
    FormatPolicy,
    Idempotency,
    Match,
    Resolve,
    RouteSettings,
    Styles,
    UncertainOutcome,
)
from proxy.settings.server_models import (
    InspectorSettings,
    Limits,
    ServerSettings,
    ServerTLS,
    StoreSettings,
)
from proxy.settings.upstream_models import (
    Account,
    CircuitBreaker,
    ClientCredentials,
    Credentials,
    Retries,
    Timeouts,
    UpstreamSettings,
    UpstreamTLS,
)

__all__ = [
    "Account",
    "CallbackAlias",
    "CallbackDocument",
    "CallbackKind",
    "CallbackSettings",
    "CircuitBreaker",
    "ClientCredentials",
    "ConfigModel",
    "Credentials",
    "ErrorRule",
    "Format",
    "FormatPolicy",
    "Idempotency",
    "InspectorSettings",
    "Limits",
    "Match",
    "NumberTarget",
    "Resolve",
    "Retries",
    "RouteSettings",
    "ServerSettings",
    "ServerTLS",
    "StoreSettings",
    "Style",
    "Styles",
    "Timeouts",
    "UncertainOutcome",
    "UpstreamSettings",
    "UpstreamTLS",
]


class ConfigModel(StrictModel):
    server: ServerSettings = ServerSettings()
    upstreams: dict[str, UpstreamSettings]
    accounts: list[Account] = Field(default_factory=list)

    @property
    def active_accounts(self) -> list[Account]:
        return [a for a in self.accounts if a.client.user]

    pipelines: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    error_maps: dict[str, list[ErrorRule]] = Field(default_factory=dict)
    store: StoreSettings = StoreSettings()
    callbacks: CallbackSettings | None = None
    routes: list[RouteSettings] = Field(min_length=1)
