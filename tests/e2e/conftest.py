"""The real twilio SDK against the running proxy, in front of the strict Plivo mock on loopback.

SDK calls are blocking, so tests run them in a thread (``asyncio.to_thread``) while the proxy
and the upstream serve on the test's event loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from twilio.rest import Client

from proxy.providers.plivo.mock import PLIVO_MOCK_STATE, PlivoMockState, build_plivo_mock
from proxy.settings.loader import Config
from tests.dialect_server import DialectTestServer
from tests.e2e.callback_flow import p_to_t, t_to_p  # noqa: F401 - fixtures of the callback suites
from tests.integration.conftest import PLIVO_ID, PLIVO_TOKEN, SID, TOKEN, facade_config


@dataclass
class Stack:
    proxy_url: str
    state: PlivoMockState

    def client(self, sid: str = SID, token: str = TOKEN, **kw: Any) -> Client:
        # A non-empty environment isolates the SDK from TWILIO_EDGE/TWILIO_REGION in os.environ.
        client = Client(sid, token, environment={"DIALECT_TEST": "1"}, **kw)
        client.api.base_url = self.proxy_url
        return client


@pytest.fixture
async def stack(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    dialect_server: Callable[[Config], Awaitable[DialectTestServer]],
) -> Stack:
    mock = build_plivo_mock(PLIVO_ID, PLIVO_TOKEN)
    upstream = await aiohttp_server(mock)
    proxy = await dialect_server(facade_config(upstream))
    return Stack(str(proxy.make_url("")).rstrip("/"), mock[PLIVO_MOCK_STATE])
