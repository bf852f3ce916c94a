"""``dialect translate --callback`` and ``--document``: the relay's translations, offline.

A user writing a callback pipeline or checking how an app's TwiML lands on Plivo wants to see
the result without a carrier, an app or a server. These run the same code the relay runs
(parameter steps, signing for the app, document translation with every URL sealed), on input
from a file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from proxy.callbacks.relay import Refused, Relay, build_relay
from proxy.ops.metrics import Metrics
from proxy.providers.documents import translate as documents
from proxy.settings.loader import Config
from proxy.settings.models import Account


class OfflineError(Exception):
    """A usage problem: printed without a traceback."""


def _relay(config: Config) -> tuple[Relay, Account]:
    relay = build_relay(config, Metrics(), warn=False)
    if relay is None:
        raise OfflineError("the config has no 'callbacks:' block")
    if relay.default_account is None:
        raise OfflineError("the config has no account")
    return relay, relay.default_account


def translate_callback(
    config: Config, kind: str, params: Sequence[tuple[str, str]], url: str, method: str
) -> tuple[str, bytes | None, dict[str, str]]:
    """What the app at ``url`` would get for a carrier's callback of ``kind`` with ``params``:
    the URL, the body and the signed headers."""
    relay, account = _relay(config)
    compiled = relay.kinds.get(kind)
    if compiled is None:
        known = ", ".join(sorted(relay.kinds))
        raise OfflineError(f"no callback kind {kind!r} (kinds: {known})")
    try:
        app_params = relay.app_params(compiled, list(params), account, "offline")
    except Refused as exc:
        raise OfflineError(exc.reason) from None
    return relay.signed_request(url, method.upper(), app_params, account)


def translate_document(
    config: Config, body: bytes, url: str, incoming: Mapping[str, str]
) -> documents.Translated:
    """The app's document (TwiML or Plivo XML, by the config's app style) as the carrier
    would get it."""
    relay, account = _relay(config)
    return relay.translate_document(body, url, incoming, account)
