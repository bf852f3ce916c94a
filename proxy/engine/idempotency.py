"""Idempotent creates: the first outcome of a create, replayed to its retries within a window.

A client that times out on a create cannot know whether the message went out; retrying it must
not send a second one. The first attempt claims a key in the store (the same caller, route and
key header, or without one the same body), and its outcome is kept once the upstream was (maybe)
reached; a retry waits for it and gets it byte for byte. Outcomes from before the upstream was
reached (a refused connection, a request the proxy itself refused) are not kept: nothing
happened, so a retry runs again. The store is shared by replicas when it is Redis.
"""

from __future__ import annotations

import asyncio
import hashlib
import time

from proxy import codecs
from proxy.engine import render
from proxy.engine.completion import complete
from proxy.engine.errors import ProxyError, UpstreamUnreachable
from proxy.engine.exchange import Exchange
from proxy.engine.store import PENDING, Store
from proxy.engine.upstream_calls import UpstreamCalls
from proxy.http.messages import Response

REPLAY_WAIT = 5.0  # seconds a retry waits for the first attempt's outcome
_REPLAYED_HEADERS = ("Content-Type", "X-Upstream-Api-Id", "Retry-After")


class IdempotentCreates:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def complete_once(self, ex: Exchange, calls: UpstreamCalls) -> Response:
        route, request = ex.route, ex.request
        assert route is not None and request is not None
        idem = route.settings.idempotency
        assert idem is not None
        explicit = request.headers.get(idem.header)
        window = idem.window if explicit else idem.body_window
        if window <= 0:
            return await complete(ex, calls)
        key = idempotency_key(route.name, ex, explicit)
        if not await self.store.claim(key, window):
            return await self._replay(key)
        try:
            response = await complete(ex, calls)
        except UpstreamUnreachable:
            await self.store.release(key)
            raise
        except ProxyError as exc:
            response = render.failure(exc, ex)
            ex.error_detail = exc.log_detail or exc.message
        await self.store.put(key, freeze(response), window)
        return response

    async def _replay(self, key: str) -> Response:
        deadline = time.monotonic() + REPLAY_WAIT
        while True:
            stored = await self.store.get(key)
            if stored is not None and stored != PENDING:
                return thaw(stored)
            if stored is None or time.monotonic() > deadline:
                raise ProxyError(
                    "A request with the same content is still being processed; retry later.",
                    status=409,
                )
            await asyncio.sleep(0.05)


def idempotency_key(route: str, ex: Exchange, explicit: str | None) -> str:
    """Same caller, same route, and the same key header (or, without one, the same body)."""
    who = ex.account.client.user if ex.account is not None else ""
    what = (
        "key:" + explicit if explicit else "body:" + codecs.encode_json_sorted(ex.original).decode()
    )
    return hashlib.sha256(f"{route}\0{who}\0{what}".encode()).hexdigest()


def freeze(response: Response) -> bytes:
    """A JSON line (status, replayed headers), then the body's bytes as they are. orjson writes
    no raw newline, so the first one ends the head."""
    headers = [(k, response.headers[k]) for k in _REPLAYED_HEADERS if k in response.headers]
    return (
        codecs.encode_json({"status": response.status, "headers": headers}) + b"\n" + response.body
    )


def thaw(stored: bytes) -> Response:
    head, _, body = stored.partition(b"\n")
    data = codecs.decode_json(head)
    response = Response(data["status"], body)
    for key, value in data["headers"]:
        response.headers[key] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response
