"""Callback URLs the carrier is given: the app's own URL sealed into a token under the proxy.

Why a token rather than a table: any replica with the same config can serve a callback with
no shared state, and the carrier cannot make Dialect call a host of its choosing, because
only Dialect can seal a token (see ``tokens``). One issuer per loaded config holds the key,
the public base and the host allow-list, so request steps and document translation seal URLs
the same way.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping, Sequence

from proxy.callbacks.tokens import (
    Callback,
    InvalidToken,
    callback_url,
    check_url_allowed,
    make_token,
    parse_token,
)

# The kind of a token that carries an app's document itself (Twilio's ``update(twiml=…)``):
# the relay serves it once, translated, and calls no app.
INLINE_KIND = "document"


class CallbackRefused(ValueError):
    """An app URL Dialect will not call: not absolute http(s), or a host outside the list."""


class Issuer:
    def __init__(self, public_url: str, key: bytes, allow_hosts: Sequence[str]) -> None:
        self.public_url = public_url.rstrip("/")
        self.key = key
        self.allow_hosts = tuple(allow_hosts)

    def allowed(self, url: str) -> bool:
        return check_url_allowed(url, self.allow_hosts)

    def issue(
        self,
        kind: str,
        url: str,
        method: str,
        account: str,
        *,
        fallback_url: str | None = None,
        fallback_method: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> str:
        """The public URL that brings the carrier's callback for ``url`` back through Dialect."""
        for candidate in (url, fallback_url):
            if candidate is not None and not self.allowed(candidate):
                raise CallbackRefused(f"callbacks to {_origin(candidate)} are not allowed")
        try:
            callback = Callback(
                kind=kind,
                url=url,
                method=method.upper(),
                account=account,
                fallback_url=fallback_url,
                fallback_method=(fallback_method or "POST").upper() if fallback_url else None,
                extra=dict(extra or {}),
            )
            return callback_url(self.public_url, make_token(callback, self.key))
        except (InvalidToken, ValueError) as exc:
            raise CallbackRefused(str(exc)) from None

    def issue_document(self, document: str, account: str) -> str:
        """The public URL that hands ``document`` to the carrier once: sealed with a one-time
        id and the time it was issued, so the relay can refuse a replayed or stale fetch.
        Dialect answers it itself, so no host of the app's is involved or checked."""
        try:
            callback = Callback(
                kind=INLINE_KIND,
                url=self.public_url + "/",
                method="POST",
                account=account,
                extra={
                    "document": document,
                    "once": secrets.token_urlsafe(12),
                    "issued": str(int(time.time())),
                },
            )
            return callback_url(self.public_url, make_token(callback, self.key))
        except (InvalidToken, ValueError) as exc:
            raise CallbackRefused(str(exc)) from None

    def open(self, token: str) -> Callback:
        """The callback a token names; ``InvalidToken`` when it is forged, altered or stale."""
        return parse_token(token, self.key)


def _origin(url: str) -> str:
    """Scheme and host only: enough to say what was refused, never a path or a query."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0].rpartition('@')[2]}" if rest else "that URL"
