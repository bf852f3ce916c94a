"""A Plivo-style upstream (the strict mock) on loopback, and the proxy in front of it."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from proxy.providers.plivo.mock import PLIVO_MOCK_STATE, PlivoMockState, build_plivo_mock
from proxy.settings import load_config
from proxy.settings.loader import Config
from tests.conftest import ROOT
from tests.dialect_server import DialectTestServer

SID = "AC" + "a1" * 16
TOKEN = "twilio-token-for-tests"
PLIVO_ID = "MATESTAUTHID00000001"
PLIVO_TOKEN = "plivo-token-for-tests"


def basic(user: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


AUTH = basic(SID, TOKEN)


@dataclass
class Facade:
    client: TestClient[Any, Any]
    upstream: TestServer
    state: PlivoMockState


def facade_env(upstream_url: str) -> dict[str, str]:
    return {
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "PLIVO_AUTH_ID": PLIVO_ID,
        "PLIVO_AUTH_TOKEN": PLIVO_TOKEN,
        "PLIVO_API_URL": upstream_url,
        "PLIVO_TIMEZONE": "+05:30",  # the Plivo mock's account zone
    }


def facade_config(upstream: TestServer) -> Config:
    """The shipped Twilio-over-Plivo config, pointed at a loopback upstream."""
    url = str(upstream.make_url("")).rstrip("/")
    return load_config(ROOT / "config" / "twilio-over-plivo.yaml", env=facade_env(url))


@pytest.fixture
async def facade(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> Facade:
    mock = build_plivo_mock(PLIVO_ID, PLIVO_TOKEN)
    upstream = await aiohttp_server(mock)
    client = await aiohttp_client(DialectTestServer(facade_config(upstream)))
    return Facade(client, upstream, mock[PLIVO_MOCK_STATE])
