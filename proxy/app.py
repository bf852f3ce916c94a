"""Builds the aiohttp application from a loaded config."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from proxy.handler import ProxyHandler
from proxy.logs import configure, set_secrets
from proxy.settings.loader import Config
from proxy.upstream import Upstream

UPSTREAMS_KEY = web.AppKey("upstreams", dict[str, Upstream])
CONFIG_KEY = web.AppKey("config", Config)
DEMO_RUNNERS_KEY = web.AppKey("demo_runners", list[web.AppRunner])


async def _start_demo_upstream(config: Config, name: str) -> tuple[str, web.AppRunner]:
    """``url: demo``: serve the built-in mock of the upstream's style on a free loopback port."""
    from proxy.demo.plivo_mock import build_plivo_mock
    from proxy.demo.twilio_mock import build_twilio_mock

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


def build_app(config: Config, *, configure_logging: bool = True) -> web.Application:
    if configure_logging:
        server = config.model.server
        configure(server.log_format, server.log_level)
    set_secrets(config.secrets)
    proxy = ProxyHandler(config, {})
    app = web.Application(
        middlewares=[proxy.middleware],
        client_max_size=config.model.server.limits.max_body_bytes,
    )
    app[CONFIG_KEY] = config
    app[UPSTREAMS_KEY] = proxy.upstreams
    app[DEMO_RUNNERS_KEY] = []

    async def upstream_sessions(app: web.Application) -> AsyncIterator[None]:
        for name, settings in config.model.upstreams.items():
            url = None
            if settings.url == "demo":
                url, runner = await _start_demo_upstream(config, name)
                app[DEMO_RUNNERS_KEY].append(runner)
            upstream = Upstream(name, settings, base_url=url)
            await upstream.start()
            proxy.upstreams[name] = upstream
        yield
        for upstream in proxy.upstreams.values():
            await upstream.close()
        for runner in app[DEMO_RUNNERS_KEY]:
            await runner.cleanup()

    app.cleanup_ctx.append(upstream_sessions)
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    return app
