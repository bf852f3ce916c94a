"""The built-in Plivo-style mock is the tests' fake upstream: it must be as strict as Plivo."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import plivo
import plivo.rest.client as plivo_client
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from proxy.providers.carrier import BUSY, UNANSWERED
from proxy.providers.plivo.mock import PLIVO_MOCK_CARRIER, PLIVO_MOCK_STATE, build_plivo_mock
from proxy.providers.plivo.mock_resources import PLIVO_MOCK_RESOURCES

AUTH_ID, TOKEN = "MAMOCKAUTHID00000001", "mock-token"
HEADERS = {"Authorization": "Basic " + base64.b64encode(f"{AUTH_ID}:{TOKEN}".encode()).decode()}
BASE = f"/v1/Account/{AUTH_ID}"


@pytest.fixture
async def mock(aiohttp_client: Any) -> TestClient[Any, Any]:
    client: TestClient[Any, Any] = await aiohttp_client(build_plivo_mock(AUTH_ID, TOKEN))
    return client


async def test_auth_must_match_credentials_and_path(mock: TestClient[Any, Any]) -> None:
    assert (await mock.get(f"{BASE}/Message/")).status == 401
    resp = await mock.get("/v1/Account/MAOTHER0000000000001/Message/", headers=HEADERS)
    assert resp.status == 401
    assert (await resp.json())["error"] == "Authentication credentials invalid"


async def test_trailing_slash_and_methods(mock: TestClient[Any, Any]) -> None:
    assert (await mock.get(f"{BASE}/Message", headers=HEADERS)).status == 404
    resp = await mock.delete(f"{BASE}/Message/", headers=HEADERS)
    assert resp.status == 405 and "api_id" in await resp.json()


async def test_limit_bounds_and_default_window(mock: TestClient[Any, Any]) -> None:
    for bad in ("0", "21", "x"):
        resp = await mock.get(f"{BASE}/Message/?limit={bad}", headers=HEADERS)
        assert resp.status == 400
    state = mock.server.app[PLIVO_MOCK_STATE]
    day = datetime.now(UTC) - timedelta(hours=24)
    recent = sum(datetime.fromisoformat(m["message_time"]) >= day for m in state.messages.values())
    body = await (await mock.get(f"{BASE}/Message/?limit=5", headers=HEADERS)).json()
    assert body["meta"]["total_count"] == recent < len(state.messages)
    assert body["meta"]["next"] == f"{BASE}/Message/?limit=5&offset=5"
    everything = await (
        await mock.get(
            f"{BASE}/Message/?limit=5&message_time__gte=2000-01-01 00:00", headers=HEADERS
        )
    ).json()
    assert everything["meta"]["total_count"] == len(state.messages)
    times = [datetime.fromisoformat(o["message_time"]) for o in everything["objects"]]
    assert times == sorted(times, reverse=True)


async def test_send_validates_and_reports_invalid_destinations(mock: TestClient[Any, Any]) -> None:
    post = mock.post
    resp = await post(
        f"{BASE}/Message/", json={"src": "14155550100", "dst": "123", "text": "x"}, headers=HEADERS
    )
    assert resp.status == 400
    assert (await resp.json())["error"] == "'123' is not a valid phone number."
    resp = await post(
        f"{BASE}/Message/",
        json={"src": "14155550100", "dst": "14155550111<bad", "text": "x"},
        headers=HEADERS,
    )
    assert resp.status == 202
    body = await resp.json()
    assert len(body["message_uuid"]) == 1 and body["invalid_number"] == ["bad"]
    resp = await post(f"{BASE}/Message/", data=b"src=1", headers=HEADERS)
    assert resp.status == 400
    resp = await post(f"{BASE}/Message/", json={"dst": "14155550111", "text": "x"}, headers=HEADERS)
    assert (await resp.json())["error"] == "src parameter is required"


@pytest.fixture
def patched_sdk(mock: TestClient[Any, Any]) -> Iterator[str]:
    names = (
        "PLIVO_API_BASE_URI",
        "API_VOICE_BASE_URI",
        "API_VOICE_BASE_URI_FALLBACK_1",
        "API_VOICE_BASE_URI_FALLBACK_2",
    )
    saved = {n: getattr(plivo_client, n) for n in names}
    url = str(mock.server.make_url("/v1/Account"))
    for n in names:
        setattr(plivo_client, n, url)
    yield url
    for n, v in saved.items():
        setattr(plivo_client, n, v)


async def test_real_plivo_sdk_against_the_mock(
    mock: TestClient[Any, Any], patched_sdk: str
) -> None:
    def scenario() -> tuple[str, str]:
        client = plivo.RestClient(AUTH_ID, TOKEN)
        sent = client.messages.create(src="+14155550100", dst="+14155550111", text="hello")
        uuid = sent.message_uuid[0]
        assert client.messages.get(uuid).message_uuid == uuid
        first = client.messages.list(limit=2, offset=0)
        assert len(first.objects) == 2
        seen = [m.message_uuid for m in client.messages]
        assert len(seen) == len(set(seen)) and uuid in seen
        with pytest.raises(plivo.exceptions.ValidationError, match="not a valid phone number"):
            client.messages.create(src="+14155550100", dst="12", text="x")
        # A call nobody answers: it rings until the test cancels it.
        call = client.calls.create(from_="+14155550100", to_=UNANSWERED, answer_url="http://e.x/a")
        # Plivo knows the call by its own call_uuid, not by the request id the create answered;
        # while it runs it is a live call, with no record yet.
        call_uuid = state.call_requests[call.request_uuid]
        for ident in (call.request_uuid, call_uuid):
            with pytest.raises(plivo.exceptions.ResourceNotFoundError):
                client.calls.get(ident)
        with pytest.raises(plivo.exceptions.ResourceNotFoundError):
            client.live_calls.get(call.request_uuid)
        live = client.live_calls.get(call_uuid)
        assert live.call_uuid == call_uuid and live.request_uuid == call.request_uuid
        assert live.call_status == "ringing" and live.to == UNANSWERED
        client.calls.cancel(call.request_uuid)
        return call.request_uuid, call_uuid

    def ended(request_uuid: str, call_uuid: str) -> None:
        client = plivo.RestClient(AUTH_ID, TOKEN)
        record = client.calls.get(call_uuid)
        assert record.call_uuid == call_uuid != request_uuid
        assert record.call_state == "CANCEL" and record.answer_time is None
        with pytest.raises(plivo.exceptions.ResourceNotFoundError):
            client.live_calls.get(call_uuid)

    state = mock.server.app[PLIVO_MOCK_STATE]
    ids = await asyncio.to_thread(scenario)
    async with asyncio.timeout(10):  # the carrier ends the canceled call and writes its record
        await mock.server.app[PLIVO_MOCK_CARRIER].log.done.wait()
    await asyncio.to_thread(ended, *ids)


# -- recordings, message media, numbers (``mock_resources``) ---------------------------------


async def test_other_resources_through_the_real_plivo_sdk(
    mock: TestClient[Any, Any], patched_sdk: str
) -> None:
    resources = mock.server.app[PLIVO_MOCK_RESOURCES]
    state = mock.server.app[PLIVO_MOCK_STATE]

    def scenario() -> None:
        client = plivo.RestClient(AUTH_ID, TOKEN)
        every = [r.recording_id for r in client.recordings]
        assert sorted(every) == sorted(resources.recordings) and len(every) >= 5
        one = client.recordings.get(every[0])
        assert one.recording_url.startswith("http://") and one.recording_url.endswith(
            f"{one.recording_id}.{one.recording_format}"
        )
        call = state.calls[one.call_uuid]
        assert int(one.recording_duration_ms.split(".")[0]) <= call["call_duration"] * 1000
        client.recordings.delete(every[0])
        with pytest.raises(plivo.exceptions.ResourceNotFoundError):
            client.recordings.get(every[0])
        mms = next(u for u, m in state.messages.items() if m["message_type"] == "mms")
        media = client.messages.get(mms).listMedia()
        assert media.objects and all(m.message_uuid == mms for m in media.objects)
        assert [n.number for n in client.numbers.list().objects] == ["14155550101", "14155550100"]
        found = client.numbers.search("US", type="tollfree", limit=3)
        assert [n.number for n in found.objects] == ["18335550400", "18335550401", "18335550402"]
        bought = client.numbers.buy(found.objects[0].number)
        assert bought.status == "fulfilled" and bought.numbers[0].status == "Success"
        with pytest.raises(plivo.exceptions.ValidationError, match="already rented"):
            client.numbers.buy(found.objects[0].number)
        assert client.numbers.update("18335550400", alias="Sales").message == "changed"
        assert client.numbers.get("18335550400").alias == "Sales"
        assert client.numbers.delete("18335550400") is None
        with pytest.raises(plivo.exceptions.ResourceNotFoundError):
            client.numbers.get("18335550400")

    await asyncio.to_thread(scenario)


async def test_other_resources_are_as_strict_as_plivo(mock: TestClient[Any, Any]) -> None:
    for path in ("/Recording", "/Number", "/PhoneNumber", "/Number/14155550100"):
        assert (await mock.get(f"{BASE}{path}", headers=HEADERS)).status == 404
    assert (await mock.get(f"{BASE}/Recording/")).status == 401
    assert (await mock.post(f"{BASE}/Recording/", json={}, headers=HEADERS)).status == 405
    assert (await mock.get(f"{BASE}/Number/?limit=21", headers=HEADERS)).status == 400
    resp = await mock.get(f"{BASE}/PhoneNumber/?type=local", headers=HEADERS)
    assert resp.status == 400 and (await resp.json())["error"] == "country_iso parameter is missing"
    resp = await mock.get(f"{BASE}/PhoneNumber/?country_iso=US&type=vanity", headers=HEADERS)
    assert resp.status == 400
    resp = await mock.post(f"{BASE}/PhoneNumber/14155550999/", json={}, headers=HEADERS)
    assert resp.status == 400 and "not available for purchase" in (await resp.json())["error"]
    resp = await mock.post(f"{BASE}/Number/14155550100/", data=b"alias=x", headers=HEADERS)
    assert resp.status == 400  # JSON bodies only
    resp = await mock.post(f"{BASE}/Number/14155550100/", json={"app_id": "AP12"}, headers=HEADERS)
    assert resp.status == 400
    unknown = f"{BASE}/Message/00000000-0000-0000-0000-000000000000/Media/"
    assert (await mock.get(unknown, headers=HEADERS)).status == 404
    resp = await mock.get(f"{BASE}/Recording/?add_time__gte=yesterday", headers=HEADERS)
    assert resp.status == 400


async def test_recording_and_media_files_are_public_in_their_own_format(
    mock: TestClient[Any, Any],
) -> None:
    resources = mock.server.app[PLIVO_MOCK_RESOURCES]
    record = next(iter(resources.recordings.values()))
    kept, other = (
        record["recording_format"],
        {"mp3": "wav", "wav": "mp3"}[record["recording_format"]],
    )
    resp = await mock.get(f"/media/Recording/{record['recording_id']}.{kept}")
    assert resp.status == 200 and resp.content_type.startswith("audio/")
    assert (await mock.get(f"/media/Recording/{record['recording_id']}.{other}")).status == 404
    muuid, items = next(iter(resources.media.items()))
    resp = await mock.get(f"/media/Message/{muuid}/Media/{items[0]['media_id']}")
    assert resp.status == 200 and resp.content_type == items[0]["content_type"]


# -- calls (``mock_calls``): a request id and the call's own id, as on the real carrier -------


async def test_a_call_has_a_request_id_and_its_own_call_id(
    mock: TestClient[Any, Any], aiohttp_server: Any
) -> None:
    # The answer holds the call live, as a caller on hold, while the test acts on it.
    app = await _listen(aiohttp_server, answer='<Response><Wait length="30"/></Response>')
    base, heard = app.base, app.heard
    created = await _create_call(mock, "14155550111", app, "answer", "hangup")
    assert created.status == 201
    request_uuid = (await created.json())["request_uuid"]
    await app.wait_for(1)
    answer = heard[0][1]
    call_uuid = answer["CallUUID"]
    assert (uuid.UUID(request_uuid).version, uuid.UUID(call_uuid).version) == (1, 4)
    assert answer["RequestUUID"] == answer["ALegRequestUUID"] == request_uuid
    assert answer["ALegUUID"] == call_uuid
    assert mock.server.app[PLIVO_MOCK_STATE].call_requests[request_uuid] == call_uuid

    # The call is known by its own id only; its request id finds nothing live or recorded.
    # While it runs it has no record (CDR) yet: only its live state, as on the real carrier.
    for ident in (request_uuid, call_uuid):
        assert (await mock.get(f"{BASE}/Call/{ident}/", headers=HEADERS)).status == 404
    gone = await mock.get(f"{BASE}/Call/{request_uuid}/?status=live", headers=HEADERS)
    assert gone.status == 404
    live = await mock.get(f"{BASE}/Call/{call_uuid}/?status=live", headers=HEADERS)
    assert live.status == 200
    shape = await live.json()
    session_start = shape.pop("session_start")
    assert shape.pop("api_id")
    assert shape == {
        "call_status": "in-progress",
        "call_uuid": call_uuid,
        "caller_name": "+14155550100",
        "direction": "outbound",
        "from": "14155550100",
        "to": "14155550111",
        "request_uuid": request_uuid,
    }
    # In the account's zone (+05:30), with no offset: the moment of the create.
    started = datetime.fromisoformat(session_start + "+05:30")
    assert session_start[10] == " " and abs(datetime.now(UTC) - started) < timedelta(minutes=1)
    odd = await mock.get(f"{BASE}/Call/{call_uuid}/?status=later", headers=HEADERS)
    assert odd.status == 400
    moved = {"legs": "aleg", "aleg_url": base + "/moved"}
    wrong = await mock.post(f"{BASE}/Call/{request_uuid}/", json=moved, headers=HEADERS)
    assert wrong.status == 404
    assert (await mock.delete(f"{BASE}/Call/{request_uuid}/", headers=HEADERS)).status == 404
    # Answered: no request left to cancel, by either id.
    for ident in (request_uuid, call_uuid):
        assert (await mock.delete(f"{BASE}/Request/{ident}/", headers=HEADERS)).status == 404
    assert (await mock.delete(f"{BASE}/Call/{call_uuid}/", headers=HEADERS)).status == 204
    await app.wait_for(2)
    path, hangup = heard[-1]
    assert path == "/hangup" and hangup["CallUUID"] == call_uuid
    assert hangup["RequestUUID"] == request_uuid
    # Ended: its record exists by the time the hang-up is heard, and it is no longer live.
    ended = await mock.get(f"{BASE}/Call/{call_uuid}/", headers=HEADERS)
    record = await ended.json()
    assert ended.status == 200 and record["call_uuid"] == call_uuid
    assert record["call_state"] == "ANSWER" and record["answer_time"] is not None
    assert record["call_duration"] == int(hangup["Duration"])
    live = await mock.get(f"{BASE}/Call/{call_uuid}/?status=live", headers=HEADERS)
    assert live.status == 404


async def test_a_ringing_call_is_canceled_by_its_request_id(
    mock: TestClient[Any, Any], aiohttp_server: Any
) -> None:
    app = await _listen(aiohttp_server)
    created = await _create_call(mock, UNANSWERED, app, "answer", "ring", "hangup")
    request_uuid = (await created.json())["request_uuid"]
    await app.wait_for(1)
    (path, ring) = app.heard[0]
    call_uuid = ring["CallUUID"]
    assert path == "/ring"
    assert (await mock.delete(f"{BASE}/Request/{call_uuid}/", headers=HEADERS)).status == 404
    assert (await mock.delete(f"{BASE}/Request/{request_uuid}/", headers=HEADERS)).status == 204
    await app.wait_for(2)
    path, hangup = app.heard[-1]
    assert path == "/hangup" and hangup["CallStatus"] == "cancel"
    assert hangup["RequestUUID"] == request_uuid


async def test_calls_nobody_answers_end_busy_or_unanswered_with_their_record(
    mock: TestClient[Any, Any], aiohttp_server: Any
) -> None:
    """The carrier's test numbers: BUSY ends at once, UNANSWERED rings for the create's
    ring_timeout; neither fetches its answer URL, and each leaves a record of how it ended."""
    app = await _listen(aiohttp_server)
    heard = app.heard
    bad = await _create_call(mock, UNANSWERED, app, "answer", ring_timeout=0)
    assert bad.status == 400
    state = mock.server.app[PLIVO_MOCK_STATE]
    for number, ring_timeout, status, call_state, code in (
        (BUSY, None, "busy", "BUSY", "3010"),
        (UNANSWERED, 1, "no-answer", "NO_ANSWER", "3000"),
    ):
        heard.clear()
        extra = {"ring_timeout": ring_timeout} if ring_timeout else {}
        created = await _create_call(mock, number, app, "answer", "hangup", **extra)
        assert created.status == 201
        call_uuid = state.call_requests[(await created.json())["request_uuid"]]
        await app.wait_for(1)
        [(path, hangup)] = heard
        assert path == "/hangup" and hangup["CallStatus"] == status
        assert hangup["HangupCauseCode"] == code and hangup["Duration"] == "0"
        assert "AnswerTime" not in hangup
        record = await (await mock.get(f"{BASE}/Call/{call_uuid}/", headers=HEADERS)).json()
        assert record["call_state"] == call_state and record["answer_time"] is None
        assert record["call_duration"] == 0 and record["hangup_cause_code"] == int(code)


class _Listener:
    """The app the carrier calls back: keeps each request's path and form, in order; answers
    ``/answer`` with ``answer`` when given, anything else with 204."""

    def __init__(self, answer: str | None) -> None:
        self.answer, self.base = answer, ""
        self.heard: list[tuple[str, dict[str, str]]] = []
        self.changed = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.heard.append((request.path, form))
        self.changed.set()
        if self.answer is not None and request.path == "/answer":
            return web.Response(text=self.answer, content_type="text/xml")
        return web.Response(status=204)

    async def wait_for(self, count: int) -> None:
        """Until ``count`` requests have been heard (10 s at most)."""
        async with asyncio.timeout(10):
            while len(self.heard) < count:
                self.changed.clear()
                await self.changed.wait()


async def _listen(aiohttp_server: Any, answer: str | None = None) -> _Listener:
    listener = _Listener(answer)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", listener.handle)
    server = await aiohttp_server(app)
    listener.base = str(server.make_url("")).rstrip("/")
    return listener


async def _create_call(
    mock: TestClient[Any, Any], to: str, app: _Listener, *events: str, **fields: Any
) -> Any:
    """``POST /Call/`` from the account's number, each of ``events`` (``answer``, ``ring``,
    ``hangup``) given its URL at the app, and ``fields``."""
    urls = {f"{event}_url": f"{app.base}/{event}" for event in events}
    body = {"from": "14155550100", "to": to, **urls, **fields}
    return await mock.post(f"{BASE}/Call/", json=body, headers=HEADERS)
