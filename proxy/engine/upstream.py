"""The one seam where the proxy talks to the network.

One keep-alive connection pool per upstream (``proxy.http.client``), created when the app
starts and closed with it. Every transport failure becomes a :class:`ProxyError` subclass
here, so the handler never sees a client exception and the client always gets an answer in
its style.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import time

from multidict import CIMultiDict, CIMultiDictProxy

from proxy.engine.errors import (
    UpstreamError,
    UpstreamTimeout,
    UpstreamTooLarge,
    UpstreamUnreachable,
)
from proxy.http import client as http_client
from proxy.settings.models import UpstreamSettings


class RawReply:
    # A plain class, not a dataclass: compiled, a dataclass's generated __init__ stays
    # interpreted Python, and one is made per upstream call.
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: CIMultiDictProxy[str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class Upstream:
    def __init__(self, name: str, settings: UpstreamSettings, base_url: str | None = None) -> None:
        self.name = name
        self.settings = settings
        self.base_url = (base_url or settings.url).rstrip("/")
        self._pool: http_client.Pool | None = None

    async def start(self) -> None:
        self._pool = http_client.Pool(
            self.base_url,
            limit=self.settings.max_connections,
            connect_timeout=self.settings.timeout.connect,
            idle_timeout=self.settings.keepalive_idle,
        )

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @property
    def pool(self) -> http_client.Pool:
        if self._pool is None:
            raise RuntimeError(f"upstream {self.name!r} is not started")
        return self._pool

    async def send_with_retries(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]],
        headers: CIMultiDict[str],
        body: bytes | None,
        deadline: float | None = None,
    ) -> RawReply:
        """``send``, retried for idempotent reads only (GET, HEAD) when the upstream settings
        ask for it: on a failed connection, a timeout, or 502/503/504, with exponential
        backoff. A POST is never retried: the upstream may have acted on it."""
        retry = self.settings.retries
        attempts = retry.attempts if method in RETRYABLE_METHODS else 1
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            try:
                reply = await self.send(
                    method, path, query=query, headers=headers, body=body, deadline=deadline
                )
            except (UpstreamUnreachable, UpstreamTimeout):
                if last:
                    raise
            else:
                if last or reply.status not in RETRYABLE_STATUS:
                    return reply
            pause = retry.backoff * 2 ** (attempt - 1)
            if deadline is not None and time.monotonic() + pause >= deadline:
                raise UpstreamTimeout(log_detail=f"{self.name}: no time left to retry")
            await _pause(pause)
        raise AssertionError("unreachable")  # pragma: no cover

    async def send(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]],
        headers: CIMultiDict[str],
        body: bytes | None,
        raw_query: str | None = None,
        deadline: float | None = None,
    ) -> RawReply:
        """One request. ``deadline`` (``time.monotonic()``) bounds it when several calls
        share the upstream's total timeout; otherwise the whole timeout is its own."""
        budget = self.settings.timeout.total
        if deadline is not None:
            budget = deadline - time.monotonic()
            if budget <= 0:
                raise UpstreamTimeout(log_detail=f"{self.name}: the exchange's time is up")
        try:
            response = await self.pool.request(
                method,
                path,
                query=query,
                raw_query=raw_query,
                headers=headers.items(),
                body=body,
                budget=budget,
                max_body=self.settings.max_body_bytes,
            )
        # One name per clause: compiled, an ``except`` name keeps the first clause's type.
        except http_client.BodyTooLarge as large:
            raise UpstreamTooLarge(log_detail=str(large)) from None
        except (http_client.ResponseTimeout, http_client.ConnectTimeout) as late:
            raise UpstreamTimeout(log_detail=f"{self.name}: timed out: {late}") from None
        except http_client.ConnectFailed as refused:
            detail = f"{self.name}: connect failed: {refused}"
            raise UpstreamUnreachable(log_detail=detail) from None
        except http_client.IncompleteBody as truncated:
            raise UpstreamError(
                "The upstream service sent an incomplete or malformed body.",
                log_detail=f"{self.name}: payload error: {truncated}",
            ) from None
        except (http_client.HTTPClientError, ValueError) as broken:
            raise UpstreamError(
                "The upstream service closed the connection or answered malformed HTTP.",
                log_detail=f"{self.name}: {broken.__class__.__name__}: {broken}",
            ) from None
        return RawReply(response.status, response.headers, response.body)


RETRYABLE_METHODS = frozenset({"GET", "HEAD"})
RETRYABLE_STATUS = frozenset({502, 503, 504})


async def _pause(seconds: float) -> None:
    await asyncio.sleep(seconds)


@functools.lru_cache(maxsize=256)
def basic_auth(user: str, secret: str) -> str:
    """The header for an account's upstream credentials, encoded once per account."""
    token = base64.b64encode(f"{user}:{secret}".encode()).decode("ascii")
    return f"Basic {token}"
