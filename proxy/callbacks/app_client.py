"""Calling the app: the request it gets, signed with its own token, over a small pool per
app origin.

Kept apart from the relay's flow because it is the only place callbacks touch the network on
the app's side: the URL check (``allow_hosts``), the signature the app's SDK validator must
accept, the deadline (``callbacks.app_timeout``) and the size cap on what the app answers.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from proxy.callbacks import signatures
from proxy.callbacks.issuer import Issuer
from proxy.http import client as http_client
from proxy.ops.logs import get_logger
from proxy.settings.models import Account, CallbackSettings

# App origins with an open connection pool; the least recently used is closed past this.
MAX_APP_POOLS = 64


class AppClient:
    def __init__(self, settings: CallbackSettings, issuer: Issuer) -> None:
        self.settings = settings
        self.issuer = issuer
        self.app_style = settings.app_style
        self.log = get_logger()
        self._pools: OrderedDict[str, http_client.Pool] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()

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
        pairs = flat(params)
        parts = urlsplit(url)
        body: bytes | None = None
        if method == "GET":
            query = "&".join(q for q in (parts.query, urlencode(pairs)) if q)
            url = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
            signed_params: list[tuple[str, str]] = []
        else:
            body = urlencode(pairs).encode()
            signed_params = pairs
        secret = account.client.secret.get_secret_value()
        if self.app_style == "twilio":
            headers = signatures.twilio_headers(secret, url, signed_params)
        else:
            headers = signatures.plivo_headers(secret, url, method, pairs)
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        return url, body, headers

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
        url, body, headers = self.signed_request(url, method, params, account)
        headers["X-Request-Id"] = request_id
        headers["User-Agent"] = "Dialect-Callbacks/1"
        split = urlsplit(url)
        try:
            pool = self._pool(f"{split.scheme}://{split.netloc}")
            return await pool.request(
                method,
                split.path or "/",
                raw_query=split.query or None,
                headers=list(headers.items()),
                body=body,
                budget=self.settings.app_timeout,
                max_body=self.settings.max_document_bytes,
            )
        except (http_client.HTTPClientError, OSError, ValueError) as exc:
            self.log.warning("app unreachable", request_id=request_id, error=type(exc).__name__)
            return None

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


def flat(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Parameters as form pairs: a list is a repeated name, None is left out."""
    out: list[tuple[str, str]] = []
    for name, value in params.items():
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            if isinstance(item, bool):
                item = "true" if item else "false"
            out.append((name, str(item)))
    return out
