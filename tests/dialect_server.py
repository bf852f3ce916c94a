"""Dialect's own server for a config, on a free loopback port, as ``dialect serve`` runs it.

``DialectTestServer`` plugs into pytest-aiohttp's ``aiohttp_client`` (it is an aiohttp
``BaseTestServer``), so integration tests drive the real listening side: the HTTP parser,
limits and refusals of ``proxy.http.server`` and the generation behind it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import BaseTestServer
from aiohttp.web_runner import BaseRunner
from yarl import URL

from proxy.http.server import HTTPServer
from proxy.ops.logs import set_secrets
from proxy.runtime.generation import Live
from proxy.settings.loader import Config


class DialectTestServer(BaseTestServer):
    def __init__(self, config: Config, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.live: Live | None = None
        self.server: HTTPServer | None = None

    async def start_server(self, loop: asyncio.AbstractEventLoop | None = None, **_: Any) -> None:
        if self.server is not None:
            return
        set_secrets(self.config.secrets)
        self.live = Live(self.config, configure_logging=False)
        await self.live.start()
        self.server = HTTPServer(
            self.live.serve, reject=self.live.reject, limits=self.config.model.server.limits
        )
        addresses = await self.server.start(self.host, self.port or 0)
        self.port = addresses[0][1]
        self.scheme = "http"
        self._root = URL(f"http://{self.host}:{self.port}")

    async def _make_runner(self, **kwargs: Any) -> BaseRunner:  # pragma: no cover - unused
        raise NotImplementedError

    @property
    def started(self) -> bool:
        return self.server is not None

    @property
    def url(self) -> str:
        return str(self.make_url("")).rstrip("/")

    async def close(self) -> None:
        if self.server is not None and not self.closed:
            await self.server.shutdown(0)
            assert self.live is not None
            await self.live.close()
            self._root = None
            self._closed = True
