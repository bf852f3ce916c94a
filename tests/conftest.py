"""Shared fixtures: the shipped config's environment and the repository root."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from proxy.ops.logs import configure
from proxy.settings.loader import Config

if TYPE_CHECKING:
    from tests.dialect_server import DialectTestServer

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _plain_logging() -> None:
    """Every test starts with info-level console logs, whatever an earlier test configured."""
    configure("console", "info")


@pytest.fixture
async def dialect_server() -> AsyncIterator[Callable[[Config], Awaitable[DialectTestServer]]]:
    """Starts Dialect's own server for a config; every one started is closed at teardown."""
    from tests.dialect_server import DialectTestServer

    started: list[DialectTestServer] = []

    async def start(config: Config) -> DialectTestServer:
        server = DialectTestServer(config)
        await server.start_server()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        await server.close()
