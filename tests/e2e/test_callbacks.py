"""Callbacks end to end: the real SDKs create, the strict carrier mocks call back through
Dialect, and apps validate what reaches them with their own SDK's validator.

P→T: a twilio-SDK app over a Plivo carrier (``config/twilio-over-plivo.yaml``).
T→P: a plivo-SDK app over a Twilio carrier (``config/plivo-over-twilio.yaml``).
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from plivo import plivoxml
from twilio.twiml.voice_response import Gather, VoiceResponse

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
from tests.integration.conftest import SID

pytestmark = pytest.mark.e2e


# -- messages ----------------------------------------------------------------------------------


async def test_p_to_t_message_status_reaches_the_twilio_app_signed(p_to_t: Flow) -> None:
    client = twilio_client(p_to_t)
    callback = p_to_t.app_url + "/sms/status?tenant=7"
    msg = await asyncio.to_thread(
        lambda: client.messages.create(to=TO, from_=FROM, body="hi", status_callback=callback)
    )
    got = await p_to_t.app.wait_for("/sms/status", count=3)
    assert all(r.valid for r in got), "RequestValidator refused what Dialect sent"
    assert [r.params["MessageStatus"] for r in got] == ["queued", "sent", "delivered"]
    first = got[0].params
    assert first["MessageSid"] == msg.sid == first["SmsSid"]
    assert first["SmsStatus"] == "queued"
    assert first["AccountSid"] == SID and first["ApiVersion"] == "2010-04-01"
    assert first["To"] == TO and first["From"] == FROM
    assert first["tenant"] == "7"  # the app's own query string is kept
    assert "TotalAmount" not in first and "MessageUUID" not in first
    # The carrier never saw the app's URL: it called the proxy, and got a 2xx once the app had.
    deliveries = p_to_t.carrier.log.deliveries
    assert deliveries and all(
        d.url.startswith(p_to_t.proxy + "/_dialect/callbacks/") for d in deliveries
    )
    assert all(200 <= d.status < 300 for d in deliveries)


async def test_t_to_p_message_status_reaches_the_plivo_app_signed(
    t_to_p: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = plivo_sdk(t_to_p, monkeypatch)
    callback = t_to_p.app_url + "/plivo/sms"
    sent = await asyncio.to_thread(
        lambda: client.messages.create(src=FROM, dst=TO, text="hi", url=callback)
    )
    got = await t_to_p.app.wait_for("/plivo/sms", count=2)
    assert all(r.valid for r in got), "plivo's validators refused what Dialect sent"
    assert [r.params["Status"] for r in got] == ["sent", "delivered"]
    first = got[0].params
    assert first["MessageUUID"] == sent.message_uuid[0]
    assert first["To"] == TO.lstrip("+") and first["From"] == FROM.lstrip("+")
    assert "MessageSid" not in first and "SmsStatus" not in first


async def test_the_carrier_is_told_to_retry_while_the_app_is_down(p_to_t: Flow) -> None:
    p_to_t.app.answers["/down"] = lambda _p: (503, b"maintenance", "text/plain")
    client = twilio_client(p_to_t)
    await asyncio.to_thread(
        lambda: client.messages.create(
            to=TO, from_=FROM, body="hi", status_callback=p_to_t.app_url + "/down"
        )
    )
    await p_to_t.app.wait_for("/down", count=3)
    await asyncio.wait_for(p_to_t.carrier.log.done.wait(), 10)
    # No 2xx to the carrier while the app refuses: its own retries cover the outage.
    assert [d.status for d in p_to_t.carrier.log.deliveries] == [502, 502, 502]


# -- calls -------------------------------------------------------------------------------------


async def test_p_to_t_call_runs_the_apps_twiml_on_the_plivo_carrier(p_to_t: Flow) -> None:
    app = p_to_t.app
    answer = VoiceResponse()
    gather = Gather(action="/voice/gathered", num_digits=4, timeout=7)
    gather.say("Enter your code", voice="alice")
    answer.append(gather)
    answer.say("We did not get your code")
    app.answers["/voice/answer"] = xml(answer)
    done = VoiceResponse()
    done.say("Thank you")
    done.hangup()
    app.answers["/voice/gathered"] = xml(done)
    client = twilio_client(p_to_t)
    call = await twilio_call(p_to_t, client, status_callback_event=["ringing", "completed"])
    statuses = await app.wait_for("/voice/status", count=2)
    await asyncio.wait_for(p_to_t.carrier.log.done.wait(), 10)
    answered = app.at("/voice/answer")[0]
    gathered = app.at("/voice/gathered")[0]
    for request in (answered, gathered, *statuses):
        assert request.valid, f"RequestValidator refused {request.path}"
        assert request.params["CallSid"] == call.sid
        assert request.params["AccountSid"] == SID
        # Plivo names an A leg its own parent (ALegUUID); Twilio sends no parent for one.
        assert "ParentCallSid" not in request.params
    assert answered.params["Direction"] == "outbound-api"
    assert answered.params["CallStatus"] == "in-progress"
    assert answered.params["To"] == TO and answered.params["From"] == FROM
    assert gathered.params["Digits"] == "1234"
    assert [s.params["CallStatus"] for s in statuses] == ["ringing", "completed"]
    # The duration the carrier reported (its call lasted as long as the documents took), the
    # one its record of the call says.
    assert p_to_t.plivo is not None
    record = p_to_t.plivo.calls[p_to_t.plivo.call_requests[str(uuid.UUID(call.sid[2:]))]]
    assert statuses[1].params["CallDuration"] == str(record["call_duration"])
    # The carrier ran Plivo XML: the Gather became a GetDigits whose action came back through
    # Dialect, and the call ended with the app's Hangup.
    executed = p_to_t.carrier.log.executed
    assert executed[:2] == ["GetDigits", "GetDigits/Speak"]
    assert "Hangup" in executed and "Gather" not in executed
    assert not p_to_t.carrier.log.errors
    kinds = [d.kind for d in p_to_t.carrier.log.deliveries]
    assert kinds == ["ring", "answer", "action", "hangup"]
    assert all(d.url.startswith(p_to_t.proxy) for d in p_to_t.carrier.log.deliveries)


async def test_t_to_p_call_runs_the_apps_plivo_xml_on_the_twilio_carrier(
    t_to_p: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = t_to_p.app
    answer = plivoxml.ResponseElement()
    digits = plivoxml.GetDigitsElement(action=t_to_p.app_url + "/plivo/digits", method="POST")
    digits.add_speak("Enter your code")
    answer.add(digits)
    app.answers["/plivo/answer"] = xml(answer)
    done = plivoxml.ResponseElement()
    done.add_speak("Thank you")
    done.add(plivoxml.HangupElement())
    app.answers["/plivo/digits"] = xml(done)
    client = plivo_sdk(t_to_p, monkeypatch)
    created = await plivo_call(t_to_p, client, ring=True, answer_method="POST")
    hangups = await app.wait_for("/plivo/hangup")
    await asyncio.wait_for(t_to_p.carrier.log.done.wait(), 10)
    answered = app.at("/plivo/answer")[0]
    pressed = app.at("/plivo/digits")[0]
    rang = app.at("/plivo/ring")[0]
    for request in (answered, pressed, rang, hangups[0]):
        assert request.valid, f"plivo's validators refused {request.path}"
        assert request.params["CallUUID"] == created.request_uuid
    assert answered.params["Direction"] == "outbound"
    assert answered.params["To"] == TO.lstrip("+")
    assert pressed.params["Digits"] == "1234"
    assert rang.params["CallStatus"] == "ringing"
    hangup = hangups[0].params
    assert hangup["CallStatus"] == "completed"
    assert hangup["HangupCause"] == "NORMAL_CLEARING" and hangup["HangupCauseCode"] == "4000"
    assert hangup["Duration"] == "15" == hangup["BillDuration"]
    executed = t_to_p.carrier.log.executed
    assert executed[:2] == ["Gather", "Gather/Say"]
    assert "Hangup" in executed and "GetDigits" not in executed
    assert not t_to_p.carrier.log.errors
