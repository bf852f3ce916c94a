"""Operational endpoints under ``/_dialect/``, a prefix no route may use.

``healthz`` says the process is alive; ``readyz`` that the config is loaded and every upstream
accepts a connection as a request would open it: TCP, and for https upstreams the TLS handshake
with the upstream's CA, client certificate and server name, so that a certificate the proxy
cannot verify makes it unready rather than failing every request (checked concurrently, at most
once per second). ``readyz`` also shows each upstream's circuit breaker (``closed``, ``open``,
``half-open``) without changing readiness by it: every replica sees the same upstream, and one
taken out of service would answer nothing at all instead of a fast 503 in the client's style.
``metrics`` is the Prometheus text format. They need no credentials and never touch an
upstream's API.
"""

from __future__ import annotations

import asyncio
import time

from proxy import codecs
from proxy.engine.upstream import Upstream
from proxy.http.client import ConnectFailed, ConnectTimeout
from proxy.http.messages import Request, Response
from proxy.ops.metrics import CONTENT_TYPE, CircuitReport, Metrics
from proxy.settings.loader import Config

ADMIN_PREFIX = "/_dialect/"


class Admin:
    def __init__(self, config: Config, upstreams: dict[str, Upstream], metrics: Metrics) -> None:
        self.config, self.upstreams, self.metrics = config, upstreams, metrics
        self._ready: tuple[float, dict[str, str]] | None = None
        metrics.watch_circuits(self._circuits)

    async def handle(self, request: Request) -> Response:
        name = request.path[len(ADMIN_PREFIX) :]
        if name == "healthz":
            return _json(200, {"status": "ok"})
        if name == "readyz":
            checks = await self._readiness()
            ok = all(v == "ok" for v in checks.values())
            circuits = {name: state for name, (state, _, _) in self._circuits().items()}
            return _json(
                200 if ok else 503,
                {"status": "ok" if ok else "unready", "upstreams": checks, "circuits": circuits},
            )
        if name == "metrics":
            return Response(200, self.metrics.render(), content_type=CONTENT_TYPE)
        return _json(404, {"status": "not found"})

    def _circuits(self) -> CircuitReport:
        return {
            name: (up.breaker.state, up.breaker.opened, up.breaker.refused)
            for name, up in self.upstreams.items()
        }

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
        try:
            await upstream.pool.probe(1.0)
        except ConnectTimeout:
            return "unreachable"
        except ConnectFailed as failed:
            # A TLS failure says why (an unknown CA, a wrong name): the operator's next step.
            reason = str(failed)
            return reason if reason.startswith("TLS") else "unreachable"
        except RuntimeError:  # the pool is not started (or already closed)
            return "not started"
        return "ok"


def _json(status: int, body: object) -> Response:
    return Response(status, codecs.encode_json(body), content_type="application/json")
