"""The official twilio SDK on the resources beyond messages and calls, over a Plivo-style upstream:
recordings (and their media, by redirect), message media, phone numbers (owned, available,
bought), the balance; and a finished call's times, which must agree with its duration.

Every Twilio body is checked against Twilio's own OpenAPI description.
"""

from __future__ import annotations

import asyncio
import http.client
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestServer
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from proxy.providers.plivo.mock import PLIVO_MOCK_STATE, PlivoMockState, build_plivo_mock
from proxy.providers.plivo.mock_resources import PLIVO_MOCK_RESOURCES, PlivoResourcesState
from proxy.settings.loader import Config
from tests.dialect_server import DialectTestServer
from tests.integration.conftest import PLIVO_ID, PLIVO_TOKEN, SID, TOKEN, basic, facade_config
from tests.schemas import assert_fits, assert_list_fits

pytestmark = pytest.mark.e2e

API = f"/2010-04-01/Accounts/{SID}"
SPEC = "/2010-04-01/Accounts/{AccountSid}"
FROM, TO = "+14155550100", "+14155550111"


@dataclass
class Stack:
    proxy_url: str
    state: PlivoMockState
    resources: PlivoResourcesState

    def client(self, token: str = TOKEN) -> Client:
        client = Client(SID, token, environment={"DIALECT_TEST": "1"})
        client.api.base_url = self.proxy_url
        return client

    def raw(
        self, method: str, path: str, body: str | None = None, **headers: str
    ) -> tuple[int, dict[str, str], bytes]:
        """One request as a plain HTTP client makes it (redirects not followed)."""
        url = urllib.parse.urlsplit(self.proxy_url)
        conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=5)
        try:
            all_headers = {**basic(SID, TOKEN), **headers}
            if body is not None:
                all_headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=all_headers)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def json(self, path: str) -> Any:
        status, _, body = self.raw("GET", path)
        assert status == 200, body
        return orjson.loads(body)


@pytest.fixture
async def stack(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    dialect_server: Callable[[Config], Awaitable[DialectTestServer]],
) -> Stack:
    mock = build_plivo_mock(PLIVO_ID, PLIVO_TOKEN)
    upstream = await aiohttp_server(mock)
    proxy = await dialect_server(facade_config(upstream))
    return Stack(proxy.url, mock[PLIVO_MOCK_STATE], mock[PLIVO_MOCK_RESOURCES])


def run(fn: Callable[[], Any]) -> Awaitable[Any]:
    return asyncio.to_thread(fn)


def fetch_plain(url: str) -> tuple[int, str | None, bytes]:
    target = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(target.hostname or "", target.port, timeout=5)
    try:
        conn.request("GET", target.path)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type"), resp.read()
    finally:
        conn.close()


def sid_of(prefix: str, uuid: str) -> str:
    return prefix + uuid.replace("-", "")


# -- bug: a finished call's times and its duration ------------------------------------------


async def test_a_finished_calls_times_agree_with_its_duration(stack: Stack) -> None:
    """Twilio's published call: start 20:36:29, end 20:36:44, duration 15. Plivo's CDR of that
    call (in the account's +05:30) was dialled at 20:36:28 and answered at 20:36:29."""
    cuuid = "5f0e1f7a-1c5b-4b7e-9a53-2f6b1c0d9e11"
    record = next(iter(stack.state.calls.values())) | {
        "call_uuid": cuuid,
        "initiation_time": "2010-09-01 02:06:28+05:30",
        "answer_time": "2010-09-01 02:06:29+05:30",
        "end_time": "2010-09-01 02:06:44+05:30",
        "call_duration": 15,
        "bill_duration": 15,
        "billed_duration": 60,
        "call_state": "ANSWER",
    }
    stack.state.calls[cuuid] = record
    call = await run(lambda: stack.client().calls(sid_of("CA", cuuid)).fetch())
    assert call.start_time == datetime(2010, 8, 31, 20, 36, 29, tzinfo=UTC)
    assert call.end_time == datetime(2010, 8, 31, 20, 36, 44, tzinfo=UTC)
    assert call.duration == "15"
    assert (call.end_time - call.start_time).total_seconds() == int(call.duration)
    assert call.date_created == datetime(2010, 8, 31, 20, 36, 28, tzinfo=UTC)
    body = await run(lambda: stack.json(f"{API}/Calls/{sid_of('CA', cuuid)}.json"))
    assert body["start_time"] == "Tue, 31 Aug 2010 20:36:29 +0000"
    assert body["end_time"] == "Tue, 31 Aug 2010 20:36:44 +0000"
    assert_fits(body, "api.v2010.account.call")


async def test_every_listed_call_ends_its_duration_after_it_starts(stack: Stack) -> None:
    calls = await run(lambda: stack.client().calls.list(page_size=10))
    answered = [c for c in calls if c.duration is not None]
    assert len(answered) == len(calls) > 10
    for call in answered:
        assert (call.end_time - call.start_time).total_seconds() == int(call.duration)


async def test_a_call_never_answered_has_no_duration_and_started_when_dialled(
    stack: Stack,
) -> None:
    cuuid = "0c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e4f5"
    stack.state.calls[cuuid] = {
        **next(iter(stack.state.calls.values())),
        "call_uuid": cuuid,
        "initiation_time": "2025-05-01 17:30:00+05:30",
        "answer_time": None,
        "end_time": "2025-05-01 17:30:25+05:30",
        "call_duration": 0,
        "bill_duration": 0,
        "billed_duration": 0,
        "call_state": "NO_ANSWER",
    }
    call = await run(lambda: stack.client().calls(sid_of("CA", cuuid)).fetch())
    assert call.status == "no-answer" and call.duration is None
    assert call.start_time == datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
    assert call.end_time == datetime(2025, 5, 1, 12, 0, 25, tzinfo=UTC)


# -- recordings -----------------------------------------------------------------------------


def plivo_recordings_newest_first(stack: Stack) -> list[dict[str, Any]]:
    return sorted(
        stack.resources.recordings.values(),
        key=lambda r: (datetime.fromisoformat(r["add_time"]), r["recording_id"]),
        reverse=True,
    )


async def test_recordings_list_pages_through_every_recording_newest_first(stack: Stack) -> None:
    expected = [sid_of("RE", r["recording_id"]) for r in plivo_recordings_newest_first(stack)]
    assert len(expected) >= 5
    listed = await run(lambda: stack.client().recordings.list(page_size=3))
    assert [r.sid for r in listed] == expected
    page = await run(lambda: stack.json(f"{API}/Recordings.json?PageSize=3"))
    assert page["next_page_uri"].startswith(f"{API}/Recordings.json?")
    assert_list_fits(page, f"{SPEC}/Recordings.json")
    for item in page["recordings"]:
        assert_fits(item, "api.v2010.account.recording")


async def test_a_recording_fetched_carries_plivos_facts_in_twilios_terms(stack: Stack) -> None:
    plivo = plivo_recordings_newest_first(stack)[0]
    sid = sid_of("RE", plivo["recording_id"])
    recording = await run(lambda: stack.client().recordings(sid).fetch())
    assert recording.sid == sid and recording.status == "completed"
    assert recording.call_sid == sid_of("CA", plivo["call_uuid"])
    assert recording.duration == str(int(Decimal(plivo["recording_duration_ms"]) / 1000))
    start_ms = int(Decimal(plivo["recording_start_ms"]))
    assert recording.start_time == datetime.fromtimestamp(start_ms // 1000, UTC)
    assert recording.media_url.endswith(f"/media/Recording/{plivo['recording_id']}.mp3")
    body = await run(lambda: stack.json(f"{API}/Recordings/{sid}.json"))
    assert_fits(body, "api.v2010.account.recording")
    status, _, xml = await run(lambda: stack.raw("GET", f"{API}/Recordings/{sid}.xml"))
    assert status == 200 and b"<Recording>" in xml and sid.encode() in xml


async def test_a_calls_recordings_are_listed_and_fetched_under_the_call(stack: Stack) -> None:
    plivo = plivo_recordings_newest_first(stack)[0]
    call_sid = sid_of("CA", plivo["call_uuid"])
    mine = [
        sid_of("RE", r["recording_id"])
        for r in plivo_recordings_newest_first(stack)
        if r["call_uuid"] == plivo["call_uuid"]
    ]
    listed = await run(lambda: stack.client().calls(call_sid).recordings.list())
    assert [r.sid for r in listed] == mine
    one = await run(lambda: stack.client().calls(call_sid).recordings(mine[0]).fetch())
    assert one.call_sid == call_sid and one.track == "both"
    page = await run(lambda: stack.json(f"{API}/Calls/{call_sid}/Recordings.json"))
    assert_list_fits(page, f"{SPEC}/Calls/{{CallSid}}/Recordings.json")
    for item in page["recordings"]:
        assert_fits(item, "api.v2010.account.call.call_recording")


async def test_recording_media_answers_302_to_the_carriers_file(stack: Stack) -> None:
    records = plivo_recordings_newest_first(stack)
    mp3 = next(r for r in records if r["recording_format"] == "mp3")
    wav = next(r for r in records if r["recording_format"] == "wav")
    sid = sid_of("RE", mp3["recording_id"])
    for suffix in (".mp3", ""):
        status, headers, _ = await run(
            lambda s=suffix: stack.raw("GET", f"{API}/Recordings/{sid}{s}")
        )
        assert status == 302
        location = headers["Location"]
        assert location.endswith(f"/media/Recording/{mp3['recording_id']}.mp3")
    # The carrier's file, where the redirect points, without the proxy's credentials.
    media_status, media_type, audio = await run(lambda: fetch_plain(location))
    assert media_status == 200 and media_type == "audio/mpeg" and audio.startswith(b"ID3")
    # The other format is not kept: Twilio's 20404, in XML (a media URL has no format).
    status, headers, body = await run(lambda: stack.raw("GET", f"{API}/Recordings/{sid}.wav"))
    assert status == 404 and b"<Code>20404</Code>" in body and b".mp3" in body
    wav_sid = sid_of("RE", wav["recording_id"])
    status, headers, _ = await run(lambda: stack.raw("GET", f"{API}/Recordings/{wav_sid}.wav"))
    assert status == 302 and headers["Location"].endswith(".wav")


async def test_deleting_a_recording_answers_204_and_it_is_gone(stack: Stack) -> None:
    plivo = plivo_recordings_newest_first(stack)[-1]
    sid = sid_of("RE", plivo["recording_id"])
    assert await run(lambda: stack.client().recordings(sid).delete()) is True
    assert plivo["recording_id"] not in stack.resources.recordings
    with pytest.raises(TwilioRestException) as info:
        await run(lambda: stack.client().recordings(sid).fetch())
    assert info.value.status == 404 and info.value.code == 20404
    with pytest.raises(TwilioRestException) as info:
        await run(lambda: stack.client().recordings(sid).delete())
    assert info.value.status == 404 and info.value.code == 20404


async def test_a_sid_that_is_no_recording_is_20404(stack: Stack) -> None:
    for sid in ("RE" + "0" * 32, "CA" + "0" * 32, "not-a-sid"):
        with pytest.raises(TwilioRestException) as info:
            await run(lambda s=sid: stack.client().recordings(s).fetch())
        assert info.value.status == 404 and info.value.code == 20404


# -- message media --------------------------------------------------------------------------


async def test_an_mms_media_is_listed_and_fetched(stack: Stack) -> None:
    client = stack.client()
    urls = ["https://example.com/a.png", "https://example.com/b.gif"]
    msg = await run(lambda: client.messages.create(to=TO, from_=FROM, body="pics", media_url=urls))
    assert msg.sid.startswith("MM")
    media = await run(lambda: client.messages(msg.sid).media.list())
    assert sorted(m.content_type for m in media) == ["image/gif", "image/png"]
    assert all(m.parent_sid == msg.sid and m.sid.startswith("ME") for m in media)
    one = await run(lambda: client.messages(msg.sid).media(media[0].sid).fetch())
    assert one.sid == media[0].sid and one.content_type == media[0].content_type
    page = await run(lambda: stack.json(f"{API}/Messages/{msg.sid}/Media.json"))
    assert_list_fits(page, f"{SPEC}/Messages/{{MessageSid}}/Media.json")
    for item in page["media_list"]:
        assert_fits(item, "api.v2010.account.message.media")


async def test_media_content_answers_302_to_plivos_file(stack: Stack) -> None:
    muuid, items = next(iter(stack.resources.media.items()))
    path = f"{API}/Messages/{sid_of('MM', muuid)}/Media/{sid_of('ME', items[0]['media_id'])}"
    status, headers, _ = await run(lambda: stack.raw("GET", path))
    assert status == 302 and headers["Location"].endswith(f"/Media/{items[0]['media_id']}")
    media_status, media_type, _ = await run(lambda: fetch_plain(headers["Location"]))
    assert media_status == 200 and media_type == items[0]["content_type"]
    for fmt in ("json", "xml", "csv"):
        status, _, body = await run(lambda f=fmt: stack.raw("GET", f"{path}.{f}"))
        assert status == 200 and sid_of("ME", items[0]["media_id"]).encode() in body


async def test_media_of_unknown_messages_and_sids_are_20404(stack: Stack) -> None:
    client = stack.client()
    with pytest.raises(TwilioException, match="Unable to fetch page"):
        await run(lambda: client.messages("MM" + "0" * 32).media.list())
    muuid = next(u for u, m in stack.state.messages.items() if m["message_type"] == "mms")
    with pytest.raises(TwilioRestException) as info:
        await run(lambda: client.messages(sid_of("MM", muuid)).media("ME" + "1" * 32).fetch())
    assert info.value.status == 404 and info.value.code == 20404


# -- phone numbers --------------------------------------------------------------------------


async def test_owned_numbers_are_listed_fetched_and_fit_the_schema(stack: Stack) -> None:
    client = stack.client()
    numbers = await run(lambda: client.incoming_phone_numbers.list(page_size=1))
    assert sorted(n.phone_number for n in numbers) == ["+14155550100", "+14155550101"]
    main = next(n for n in numbers if n.phone_number == "+14155550100")
    assert main.sid == "PN" + "14155550100".rjust(32, "0")
    assert main.friendly_name == "Main line" and main.capabilities["sms"] is True
    assert main.voice_application_sid == "AP" + "29986316244302815".rjust(32, "0")
    fetched = await run(lambda: client.incoming_phone_numbers(main.sid).fetch())
    assert fetched.phone_number == main.phone_number
    page = await run(lambda: stack.json(f"{API}/IncomingPhoneNumbers.json"))
    assert_list_fits(page, f"{SPEC}/IncomingPhoneNumbers.json")
    for item in page["incoming_phone_numbers"]:
        assert_fits(item, "api.v2010.account.incoming_phone_number")
    by_number = await run(lambda: client.incoming_phone_numbers.list(phone_number="+1415555010"))
    assert len(by_number) == 2


async def test_a_number_is_renamed_pointed_at_an_application_and_released(stack: Stack) -> None:
    client = stack.client()
    sid = "PN" + "14155550101".rjust(32, "0")
    app = "AP" + "123456789".rjust(32, "0")
    updated = await run(
        lambda: client.incoming_phone_numbers(sid).update(
            friendly_name="Support", voice_application_sid=app
        )
    )
    assert updated.friendly_name == "Support" and updated.voice_application_sid == app
    plivo = stack.resources.numbers["14155550101"]
    assert plivo["alias"] == "Support" and plivo["application"].endswith("/123456789/")
    body = await run(lambda: stack.json(f"{API}/IncomingPhoneNumbers/{sid}.json"))
    assert_fits(body, "api.v2010.account.incoming_phone_number")
    assert await run(lambda: client.incoming_phone_numbers(sid).delete()) is True
    assert "14155550101" not in stack.resources.numbers
    with pytest.raises(TwilioRestException) as info:
        await run(lambda: client.incoming_phone_numbers(sid).fetch())
    assert info.value.status == 404 and info.value.code == 20404


async def test_urls_a_plivo_number_cannot_hold_are_refused_not_dropped(stack: Stack) -> None:
    client = stack.client()
    sid = "PN" + "14155550100".rjust(32, "0")
    with pytest.raises(TwilioRestException) as info:
        await run(lambda: client.incoming_phone_numbers(sid).update(voice_url="https://e.x/v"))
    assert info.value.status == 400 and info.value.code == 20001
    assert "VoiceUrl" in info.value.msg
    with pytest.raises(TwilioRestException) as info:
        await run(
            lambda: client.incoming_phone_numbers.create(
                phone_number="+14155550209", friendly_name="New"
            )
        )
    assert info.value.status == 400 and "FriendlyName" in info.value.msg
    assert not any(r.method == "POST" for r in stack.state.requests)


async def test_an_application_sid_of_another_kind_is_refused_before_plivo(stack: Stack) -> None:
    sid = "PN" + "14155550100".rjust(32, "0")
    with pytest.raises(TwilioRestException) as info:
        await run(
            lambda: (
                stack.client()
                .incoming_phone_numbers(sid)
                .update(voice_application_sid="AP" + "ab" * 16)
            )
        )
    assert info.value.status == 400 and info.value.code == 20001
    assert not any(r.method == "POST" for r in stack.state.requests)


async def test_available_numbers_are_searched_by_type_area_and_capability(stack: Stack) -> None:
    client = stack.client()
    local = await run(lambda: client.available_phone_numbers("US").local.list(area_code=212))
    assert [n.phone_number for n in local] == [f"+1212555{n:04d}" for n in range(300, 310)]
    assert local[0].iso_country == "US" and local[0].locality == "NEW YORK"
    few = await run(lambda: client.available_phone_numbers("US").local.list(limit=3))
    assert len(few) == 3
    toll_free = await run(lambda: client.available_phone_numbers("US").toll_free.list())
    assert len(toll_free) == 10 and all(n.phone_number.startswith("+1833") for n in toll_free)
    no_mms = await run(
        lambda: client.available_phone_numbers("US").toll_free.list(mms_enabled=True)
    )
    assert no_mms == []
    mobile = await run(lambda: client.available_phone_numbers("GB").mobile.list())
    assert len(mobile) == 10 and mobile[0].address_requirements == "any"
    page = await run(
        lambda: stack.json(f"{API}/AvailablePhoneNumbers/US/Local.json?AreaCode=415&PageSize=5")
    )
    assert_list_fits(page, f"{SPEC}/AvailablePhoneNumbers/{{CountryCode}}/Local.json")
    for item in page["available_phone_numbers"]:
        assert_fits(
            item, "api.v2010.account.available_phone_number_country.available_phone_number_local"
        )
    status, _, body = await run(
        lambda: stack.raw("GET", f"{API}/AvailablePhoneNumbers/US/Voip.json")
    )
    assert status == 404 and orjson.loads(body)["code"] == 20404


async def test_buying_a_number_once_even_when_the_request_is_retried(stack: Stack) -> None:
    client = stack.client()
    bought = await run(lambda: client.incoming_phone_numbers.create(phone_number="+14155550207"))
    assert bought.sid == "PN" + "14155550207".rjust(32, "0")
    assert bought.phone_number == "+14155550207" and bought.status == "in-use"
    assert "14155550207" in stack.resources.numbers
    with pytest.raises(TwilioRestException) as info:
        await run(lambda: client.incoming_phone_numbers.create(phone_number=FROM))
    assert info.value.status == 400 and info.value.code == 21422
    # A retry with the same key gets the first outcome, not a second purchase (nor its 21422).
    form = "PhoneNumber=%2B14155550208"
    first = await run(
        lambda: stack.raw(
            "POST", f"{API}/IncomingPhoneNumbers.json", form, **{"Idempotency-Key": "k1"}
        )
    )
    again = await run(
        lambda: stack.raw(
            "POST", f"{API}/IncomingPhoneNumbers.json", form, **{"Idempotency-Key": "k1"}
        )
    )
    assert first[0] == again[0] == 201 and first[2] == again[2]
    assert again[1].get("Idempotent-Replayed") == "true"
    assert_fits(orjson.loads(first[2]), "api.v2010.account.incoming_phone_number")
    purchases = [r for r in stack.state.requests if r.path.endswith("/PhoneNumber/14155550208/")]
    assert len(purchases) == 1


async def test_buying_needs_a_number_plivo_can_sell(stack: Stack) -> None:
    client = stack.client()
    with pytest.raises(TwilioRestException) as info:
        await run(lambda: client.incoming_phone_numbers.create(area_code="415"))
    assert info.value.status == 400 and info.value.code == 21452
    with pytest.raises(TwilioRestException) as info:
        await run(lambda: client.incoming_phone_numbers.create(phone_number="+14155550999"))
    assert info.value.status == 400 and info.value.code == 21422
    assert not stack.resources.numbers.get("14155550999")


# -- balance and errors ---------------------------------------------------------------------


async def test_the_balance_is_the_plivo_accounts_cash_credits(stack: Stack) -> None:
    balance = await run(lambda: stack.client().balance.fetch())
    assert balance.balance == "12.34560" and balance.currency == "USD"
    assert balance.account_sid == SID
    body = await run(lambda: stack.json(f"{API}/Balance.json"))
    assert_fits(body, "api.v2010.account.balance")


async def test_bad_credentials_raise_the_sdks_own_exceptions(stack: Stack) -> None:
    client = stack.client(token="wrong")
    with pytest.raises(TwilioException, match="Unable to fetch page"):
        await run(lambda: client.recordings.list(limit=1))
    for fetch in (
        lambda: client.balance.fetch(),
        lambda: client.incoming_phone_numbers("PN" + "14155550100".rjust(32, "0")).fetch(),
    ):
        with pytest.raises(TwilioRestException) as info:
            await run(fetch)
        assert info.value.status == 401 and info.value.code == 20003
    assert stack.state.requests == []
