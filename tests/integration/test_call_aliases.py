"""The request flow and the relay around id aliases, on the shipped Twilio-over-Plivo config:
a route without ``resolve`` never asks the store, one with it asks once, and a store that is
down fails neither a request nor a callback."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict, CIMultiDictProxy
from twilio.twiml.voice_response import VoiceResponse

from proxy.callbacks import signatures
from proxy.engine.handler import ProxyHandler
from proxy.engine.store import MemoryStore
from proxy.engine.upstream import Upstream
from proxy.http.messages import Request
from proxy.providers.plivo.mock import PLIVO_MOCK_STATE, PlivoMockState, build_plivo_mock
from proxy.providers.plivo.mock_resources import PLIVO_MOCK_RESOURCES
from proxy.settings import load_config
from tests.callback_apps import App, free_port, xml
from tests.conftest import ROOT
from tests.dialect_server import DialectTestServer
from tests.integration.conftest import AUTH, PLIVO_TOKEN, SID, TOKEN, facade_env

CALLS = f"/2010-04-01/Accounts/{SID}/Calls"


class Down(MemoryStore):
    """A store that is unreachable, and counts who asked it anything."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    async def claim(self, key: str, ttl: float) -> bool:
        self.asked.append(key)
        raise ConnectionError("store unreachable")

    async def get(self, key: str) -> bytes | None:
        self.asked.append(key)
        raise ConnectionError("store unreachable")


def own_sid(state: PlivoMockState) -> str:
    """A seeded call's own SID: CA + its call_uuid."""
    return "CA" + next(iter(state.calls)).replace("-", "")


async def test_only_a_route_that_resolves_asks_the_store_and_a_store_down_fails_nothing(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> None:
    mock = build_plivo_mock("MATESTAUTHID00000001", PLIVO_TOKEN)
    server = await aiohttp_server(mock)
    url = str(server.make_url("")).rstrip("/")
    config = load_config(ROOT / "config" / "twilio-over-plivo.yaml", env=facade_env(url))
    store = Down()
    handler = ProxyHandler(config, {}, store)
    upstream = Upstream("plivo", config.model.upstreams["plivo"])
    await upstream.start()
    handler.upstreams["plivo"] = upstream
    headers = CIMultiDictProxy(CIMultiDict(AUTH))
    try:
        listed = await handler.serve(Request("GET", CALLS + ".json?PageSize=2", headers))
        assert listed.status == 200 and store.asked == []
        sid = own_sid(mock[PLIVO_MOCK_STATE])
        fetched = await handler.serve(Request("GET", f"{CALLS}/{sid}.json", headers))
        assert fetched.status == 200, fetched.body
        assert b'"sid":"' + sid.encode() + b'"' in fetched.body
        assert store.asked == [f"alias:call:plivo:MATESTAUTHID00000001:{sid}"]
    finally:
        await upstream.close()


@dataclass
class Served:
    server: DialectTestServer
    app: App
    app_url: str
    state: PlivoMockState
    recordings: dict[str, dict[str, Any]]


@pytest.fixture
async def served(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    dialect_server: Callable[..., Awaitable[DialectTestServer]],
) -> Served:
    mock = build_plivo_mock("MATESTAUTHID00000001", PLIVO_TOKEN)
    upstream = await aiohttp_server(mock)
    app = App("twilio", TOKEN)
    answer = VoiceResponse()
    answer.say("Hello")
    app.answers["/voice"] = xml(answer)
    app_server = await aiohttp_server(app.application())
    port = free_port()
    env = facade_env(str(upstream.make_url("")).rstrip("/"))
    env["DIALECT_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    config = load_config(ROOT / "config" / "twilio-over-plivo.yaml", env=env)
    server = await dialect_server(config, port=port)
    return Served(
        server,
        app,
        str(app_server.make_url("/voice")),
        mock[PLIVO_MOCK_STATE],
        mock[PLIVO_MOCK_RESOURCES].recordings,
    )


async def answer_callback(served: Served, call_uuid: str) -> tuple[str, int]:
    """What Plivo sends to an answer URL, signed: a new request id for the call ``call_uuid``.
    The SID the app (and its create) knows the call by, and what Dialect answered."""
    request_uuid = str(uuid.uuid1())
    plan = served.server.config.callbacks
    assert plan is not None
    url = plan.issuer.issue("call-answer", served.app_url, "POST", SID)
    params = {
        "CallUUID": call_uuid,
        "RequestUUID": request_uuid,
        "From": "14155550100",
        "To": "14155550111",
        "Direction": "outbound",
        "CallStatus": "in-progress",
    }
    nonce = signatures.new_nonce()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        signatures.PLIVO_V3: signatures.plivo_v3_signature(
            PLIVO_TOKEN, url, "POST", list(params.items()), nonce
        ),
        signatures.PLIVO_V3_NONCE: nonce,
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=urlencode(params), headers=headers) as resp,
    ):
        await resp.read()
        return "CA" + request_uuid.replace("-", ""), resp.status


async def get(server: DialectTestServer, path: str) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{server.url}/2010-04-01/Accounts/{SID}{path}", headers=AUTH) as resp,
    ):
        return resp.status, await resp.json()


async def test_a_verified_callback_makes_the_request_sid_fetch_the_call(served: Served) -> None:
    server, app, state = served.server, served.app, served.state
    call_uuid = next(iter(served.recordings.values()))["call_uuid"]  # a call with recordings
    request_sid, status = await answer_callback(served, call_uuid)
    assert status == 200
    assert (await app.wait_for("/voice"))[0].params["CallSid"] == request_sid
    assert server.live is not None and server.live.current.relay is not None
    await server.live.current.relay.aliases.settle()
    found, body = await get(server, f"/Calls/{request_sid}.json")
    assert found == 200 and body["sid"] == request_sid
    assert body["to"] == "+" + state.calls[call_uuid]["to_number"]
    # The call's recordings, under the call and filtered by it: named by the SID asked for.
    mine = sorted(
        "RE" + r["recording_id"].replace("-", "")
        for r in served.recordings.values()
        if r["call_uuid"] == call_uuid
    )
    for path in (
        f"/Calls/{request_sid}/Recordings.json",
        f"/Recordings.json?CallSid={request_sid}",
    ):
        found, page = await get(server, path)
        assert found == 200 and sorted(r["sid"] for r in page["recordings"]) == mine
        assert {r["call_sid"] for r in page["recordings"]} == {request_sid}


async def test_a_store_that_is_down_does_not_fail_the_callback(served: Served) -> None:
    server, app, state = served.server, served.app, served.state
    assert server.live is not None and server.live.current.relay is not None
    relay = server.live.current.relay
    relay.aliases.store = down = Down()
    request_sid, status = await answer_callback(served, next(iter(state.calls)))
    assert status == 200  # the carrier got the app's document
    received = (await app.wait_for("/voice"))[0]
    assert received.valid and received.params["CallSid"] == request_sid
    await relay.aliases.settle()
    assert len(down.asked) == 1  # it was tried, and failed
    found, body = await get(server, f"/Calls/{request_sid}.json")
    assert found == 404 and body["code"] == 20404  # nothing recorded: the SID used as it is
