"""The one seam where the proxy talks to the network.

One keep-alive connection pool per upstream (``proxy.http.client``), created when the app
starts and closed with it. Every transport failure becomes a :class:`ProxyError` subclass
here, so the handler never sees a client exception and the client always gets an answer in
its style. Every call passes the upstream's circuit breaker (``proxy.engine.breaker``) first,
and tells it how the upstream answered.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import time

from multidict import CIMultiDict, CIMultiDictProxy

from proxy.engine.breaker import Breaker
from proxy.engine.errors import (
    UpstreamError,
    UpstreamTimeout,
    UpstreamTooLarge,
    UpstreamUnavailable,
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
        self.breaker = Breaker(settings.breaker.failures, settings.breaker.cooldown)

    async def start(self) -> None:
        tls = self.settings.tls
        self._pool = http_client.Pool(
            self.base_url,
            limit=self.settings.max_connections,
            connect_timeout=self.settings.timeout.connect,
            idle_timeout=self.settings.keepalive_idle,
            # Read here, once: a PEM that does not load fails the start (or the reload).
            ssl_context=(
                http_client.client_tls_context(tls.ca_file, tls.cert_file, tls.key_file)
                if tls is not None
                else None
            ),
            server_name=tls.server_name if tls is not None else None,
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
        backoff. A POST is never retried: the upstream may have acted on it. Neither is an
        answer that says when to come back (``Retry-After``): that is the client's to honour,
        and an open circuit is not asked again."""
        retry = self.settings.retries
        attempts = retry.attempts if method in RETRYABLE_METHODS else 1
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            try:
                reply = await self.send(
                    method, path, query=query, headers=headers, body=body, deadline=deadline
                )
            except UpstreamUnavailable:
                raise
            except (UpstreamUnreachable, UpstreamTimeout):
                if last:
                    raise
            else:
                if last or reply.status not in RETRYABLE_STATUS or "Retry-After" in reply.headers:
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
        breaker = self.breaker
        wait = breaker.admit()
        if wait is not None:
            raise UpstreamUnavailable(wait, log_detail=f"{self.name}: the circuit is open")
        # Whether the breaker has been told; otherwise (cancelled, or refused by the proxy's
        # own budget before the upstream mattered) it is told the request was abandoned.
        told = False
        try:
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
                breaker.succeeded()  # it answered: too much, but it is alive
                told = True
                raise UpstreamTooLarge(log_detail=str(large)) from None
            except http_client.Overloaded as held:
                busy = UpstreamTooLarge(
                    "The proxy is holding too many large answers; retry shortly.",
                    status=503,
                    log_detail=f"{self.name}: {held}",
                )
                busy.retry_after = 1
                raise busy from None
            except (http_client.ResponseTimeout, http_client.ConnectTimeout) as late:
                breaker.failed()
                told = True
                raise UpstreamTimeout(log_detail=f"{self.name}: timed out: {late}") from None
            except http_client.ConnectFailed as refused:
                breaker.failed()
                told = True
                detail = f"{self.name}: connect failed: {refused}"
                raise UpstreamUnreachable(log_detail=detail) from None
            except http_client.IncompleteBody as truncated:
                breaker.failed()
                told = True
                raise UpstreamError(
                    "The upstream service sent an incomplete or malformed body.",
                    log_detail=f"{self.name}: payload error: {truncated}",
                ) from None
            except (http_client.HTTPClientError, ValueError) as broken:
                breaker.failed()
                told = True
                raise UpstreamError(
                    "The upstream service closed the connection or answered malformed HTTP.",
                    log_detail=f"{self.name}: {broken.__class__.__name__}: {broken}",
                ) from None
            breaker.observe(response.status)
            told = True
        finally:
            if not told:
                breaker.abandoned()
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
