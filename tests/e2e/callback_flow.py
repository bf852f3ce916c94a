"""The callback flows both end-to-end callback suites drive: an app of one style, the other
provider's strict carrier mock, and Dialect between them on loopback, with the SDK clients
pointed at Dialect."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import plivo
import plivo.rest.client as plivo_client
import pytest
from aiohttp.test_utils import TestServer
from twilio.rest import Client
from twilio.rest.api.v2010.account.call import CallInstance

from proxy.providers.carrier import Carrier
from proxy.providers.plivo.mock import (
    PLIVO_MOCK_CARRIER,
    PLIVO_MOCK_STATE,
    PlivoMockState,
    build_plivo_mock,
)
from proxy.providers.twilio.mock import TWILIO_MOCK_CARRIER, build_twilio_mock
from proxy.settings import load_config
from tests.callback_apps import App, free_port
from tests.conftest import ROOT
from tests.dialect_server import DialectTestServer
from tests.integration.conftest import PLIVO_ID, PLIVO_TOKEN, SID, TOKEN

TO, FROM = "+14155550111", "+14155550100"


@dataclass
class Flow:
    proxy: str
    app: App
    app_url: str
    carrier: Carrier
    plivo: PlivoMockState | None


async def _flow(
    style: str,
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    dialect_server: Callable[..., Awaitable[DialectTestServer]],
) -> Flow:
    """An app of ``style``, the other provider's carrier mock, and Dialect between them."""
    app = App(style, TOKEN if style == "twilio" else PLIVO_TOKEN)
    app_server = await aiohttp_server(app.application())
    if style == "twilio":
        mock = build_plivo_mock(PLIVO_ID, PLIVO_TOKEN)
        carrier, state = mock[PLIVO_MOCK_CARRIER], mock[PLIVO_MOCK_STATE]
        config_name, upstream_var = "twilio-over-plivo.yaml", "PLIVO_API_URL"
    else:
        mock = build_twilio_mock(SID, TOKEN)
        carrier, state = mock[TWILIO_MOCK_CARRIER], None
        config_name, upstream_var = "plivo-over-twilio.yaml", "TWILIO_API_URL"
    upstream = await aiohttp_server(mock)
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    env = {
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "PLIVO_AUTH_ID": PLIVO_ID,
        "PLIVO_AUTH_TOKEN": PLIVO_TOKEN,
        "PLIVO_TIMEZONE": "+05:30",  # the Plivo mock's account zone
        upstream_var: str(upstream.make_url("")).rstrip("/"),
        "DIALECT_PUBLIC_URL": public,
        "DIALECT_CALLBACK_SECRET": "callback-secret-for-tests",
    }
    config = load_config(ROOT / "config" / config_name, env=env)
    await dialect_server(config, port=port)
    return Flow(public, app, str(app_server.make_url("")).rstrip("/"), carrier, state)


@pytest.fixture
async def p_to_t(aiohttp_server: Any, dialect_server: Any) -> Flow:
    return await _flow("twilio", aiohttp_server, dialect_server)


@pytest.fixture
async def t_to_p(aiohttp_server: Any, dialect_server: Any) -> Flow:
    return await _flow("plivo", aiohttp_server, dialect_server)


def twilio_client(flow: Flow) -> Client:
    client = Client(SID, TOKEN, environment={"DIALECT_TEST": "1"})
    client.api.base_url = flow.proxy
    return client


def plivo_sdk(flow: Flow, monkeypatch: pytest.MonkeyPatch) -> plivo.RestClient:
    for name in (
        "PLIVO_API_BASE_URI",
        "API_VOICE_BASE_URI",
        "API_VOICE_BASE_URI_FALLBACK_1",
        "API_VOICE_BASE_URI_FALLBACK_2",
    ):
        monkeypatch.setattr(plivo_client, name, flow.proxy + "/v1/Account")
    return plivo.RestClient(PLIVO_ID, PLIVO_TOKEN)


async def twilio_call(
    flow: Flow, client: Client, to: str = TO, *, status: bool = True, **options: Any
) -> CallInstance:
    """A call placed through the twilio SDK, answered by the app's ``/voice/answer`` and, with
    ``status``, reported to its ``/voice/status``; ``options`` as the SDK takes them."""
    if status:
        options["status_callback"] = flow.app_url + "/voice/status"
    url = flow.app_url + "/voice/answer"
    return await asyncio.to_thread(
        lambda: client.calls.create(to=to, from_=FROM, url=url, **options)
    )


async def plivo_call(
    flow: Flow,
    client: plivo.RestClient,
    to: str = TO,
    *,
    hangup: bool = True,
    ring: bool = False,
    **options: Any,
) -> Any:
    """A call placed through the plivo SDK, answered by the app's ``/plivo/answer``, its
    hang-up (and, with ``ring``, its ringing) reported to the app; ``options`` as the SDK takes
    them. The SDK's answer (``request_uuid``)."""
    if hangup:
        options["hangup_url"] = flow.app_url + "/plivo/hangup"
    if ring:
        options["ring_url"] = flow.app_url + "/plivo/ring"
    answer = flow.app_url + "/plivo/answer"
    return await asyncio.to_thread(
        lambda: client.calls.create(from_=FROM, to_=to, answer_url=answer, **options)
    )
