"""What serves requests: a generation per loaded config, and the live one a reload replaces."""

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
from proxy.ops.logs import configure, set_secrets
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

    def __init__(self, config: Config, store: Store) -> None:
        self.config = config
        self.handler = ProxyHandler(config, {}, store)
        self.relay = build_relay(config, self.handler.metrics, warn=True)
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
        self.inflight += 1
        self.idle.clear()
        try:
            # Paths Dialect answers itself, dispatched before any routing, here and only here:
            # one branch per prefix, the longer prefix first.
            target = request.target
            # Callbacks face the other way (carrier -> app) and answer carriers, not clients.
            if self.relay is not None and target.startswith(CALLBACK_PREFIX):
                request_id = new_request_id(request.headers.get("X-Request-Id"))
                return await self.relay.handle(request, request_id)
            if target.startswith(ADMIN_PREFIX):
                response = await self.admin.handle(request)
                response.headers["X-Request-Id"] = new_request_id(
                    request.headers.get("X-Request-Id")
                )
                return response
            # Everything else is a client's request for a route.
            return await self.handler.serve(request)
        finally:
            self.inflight -= 1
            if self.inflight == 0:
                self.idle.set()


class Live:
    """The generation currently serving, and the reload that replaces it."""

    def __init__(self, config: Config, *, configure_logging: bool) -> None:
        # The store outlives reloads: a retry after a reload still finds its first outcome.
        self.store = build_store(config)
        self.current = Generation(config, self.store)
        self.configure_logging = configure_logging
        self._retired: set[asyncio.Task[None]] = set()

    async def serve(self, request: Request) -> Response:
        # The generation is chosen once per request: a reload never changes it mid-flight.
        return await self.current.serve(request)

    def reject(self, target: str | None, error: ProxyError) -> Response:
        return self.current.handler.reject(target, error)

    async def start(self) -> None:
        await self.current.start()

    async def reload(self, config: Config) -> None:
        fresh = Generation(config, self.store)
        await fresh.start()
        if self.configure_logging:
            configure(config.model.server.log_format, config.model.server.log_level, buffered=True)
        set_secrets(config.secrets)
        old, self.current = self.current, fresh
        task = asyncio.create_task(old.close())
        self._retired.add(task)
        task.add_done_callback(self._retired.discard)

    async def close(self) -> None:
        await asyncio.gather(*self._retired, return_exceptions=True)
        await self.current.close(deadline=0)
        await self.store.close()


def build_store(config: Config) -> Store:
    settings = config.model.store
    if settings.backend == "redis":
        return RedisStore(settings.url, settings.prefix)
    return MemoryStore()
