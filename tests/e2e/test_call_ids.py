"""The SID a call create returned keeps working once Plivo knows the call by its own id.

Plivo answers a create with a ``request_uuid`` and then knows the call by a different
``call_uuid``; the twilio SDK holds ``CA`` + the request id. The Plivo carrier mock runs the
call (its callbacks through Dialect carry both ids), and the SDK fetches, lists and hangs up
the call with the SID its create returned, while the call runs and after it ended.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from twilio.twiml.voice_response import VoiceResponse

from tests.callback_apps import xml
from tests.e2e.callback_flow import Flow, twilio_client
from tests.integration.conftest import PLIVO_ID

pytestmark = pytest.mark.e2e

TO, FROM = "+14155550111", "+14155550100"


def _sid(plivo_uuid: str) -> str:
    return "CA" + plivo_uuid.replace("-", "")


async def test_the_creates_sid_fetches_hangs_up_and_lists_the_call(p_to_t: Flow) -> None:
    app = p_to_t.app
    hold = VoiceResponse()
    hold.say("Please hold")
    hold.pause(length=30)
    app.answers["/voice/answer"] = xml(hold)
    client = twilio_client(p_to_t)
    call = await asyncio.to_thread(
        lambda: client.calls.create(
            to=TO,
            from_=FROM,
            url=p_to_t.app_url + "/voice/answer",
            status_callback=p_to_t.app_url + "/voice/status",
        )
    )
    answered = (await app.wait_for("/voice/answer"))[0]
    assert answered.valid and answered.params["CallSid"] == call.sid
    plivo = p_to_t.plivo
    assert plivo is not None
    request_uuid = str(uuid.UUID(call.sid[2:]))
    call_uuid = plivo.call_requests[request_uuid]
    assert call_uuid != request_uuid  # the carrier's own id for the call

    # While the call runs: the create's SID fetches the call Plivo knows by its call_uuid.
    live = await asyncio.to_thread(lambda: client.calls(call.sid).fetch())
    assert live.sid == call.sid and live.to == TO and live._from == FROM
    assert live.uri.endswith(f"/Calls/{call.sid}.json")
    asked = [r.path for r in plivo.requests if r.method == "GET" and "/Call/" in r.path]
    assert asked[-1] == f"/v1/Account/{PLIVO_ID}/Call/{call_uuid}/"

    # Its recordings are asked for by the call's own id, and named under the SID asked for.
    recordings = await asyncio.to_thread(lambda: client.calls(call.sid).recordings.list())
    assert recordings == []
    listed = [r for r in plivo.requests if r.path.endswith("/Recording/")]
    assert ("call_uuid", call_uuid) in listed[-1].query

    # The hang-up reaches the live call: the carrier ends it and reports it to the app.
    done = await asyncio.to_thread(lambda: client.calls(call.sid).update(status="completed"))
    assert done.sid == call.sid and done.status == "completed"
    ended = (await app.wait_for("/voice/status"))[0]
    assert ended.valid and ended.params["CallSid"] == call.sid
    assert ended.params["CallStatus"] == "completed"
    await asyncio.wait_for(p_to_t.carrier.log.done.wait(), 10)
    assert "(hangup)" in p_to_t.carrier.log.executed and not p_to_t.carrier.log.errors
    hangups = [r.path for r in plivo.requests if r.method == "DELETE"]
    assert hangups == [f"/v1/Account/{PLIVO_ID}/Call/{call_uuid}/"]

    # After the end: the same SID still fetches the call. A list shows it under its own
    # call_uuid SID, which fetches it too.
    after = await asyncio.to_thread(lambda: client.calls(call.sid).fetch())
    assert after.sid == call.sid and after.status == "completed" and after.to == TO
    sids = [c.sid for c in await asyncio.to_thread(lambda: client.calls.list(to=TO))]
    assert _sid(call_uuid) in sids and call.sid not in sids
    own = await asyncio.to_thread(lambda: client.calls(_sid(call_uuid)).fetch())
    assert own.sid == _sid(call_uuid) and own.to == TO


async def test_a_ringing_call_is_canceled_by_the_creates_sid(p_to_t: Flow) -> None:
    """A cancel goes to Plivo by the request id, even once the call's own id is known."""
    app = p_to_t.app
    client = twilio_client(p_to_t)
    call = await asyncio.to_thread(
        lambda: client.calls.create(
            to="+14155550199",  # the carrier mock's number that rings until canceled
            from_=FROM,
            url=p_to_t.app_url + "/voice/answer",
            status_callback=p_to_t.app_url + "/voice/status",
            status_callback_event=["ringing", "completed"],
        )
    )
    await app.wait_for("/voice/status")  # ringing: Dialect has seen both ids
    canceled = await asyncio.to_thread(lambda: client.calls(call.sid).update(status="canceled"))
    assert canceled.sid == call.sid and canceled.status == "canceled"
    final = await app.wait_for("/voice/status", count=2)
    assert final[1].params["CallStatus"] == "canceled" and final[1].params["CallSid"] == call.sid
    assert p_to_t.plivo is not None
    deletes = [r.path for r in p_to_t.plivo.requests if r.method == "DELETE"]
    assert deletes == [f"/v1/Account/{PLIVO_ID}/Request/{uuid.UUID(call.sid[2:])}/"]
