"""The official plivo SDK on the resources beyond messages and calls, over a Twilio-style upstream:
the account and its credits, recordings, message media, numbers (owned, searched, bought); and
a finished call's times, which must agree with its duration.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import plivo
import plivo.rest.client as plivo_client
import pytest
from aiohttp.test_utils import TestServer
from plivo.resources.messages import Message

from proxy.providers.twilio import rest as twilio
from proxy.providers.twilio.mock import TWILIO_MOCK_STATE, TwilioMockState, build_twilio_mock
from proxy.providers.twilio.mock_resources import TWILIO_MOCK_RESOURCES, TwilioResourcesState
from proxy.settings import load_config
from proxy.settings.loader import Config
from tests.conftest import ROOT
from tests.dialect_server import DialectTestServer

pytestmark = pytest.mark.e2e

AUTH_ID, AUTH_TOKEN = "MARESOURCESAUTHID001", "plivo-resources-token"
TWILIO_SID, TWILIO_TOKEN = "AC" + "d4" * 16, "twilio-upstream-token"
BASES = (
    "PLIVO_API_BASE_URI",
    "API_VOICE_BASE_URI",
    "API_VOICE_BASE_URI_FALLBACK_1",
    "API_VOICE_BASE_URI_FALLBACK_2",
)


@dataclass
class Stack:
    state: TwilioMockState
    resources: TwilioResourcesState

    def client(self, token: str = AUTH_TOKEN) -> plivo.RestClient:
        return plivo.RestClient(AUTH_ID, token)

    def requests_to(self, suffix: str) -> list[tuple[str, str]]:
        return [(m, p) for m, p, _, _ in self.state.requests if p.endswith(suffix)]


@pytest.fixture
def patched_bases() -> Iterator[Callable[[str], None]]:
    saved = {name: getattr(plivo_client, name) for name in BASES}

    def point(url: str) -> None:
        for name in BASES:
            setattr(plivo_client, name, url)

    yield point
    for name, value in saved.items():
        setattr(plivo_client, name, value)


@pytest.fixture
async def stack(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    dialect_server: Callable[[Config], Awaitable[DialectTestServer]],
    patched_bases: Callable[[str], None],
) -> Stack:
    mock = build_twilio_mock(TWILIO_SID, TWILIO_TOKEN)
    upstream = await aiohttp_server(mock)
    env = {
        "PLIVO_AUTH_ID": AUTH_ID,
        "PLIVO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_API_URL": upstream.make_url("").human_repr().rstrip("/"),
    }
    proxy = await dialect_server(load_config(ROOT / "config" / "plivo-over-twilio.yaml", env=env))
    patched_bases(f"{proxy.url}/v1/Account")
    return Stack(mock[TWILIO_MOCK_STATE], mock[TWILIO_MOCK_RESOURCES])


def run(fn: Callable[[], Any]) -> Awaitable[Any]:
    return asyncio.to_thread(fn)


def uuid_of(sid: str) -> str:
    h = sid[2:]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def plivo_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


# -- bug: a finished call's times and its duration (the mirror) ------------------------------


async def test_a_finished_calls_answer_and_end_agree_with_its_duration(stack: Stack) -> None:
    """Twilio's published call: created 20:36:28, start 20:36:29, end 20:36:44, duration 15."""
    sid = "CA" + "5f0e1f7a1c5b4b7e9a532f6b1c0d9e11"
    stack.state.calls[sid] = {
        **next(iter(stack.state.calls.values())),
        "sid": sid,
        "date_created": "Tue, 31 Aug 2010 20:36:28 +0000",
        "date_updated": "Tue, 31 Aug 2010 20:36:44 +0000",
        "start_time": "Tue, 31 Aug 2010 20:36:29 +0000",
        "end_time": "Tue, 31 Aug 2010 20:36:44 +0000",
        "duration": "15",
        "status": "completed",
    }
    call = await run(lambda: stack.client().calls.get(uuid_of(sid)))
    assert call.initiation_time == "2010-08-31 20:36:28+00:00"
    assert call.answer_time == "2010-08-31 20:36:29+00:00"
    assert call.end_time == "2010-08-31 20:36:44+00:00"
    assert call.call_duration == call.bill_duration == 15
    elapsed = plivo_time(call.end_time) - plivo_time(call.answer_time)
    assert elapsed == timedelta(seconds=call.call_duration)


async def test_a_call_never_answered_has_no_answer_time(stack: Stack) -> None:
    sid = "CA" + "0c1d2e3f4a5b4c6d8e7fa0b1c2d3e4f5"
    stack.state.calls[sid] = {
        **next(iter(stack.state.calls.values())),
        "sid": sid,
        "date_created": "Thu, 01 May 2025 12:00:00 +0000",
        "start_time": "Thu, 01 May 2025 12:00:01 +0000",
        "end_time": "Thu, 01 May 2025 12:00:25 +0000",
        "duration": None,
        "status": "no-answer",
    }
    call = await run(lambda: stack.client().calls.get(uuid_of(sid)))
    assert call.call_state == "NO_ANSWER" and call.answer_time is None
    assert call.call_duration == 0 and call.initiation_time == "2025-05-01 12:00:00+00:00"


async def test_every_listed_call_lasts_from_its_answer_to_its_end(stack: Stack) -> None:
    calls = await run(lambda: list(stack.client().calls))
    assert len(calls) == len(stack.state.calls) > 10
    for call in calls:
        elapsed = plivo_time(call.end_time) - plivo_time(call.answer_time)
        assert elapsed == timedelta(seconds=call.call_duration)


# -- the account ----------------------------------------------------------------------------


async def test_the_account_carries_twilios_name_and_balance(stack: Stack) -> None:
    account = await run(lambda: stack.client().account.get())
    assert account.auth_id == AUTH_ID and account.name == "Dialect Demo"
    assert account.cash_credits == "12.34000" and account.timezone == "UTC"
    assert account.resource_uri == f"/v1/Account/{AUTH_ID}/"
    assert stack.requests_to("/Balance.json") == [
        ("GET", f"/2010-04-01/Accounts/{TWILIO_SID}/Balance.json")
    ]
    with pytest.raises(plivo.exceptions.AuthenticationError):
        await run(lambda: stack.client(token="wrong").account.get())


# -- recordings -----------------------------------------------------------------------------


def twilio_recordings_newest_first(stack: Stack) -> list[dict[str, Any]]:
    records = list(stack.resources.recordings.values())
    records.sort(key=lambda r: (twilio.parse_datetime(r["date_created"]), r["sid"]), reverse=True)
    return records


async def test_recordings_are_listed_page_by_page_and_fetched(stack: Stack) -> None:
    expected = [uuid_of(r["sid"]) for r in twilio_recordings_newest_first(stack)]
    assert len(expected) >= 3
    every = await run(lambda: [r.recording_id for r in stack.client().recordings])
    assert every == expected
    first = await run(lambda: stack.client().recordings.list(limit=2, offset=1))
    assert [r.recording_id for r in first.objects] == expected[1:3]
    assert first.meta.next == f"/v1/Account/{AUTH_ID}/Recording/?limit=2&offset=3"
    twilio_record = twilio_recordings_newest_first(stack)[0]
    one = await run(lambda: stack.client().recordings.get(expected[0]))
    assert one.call_uuid == uuid_of(twilio_record["call_sid"])
    assert one.recording_duration_ms == f"{int(twilio_record['duration']) * 1000}.00000"
    started = twilio.parse_datetime(twilio_record["start_time"])
    assert one.recording_start_ms == f"{int(started.timestamp() * 1000)}.00000"
    assert one.recording_url.endswith(f"/Recordings/{twilio_record['sid']}.mp3")
    assert one.recording_url.startswith("http://127.0.0.1:")
    assert one.add_time.endswith("+00:00") and one.recording_type == "normal"


async def test_a_calls_recordings_and_a_deleted_recording(stack: Stack) -> None:
    record = twilio_recordings_newest_first(stack)[-1]
    of_call = await run(
        lambda: stack.client().recordings.list(call_uuid=uuid_of(record["call_sid"]))
    )
    assert [r.recording_id for r in of_call.objects] == [uuid_of(record["sid"])]
    assert await run(lambda: stack.client().recordings.delete(uuid_of(record["sid"]))) is None
    assert record["sid"] not in stack.resources.recordings
    with pytest.raises(plivo.exceptions.ResourceNotFoundError):
        await run(lambda: stack.client().recordings.get(uuid_of(record["sid"])))
    with pytest.raises(plivo.exceptions.ResourceNotFoundError):
        await run(lambda: stack.client().recordings.delete(uuid_of(record["sid"])))


# -- message media --------------------------------------------------------------------------


async def test_the_media_of_an_mms_sent_through_the_facade(stack: Stack) -> None:
    client = stack.client()
    sent = await run(
        lambda: client.messages.create(
            src="+14155550100",
            dst="+14155550111",
            text="pics",
            type_="mms",
            media_urls=["https://example.com/a.png", "https://example.com/b.gif"],
        )
    )
    muuid = sent.message_uuid[0]
    media = await run(lambda: client.messages.get(muuid).listMedia())
    assert sorted(m.content_type for m in media.objects) == ["image/gif", "image/png"]
    assert all(m.message_uuid == muuid for m in media.objects)
    twilio_media = {
        uuid_of(r["sid"])
        for r in stack.resources.media.values()
        if r["parent_sid"] == "MM" + muuid.replace("-", "")
    }
    assert {m.media_id for m in media.objects} == twilio_media


async def test_a_message_without_media_and_an_unknown_message(stack: Stack) -> None:
    client = stack.client()
    plain = next(m for m in stack.state.messages.values() if m["num_media"] == "0")
    empty = await run(lambda: client.messages.get(uuid_of(plain["sid"])).listMedia())
    assert list(empty.objects) == []
    # The SDK's own Message resource, for a message that does not exist.
    missing = Message(client, {"message_uuid": "00000000-0000-0000-0000-000000000000"})
    with pytest.raises(plivo.exceptions.ResourceNotFoundError):
        await run(missing.listMedia)


# -- numbers --------------------------------------------------------------------------------


async def test_owned_numbers_listed_and_fetched_by_number(stack: Stack) -> None:
    client = stack.client()
    listed = await run(lambda: client.numbers.list())
    assert sorted(n.number for n in listed.objects) == ["14155550100", "14155550101"]
    main = await run(lambda: client.numbers.get("14155550100"))
    assert main.alias == "Main line" and main.number_type == "local"
    assert main.voice_enabled is True and main.sms_enabled is True
    assert main.resource_uri == f"/v1/Account/{AUTH_ID}/Number/14155550100/"
    twilio_record = next(
        r for r in stack.resources.numbers.values() if r["phone_number"] == "+14155550100"
    )
    assert main.added_on == twilio.parse_datetime(twilio_record["date_created"]).date().isoformat()
    found = await run(lambda: client.numbers.list(number_startswith="1415555010"))
    assert len(found.objects) == 2
    with pytest.raises(plivo.exceptions.ResourceNotFoundError):
        await run(lambda: client.numbers.get("14155550999"))


async def test_a_number_renamed_pointed_at_an_application_and_unrented(stack: Stack) -> None:
    client = stack.client()
    app = "AP" + "ab" * 16
    changed = await run(lambda: client.numbers.update("14155550101", alias="Support", app_id=app))
    assert changed.message == "changed"
    record = next(
        r for r in stack.resources.numbers.values() if r["phone_number"] == "+14155550101"
    )
    assert record["friendly_name"] == "Support" and record["voice_application_sid"] == app
    number = await run(lambda: client.numbers.get("14155550101"))
    assert number.alias == "Support"
    assert number.application == f"/v1/Account/{AUTH_ID}/Application/{app}/"
    assert await run(lambda: client.numbers.delete("14155550101")) is None
    assert all(r["phone_number"] != "+14155550101" for r in stack.resources.numbers.values())
    with pytest.raises(plivo.exceptions.ResourceNotFoundError):
        await run(lambda: client.numbers.update("14155550101", alias="Gone"))
    with pytest.raises(plivo.exceptions.ResourceNotFoundError):
        await run(lambda: client.numbers.delete("14155550101"))


async def test_numbers_are_searched_paged_and_bought_once(stack: Stack) -> None:
    client = stack.client()
    found = await run(
        lambda: client.numbers.search("US", type="local", pattern="212", limit=4, offset=2)
    )
    assert [n.number for n in found.objects] == [f"1212555{n:04d}" for n in range(302, 306)]
    assert found.meta.next.endswith("limit=4&offset=6")
    toll_free = await run(lambda: client.numbers.search("US", type="tollfree", services="mms"))
    assert list(toll_free.objects) == []
    gb = await run(lambda: client.numbers.search("GB", type="mobile"))
    assert len(gb.objects) == 10 and gb.objects[0].restriction == "country-address"
    bought = await run(lambda: client.numbers.buy("12125550303"))
    assert bought.status == "fulfilled" and bought.numbers[0].number == "12125550303"
    again = await run(lambda: client.numbers.buy("12125550303"))  # a retry within 10 s
    assert again.numbers[0].number == "12125550303"
    assert len(stack.requests_to("/IncomingPhoneNumbers.json")) == 1
    owned = await run(lambda: client.numbers.get("12125550303"))
    assert owned.number == "12125550303"
    with pytest.raises(plivo.exceptions.ValidationError, match="not available"):
        await run(lambda: client.numbers.buy("12125550999"))
    with pytest.raises(plivo.exceptions.ValidationError, match="country_iso"):
        await run(lambda: client.numbers.search(""))


async def test_list_errors_reach_the_sdk_as_its_own_exceptions(stack: Stack) -> None:
    client = stack.client(token="wrong")
    for call in (
        lambda: client.recordings.list(),
        lambda: client.numbers.list(),
        lambda: client.numbers.search("US"),
    ):
        with pytest.raises(plivo.exceptions.AuthenticationError):
            await run(call)
    assert stack.state.requests == []
