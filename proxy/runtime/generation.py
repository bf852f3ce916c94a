"""What serves requests: a generation per loaded config, and the live one a reload replaces.

Every request gets its trace context here (``proxy.ops.tracecontext``: the ``traceparent`` it
came with, or a new one), set for the outbound calls made on its behalf. The inspector and
OpenTelemetry export, when on, watch routed requests and callbacks from here; when off, the
only cost is one attribute test per request.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from proxy.callbacks.relay import CALLBACK_PREFIX, build_relay
from proxy.engine.errors import ProxyError
from proxy.engine.handler import ProxyHandler, new_request_id
from proxy.engine.store import MemoryStore, RedisStore, Store
from proxy.engine.upstream import Upstream
from proxy.http.messages import Request, Response
from proxy.ops.admin import ADMIN_PREFIX, Admin
from proxy.ops.inspector import INSPECTOR_PREFIX, Inspector
from proxy.ops.logs import configure, get_logger, set_secrets
from proxy.ops.otel import OtelExport
from proxy.ops.tracecontext import CURRENT, TraceContext
from proxy.ops.tracecontext import start as start_trace
from proxy.settings.loader import Config


async def _start_demo_upstream(config: Config, name: str) -> tuple[str, web.AppRunner]:
    """``url: demo``: serve the built-in mock of the upstream's style on a free loopback port."""
    from proxy.providers.plivo.mock import build_plivo_mock
    from proxy.providers.twilio.mock import build_twilio_mock

    settings = config.model.upstreams[name]
    account = config.model.active_accounts[0].upstream if config.model.active_accounts else None
    secret = account.secret.get_secret_value() if account else "demo-token"
    if settings.style == "plivo":
        mock = build_plivo_mock(account.user if account else "MADEMO00000000000001", secret)
    else:
        mock = build_twilio_mock(account.user if account else "AC" + "de" * 16, secret)
    runner = web.AppRunner(mock, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return f"http://127.0.0.1:{port}", runner


class Generation:
    """One loaded config with its started upstreams: what a request is served by, start to end.

    A reload starts a new generation and swaps it in atomically; the old one is closed once its
    in-flight requests have finished (or after a deadline), so no request loses its upstream.
    """

    def __init__(
        self,
        config: Config,
        store: Store,
        inspector: Inspector | None = None,
        otel: OtelExport | None = None,
    ) -> None:
        self.config = config
        # Both outlive generations (Live keeps them); None when off.
        self.inspector = inspector
        self.otel = otel
        self.watching = inspector is not None or otel is not None
        self.handler = ProxyHandler(config, {}, store)
        self.relay = build_relay(config, self.handler.metrics, warn=True, store=store)
        self.admin = Admin(config, self.handler.upstreams, self.handler.metrics)
        self.demo_runners: list[web.AppRunner] = []
        self.inflight = 0
        self.idle = asyncio.Event()
        self.idle.set()

    async def start(self) -> None:
        for name, settings in self.config.model.upstreams.items():
            url = None
            if settings.url == "demo":
                url, runner = await _start_demo_upstream(self.config, name)
                self.demo_runners.append(runner)
            upstream = Upstream(name, settings, base_url=url)
            await upstream.start()
            self.handler.upstreams[name] = upstream

    async def close(self, deadline: float = 30.0) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.idle.wait(), timeout=deadline)
        for upstream in self.handler.upstreams.values():
            await upstream.close()
        if self.relay is not None:
            await self.relay.close()
        for runner in self.demo_runners:
            await runner.cleanup()

    async def serve(self, request: Request) -> Response:
        # Paths Dialect answers itself, dispatched before any routing, here and only here:
        # one branch per prefix, the longer prefix first.
        target = request.target
        inspector = self.inspector
        if inspector is not None and target.startswith(INSPECTOR_PREFIX):
            # Not in flight: a page's waiting poll must not hold a reload's old generation.
            return await inspector.handle(request)
        trace = start_trace(request.headers.get("traceparent"))
        token = CURRENT.set(trace)
        self.inflight += 1
        self.idle.clear()
        try:
            # Callbacks face the other way (carrier -> app) and answer carriers, not clients.
            if self.relay is not None and target.startswith(CALLBACK_PREFIX):
                if self.watching:
                    self._watch(request, trace, "callback")
                request_id = new_request_id(request.headers.get("X-Request-Id"))
                response = await self.relay.handle(request, request_id)
            elif target.startswith(ADMIN_PREFIX):
                response = await self.admin.handle(request)
                response.headers["X-Request-Id"] = new_request_id(
                    request.headers.get("X-Request-Id")
                )
                return response
            else:
                # Everything else is a client's request for a route.
                if self.watching:
                    self._watch(request, trace, "request")
                response = await self.handler.serve(request, trace)
        finally:
            CURRENT.reset(token)
            self.inflight -= 1
            if self.inflight == 0:
                self.idle.set()
        observer = trace.observer
        if observer is not None:
            observer.finished(trace, response)
        return response

    def _watch(self, request: Request, trace: TraceContext, kind: str) -> None:
        # OpenTelemetry first: it decides the ids the inspector then shows.
        if self.otel is not None:
            self.otel.watch(request, trace, kind)
        if self.inspector is not None:
            self.inspector.watch(request, trace, kind)


class Live:
    """The generation currently serving, and the reload that replaces it."""

    def __init__(self, config: Config, *, configure_logging: bool) -> None:
        # The store outlives reloads: a retry after a reload still finds its first outcome.
        self.store = build_store(config)
        # So do the inspector's history and the OpenTelemetry export, while the config keeps
        # them on.
        self.inspector: Inspector | None = None
        self.otel: OtelExport | None = None
        self.inspector, self.otel = self._observers(config)
        self.current = Generation(config, self.store, self.inspector, self.otel)
        self.configure_logging = configure_logging
        self._retired: set[asyncio.Task[None]] = set()

    def _observers(self, config: Config) -> tuple[Inspector | None, OtelExport | None]:
        """The inspector and the export ``config`` asks for, keeping those already on."""
        server = config.model.server
        settings = server.inspector
        inspector = self.inspector if settings.enabled else None
        if inspector is not None:
            inspector.configure(settings)
        elif settings.enabled:
            inspector = Inspector(settings, self.serve)
            log = get_logger()
            if settings.allow_remote:
                log.warning(
                    "THE INSPECTOR ANSWERS REMOTE CLIENTS (server.inspector.allow_remote): "
                    "anyone who reaches this port sees every exchange and can replay it",
                    path=INSPECTOR_PREFIX,
                )
            else:
                log.info("inspector on, for loopback clients", path=INSPECTOR_PREFIX)
        otel = (self.otel or OtelExport()) if server.opentelemetry else None
        return inspector, otel

    async def serve(self, request: Request) -> Response:
        # The generation is chosen once per request: a reload never changes it mid-flight.
        return await self.current.serve(request)

    def reject(self, target: str | None, error: ProxyError) -> Response:
        return self.current.handler.reject(target, error)

    async def start(self) -> None:
        await self.current.start()

    async def reload(self, config: Config) -> None:
        inspector, otel = self._observers(config)
        fresh = Generation(config, self.store, inspector, otel)
        await fresh.start()
        if self.inspector is not None and self.inspector is not inspector:
            self.inspector.close()  # turned off: its pages are answered, its history dropped
        self.inspector, self.otel = inspector, otel
        if self.configure_logging:
            configure(config.model.server.log_format, config.model.server.log_level, buffered=True)
        set_secrets(config.secrets)
        old, self.current = self.current, fresh
        task = asyncio.create_task(old.close())
        self._retired.add(task)
        task.add_done_callback(self._retired.discard)

    def stopping(self) -> None:
        """Shutdown has begun: the inspector's waiting polls are answered now, so that no
        page holds the server open."""
        if self.inspector is not None:
            self.inspector.close()

    async def close(self) -> None:
        self.stopping()
        await asyncio.gather(*self._retired, return_exceptions=True)
        await self.current.close(deadline=0)
        await self.store.close()


def build_store(config: Config) -> Store:
    settings = config.model.store
    if settings.backend == "redis":
        return RedisStore(settings.url, settings.prefix)
    return MemoryStore()
