"""Call control and message delete through the real SDKs, with the carrier mocks running calls.

P→T: twilio's ``calls(sid).update(...)`` over a Plivo carrier: a redirect to the app's URL, an
inline Twiml served once from Dialect, a hang-up, a cancel. T→P: plivo's ``calls.transfer``,
``calls.hangup`` (204) and ``calls.cancel`` over a Twilio carrier. A call is held live by a
``<Pause>``/``<Wait>`` in the app's document, as a real call would be, while the test acts on it.
"""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import plivo
import pytest
from aiohttp.test_utils import TestServer
from plivo import plivoxml
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from proxy.providers.carrier import UNANSWERED, Carrier
from proxy.providers.twilio.mock import build_twilio_mock
from tests.callback_apps import xml
from tests.e2e.callback_flow import (
    FROM,
    TO,
    Flow,
    plivo_call,
    plivo_sdk,
    twilio_call,
    twilio_client,
)
from tests.integration.conftest import PLIVO_ID, PLIVO_TOKEN, SID, TOKEN, basic
from tests.schemas import assert_fits

pytestmark = pytest.mark.e2e

NOBODY = "+" + UNANSWERED  # rings until canceled


def hold(text: str) -> VoiceResponse:
    """A document that keeps the call live: what a caller on hold hears."""
    document = VoiceResponse()
    document.say(text)
    document.pause(length=30)
    return document


def plivo_hold(text: str) -> plivoxml.ResponseElement:
    document = plivoxml.ResponseElement()
    document.add_speak(text)
    document.add(plivoxml.WaitElement(length=30))
    return document


def raw_update(flow: Flow, sid: str, form: dict[str, str]) -> tuple[int, Any]:
    """A Twilio update as plain HTTP, for the status and the exact body."""
    request = urllib.request.Request(
        f"{flow.proxy}/2010-04-01/Accounts/{SID}/Calls/{sid}.json",
        data=urllib.parse.urlencode(form).encode(),
        headers={**basic(SID, TOKEN), "Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, orjson.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, orjson.loads(err.read())


def raw_plivo(flow: Flow, method: str, path: str) -> tuple[int, bytes, Any]:
    """A Plivo request as plain HTTP, with the SDK's JSON content type and empty object."""
    request = urllib.request.Request(
        f"{flow.proxy}/v1/Account/{PLIVO_ID}{path}",
        headers={**basic(PLIVO_ID, PLIVO_TOKEN), "Content-Type": "application/json"},
        data=b"{}",
        method=method,
    )
    with urllib.request.urlopen(request, timeout=5) as resp:
        return resp.status, resp.read(), resp.headers


# -- P→T: the twilio SDK over a Plivo carrier --------------------------------------------------


async def test_update_url_then_twiml_redirects_a_live_call(p_to_t: Flow) -> None:
    app = p_to_t.app
    app.answers["/voice/answer"] = xml(hold("Please hold"))
    app.answers["/voice/moved"] = xml(hold("You were moved"))
    client = twilio_client(p_to_t)
    call = await twilio_call(p_to_t, client)
    await app.wait_for("/voice/answer")

    moved = await asyncio.to_thread(
        lambda: client.calls(call.sid).update(url=p_to_t.app_url + "/voice/moved", method="POST")
    )
    assert moved.sid == call.sid and moved.status == "in-progress"
    fetched = (await app.wait_for("/voice/moved"))[0]
    assert fetched.valid and fetched.params["CallSid"] == call.sid
    assert fetched.params["CallStatus"] == "in-progress"

    status, body = await asyncio.to_thread(
        raw_update,
        p_to_t,
        call.sid,
        {"Twiml": "<Response><Say>Goodbye</Say><Hangup/></Response>"},
    )
    assert status == 200 and body["sid"] == call.sid and body["status"] == "in-progress"
    assert_fits(body, "api.v2010.account.call")
    ended = await app.wait_for("/voice/status")
    assert ended[0].params["CallStatus"] == "completed"
    await asyncio.wait_for(p_to_t.carrier.log.done.wait(), 10)

    # The carrier fetched both through Dialect: the app's URL sealed, then Dialect's own
    # one-time URL whose Twiml it ran as Plivo XML; no app was asked for that one. The ring
    # URL it was given names no app (none asked for ringing): Dialect answered it itself.
    log = p_to_t.carrier.log
    kinds = [d.kind for d in log.deliveries]
    assert kinds == ["ring", "answer", "transfer", "transfer", "hangup"]
    assert log.deliveries[0].status == 204
    inline = log.deliveries[3]
    assert inline.url.startswith(p_to_t.proxy + "/_dialect/callbacks/")
    assert b"<Speak" in inline.body and b"Goodbye" in inline.body and b"<Hangup" in inline.body
    assert log.executed[-3:] == ["(transfer)", "Speak", "Hangup"] and not log.errors
    assert sorted({r.path for r in app.received}) == [
        "/voice/answer",
        "/voice/moved",
        "/voice/status",
    ]
    assert p_to_t.plivo is not None
    transfers = [
        r.json for r in p_to_t.plivo.requests if isinstance(r.json, dict) and "legs" in r.json
    ]
    assert [t["legs"] for t in transfers] == ["aleg", "aleg"]
    assert all(t["aleg_url"].startswith(p_to_t.proxy) for t in transfers)

    # A replayed fetch of the one-time URL, signed as Plivo signs, gets the safe hang-up.
    replay = await Carrier("plivo", PLIVO_TOKEN).send(
        "replay", inline.url, "POST", inline.params, voice=True
    )
    assert replay.status == 200 and b"Goodbye" not in replay.body and b"<Hangup" in replay.body


async def test_update_status_completed_hangs_up_and_answers_the_call(p_to_t: Flow) -> None:
    app = p_to_t.app
    app.answers["/voice/answer"] = xml(hold("Please hold"))
    client = twilio_client(p_to_t)
    call = await twilio_call(p_to_t, client)
    await app.wait_for("/voice/answer")
    done = await asyncio.to_thread(lambda: client.calls(call.sid).update(status="completed"))
    assert done.sid == call.sid and done.status == "completed"
    assert done.account_sid == SID and done.date_updated is not None
    ended = await app.wait_for("/voice/status")
    assert ended[0].valid and ended[0].params["CallStatus"] == "completed"
    await asyncio.wait_for(p_to_t.carrier.log.done.wait(), 10)
    assert "(hangup)" in p_to_t.carrier.log.executed

    # The call is over: Plivo no longer has it live, the SDK gets Twilio's 404.
    with pytest.raises(TwilioRestException) as gone:
        await asyncio.to_thread(lambda: client.calls(call.sid).update(status="completed"))
    assert gone.value.status == 404 and gone.value.code == 20404


async def test_update_status_canceled_cancels_a_ringing_call(p_to_t: Flow) -> None:
    app = p_to_t.app
    client = twilio_client(p_to_t)
    call = await twilio_call(p_to_t, client, NOBODY, status_callback_event=["ringing", "completed"])
    ringing = await app.wait_for("/voice/status")
    assert ringing[0].params["CallStatus"] == "ringing"
    canceled = await asyncio.to_thread(lambda: client.calls(call.sid).update(status="canceled"))
    assert canceled.sid == call.sid and canceled.status == "canceled"
    final = await app.wait_for("/voice/status", count=2)
    assert final[1].valid and final[1].params["CallStatus"] == "canceled"
    assert not app.at("/voice/answer")  # never answered
    with pytest.raises(TwilioRestException) as again:
        await asyncio.to_thread(lambda: client.calls(call.sid).update(status="canceled"))
    assert again.value.status == 404 and again.value.code == 20404


async def test_update_refusals_are_twilio_errors(p_to_t: Flow) -> None:
    client = twilio_client(p_to_t)
    sid = "CA" + "0" * 32
    with pytest.raises(TwilioRestException) as busy:
        await asyncio.to_thread(lambda: client.calls(sid).update(status="busy"))
    assert busy.value.status == 400 and busy.value.code == 20001
    status, body = await asyncio.to_thread(raw_update, p_to_t, sid, {"TimeLimit": "30"})
    assert status == 400 and body["code"] == 20001 and "Url" in body["message"]
    status, body = await asyncio.to_thread(raw_update, p_to_t, sid, {"Url": "ftp://app/x"})
    assert status == 400 and body["code"] == 21205
    with pytest.raises(TwilioRestException) as unknown:
        await asyncio.to_thread(lambda: client.calls("CA" + "f" * 32).update(url="http://a.b/c"))
    assert unknown.value.status == 404 and unknown.value.code == 20404
    with pytest.raises(TwilioRestException) as malformed:
        await asyncio.to_thread(lambda: client.calls("CAnot-a-sid").update(status="completed"))
    assert malformed.value.status == 404 and malformed.value.code == 20404


async def test_message_delete_answers_what_twilio_answers_for_an_undeletable_message(
    p_to_t: Flow, aiohttp_server: Callable[..., Awaitable[TestServer]]
) -> None:
    client = twilio_client(p_to_t)
    sent = await asyncio.to_thread(lambda: client.messages.create(to=TO, from_=FROM, body="x"))
    with pytest.raises(TwilioRestException) as kept:
        await asyncio.to_thread(lambda: client.messages(sent.sid).delete())
    assert kept.value.status == 409 and kept.value.code == 20009
    assert "before it is complete" in kept.value.msg
    with pytest.raises(TwilioRestException) as unknown:
        await asyncio.to_thread(lambda: client.messages("SM" + "0" * 32).delete())
    assert unknown.value.status == 404 and unknown.value.code == 20404

    # The same SDK against the Twilio-style mock: the same answer for a message on its way,
    # 204 (the SDK's True) for one that has arrived.
    twilio = await aiohttp_server(build_twilio_mock(SID, TOKEN))
    direct = Client(SID, TOKEN, environment={"DIALECT_TEST": "1"})
    direct.api.base_url = str(twilio.make_url("")).rstrip("/")
    queued = await asyncio.to_thread(lambda: direct.messages.create(to=TO, from_=FROM, body="x"))
    with pytest.raises(TwilioRestException) as same:
        await asyncio.to_thread(lambda: direct.messages(queued.sid).delete())
    assert (same.value.status, same.value.code) == (kept.value.status, kept.value.code)
    delivered = await asyncio.to_thread(lambda: direct.messages.list(limit=50))
    done = next(m for m in delivered if m.status == "delivered")
    assert await asyncio.to_thread(lambda: direct.messages(done.sid).delete()) is True


# -- T→P: the plivo SDK over a Twilio carrier --------------------------------------------------


async def test_transfer_redirects_a_live_call(
    t_to_p: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = t_to_p.app
    app.answers["/plivo/answer"] = xml(plivo_hold("Please hold"))
    bye = plivoxml.ResponseElement()
    bye.add_speak("You were moved")
    bye.add(plivoxml.HangupElement())
    app.answers["/plivo/moved"] = xml(bye)
    client = plivo_sdk(t_to_p, monkeypatch)
    created = await plivo_call(t_to_p, client)
    uuid = created.request_uuid
    await app.wait_for("/plivo/answer")
    moved = await asyncio.to_thread(
        lambda: client.calls.transfer(
            uuid, legs="aleg", aleg_url=t_to_p.app_url + "/plivo/moved", aleg_method="POST"
        )
    )
    assert moved.message == "call transfered" and isinstance(moved.api_id, str)
    fetched = (await app.wait_for("/plivo/moved"))[0]
    assert fetched.valid and fetched.params["CallUUID"] == uuid
    hangup = (await app.wait_for("/plivo/hangup"))[0]
    assert hangup.params["CallStatus"] == "completed"
    await asyncio.wait_for(t_to_p.carrier.log.done.wait(), 10)
    assert [d.kind for d in t_to_p.carrier.log.deliveries] == ["answer", "transfer", "hangup"]
    assert t_to_p.carrier.log.deliveries[1].url.startswith(t_to_p.proxy + "/_dialect/callbacks/")

    # Over: Twilio refuses to redirect it (21220), which Plivo answers 404.
    with pytest.raises(plivo.exceptions.ResourceNotFoundError):
        await asyncio.to_thread(
            lambda: client.calls.transfer(uuid, legs="aleg", aleg_url=t_to_p.app_url + "/x")
        )
    with pytest.raises(plivo.exceptions.ValidationError, match="legs=aleg"):
        await asyncio.to_thread(
            lambda: client.calls.transfer(uuid, legs="bleg", bleg_url=t_to_p.app_url + "/x")
        )


async def test_hangup_answers_204(t_to_p: Flow, monkeypatch: pytest.MonkeyPatch) -> None:
    app = t_to_p.app
    app.answers["/plivo/answer"] = xml(plivo_hold("Please hold"))
    client = plivo_sdk(t_to_p, monkeypatch)
    created = await plivo_call(t_to_p, client)
    await app.wait_for("/plivo/answer")
    status, body, headers = await asyncio.to_thread(
        raw_plivo, t_to_p, "DELETE", f"/Call/{created.request_uuid}/"
    )
    assert status == 204 and body == b""
    assert headers["X-Api-Id"] and "Content-Type" not in headers
    hangup = (await app.wait_for("/plivo/hangup"))[0]
    assert hangup.valid and hangup.params["CallStatus"] == "completed"
    # The SDK's own hang-up takes the 204 as success (its answer has no body: None).
    with pytest.raises(plivo.exceptions.ResourceNotFoundError):
        await asyncio.to_thread(
            lambda: client.calls.hangup("0" * 8 + "-0000-0000-0000-" + "0" * 12)
        )
    second = await plivo_call(t_to_p, client, hangup=False)
    await app.wait_for("/plivo/answer", count=2)
    assert await asyncio.to_thread(lambda: client.calls.hangup(second.request_uuid)) is None


async def test_cancel_a_ringing_request(t_to_p: Flow, monkeypatch: pytest.MonkeyPatch) -> None:
    app = t_to_p.app
    app.answers["/plivo/answer"] = xml(plivo_hold("Please hold"))
    client = plivo_sdk(t_to_p, monkeypatch)
    ringing = await plivo_call(t_to_p, client, NOBODY, ring=True)
    await app.wait_for("/plivo/ring")
    assert await asyncio.to_thread(lambda: client.calls.cancel(ringing.request_uuid)) is None
    hangup = (await app.wait_for("/plivo/hangup"))[0]
    assert hangup.valid and hangup.params["CallStatus"] == "cancel"
    assert not app.at("/plivo/answer")

    # An answered call has no request left to cancel: Plivo's 404.
    answered = await plivo_call(t_to_p, client, hangup=False)
    await app.wait_for("/plivo/answer")
    with pytest.raises(plivo.exceptions.ResourceNotFoundError):
        await asyncio.to_thread(lambda: client.calls.cancel(answered.request_uuid))
    assert await asyncio.to_thread(lambda: client.calls.hangup(answered.request_uuid)) is None
