"""The Twilio-style mock is the Plivo façade's fake upstream: the real twilio SDK must work
against it, and it must refuse what Twilio refuses (paging without the handed-out token)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from proxy.providers.twilio.mock import TWILIO_MOCK_STATE, build_twilio_mock
from tests.integration.conftest import basic

SID, TOKEN = "AC" + "b2" * 16, "mock-token"


@pytest.fixture
async def mock(aiohttp_client: Any) -> TestClient[Any, Any]:
    client: TestClient[Any, Any] = await aiohttp_client(build_twilio_mock(SID, TOKEN))
    return client


def sdk(mock: TestClient[Any, Any]) -> Client:
    client = Client(SID, TOKEN, environment={"DIALECT_TEST": "1"})
    client.api.base_url = str(mock.server.make_url("")).rstrip("/")
    return client


async def test_real_sdk_pages_through_next_page_uri(mock: TestClient[Any, Any]) -> None:
    client = sdk(mock)
    total = len(mock.server.app[TWILIO_MOCK_STATE].messages)
    records = await asyncio.to_thread(lambda: client.messages.list(page_size=7))
    assert len({m.sid for m in records}) == total
    dates = [m.date_created for m in records]
    assert dates == sorted(dates, reverse=True)


async def test_page_without_token_is_refused(mock: TestClient[Any, Any]) -> None:
    client = sdk(mock)
    with pytest.raises(TwilioException, match="Unable to fetch page"):
        await asyncio.to_thread(lambda: client.messages.page(page_number=2, page_size=5))
    resp = await mock.get(
        f"/2010-04-01/Accounts/{SID}/Messages.json?Page=1&PageSize=5",
        headers=basic(SID, TOKEN),
    )
    assert resp.status == 400
    assert (await resp.json())["message"] == "PageToken is required for paging."


async def test_create_validates_like_twilio(mock: TestClient[Any, Any]) -> None:
    client = sdk(mock)
    msg = await asyncio.to_thread(
        lambda: client.messages.create(to="+14155550111", from_="+14155550100", body="hi")
    )
    assert msg.sid.startswith("SM") and msg.status == "queued"
    assert (await asyncio.to_thread(lambda: client.messages(msg.sid).fetch())).body == "hi"
    with pytest.raises(TwilioRestException) as info:
        await asyncio.to_thread(
            lambda: client.messages.create(to="12", from_="+14155550100", body="hi")
        )
    assert info.value.code == 21211
    with pytest.raises(TwilioRestException) as info:
        await asyncio.to_thread(lambda: client.calls("CA" + "0" * 32).fetch())
    assert info.value.code == 20404
    call = await asyncio.to_thread(
        lambda: client.calls.create(to="+14155550111", from_="+14155550100", url="http://e.x/a")
    )
    assert call.sid.startswith("CA") and call.status == "queued"
