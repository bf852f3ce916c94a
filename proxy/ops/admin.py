"""Operational endpoints under ``/_dialect/``, a prefix no route may use.

``healthz`` says the process is alive; ``readyz`` that the config is loaded and every upstream
accepts a TCP connection (checked concurrently, at most once per second); ``metrics`` is the
Prometheus text format. They need no credentials and never touch an upstream's API.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

from proxy import codecs
from proxy.engine.upstream import Upstream
from proxy.http.messages import Request, Response
from proxy.ops.metrics import CONTENT_TYPE, Metrics
from proxy.settings.loader import Config

ADMIN_PREFIX = "/_dialect/"


class Admin:
    def __init__(self, config: Config, upstreams: dict[str, Upstream], metrics: Metrics) -> None:
        self.config, self.upstreams, self.metrics = config, upstreams, metrics
        self._ready: tuple[float, dict[str, str]] | None = None

    async def handle(self, request: Request) -> Response:
        name = request.path[len(ADMIN_PREFIX) :]
        if name == "healthz":
            return _json(200, {"status": "ok"})
        if name == "readyz":
            checks = await self._readiness()
            ok = all(v == "ok" for v in checks.values())
            return _json(
                200 if ok else 503, {"status": "ok" if ok else "unready", "upstreams": checks}
            )
        if name == "metrics":
            return Response(200, self.metrics.render(), content_type=CONTENT_TYPE)
        return _json(404, {"status": "not found"})

    async def _readiness(self) -> dict[str, str]:
        now = time.monotonic()
        if self._ready is not None and now - self._ready[0] < 1.0:
            return self._ready[1]
        names = list(self.config.model.upstreams)
        results = await asyncio.gather(*(self._reachable(n) for n in names))
        checks = dict(zip(names, results, strict=True))
        self._ready = (now, checks)
        return checks

    async def _reachable(self, name: str) -> str:
        upstream = self.upstreams.get(name)
        if upstream is None:
            return "not started"
        parts = urlsplit(upstream.base_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(parts.hostname, port), timeout=1.0
            )
        except (OSError, TimeoutError):
            return "unreachable"
        writer.close()
        return "ok"


def _json(status: int, body: object) -> Response:
    return Response(status, codecs.encode_json(body), content_type="application/json")
