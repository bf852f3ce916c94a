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
from proxy.providers.twilio.mock_resources import TWILIO_MOCK_RESOURCES
from tests.integration.conftest import basic
from tests.schemas import assert_fits, assert_list_fits

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


# -- recordings, media, numbers, balance, the account (``mock_resources``) --------------------

API = f"/2010-04-01/Accounts/{SID}"
SPEC = "/2010-04-01/Accounts/{AccountSid}"


async def test_other_resources_fit_twilios_own_description(mock: TestClient[Any, Any]) -> None:
    auth = basic(SID, TOKEN)

    async def get(path: str) -> Any:
        resp = await mock.get(path, headers=auth)
        assert resp.status == 200, await resp.text()
        return await resp.json()

    recordings = await get(f"{API}/Recordings.json?PageSize=2")
    assert_list_fits(recordings, f"{SPEC}/Recordings.json")
    for item in recordings["recordings"]:
        assert_fits(item, "api.v2010.account.recording")
    one = recordings["recordings"][0]
    of_call = await get(f"{API}/Calls/{one['call_sid']}/Recordings.json")
    assert_list_fits(of_call, f"{SPEC}/Calls/{{CallSid}}/Recordings.json")
    numbers = await get(f"{API}/IncomingPhoneNumbers.json")
    assert_list_fits(numbers, f"{SPEC}/IncomingPhoneNumbers.json")
    for item in numbers["incoming_phone_numbers"]:
        assert_fits(item, "api.v2010.account.incoming_phone_number")
    local = await get(f"{API}/AvailablePhoneNumbers/US/Local.json?PageSize=3")
    for item in local["available_phone_numbers"]:
        assert_fits(
            item, "api.v2010.account.available_phone_number_country.available_phone_number_local"
        )
    mms = next(
        m for m in mock.server.app[TWILIO_MOCK_STATE].messages.values() if m["num_media"] != "0"
    )
    media = await get(f"{API}/Messages/{mms['sid']}/Media.json")
    assert_list_fits(media, f"{SPEC}/Messages/{{MessageSid}}/Media.json")
    assert_fits(media["media_list"][0], "api.v2010.account.message.media")
    assert_fits(await get(f"{API}/Balance.json"), "api.v2010.account.balance")
    assert_fits(await get(f"{API}.json"), "api.v2010.account")


async def test_numbers_bought_updated_and_released_through_the_real_sdk(
    mock: TestClient[Any, Any],
) -> None:
    client = sdk(mock)

    def scenario() -> None:
        found = client.available_phone_numbers("US").local.list(contains="+1212", limit=2)
        assert [n.phone_number for n in found] == ["+12125550300", "+12125550301"]
        bought = client.incoming_phone_numbers.create(phone_number=found[0].phone_number)
        assert bought.sid.startswith("PN") and bought.phone_number == "+12125550300"
        with pytest.raises(TwilioRestException) as info:
            client.incoming_phone_numbers.create(phone_number="+12125550300")
        assert info.value.code == 21422
        by_area = client.incoming_phone_numbers.create(area_code="833")
        assert by_area.phone_number.startswith("+1833")
        with pytest.raises(TwilioRestException) as info:
            client.incoming_phone_numbers.create(area_code="999")
        assert info.value.code == 21452
        updated = client.incoming_phone_numbers(bought.sid).update(friendly_name="Desk")
        assert updated.friendly_name == "Desk"
        with pytest.raises(TwilioRestException) as info:
            client.incoming_phone_numbers(bought.sid).update(voice_application_sid="AP12")
        assert info.value.code == 21606
        assert client.incoming_phone_numbers(bought.sid).delete() is True
        with pytest.raises(TwilioRestException) as info:
            client.incoming_phone_numbers(bought.sid).fetch()
        assert info.value.code == 20404
        assert client.balance.fetch().currency == "USD"

    await asyncio.to_thread(scenario)


async def test_recording_media_is_public_message_media_is_not(mock: TestClient[Any, Any]) -> None:
    app = mock.server.app
    recording = next(iter(app[TWILIO_MOCK_RESOURCES].recordings.values()))
    for ext, kind in (("", "audio/x-wav"), (".wav", "audio/x-wav"), (".mp3", "audio/mpeg")):
        resp = await mock.get(f"{API}/Recordings/{recording['sid']}{ext}")
        assert resp.status == 200 and resp.content_type == kind
    medium = next(iter(app[TWILIO_MOCK_RESOURCES].media.values()))
    content = f"{API}/Messages/{medium['parent_sid']}/Media/{medium['sid']}"
    assert (await mock.get(content)).status == 401
    resp = await mock.get(content, headers=basic(SID, TOKEN))
    assert resp.status == 200 and resp.content_type == medium["content_type"]


async def test_other_resources_refuse_what_twilio_refuses(mock: TestClient[Any, Any]) -> None:
    auth = basic(SID, TOKEN)
    recording = next(iter(mock.server.app[TWILIO_MOCK_RESOURCES].recordings.values()))
    resp = await mock.post(f"{API}/Recordings/{recording['sid']}.json", headers=auth)
    assert resp.status == 405 and (await resp.json())["code"] == 20004
    other_call = f"{API}/Calls/CA{'0' * 32}/Recordings/{recording['sid']}.json"
    assert (await mock.get(other_call, headers=auth)).status == 404
    resp = await mock.get(f"{API}/Recordings.json?PageSize=1001", headers=auth)
    assert (await resp.json())["code"] == 20007
    resp = await mock.get(f"{API}/Recordings.json?Page=1", headers=auth)
    assert (await resp.json())["message"] == "PageToken is required for paging."
    assert (
        await mock.get(f"{API}/AvailablePhoneNumbers/FR/Local.json", headers=auth)
    ).status == 404
    resp = await mock.get(f"{API}/AvailablePhoneNumbers/US/Local.json?Contains=!", headers=auth)
    assert resp.status == 400
    assert (await mock.get(f"{API}/Balance.json")).status == 401
