"""The built-in Plivo-style mock is the tests' fake upstream: it must be as strict as Plivo."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import plivo
import plivo.rest.client as plivo_client
import pytest
from aiohttp.test_utils import TestClient

from proxy.providers.plivo.mock import PLIVO_MOCK_STATE, build_plivo_mock

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
    def scenario() -> None:
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
        call = client.calls.create(
            from_="+14155550100", to_="+14155550111", answer_url="http://e.x/a"
        )
        assert client.calls.get(call.request_uuid).call_uuid == call.request_uuid

    await asyncio.to_thread(scenario)
