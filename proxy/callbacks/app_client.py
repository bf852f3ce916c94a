"""Calling the app: the request it gets, signed with its own token, over a small pool per
app origin.

Kept apart from the relay's flow because it is the only place callbacks touch the network on
the app's side: the URL check (``allow_hosts``), the signature the app's SDK validator must
accept, the deadline (``callbacks.app_timeout``) and the size cap on what the app answers.
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_plus, urlsplit, urlunsplit

from proxy.callbacks import signatures
from proxy.callbacks.issuer import Issuer
from proxy.http import client as http_client
from proxy.ops.logs import get_logger
from proxy.settings.models import Account, CallbackSettings

# App origins with an open connection pool; the least recently used is closed past this.
MAX_APP_POOLS = 64
# App URLs kept taken apart (the oldest forgotten past this), and the longest one kept.
MAX_TARGETS = 1024
MAX_TARGET_URL = 2048


class AppClient:
    def __init__(self, settings: CallbackSettings, issuer: Issuer) -> None:
        self.settings = settings
        self.issuer = issuer
        self.app_style = settings.app_style
        self.log = get_logger()
        self._pools: OrderedDict[str, http_client.Pool] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()
        self._targets: dict[str, AppTarget] = {}

    async def close(self) -> None:
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            await pool.close()
        await asyncio.gather(*self._closing, return_exceptions=True)

    def signed_request(
        self, url: str, method: str, params: Mapping[str, Any], account: Account
    ) -> tuple[str, bytes | None, dict[str, str]]:
        """The request the app gets: its URL (with the parameters, for GET), the form body
        (for POST) and the headers, signed with the client-side token over that exact URL."""
        request = self._signed(self._target(url), url, method, params, account)
        return request.url, request.body, request.headers

    async def call(
        self,
        url: str,
        method: str,
        params: Mapping[str, Any],
        account: Account,
        request_id: str,
    ) -> http_client.Response | None:
        """The app's answer, or None when it could not be had (down, slow, refused)."""
        if not self.issuer.allowed(url):
            self.log.warning("callback target not allowed", request_id=request_id)
            return None
        target = self._target(url)
        request = self._signed(target, url, method, params, account)
        headers = request.headers
        headers["X-Request-Id"] = request_id
        headers["User-Agent"] = "Dialect-Callbacks/1"
        try:
            pool = self._pool(target.origin)
            return await pool.request(
                method,
                target.path or "/",
                raw_query=request.query or None,
                headers=list(headers.items()),
                body=request.body,
                budget=self.settings.app_timeout,
                max_body=self.settings.max_document_bytes,
            )
        except (http_client.HTTPClientError, OSError, ValueError) as exc:
            self.log.warning("app unreachable", request_id=request_id, error=type(exc).__name__)
            return None

    def _signed(
        self,
        target: AppTarget,
        url: str,
        method: str,
        params: Mapping[str, Any],
        account: Account,
    ) -> SignedRequest:
        pairs = flat(params)
        body: bytes | None = None
        query = target.query
        if method == "GET":
            query = "&".join(q for q in (target.query, form_encode(pairs)) if q)
            url = urlunsplit((target.scheme, target.netloc, target.path, query, ""))
            signed_params: list[tuple[str, str]] = []
        else:
            body = form_encode(pairs).encode()
            signed_params = pairs
        secret = account.client.secret.get_secret_value()
        if self.app_style == "twilio":
            headers = signatures.twilio_headers(secret, url, signed_params)
        else:
            headers = signatures.plivo_headers(secret, url, method, pairs)
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        return SignedRequest(url, query, body, headers)

    def _target(self, url: str) -> AppTarget:
        """``url`` taken apart, once per app URL: a carrier calls back on the same few."""
        target = self._targets.get(url)
        if target is None:
            target = AppTarget(url)
            if len(url) <= MAX_TARGET_URL:
                if len(self._targets) >= MAX_TARGETS:
                    del self._targets[next(iter(self._targets))]
                self._targets[url] = target
        return target

    def _pool(self, origin: str) -> http_client.Pool:
        pool = self._pools.get(origin)
        if pool is not None:
            self._pools.move_to_end(origin)
            return pool
        pool = http_client.Pool(origin, limit=20, connect_timeout=self.settings.app_timeout)
        self._pools[origin] = pool
        while len(self._pools) > MAX_APP_POOLS:
            _, old = self._pools.popitem(last=False)
            task = asyncio.get_running_loop().create_task(old.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        return pool


class AppTarget:
    """An app URL in the parts a request to it needs (no fragment: one is never sent)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.scheme = parts.scheme
        self.netloc = parts.netloc
        self.path = parts.path
        self.query = parts.query
        self.origin = f"{parts.scheme}://{parts.netloc}"


class SignedRequest:
    """What the app is sent: the URL as signed, its raw query, the form body, the headers."""

    def __init__(self, url: str, query: str, body: bytes | None, headers: dict[str, str]) -> None:
        self.url = url
        self.query = query
        self.body = body
        self.headers = headers


def flat(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Parameters as form pairs: a list is a repeated name, None is left out."""
    out: list[tuple[str, str]] = []
    for name, value in params.items():
        if type(value) is str:  # nearly every parameter: no list, no conversion
            out.append((name, value))
            continue
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            if isinstance(item, bool):
                item = "true" if item else "false"
            out.append((name, str(item)))
    return out


def form_encode(pairs: list[tuple[str, str]]) -> str:
    """``urllib.parse.urlencode(pairs)``, the same bytes for a fraction of the work: most names
    and values need no quoting, and those skip ``quote_plus`` altogether."""
    return "&".join(_quoted(name) + "=" + _quoted(value) for name, value in pairs)


# What ``quote_plus`` leaves as it is (its always-safe set, with ``safe=""``), and what it makes
# of each ASCII character: itself, "+" for a space, "%XX" for the rest. Every code is in the
# table: ``str.translate`` is twice as slow when it has to look up codes that are missing.
_UNQUOTED = re.compile(r"[A-Za-z0-9_.~-]*")
_ASCII_QUOTED = {
    code: chr(code) if _UNQUOTED.fullmatch(chr(code)) else "+" if code == 0x20 else f"%{code:02X}"
    for code in range(128)
}


def _quoted(text: str) -> str:
    if _UNQUOTED.fullmatch(text):
        return text
    if text.isascii():  # "+1415…", dates, spaces: one table lookup per character
        return text.translate(_ASCII_QUOTED)
    return quote_plus(text)
