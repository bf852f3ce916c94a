"""Callback URLs the carrier is given: the app's own URL sealed into a token under the proxy.

Why a token rather than a table: any replica with the same config can serve a callback with
no shared state, and the carrier cannot make Dialect call a host of its choosing, because
only Dialect can seal a token (see ``tokens``). One issuer per loaded config holds the key,
the public base and the host allow-list, so request steps and document translation seal URLs
the same way.

The issuer also remembers, within bounds, what it already worked out for a URL or a token: a
carrier calls back on the same few tokens for the same few app URLs all day, and both answers
are fixed for the life of one issuer (one key, one allow-list; a reload makes a new issuer).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping, Sequence

from proxy.callbacks.tokens import (
    Callback,
    InvalidToken,
    OpenedTokens,
    callback_url,
    check_url_allowed,
    make_token,
)

# The kind of a token that carries an app's document itself (Twilio's ``update(twiml=…)``):
# the relay serves it once, translated, and calls no app.
INLINE_KIND = "document"
# App URLs whose allow-list verdict is remembered (past this the oldest is forgotten), and the
# longest URL remembered: together they keep the memory under 2 MiB whatever clients send.
MAX_VERDICTS = 1024
MAX_VERDICT_URL = 2048


class CallbackRefused(ValueError):
    """An app URL Dialect will not call: not absolute http(s), or a host outside the list."""


class Issuer:
    def __init__(self, public_url: str, key: bytes, allow_hosts: Sequence[str]) -> None:
        self.public_url = public_url.rstrip("/")
        self._key = key
        self._allow_hosts = tuple(allow_hosts)
        # Inline documents are fetched once: remembering their tokens would only crowd out
        # the status URLs' tokens, which come back all day.
        self._opened = OpenedTokens(key, skip_kinds=frozenset((INLINE_KIND,)))
        self._verdicts: dict[str, bool] = {}

    @property
    def key(self) -> bytes:
        """Read-only: the tokens already opened were opened with this key."""
        return self._key

    @property
    def allow_hosts(self) -> tuple[str, ...]:
        """Read-only: the verdicts already given were given against these hosts."""
        return self._allow_hosts

    def allowed(self, url: str) -> bool:
        """Whether Dialect may call ``url`` (``tokens.check_url_allowed``), remembered per URL:
        the relay asks again for every callback, and the answer cannot change."""
        verdict = self._verdicts.get(url)
        if verdict is None:
            verdict = check_url_allowed(url, self._allow_hosts)
            if len(url) <= MAX_VERDICT_URL:
                if len(self._verdicts) >= MAX_VERDICTS:
                    del self._verdicts[next(iter(self._verdicts))]
                self._verdicts[url] = verdict
        return verdict

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
            return callback_url(self.public_url, make_token(callback, self._key))
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
            return callback_url(self.public_url, make_token(callback, self._key))
        except (InvalidToken, ValueError) as exc:
            raise CallbackRefused(str(exc)) from None

    def open(self, token: str) -> Callback:
        """The callback a token names; ``InvalidToken`` when it is forged or altered (see
        ``tokens.OpenedTokens`` for why a token opened before need not be checked again)."""
        return self._opened.open(token)


def _origin(url: str) -> str:
    """Scheme and host only: enough to say what was refused, never a path or a query."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0].rpartition('@')[2]}" if rest else "that URL"
