"""``calls.fetch`` over a Plivo-style upstream that has no record of a call in progress.

Plivo serves a call's record (CDR) once the call has ended; a call in progress is 404 there and
is served at the same path with ``?status=live``. The route asks for the record and, only on
that 404, for the live call (``then`` with ``on_status``): a scripted upstream answers each
case, and the client gets a Twilio Call, or Twilio's 20404 when Plivo knows neither.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from proxy.settings import load_config
from tests.conftest import ROOT
from tests.dialect_server import DialectTestServer
from tests.integration.conftest import AUTH, PLIVO_ID, SID, facade_env

CALL_UUID = "7a2b1c9e-0f4d-4c8b-9a51-3e6f2d8c4b10"
REQUEST_UUID = "d1e2f3a4-0b1c-11ef-8a9b-0242ac120002"
SID_ASKED = "CA" + CALL_UUID.replace("-", "")
FETCH = f"/2010-04-01/Accounts/{SID}/Calls/{SID_ASKED}.json"
UPSTREAM = f"/v1/Account/{PLIVO_ID}/Call/{CALL_UUID}/"

CDR = {
    "api_id": "a1",
    "answer_time": "2025-05-01 17:30:05+05:30",
    "bill_duration": 42,
    "billed_duration": 60,
    "call_direction": "outbound",
    "call_duration": 42,
    "call_state": "ANSWER",
    "call_uuid": CALL_UUID,
    "end_time": "2025-05-01 17:30:47+05:30",
    "from_number": "+14155550100",
    "initiation_time": "2025-05-01 17:30:00+05:30",
    "parent_call_uuid": None,
    "resource_uri": UPSTREAM,
    "to_number": "14155550111",
    "total_amount": "0.00850",
    "total_rate": "0.00850",
}
LIVE = {
    "api_id": "a2",
    "call_status": "in-progress",
    "call_uuid": CALL_UUID,
    "caller_name": "+14155550100",
    "direction": "outbound",
    "from": "14155550100",
    "to": "14155550111",
    "request_uuid": REQUEST_UUID,
    # The account's zone (+05:30 in these tests' env), no offset.
    "session_start": "2025-05-01 17:30:00.050872",
}
NOT_FOUND = {"api_id": "a3", "error": "not found"}


class Plivo:
    """Answers the record and the live call as scripted; remembers what it was asked."""

    def __init__(self, record: tuple[int, Any], live: tuple[int, Any]) -> None:
        self.record, self.live = record, live
        self.asked: list[tuple[str, dict[str, str]]] = []

    async def handle(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.asked.append((request.path, query))
        status, body = self.live if query.get("status") == "live" else self.record
        return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")


async def fetch(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]],
    plivo: Plivo,
) -> tuple[int, dict[str, Any]]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", plivo.handle)
    upstream = await aiohttp_server(app)
    env = facade_env(str(upstream.make_url("")).rstrip("/"))
    config = load_config(ROOT / "config" / "twilio-over-plivo.yaml", env=env)
    client = await aiohttp_client(DialectTestServer(config))
    resp = await client.get(FETCH, headers=AUTH)
    body: dict[str, Any] = await resp.json()
    return resp.status, body


async def test_an_ended_call_is_its_record_and_nothing_live_is_asked(
    aiohttp_server: Any, aiohttp_client: Any
) -> None:
    plivo = Plivo((200, CDR), (200, LIVE))
    status, body = await fetch(aiohttp_server, aiohttp_client, plivo)
    assert status == 200, body
    assert body["sid"] == SID_ASKED and body["status"] == "completed"
    assert body["duration"] == "42" and body["end_time"] == "Thu, 01 May 2025 12:00:47 +0000"
    assert plivo.asked == [(UPSTREAM, {})]


async def test_a_call_in_progress_is_its_live_state(
    aiohttp_server: Any, aiohttp_client: Any
) -> None:
    plivo = Plivo((404, NOT_FOUND), (200, LIVE))
    status, body = await fetch(aiohttp_server, aiohttp_client, plivo)
    assert status == 200, body
    assert plivo.asked == [(UPSTREAM, {}), (UPSTREAM, {"status": "live"})]
    assert body["sid"] == SID_ASKED and body["status"] == "in-progress"
    assert body["from"] == "+14155550100" and body["to"] == "+14155550111"
    assert body["direction"] == "outbound-api" and body["caller_name"] == "+14155550100"
    # session_start, 17:30 in the account's zone (+05:30), is 12:00 UTC.
    assert body["start_time"] == "Thu, 01 May 2025 12:00:00 +0000"
    assert body["date_created"] == body["date_updated"] == body["start_time"]
    assert body["duration"] is None and body["end_time"] is None
    assert body["account_sid"] == SID and body["uri"] == FETCH
    assert "session_start" not in body and "request_uuid" not in body


async def test_a_ringing_call_is_ringing(aiohttp_server: Any, aiohttp_client: Any) -> None:
    plivo = Plivo((404, NOT_FOUND), (200, {**LIVE, "call_status": "ringing"}))
    status, body = await fetch(aiohttp_server, aiohttp_client, plivo)
    assert status == 200 and body["status"] == "ringing"


async def test_a_call_neither_recorded_nor_live_is_twilios_20404(
    aiohttp_server: Any, aiohttp_client: Any
) -> None:
    plivo = Plivo((404, NOT_FOUND), (404, NOT_FOUND))
    status, body = await fetch(aiohttp_server, aiohttp_client, plivo)
    assert status == 404 and body["code"] == 20404 and body["status"] == 404
    assert set(body) == {"code", "message", "more_info", "status"}
    assert len(plivo.asked) == 2


async def test_another_failure_of_the_record_is_answered_as_it_is(
    aiohttp_server: Any, aiohttp_client: Any
) -> None:
    """Only a 404 means "not ended yet": a rejected credential is not retried as live."""
    plivo = Plivo(
        (401, {"api_id": "a4", "error": "Authentication credentials invalid"}), (200, LIVE)
    )
    status, body = await fetch(aiohttp_server, aiohttp_client, plivo)
    assert status == 502 and body["code"] == 20003
    assert plivo.asked == [(UPSTREAM, {})]
