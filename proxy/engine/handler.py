"""The outermost layer of a routed request: its answer, whatever happens, and its one log line.

This is where a request gets its id and where a failure anywhere below becomes an answer in the
client's style: every failure is a :class:`ProxyError`, and nothing else leaves. A bug is logged
with its type and answered 500, never shown. (Paths Dialect answers itself, ``/_dialect/…``,
never reach it: ``proxy.runtime.generation.Generation.serve`` dispatches them first, in one
place, one branch per prefix.)

The translated path below it, in order:

- ``intake``: route match → authenticate → decode the client's parameters once; then, for a
  route that declares ``resolve``, ``aliases`` looks the client's id up in the store (the one
  wait before the steps); then the request steps;
- ``idempotency``: for creates, the first outcome kept and replayed to retries;
- ``completion``: ``upstream_calls`` (plan, send, decode each reply once), then the response
  steps (or the route's error rules) and the one encode in the client's style and format.

One :class:`Exchange` carries the request through all of them.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
import uuid

from proxy import codecs
from proxy.engine import render
from proxy.engine.aliases import Resolver
from proxy.engine.completion import complete
from proxy.engine.errors import ProxyError
from proxy.engine.exchange import Exchange
from proxy.engine.idempotency import IdempotentCreates
from proxy.engine.intake import Intake, decoded_path
from proxy.engine.store import MemoryStore, Store
from proxy.engine.upstream import Upstream
from proxy.engine.upstream_calls import UpstreamCalls
from proxy.http.messages import Request, Response
from proxy.ops.logs import get_logger, log_request
from proxy.ops.metrics import Metrics
from proxy.ops.tracecontext import TraceContext
from proxy.settings.loader import Config

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

# Request ids: a random per-process prefix and a counter, 32 hex digits like a UUID. Unique
# across processes and restarts without a random read (a system call) per request.
_ID_PREFIX = uuid.uuid4().hex[:20]
_ID_COUNTER = itertools.count()


def new_request_id(incoming: str | None) -> str:
    if incoming and _REQUEST_ID.match(incoming):
        return incoming
    return f"{_ID_PREFIX}{next(_ID_COUNTER) & 0xFFFFFFFFFFFF:012x}"


class ProxyHandler:
    def __init__(
        self, config: Config, upstreams: dict[str, Upstream], store: Store | None = None
    ) -> None:
        self.config = config
        self.store: Store = store if store is not None else MemoryStore()
        # Filled by the generation as it starts each upstream; shared with the calls and admin.
        self.upstreams = upstreams
        self.log = get_logger()
        self.metrics = Metrics()
        self.intake = Intake(config)
        self.calls = UpstreamCalls(config, upstreams)
        self.creates = IdempotentCreates(self.store)
        self.aliases = Resolver(self.store, self.metrics)

    async def serve(self, request: Request, trace: TraceContext | None = None) -> Response:
        """The answer, in the client's style whatever happens; its metrics and its log line.
        ``trace`` (``proxy.ops.tracecontext``): its id goes on the log line; when the inspector
        watches the request, its steps are traced, and it learns the route and the error."""
        started = time.perf_counter()
        request_id = new_request_id(request.headers.get("X-Request-Id"))
        # Style and format stay "" until a route matches; a failure before that guesses them
        # from the path (_failure).
        ex = Exchange(request_id=request_id, fmt="", request=request)
        if trace is not None:
            ex.tracer = trace.steps
        error: ProxyError | None = None
        try:
            response = await self._exchange(ex)
        except ProxyError as exc:
            error = exc
        except asyncio.CancelledError:
            raise
        except Exception as bug:  # log it, never show it
            self.log.exception("unhandled", request_id=request_id, error=type(bug).__name__)
            error = ProxyError()
        if error is not None:
            response = self._failure(error, ex, request.target)
        headers = response.headers
        headers["X-Request-Id"] = request_id
        if ex.api_id is not None:
            headers["X-Api-Id"] = ex.api_id
        elapsed = time.perf_counter() - started
        self.metrics.observe(ex.route_name or None, response.status, elapsed, error)
        detail = (error.log_detail or error.message) if error else ex.error_detail
        log_request(
            {
                "request_id": request_id,
                "trace_id": trace.trace_id if trace is not None else None,
                "route": ex.route_name or None,
                "method": request.method,
                "path": decoded_path(request.path),
                "status": response.status,
                "upstream_status": ex.upstream_status or None,
                "upstream_ids": ex.upstream_api_ids or None,
                "api_id": ex.api_id,
                "latency_ms": round(elapsed * 1000, 2),
                "error": detail,
                "event": "request",
            }
        )
        if trace is not None:
            trace.route, trace.error = ex.route_name or None, detail
        return response

    async def _exchange(self, ex: Exchange) -> Response:
        route = self.intake.accept(ex)
        resolve = route.settings.resolve
        if resolve is not None:  # one store lookup, for the routes that ask for it
            await self.aliases.resolve(ex, resolve, route.settings.upstream)
        self.intake.run_request_steps(ex, route)
        if route.settings.idempotency is not None:
            return await self.creates.complete_once(ex, self.calls)
        return await complete(ex, self.calls)

    def reject(self, target: str | None, error: ProxyError) -> Response:
        """What the server answers itself (malformed HTTP, limits), in the client's style."""
        ex = Exchange(request_id=new_request_id(None), fmt="")
        response = self._failure(error, ex, target or "")
        response.headers["X-Request-Id"] = ex.request_id
        if ex.api_id is not None:
            response.headers["X-Api-Id"] = ex.api_id
        self.metrics.observe(None, response.status, 0.0, error)
        self.log.info(
            "refused",
            request_id=ex.request_id,
            path=decoded_path(target.partition("?")[0]) if target else None,
            status=response.status,
            error=error.log_detail or error.message,
        )
        return response

    def _failure(self, error: ProxyError, ex: Exchange, target: str) -> Response:
        """``error`` in the client's style; before a route matched, the style the path most
        likely speaks and the format its extension asks for."""
        if not ex.style or not ex.fmt:
            style, guess = self.config.router.style_for(target)
            ex.style = ex.style or style
            ex.fmt = (
                ex.fmt
                or _format_from_path(target.split("?", 1)[0])
                or (guess.settings.format.default if guess else "json")
            )
        return render.failure(error, ex)


def _format_from_path(path: str) -> str | None:
    """The format an unmatched request most likely wants, from its extension."""
    tail = path.rsplit("/", 1)[-1]
    ext = tail.rsplit(".", 1)[-1].lower() if "." in tail else ""
    return ext if ext in codecs.FORMATS else None
