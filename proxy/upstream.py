"""The one seam where the proxy talks to the network.

One pooled ``aiohttp.ClientSession`` per upstream, created in the app's cleanup context and
closed with it. Every transport failure becomes a :class:`ProxyError` subclass here, so the
handler never sees an aiohttp exception and the client always gets an answer in its style.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

from proxy.errors import UpstreamError, UpstreamTimeout, UpstreamTooLarge, UpstreamUnreachable
from proxy.settings.models import UpstreamSettings


@dataclass(slots=True)
class RawReply:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes


class Upstream:
    def __init__(self, name: str, settings: UpstreamSettings, base_url: str | None = None) -> None:
        self.name = name
        self.settings = settings
        self.base_url = (base_url or settings.url).rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        t = self.settings.timeout
        connector = aiohttp.TCPConnector(
            limit=self.settings.max_connections, limit_per_host=self.settings.max_connections
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=t.total, sock_connect=t.connect, connect=t.connect),
            auto_decompress=True,
            # The proxy forwards what it chooses; it never carries cookies between clients.
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("User-Agent",),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError(f"upstream {self.name!r} is not started")
        return self._session

    async def send_with_retries(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]],
        headers: CIMultiDict[str],
        body: bytes | None,
    ) -> RawReply:
        """``send``, retried for idempotent reads only (GET, HEAD) when the upstream settings
        ask for it: on a failed connection, a timeout, or 502/503/504, with exponential
        backoff. A POST is never retried: the upstream may have acted on it."""
        retry = self.settings.retries
        attempts = retry.attempts if method in RETRYABLE_METHODS else 1
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            try:
                reply = await self.send(method, path, query=query, headers=headers, body=body)
            except (UpstreamUnreachable, UpstreamTimeout):
                if last:
                    raise
            else:
                if last or reply.status not in RETRYABLE_STATUS:
                    return reply
            await _pause(retry.backoff * 2 ** (attempt - 1))
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
    ) -> RawReply:
        url = self.base_url + path
        if raw_query:
            url += "?" + raw_query
        limit = self.settings.max_body_bytes
        try:
            async with self.session.request(
                method,
                url,
                params=query or None,
                headers=headers,
                data=body,
                allow_redirects=False,
            ) as resp:
                declared = resp.content_length
                if declared is not None and declared > limit:
                    raise UpstreamTooLarge(log_detail=f"Content-Length {declared} > {limit}")
                chunks: list[bytes] = []
                size = 0
                async for chunk in resp.content.iter_chunked(65536):
                    size += len(chunk)
                    if size > limit:
                        raise UpstreamTooLarge(log_detail=f"body over {limit} bytes")
                    chunks.append(chunk)
                return RawReply(resp.status, resp.headers, b"".join(chunks))
        except UpstreamError:
            raise
        except TimeoutError:
            raise UpstreamTimeout(log_detail=f"{self.name}: timed out") from None
        except aiohttp.ClientConnectorError as exc:
            raise UpstreamUnreachable(
                log_detail=f"{self.name}: connect failed: {exc.os_error.__class__.__name__}",
            ) from None
        except aiohttp.ClientPayloadError as exc:
            raise UpstreamError(
                "The upstream service sent an incomplete or malformed body.",
                log_detail=f"{self.name}: payload error: {exc.__class__.__name__}",
            ) from None
        except (aiohttp.ClientError, asyncio.IncompleteReadError, ConnectionError) as exc:
            raise UpstreamError(
                "The upstream service closed the connection or answered malformed HTTP.",
                log_detail=f"{self.name}: {exc.__class__.__name__}",
            ) from None


RETRYABLE_METHODS = frozenset({"GET", "HEAD"})
RETRYABLE_STATUS = frozenset({502, 503, 504})


async def _pause(seconds: float) -> None:
    await asyncio.sleep(seconds)


def basic_auth(user: str, secret: str) -> str:
    token = base64.b64encode(f"{user}:{secret}".encode()).decode("ascii")
    return f"Basic {token}"
