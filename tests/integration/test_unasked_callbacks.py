"""The relay on a callback URL that names no app (the ``callback`` step's ``always``).

Plivo is always given ring and hang-up URLs, so that a call nobody answers, created with no
``StatusCallback``, still tells Dialect its own id. Such a callback, once its signature is
verified, records the id pair and is answered 204; no app is called. An unsigned one records
nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson
from aiohttp.test_utils import TestServer

from proxy.callbacks import signatures
from proxy.engine.aliases import alias_key
from proxy.engine.translate import translate
from proxy.settings import load_config
from tests.callback_apps import App, free_port
from tests.conftest import ROOT
from tests.dialect_server import DialectTestServer
from tests.integration.conftest import PLIVO_ID, PLIVO_TOKEN, TOKEN, facade_env


async def post(url: str, params: dict[str, str], *, sign: bool) -> int:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if sign:
        nonce = signatures.new_nonce()
        headers[signatures.PLIVO_V3] = signatures.plivo_v3_signature(
            PLIVO_TOKEN, url, "POST", list(params.items()), nonce
        )
        headers[signatures.PLIVO_V3_NONCE] = nonce
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=urlencode(params), headers=headers) as resp,
    ):
        await resp.read()
        return resp.status


async def test_a_hang_up_nobody_asked_for_records_the_call_and_calls_no_app(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    dialect_server: Callable[..., Awaitable[DialectTestServer]],
) -> None:
    app = App("twilio", TOKEN)
    app_server = await aiohttp_server(app.application())
    port = free_port()
    env = facade_env(f"http://127.0.0.1:{free_port()}")  # no upstream is called
    env["DIALECT_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    config = load_config(ROOT / "config" / "twilio-over-plivo.yaml", env=env)
    server = await dialect_server(config, port=port)
    app_url = str(app_server.make_url("/voice"))
    body = {"To": "+14155550111", "From": "+14155550100", "Url": app_url}
    sent = orjson.loads(translate(config, "calls.create", body, phase="request").body)["params"]

    request_uuid, call_uuid = str(uuid.uuid1()), str(uuid.uuid4())
    ended: dict[str, Any] = {
        "CallUUID": call_uuid,
        "RequestUUID": request_uuid,
        "From": "14155550100",
        "To": "14155550111",
        "Direction": "outbound",
        "CallStatus": "busy",
        "HangupCause": "USER_BUSY",
        "HangupCauseCode": "3010",
        "Duration": "0",
    }
    assert await post(sent["hangup_url"], ended, sign=False) == 403
    assert await post(sent["hangup_url"], ended, sign=True) == 204
    assert app.received == []

    live = server.live
    assert live is not None and live.current.relay is not None
    await live.current.relay.aliases.settle()
    key = alias_key("call", "plivo", PLIVO_ID, "CA" + request_uuid.replace("-", ""))
    assert await live.store.get(key) == ("CA" + call_uuid.replace("-", "")).encode()
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/_dialect/metrics") as resp,
    ):
        metrics = await resp.text()
    assert 'dialect_callbacks_total{kind="call-status",outcome="recorded"} 1.0' in metrics
    assert 'dialect_callbacks_total{kind="call-status",outcome="unsigned"} 1.0' in metrics
    assert 'dialect_alias_records_total{alias="call",outcome="recorded"} 1.0' in metrics
