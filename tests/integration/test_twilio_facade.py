"""The Twilio façade end to end over HTTP: the proxy in front of the strict Plivo mock."""

from __future__ import annotations

import asyncio
import email.utils
import uuid
from datetime import UTC

import defusedxml.ElementTree as SafeET

from proxy.providers.plivo.mock import PLIVO_MOCK_CARRIER
from tests.integration.conftest import AUTH, PLIVO_ID, SID, Facade, basic

BASE = f"/2010-04-01/Accounts/{SID}"


async def test_message_create_answers_201_with_a_whole_twilio_resource(facade: Facade) -> None:
    resp = await facade.client.post(
        f"{BASE}/Messages.json",
        data=[("To", "+14155550111"), ("From", "+14155550100"), ("Body", "Hi there & ü")],
        headers=AUTH,
    )
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert body["sid"].startswith("SM") and len(body["sid"]) == 34
    assert body["to"] == "+14155550111" and body["from"] == "+14155550100"
    assert body["body"] == "Hi there & ü"
    assert body["status"] == "queued"
    assert body["num_segments"] == "1" and body["num_media"] == "0"
    assert body["account_sid"] == SID
    assert body["uri"] == f"{BASE}/Messages/{body['sid']}.json"
    assert "api_id" not in body
    assert resp.headers["X-Upstream-Api-Id"]
    sent = facade.state.requests[-1]
    assert sent.path == f"/v1/Account/{PLIVO_ID}/Message/"
    assert sent.json == {
        "src": "14155550100",
        "dst": "14155550111",
        "text": "Hi there & ü",
        "type": "sms",
    }
    assert "Authorization" in sent.headers and SID not in str(sent.headers)


async def test_mms_create_maps_repeated_media_urls(facade: Facade) -> None:
    resp = await facade.client.post(
        f"{BASE}/Messages.json",
        data=[
            ("To", "+14155550111"),
            ("From", "+14155550100"),
            ("MediaUrl", "https://e.x/a.png"),
            ("MediaUrl", "https://e.x/b.png"),
        ],
        headers=AUTH,
    )
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert body["sid"].startswith("MM")
    assert body["num_media"] == "2"
    assert facade.state.requests[-1].json["media_urls"] == [
        "https://e.x/a.png",
        "https://e.x/b.png",
    ]
    assert facade.state.requests[-1].json["type"] == "mms"


async def test_fetch_converts_dates_to_gmt_and_numbers_to_e164(facade: Facade) -> None:
    record = next(iter(facade.state.messages.values()))
    sid = "SM" + record["message_uuid"].replace("-", "")
    if record["message_type"] == "mms":
        sid = "MM" + sid[2:]
    resp = await facade.client.get(f"{BASE}/Messages/{sid}.json", headers=AUTH)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["sid"] == sid
    assert body["date_created"].endswith("+0000")
    parsed = email.utils.parsedate_to_datetime(body["date_created"])
    from datetime import datetime

    original = datetime.fromisoformat(record["message_time"]).astimezone(UTC)
    assert parsed == original
    assert body["to"].startswith("+") and body["from"].startswith("+")
    assert isinstance(body["num_segments"], str)
    assert body["error_code"] is None or isinstance(body["error_code"], int)


async def test_missing_message_is_20404(facade: Facade) -> None:
    resp = await facade.client.get(f"{BASE}/Messages/SM{'0' * 32}.json", headers=AUTH)
    assert resp.status == 404
    body = await resp.json()
    assert body["code"] == 20404 and body["status"] == 404
    assert body["more_info"] == "https://www.twilio.com/docs/errors/20404"
    assert set(body) == {"code", "message", "more_info", "status"}


async def test_malformed_sid_is_404_without_calling_upstream(facade: Facade) -> None:
    before = len(facade.state.requests)
    resp = await facade.client.get(f"{BASE}/Messages/SMnotasid.json", headers=AUTH)
    assert resp.status == 404
    assert (await resp.json())["code"] == 20404
    assert len(facade.state.requests) == before


async def test_bad_credentials_are_401_20003_and_never_reach_upstream(facade: Facade) -> None:
    before = len(facade.state.requests)
    for headers in ({}, basic(SID, "wrong"), basic("AC" + "f" * 32, "x")):
        resp = await facade.client.get(f"{BASE}/Messages.json", headers=headers)
        assert resp.status == 401
        body = await resp.json()
        assert body["code"] == 20003
    assert len(facade.state.requests) == before


async def test_account_in_path_must_be_the_callers(facade: Facade) -> None:
    resp = await facade.client.get(f"/2010-04-01/Accounts/AC{'9' * 32}/Messages.json", headers=AUTH)
    assert resp.status == 401


async def test_invalid_to_number_is_21211_with_the_text(facade: Facade) -> None:
    resp = await facade.client.post(
        f"{BASE}/Messages.json",
        data={"To": "12", "From": "+14155550100", "Body": "x"},
        headers=AUTH,
    )
    assert resp.status == 400
    body = await resp.json()
    assert body["code"] == 21211
    assert "12" in body["message"]


async def test_upstream_phone_number_error_keeps_plivo_text(facade: Facade) -> None:
    # Passes our syntactic check but Plivo refuses it (starts with 0 after country code digits).
    resp = await facade.client.post(
        f"{BASE}/Messages.json",
        data={"To": "MyBrand", "From": "+14155550100", "Body": "x"},
        headers=AUTH,
    )
    assert resp.status == 400
    body = await resp.json()
    assert body["code"] == 21211
    assert body["message"] == "'MyBrand' is not a valid phone number."


async def test_missing_parameters_use_twilio_codes(facade: Facade) -> None:
    cases = [
        ({"From": "+14155550100", "Body": "x"}, 21604),
        ({"To": "+14155550111", "Body": "x"}, 21603),
        ({"To": "+14155550111", "From": "+14155550100"}, 21602),
    ]
    for data, code in cases:
        resp = await facade.client.post(f"{BASE}/Messages.json", data=data, headers=AUTH)
        assert resp.status == 400
        assert (await resp.json())["code"] == code


async def test_list_page_has_exactly_the_twilio_envelope(facade: Facade) -> None:
    resp = await facade.client.get(f"{BASE}/Messages.json?PageSize=30", headers=AUTH)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert set(body) == {
        "messages",
        "page",
        "page_size",
        "uri",
        "first_page_uri",
        "next_page_uri",
        "previous_page_uri",
        "start",
        "end",
    }
    assert len(body["messages"]) == 30 and body["page_size"] == 30
    assert (body["start"], body["end"]) == (0, 29)
    assert body["next_page_uri"].startswith(f"{BASE}/Messages.json?")
    assert "PageToken=" in body["next_page_uri"]
    offsets = [r.query for r in facade.state.requests[-2:]]
    assert sorted(dict(q)["limit"] for q in offsets) == ["10", "20"]


async def test_walking_next_page_uri_sees_every_record_once_newest_first(facade: Facade) -> None:
    seen: list[str] = []
    dates = []
    uri: str | None = f"{BASE}/Messages.json?PageSize=7"
    while uri:
        resp = await facade.client.get(uri, headers=AUTH)
        assert resp.status == 200, await resp.text()
        body = await resp.json()
        seen += [m["sid"] for m in body["messages"]]
        dates += [email.utils.parsedate_to_datetime(m["date_created"]) for m in body["messages"]]
        uri = body["next_page_uri"]
    assert len(seen) == len(set(seen)) == len(facade.state.messages)
    assert dates == sorted(dates, reverse=True)


async def test_page_size_over_1000_is_20007(facade: Facade) -> None:
    resp = await facade.client.get(f"{BASE}/Messages.json?PageSize=1001", headers=AUTH)
    assert resp.status == 400
    assert (await resp.json())["code"] == 20007


async def test_formats_by_extension(facade: Facade) -> None:
    record = next(r for r in facade.state.messages.values() if r["message_type"] == "sms")
    sid = "SM" + record["message_uuid"].replace("-", "")
    xml = await facade.client.get(f"{BASE}/Messages/{sid}", headers=AUTH)
    assert xml.status == 200 and xml.content_type == "application/xml"
    root = SafeET.fromstring(await xml.read())
    assert root.tag == "TwilioResponse" and root.find("Message/Sid").text == sid
    csv = await facade.client.get(f"{BASE}/Messages/{sid}.csv", headers=AUTH)
    assert csv.content_type == "text/csv"
    header, row = (await csv.text()).strip().split("\r\n")
    assert header.split(",")[0] == "AccountSid" and sid in row
    page = await facade.client.get(f"{BASE}/Messages.xml?PageSize=2", headers=AUTH)
    messages = SafeET.fromstring(await page.read()).find("Messages")
    assert messages.get("pagesize") == "2" and len(messages.findall("Message")) == 2
    err = await facade.client.get(f"{BASE}/Messages/SM{'0' * 32}.xml", headers=AUTH)
    assert SafeET.fromstring(await err.read()).find("RestException/Code").text == "20404"


async def test_unknown_route_is_404_in_twilio_style(facade: Facade) -> None:
    resp = await facade.client.get(f"{BASE}/Nope.json", headers=AUTH)
    assert resp.status == 404
    assert (await resp.json())["code"] == 20404


async def test_call_create_fetch_and_list(facade: Facade) -> None:
    resp = await facade.client.post(
        f"{BASE}/Calls.json",
        data={
            "To": "+14155550111",
            "From": "+14155550100",
            "Url": "http://demo.twilio.com/docs/voice.xml",
        },
        headers=AUTH,
    )
    assert resp.status == 201, await resp.text()
    call = await resp.json()
    assert call["sid"].startswith("CA") and call["status"] == "queued"
    sent = facade.state.requests[-1].json
    # The carrier is given callback URLs under the proxy's public base, never the app's own:
    # the answer URL, and ring and hang-up URLs though the app asked for no status callback
    # (they name no app: Dialect only learns the call's own id from them).
    urls = [sent.pop(name) for name in ("answer_url", "ring_url", "hangup_url")]
    assert all(url.startswith("http://127.0.0.1:8080/_dialect/callbacks/") for url in urls)
    assert not any("demo.twilio.com" in url for url in urls)
    assert sent == {
        "from": "14155550100",
        "to": "14155550111",
        "answer_method": "POST",
        "ring_method": "POST",
        "hangup_method": "POST",
    }
    # Plivo knows the call by its own call_uuid, not the request id the create's SID carries;
    # no callback told Dialect which (nothing listens at the public URL here), so the call is
    # fetched under its own SID, once it has ended and has a record.
    carrier = facade.upstream.app[PLIVO_MOCK_CARRIER]
    await asyncio.wait_for(carrier.log.done.wait(), 10)
    own = facade.state.call_requests[str(uuid.UUID(call["sid"][2:]))].replace("-", "")
    fetched = await facade.client.get(f"{BASE}/Calls/CA{own}.json", headers=AUTH)
    assert fetched.status == 200, await fetched.text()
    body = await fetched.json()
    assert body["sid"] == "CA" + own != call["sid"] and body["to"] == "+14155550111"
    assert body["status"] == "completed" and isinstance(body["duration"], str)
    listing = await facade.client.get(f"{BASE}/Calls.json?PageSize=5", headers=AUTH)
    assert listing.status == 200
    assert len((await listing.json())["calls"]) == 5


async def test_list_filters_map_to_plivo_filters(facade: Facade) -> None:
    resp = await facade.client.get(
        f"{BASE}/Messages.json?To=%2B14155550111&DateSent%3E=2025-05-01T10:30:00Z&PageSize=5",
        headers=AUTH,
    )
    assert resp.status == 200, await resp.text()
    query = dict(facade.state.requests[-1].query)
    assert query["to_number"] == "14155550111"
    assert query["message_time__gte"] == "2025-05-01 10:30:00"
    assert "To" not in query and "PageSize" not in query
    body = await resp.json()
    assert all(m["to"] == "+14155550111" for m in body["messages"])
    # The filters travel in the paging links, as in Twilio's own.
    assert (
        body["first_page_uri"]
        == f"{BASE}/Messages.json?To=%2B14155550111&DateSent%3E=2025-05-01T10%3A30%3A00Z&PageSize=5&Page=0"
    )


async def test_date_sent_means_that_whole_day(facade: Facade) -> None:
    resp = await facade.client.get(f"{BASE}/Messages.json?DateSent=2025-05-01", headers=AUTH)
    assert resp.status == 200, await resp.text()
    query = dict(facade.state.requests[-1].query)
    assert query["message_time__gte"] == "2025-05-01 00:00:00"
    assert query["message_time__lt"] == "2025-05-02 00:00:00"


async def test_unfiltered_list_asks_plivo_for_90_days(facade: Facade) -> None:
    from datetime import datetime, timedelta

    await facade.client.get(f"{BASE}/Messages.json?PageSize=1", headers=AUTH)
    since = datetime.fromisoformat(dict(facade.state.requests[-1].query)["message_time__gte"])
    expected = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=90)
    assert abs((since - expected).total_seconds()) < 3600 * 24


async def test_oversized_body_is_413_in_twilio_style(facade: Facade) -> None:
    resp = await facade.client.post(
        f"{BASE}/Messages.json",
        data={"To": "+14155550111", "From": "+14155550100", "Body": "x" * (2 * 1024 * 1024)},
        headers=AUTH,
    )
    assert resp.status == 413
    body = await resp.json()
    assert body["status"] == 413 and isinstance(body["code"], int)


async def test_unsupported_method_is_405_in_twilio_style(facade: Facade) -> None:
    resp = await facade.client.delete(f"{BASE}/Messages.json", headers=AUTH)
    assert resp.status == 405
    assert (await resp.json())["code"] == 20004


async def test_malformed_json_body_is_400_not_500(facade: Facade) -> None:
    resp = await facade.client.post(
        f"{BASE}/Messages.json",
        data=b'{"To": ',
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert resp.status == 400
    body = await resp.json()
    assert body["code"] == 20001 and "not valid JSON" in body["message"]


async def test_query_is_decoded_exactly_once(facade: Facade) -> None:
    resp = await facade.client.get(
        f"{BASE}/Messages.json?To=%252B14155550111&PageSize=1", headers=AUTH
    )
    assert resp.status == 200
    # "%252B" is a literal "%2B", not a "+": the filter must not have become +14155550111.
    assert dict(facade.state.requests[-1].query)["to_number"] == "%2B14155550111"
    bad = await facade.client.get(f"{BASE}/Messages.json?PageSize=%FF", headers=AUTH)
    assert bad.status == 400 and (await bad.json())["code"] == 20001
