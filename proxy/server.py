"""The listening side of ``dialect serve`` and ``dialect demo``: aiohttp's low-level server.

Dialect routes by its own config, so an ``aiohttp.web.Application`` only resolved one
catch-all route per request and ran it through a middleware chain before Dialect's own routing
started; measured under load, that cost about 30 µs of CPU per request, a tenth of a
translated fetch. ``aiohttp.web.Server`` hands each parsed request straight to the generation
currently serving. Everything else aiohttp's server does (HTTP parsing, keep-alive, limits on
the request line and headers, graceful shutdown of connections) is unchanged.

``build_app`` (an Application around the same generations) stays for tests that drive the
proxy in-process; the process tests drive this path through the real command.
"""

from __future__ import annotations

import asyncio
import gc
import signal
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.http_parser import RawRequestMessage
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler

from proxy.app import Live
from proxy.errors import ConfigError
from proxy.logs import configure, get_logger, set_secrets
from proxy.settings.loader import Config, load_config


async def serve(
    config: Config,
    *,
    host: str,
    port: int,
    config_path: str | None,
    reuse_port: bool = False,
    shutdown_timeout: float = 30.0,
    on_ready: Any = None,
) -> None:
    """Serve until SIGTERM or SIGINT; then stop accepting, let in-flight requests finish (up
    to ``shutdown_timeout``) and close the upstream pools. SIGHUP reloads ``config_path``."""
    server_settings = config.model.server
    configure(server_settings.log_format, server_settings.log_level)
    set_secrets(config.secrets)
    log = get_logger()
    live = Live(config, configure_logging=True)
    await live.current.start()
    loop = asyncio.get_running_loop()
    limit = server_settings.limits.max_body_bytes

    def make_request(
        message: RawRequestMessage,
        payload: StreamReader,
        protocol: RequestHandler,
        writer: AbstractStreamWriter,
        task: asyncio.Task[None],
    ) -> web.Request:
        return web.Request(message, payload, protocol, writer, task, loop, client_max_size=limit)

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        assert isinstance(request, web.Request)
        return await live.current.serve(request)

    server = web.Server(handle, request_factory=make_request, access_log=None)
    runner = web.ServerRunner(server, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    stop = asyncio.Event()
    pending: set[asyncio.Task[None]] = set()

    async def reload() -> None:
        assert config_path is not None
        try:
            fresh = load_config(config_path)
        except ConfigError as exc:
            log.error(
                "reload refused; the previous config keeps serving",
                config=config_path,
                problems=[f"{loc}: {msg}" for loc, msg in exc.problems],
            )
            return
        await live.reload(fresh)
        log.info("config reloaded", config=config_path, routes=len(fresh.router.routes))

    def on_hup() -> None:
        task = loop.create_task(reload())
        pending.add(task)
        task.add_done_callback(pending.discard)

    # Everything loaded so far (modules, the config, phone-number metadata) lives as long as
    # the process: moved out of the collector's generations, a full collection no longer walks
    # it while requests wait.
    gc.collect()
    gc.freeze()
    try:
        # Handlers before the socket: a SIGTERM that arrives once requests can come in always
        # takes the graceful path.
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if config_path is not None:
            loop.add_signal_handler(signal.SIGHUP, on_hup)
        site = web.TCPSite(runner, host, port, reuse_port=reuse_port or None)
        await site.start()
        if on_ready is not None:
            on_ready(runner.addresses)
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        await runner.cleanup()
        await asyncio.gather(*pending, return_exceptions=True)
        await live.close()
