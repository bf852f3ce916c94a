"""The official twilio SDK, with only its base URL changed, against a Plivo-style upstream."""

from __future__ import annotations

import asyncio
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException

from tests.e2e.conftest import Stack
from tests.integration.conftest import SID, TOKEN, basic
from tests.schemas import assert_fits, assert_list_fits

pytestmark = pytest.mark.e2e

TO, FROM = "+14155550111", "+14155550100"


def raw_get(stack: Stack, path: str) -> Any:
    request = urllib.request.Request(stack.proxy_url + path, headers=basic(SID, TOKEN))
    with urllib.request.urlopen(request, timeout=5) as resp:
        return orjson.loads(resp.read())


def visible_messages(stack: Stack) -> int:
    """How many seeded messages the proxy should list: Plivo keeps 90 days of MDRs."""
    horizon = datetime.now(UTC) - timedelta(days=90)
    return sum(
        datetime.fromisoformat(m["message_time"]) >= horizon for m in stack.state.messages.values()
    )


async def test_message_create_fetch_and_schema(stack: Stack) -> None:
    client = stack.client()
    msg = await asyncio.to_thread(
        lambda: client.messages.create(to=TO, from_=FROM, body="Hello from the SDK")
    )
    assert msg.sid.startswith("SM") and len(msg.sid) == 34
    assert msg.status == "queued" and msg.to == TO and msg.from_ == FROM
    assert msg.body == "Hello from the SDK"
    assert msg.date_created is not None and msg.date_created.tzinfo is not None
    assert abs((datetime.now(UTC) - msg.date_created).total_seconds()) < 60
    assert msg.num_segments == "1" and msg.error_code is None

    fetched = await asyncio.to_thread(lambda: client.messages(msg.sid).fetch())
    assert fetched.sid == msg.sid and fetched.to == TO
    assert fetched.date_created.replace(microsecond=0) == msg.date_created.replace(microsecond=0)

    body = await asyncio.to_thread(
        raw_get, stack, f"/2010-04-01/Accounts/{SID}/Messages/{msg.sid}.json"
    )
    assert_fits(body, "api.v2010.account.message")


async def test_message_list_walks_every_record_once_newest_first(stack: Stack) -> None:
    client = stack.client()
    records = await asyncio.to_thread(lambda: client.messages.list(page_size=7))
    sids = [m.sid for m in records]
    assert len(sids) == len(set(sids)) == visible_messages(stack)
    dates = [m.date_created for m in records]
    assert dates == sorted(dates, reverse=True)
    list_calls = [
        r for r in stack.state.requests if r.method == "GET" and r.path.endswith("/Message/")
    ]
    assert len(list_calls) >= len(sids) // 7  # really paged, 7 at a time
    limited = await asyncio.to_thread(lambda: client.messages.list(limit=5))
    assert [m.sid for m in limited] == sids[:5]


async def test_message_list_json_fits_twilio_schema(stack: Stack) -> None:
    body = await asyncio.to_thread(
        raw_get, stack, f"/2010-04-01/Accounts/{SID}/Messages.json?PageSize=3"
    )
    assert_list_fits(body, "/2010-04-01/Accounts/{AccountSid}/Messages.json")
    for message in body["messages"]:
        assert_fits(message, "api.v2010.account.message")


async def test_call_create_fetch_list(stack: Stack) -> None:
    client = stack.client()
    call = await asyncio.to_thread(
        lambda: client.calls.create(to=TO, from_=FROM, url="http://demo.twilio.com/docs/voice.xml")
    )
    assert call.sid.startswith("CA") and call.status == "queued"
    assert call.to == TO and call._from == FROM
    # The create's SID is Plivo's request id; Plivo knows the call by its own call_uuid, and no
    # callback has told Dialect which (tests/e2e/test_call_ids.py has the whole flow). The call
    # is listed, and fetched, under its own SID.
    own = "CA" + stack.state.call_requests[str(uuid.UUID(call.sid[2:]))].replace("-", "")
    assert own != call.sid
    fetched = await asyncio.to_thread(lambda: client.calls(own).fetch())
    assert fetched.sid == own and fetched.to == TO
    assert fetched.status == "completed" and isinstance(fetched.duration, str)
    body = await asyncio.to_thread(raw_get, stack, f"/2010-04-01/Accounts/{SID}/Calls/{own}.json")
    assert_fits(body, "api.v2010.account.call")
    calls = await asyncio.to_thread(lambda: client.calls.list(page_size=6))
    sids = [c.sid for c in calls]
    assert own in sids and len(sids) == len(set(sids))
    starts = [c.start_time for c in calls]
    assert all(s is not None for s in starts)


async def test_invalid_number_raises_rest_exception_with_code_and_text(stack: Stack) -> None:
    client = stack.client()
    with pytest.raises(TwilioRestException) as info:
        await asyncio.to_thread(lambda: client.messages.create(to="MyBrand", from_=FROM, body="x"))
    assert info.value.status == 400 and info.value.code == 21211
    assert "'MyBrand' is not a valid phone number." in info.value.msg


async def test_missing_resource_raises_20404(stack: Stack) -> None:
    client = stack.client()
    with pytest.raises(TwilioRestException) as info:
        await asyncio.to_thread(lambda: client.messages("SM" + "0" * 32).fetch())
    assert info.value.status == 404 and info.value.code == 20404
    with pytest.raises(TwilioRestException) as info:
        await asyncio.to_thread(lambda: client.calls("CA" + "0" * 32).fetch())
    assert info.value.status == 404 and info.value.code == 20404


async def test_bad_credentials_raise_20003(stack: Stack) -> None:
    client = stack.client(token="not-the-token")
    with pytest.raises(TwilioRestException) as info:
        await asyncio.to_thread(lambda: client.messages.create(to=TO, from_=FROM, body="x"))
    assert info.value.status == 401 and info.value.code == 20003
    with pytest.raises(TwilioException, match="Unable to fetch page"):
        await asyncio.to_thread(lambda: client.messages.list(limit=1))
    assert not any(r.method == "POST" for r in stack.state.requests)


async def test_account_fetch_checks_credentials_and_fits_the_schema(stack: Stack) -> None:
    client = stack.client()
    account = await asyncio.to_thread(lambda: client.api.accounts(SID).fetch())
    assert account.sid == SID and account.status == "active"
    assert account.friendly_name == "Dialect Demo" and account.auth_token is None
    body = await asyncio.to_thread(raw_get, stack, f"/2010-04-01/Accounts/{SID}.json")
    assert_fits(body, "api.v2010.account")
    with pytest.raises(TwilioRestException) as info:
        await asyncio.to_thread(lambda: stack.client(token="nope").api.accounts(SID).fetch())
    assert info.value.status == 401 and info.value.code == 20003
