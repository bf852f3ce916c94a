"""Shared fixtures: the shipped config's environment and the repository root.

The session also says which build it tests, in its header and again after the results when the
compiled build is stale: ``import proxy`` then runs every compiled module from its source (see
``proxy.runtime.build_info``), so the tests test the code on disk, and the summary says that the
compiled build was not tested.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from proxy.ops.logs import configure
from proxy.runtime import build_info
from proxy.settings.loader import Config

if TYPE_CHECKING:
    from tests.dialect_server import DialectTestServer

ROOT = Path(__file__).resolve().parents[1]


def pytest_report_header() -> list[str]:
    return [build_info.describe()]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if build_info.STALE:
        terminalreporter.section("compiled build not tested", sep="!", red=True, bold=True)
        terminalreporter.write_line(build_info.STALE_REASON[0], red=True)


@pytest.fixture(autouse=True)
def _plain_logging() -> None:
    """Every test starts with info-level console logs, whatever an earlier test configured."""
    configure("console", "info")


@pytest.fixture
async def dialect_server() -> AsyncIterator[Callable[[Config], Awaitable[DialectTestServer]]]:
    """Starts Dialect's own server for a config; every one started is closed at teardown."""
    from tests.dialect_server import DialectTestServer

    started: list[DialectTestServer] = []

    async def start(config: Config, **kwargs: Any) -> DialectTestServer:
        server = DialectTestServer(config, **kwargs)
        await server.start_server()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        await server.close()
