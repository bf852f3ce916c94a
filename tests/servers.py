"""Serving aiohttp apps from a background thread, for tests that drive them synchronously
(hypothesis, subprocess-free SDK calls)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from proxy.settings.loader import Config

if TYPE_CHECKING:
    from tests.dialect_server import DialectTestServer


class ServerThread:
    """An event loop in a thread; ``serve`` starts an app on a free loopback port."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.runners: list[web.AppRunner] = []
        self.dialects: list[DialectTestServer] = []

    def call(self, factory: Callable[[], Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(factory(), self.loop).result(timeout=30)

    def serve(self, build: Callable[[], web.Application]) -> str:
        async def start() -> str:
            runner = web.AppRunner(build(), access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.runners.append(runner)
            port = runner.addresses[0][1]
            return f"http://127.0.0.1:{port}"

        url: str = self.call(start)
        return url

    def serve_config(self, config: Config) -> str:
        """Dialect's own server for ``config``, as ``dialect serve`` runs it."""

        from tests.dialect_server import DialectTestServer

        async def start() -> str:
            server = DialectTestServer(config)
            await server.start_server()
            self.dialects.append(server)
            return server.url

        url: str = self.call(start)
        return url

    def close(self) -> None:
        async def stop() -> None:
            for server in reversed(self.dialects):
                await server.close()
            for runner in reversed(self.runners):
                await runner.cleanup()

        self.call(stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()
