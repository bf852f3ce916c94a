"""The SID a call create returned keeps working once Plivo knows the call by its own id.

Plivo answers a create with a ``request_uuid`` and then knows the call by a different
``call_uuid``; the twilio SDK holds ``CA`` + the request id. The Plivo carrier mock runs the
call (its callbacks through Dialect carry both ids), and the SDK fetches, lists and hangs up
the call with the SID its create returned, while the call runs and after it ended. Plivo keeps
a call's record only once it has ended: a fetch during the call gets its live state.

A call nobody answers, created with no ``StatusCallback``, still calls Dialect back: Plivo is
always given ring and hang-up URLs, which name no app and only record the call's own id.
"""

from __future__ import annotations

import asyncio
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client
from twilio.rest.api.v2010.account.call import CallInstance
from twilio.twiml.voice_response import VoiceResponse

from proxy.providers.carrier import BUSY, UNANSWERED
from tests.callback_apps import xml
from tests.e2e.callback_flow import FROM, TO, Flow, twilio_call, twilio_client
from tests.integration.conftest import PLIVO_ID

pytestmark = pytest.mark.e2e

# Seconds a test polls for a state the carrier reaches on its own.
WAIT = 10.0


def _sid(plivo_uuid: str) -> str:
    return "CA" + plivo_uuid.replace("-", "")


async def _fetch_until(
    client: Client, sid: str, done: Callable[[CallInstance], bool]
) -> CallInstance:
    """Fetch the call until ``done`` holds (a 404 counts as not yet); fails after ``WAIT``."""
    async with asyncio.timeout(WAIT):
        while True:
            try:
                call = await asyncio.to_thread(lambda: client.calls(sid).fetch())
            except TwilioRestException as exc:
                if exc.status != 404:
                    raise
            else:
                if done(call):
                    return call
            await asyncio.sleep(0.05)


def _call_gets(flow: Flow, call_uuid: str) -> list[str]:
    """The upstream GETs of the call, each as its query (``""``: the record; ``live``)."""
    assert flow.plivo is not None
    path = f"/v1/Account/{PLIVO_ID}/Call/{call_uuid}/"
    return [
        dict(r.query).get("status", "")
        for r in flow.plivo.requests
        if r.method == "GET" and r.path == path
    ]


def _metrics(flow: Flow) -> str:
    with urllib.request.urlopen(flow.proxy + "/_dialect/metrics", timeout=5) as resp:
        return str(resp.read().decode())


async def test_the_creates_sid_fetches_hangs_up_and_lists_the_call(p_to_t: Flow) -> None:
    app = p_to_t.app
    hold = VoiceResponse()
    hold.say("Please hold")
    hold.pause(length=30)
    app.answers["/voice/answer"] = xml(hold)
    client = twilio_client(p_to_t)
    call = await twilio_call(p_to_t, client)
    answered = (await app.wait_for("/voice/answer"))[0]
    assert answered.valid and answered.params["CallSid"] == call.sid
    plivo = p_to_t.plivo
    assert plivo is not None
    request_uuid = str(uuid.UUID(call.sid[2:]))
    call_uuid = plivo.call_requests[request_uuid]
    assert call_uuid != request_uuid  # the carrier's own id for the call

    # While the call runs: the create's SID fetches the call Plivo knows by its call_uuid. It
    # has no record yet (404), so its live state is asked for: in progress, started now (its
    # session_start, in the account's zone with no offset, read as such), no duration.
    live = await asyncio.to_thread(lambda: client.calls(call.sid).fetch())
    assert live.sid == call.sid and live.to == TO and live._from == FROM
    assert live.status == "in-progress" and live.direction == "outbound-api"
    assert live.duration is None and live.end_time is None
    assert abs(live.start_time - datetime.now(UTC)) < timedelta(minutes=1)
    assert live.date_created == live.start_time
    assert live.uri.endswith(f"/Calls/{call.sid}.json")
    assert _call_gets(p_to_t, call_uuid) == ["", "live"]

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

    # After the end: the same SID still fetches the call, from its record (nothing live is
    # asked for). A list shows it under its own call_uuid SID, which fetches it too.
    after = await asyncio.to_thread(lambda: client.calls(call.sid).fetch())
    assert after.sid == call.sid and after.status == "completed" and after.to == TO
    assert after.duration is not None and after.duration.isdigit()
    assert after.end_time is not None and after.start_time <= after.end_time
    assert _call_gets(p_to_t, call_uuid)[-1:] == [""]
    assert len(_call_gets(p_to_t, call_uuid)) == 3
    sids = [c.sid for c in await asyncio.to_thread(lambda: client.calls.list(to=TO))]
    assert _sid(call_uuid) in sids and call.sid not in sids
    own = await asyncio.to_thread(lambda: client.calls(_sid(call_uuid)).fetch())
    assert own.sid == _sid(call_uuid) and own.to == TO


async def test_a_ringing_call_is_canceled_by_the_creates_sid(p_to_t: Flow) -> None:
    """A cancel goes to Plivo by the request id, even once the call's own id is known."""
    app = p_to_t.app
    client = twilio_client(p_to_t)
    nobody = "+14155550199"  # the carrier mock's number that rings until canceled
    call = await twilio_call(p_to_t, client, nobody, status_callback_event=["ringing", "completed"])
    await app.wait_for("/voice/status")  # ringing: Dialect has seen both ids
    canceled = await asyncio.to_thread(lambda: client.calls(call.sid).update(status="canceled"))
    assert canceled.sid == call.sid and canceled.status == "canceled"
    final = await app.wait_for("/voice/status", count=2)
    assert final[1].params["CallStatus"] == "canceled" and final[1].params["CallSid"] == call.sid
    assert p_to_t.plivo is not None
    deletes = [r.path for r in p_to_t.plivo.requests if r.method == "DELETE"]
    assert deletes == [f"/v1/Account/{PLIVO_ID}/Request/{uuid.UUID(call.sid[2:])}/"]


@pytest.mark.parametrize(
    ("number", "ring_for", "status"),
    [(BUSY, None, "busy"), (UNANSWERED, 1, "no-answer")],
    ids=["busy", "no-answer"],
)
async def test_a_call_nobody_answers_is_fetched_by_the_creates_sid_without_a_status_callback(
    p_to_t: Flow, number: str, ring_for: int | None, status: str
) -> None:
    """No StatusCallback and no answer: the app is never called, but Plivo calls the hang-up
    URL Dialect always gives it, which records the call's own id and calls no app."""
    client = twilio_client(p_to_t)
    options = {"timeout": ring_for} if ring_for else {}
    call = await twilio_call(p_to_t, client, "+" + number, status=False, **options)
    assert call.status == "queued"
    ended = await _fetch_until(client, call.sid, lambda c: c.status == status)
    assert ended.sid == call.sid and ended.to == "+" + number and ended._from == FROM
    assert ended.duration is None and ended.end_time is not None
    assert p_to_t.app.received == []  # the app asked for nothing and heard nothing
    log = p_to_t.carrier.log
    # The record exists before the hang-up callback goes out: wait for the carrier to be done.
    await asyncio.wait_for(log.done.wait(), WAIT)
    kinds = ["hangup"] if number == BUSY else ["ring", "hangup"]
    assert [d.kind for d in log.deliveries] == kinds
    assert all(d.status == 204 and d.url.startswith(p_to_t.proxy) for d in log.deliveries)
    assert not log.errors
    metrics = await asyncio.to_thread(_metrics, p_to_t)
    assert 'dialect_callbacks_total{kind="call-status",outcome="recorded"} 1.0' in metrics
    assert 'dialect_alias_records_total{alias="call",outcome="recorded"} 1.0' in metrics


async def test_a_ringing_call_is_fetched_ringing_then_canceled(p_to_t: Flow) -> None:
    """The ring URL Dialect always gives Plivo resolves the create's SID while the call rings:
    the fetch gets Plivo's live call, ringing, then its record once canceled."""
    client = twilio_client(p_to_t)
    call = await twilio_call(p_to_t, client, "+" + UNANSWERED, status=False)
    ringing = await _fetch_until(client, call.sid, lambda c: True)
    assert ringing.sid == call.sid and ringing.status == "ringing"
    assert ringing.duration is None and ringing.end_time is None
    canceled = await asyncio.to_thread(lambda: client.calls(call.sid).update(status="canceled"))
    assert canceled.status == "canceled"
    ended = await _fetch_until(client, call.sid, lambda c: c.status != "ringing")
    assert ended.status == "canceled" and ended.end_time is not None
    assert p_to_t.app.received == []


async def test_a_call_neither_recorded_nor_live_is_twilios_20404(p_to_t: Flow) -> None:
    client = twilio_client(p_to_t)
    unknown = uuid.uuid4()
    with pytest.raises(TwilioRestException) as raised:
        await asyncio.to_thread(lambda: client.calls(_sid(str(unknown))).fetch())
    assert raised.value.status == 404 and raised.value.code == 20404
    assert _call_gets(p_to_t, str(unknown)) == ["", "live"]
