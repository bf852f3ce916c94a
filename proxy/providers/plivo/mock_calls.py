"""The Plivo-style mock's calls: their records, the create, the run, call control and cancel.

Like the real carrier, a call has two ids. The create answers a ``request_uuid`` (time-based,
v1); the call it places is known by its own ``call_uuid`` (random, v4) from then on: its record
(``GET /Call/{call_uuid}/``), its live state (``GET /Call/{call_uuid}/?status=live``), its
hang-up (``DELETE /Call/{call_uuid}/``) and its transfer (``POST /Call/{call_uuid}/``). Only a
cancel goes by the request id (``DELETE /Request/{request_uuid}/``). ``GET /Call/{request_uuid}/``
is 404, as Plivo answers: a client learns the ``call_uuid`` from the callbacks, which carry both
ids (``RequestUUID`` and ``CallUUID``, ``ALegRequestUUID`` and ``ALegUUID``), or from the list.

As strict as Plivo about when what exists: a call's record (CDR) is written when the call ends,
just before its hang-up callback goes out (what ``hangup_url`` hears of, ``GET /Call/{id}/``
answers); until then that GET is 404 and the call list does not show it. While the carrier runs
the call, ``?status=live`` answers the live shape (``call_status`` ``ringing`` or
``in-progress``, ``session_start`` in the account's zone with no offset); before the create and
after the end it is 404.

The run (``proxy.providers.carrier``): the call fetches its ``answer_url``, runs the Plivo XML
it gets (a GetDigits/GetInput "presses" 1234), calls ``ring_url`` and ``hangup_url``, all
V3-signed with the auth token. While it runs (``Carrier.live``) a REST request may hang it up
(204), cancel it while it still rings (204), or transfer it with ``legs=aleg`` and ``aleg_url``
(202, "call transfered", the fixture's spelling): the carrier fetches the new URL. A call that
is not live is 404, as Plivo answers for a call it no longer runs. A call to the carrier's
``UNANSWERED`` number rings until canceled or its ``ring_timeout``, then ends ``no-answer``;
one to ``BUSY`` ends ``busy`` at once (``proxy.providers.carrier``).
"""

from __future__ import annotations

import random
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from proxy.providers.carrier import Carrier, LiveCall
from proxy.providers.plivo.mock_answers import MockAccount, digits, new_uuid

_NUMBER = re.compile(r"^\+?[1-9]\d{7,14}$")
# How a call ended, as its record (call_state) and its hang-up callback (HangupCause, its name
# and code: the webhooks reference, table 6c) say it.
_ENDINGS = {
    "completed": ("ANSWER", "NORMAL_CLEARING", "Normal Hangup", "4000", "Callee"),
    "busy": ("BUSY", "USER_BUSY", "Busy Line", "3010", "Callee"),
    "no-answer": ("NO_ANSWER", "NO_ANSWER", "No Answer", "3000", "Callee"),
    "canceled": ("CANCEL", "ORIGINATOR_CANCEL", "Canceled", "1000", "Caller"),
}


class PlivoCalls:
    """``records``: call records by ``call_uuid`` (the mock's state, shared with its lists and
    resources); ``requests``: each created call's ``call_uuid`` by its ``request_uuid``."""

    def __init__(
        self,
        account: MockAccount,
        *,
        carrier: Carrier,
        records: dict[str, dict[str, Any]],
        requests: dict[str, str],
    ) -> None:
        self.auth_id, self.clock, self.fmt = account.auth_id, account.clock, account.fmt
        self.answers, self.carrier = account.answers, carrier
        self.records, self.requests = records, requests
        # What a live call answers besides its state, by call_uuid, from its create to its end.
        self.placed: dict[str, dict[str, str]] = {}

    def add(
        self,
        *,
        src: str,
        dst: str,
        when: datetime,
        duration: int = 42,
        call_uuid: str | None = None,
        rng: random.Random | None = None,
    ) -> dict[str, Any]:
        """A call record (CDR), as ``GET /Call/{call_uuid}/`` answers it."""
        cuuid = call_uuid or new_uuid(rng)
        answer = when + timedelta(seconds=5)
        end = answer + timedelta(seconds=duration)
        billed = max(60, -(-duration // 60) * 60)
        record = {
            "answer_time": self.fmt(answer, False),
            "bill_duration": duration,
            "billed_duration": billed,
            "call_direction": "outbound",
            "call_duration": duration,
            "call_state": "ANSWER",
            "call_uuid": cuuid,
            "end_time": self.fmt(end, False),
            "from_number": "+" + digits(src),
            "hangup_cause_code": 4000,
            "hangup_cause_name": "Normal Hangup",
            "hangup_source": "Callee",
            "initiation_time": self.fmt(when, False),
            "parent_call_uuid": None,
            "resource_uri": f"/v1/Account/{self.auth_id}/Call/{cuuid}/",
            "to_number": digits(dst),
            "total_amount": f"{billed / 60 * 0.0085:.5f}",
            "total_rate": "0.00850",
        }
        self.records[cuuid] = record
        return record

    def seed(
        self, rng: random.Random, now: datetime, count: int, ours: list[str], theirs: list[str]
    ) -> None:
        """``count`` finished calls of the last three days and three older ones."""
        ages = [timedelta(minutes=rng.randint(1, 3 * 24 * 60)) for _ in range(count)]
        ages += [timedelta(days=rng.randint(10, 20)) for _ in range(3)]
        for i, age in enumerate(ages):
            self.add(
                src=ours[i % 2],
                dst=rng.choice(theirs),
                when=now - age,
                duration=rng.randint(3, 600),
                rng=rng,
            )

    async def create(self, request: web.Request) -> web.Response:
        """``POST /Call/``: one request and one call per destination; 201 with the request ids."""
        data = await self.answers.read_json(request)
        for name in ("from", "to", "answer_url"):
            if not data.get(name):
                raise self.answers.fail(400, f"{name} parameter is missing")
        src = str(data["from"])
        if not _NUMBER.match(src):
            raise self.answers.fail(400, f"'{src}' is not a valid phone number.")
        dsts = [d for d in str(data["to"]).split("<") if d]
        for d in dsts:
            if not (_NUMBER.match(d) or d.startswith("sip:")):
                raise self.answers.fail(400, f"'{d}' is not a valid phone number.")
        ring_timeout = data.get("ring_timeout")
        if ring_timeout is not None and (
            not isinstance(ring_timeout, int) or isinstance(ring_timeout, bool) or ring_timeout < 1
        ):
            raise self.answers.fail(400, "ring_timeout must be a positive integer")
        placed = []
        for d in dsts:
            ruuid = str(uuid.uuid1())
            cuuid = str(uuid.uuid4())
            self.requests[ruuid] = cuuid
            call = self.carrier.place(cuuid)  # live (ringing) from now; no record until the end
            self.placed[cuuid] = {
                "call_uuid": cuuid,
                "caller_name": str(data.get("caller_name") or "+" + digits(src)),
                "direction": "outbound",
                "from": digits(src),
                "to": digits(d),
                "request_uuid": ruuid,
                "session_start": self.fmt(call.started or self.clock(), True)[:-6],
            }
            placed.append(ruuid)
            self.carrier.spawn(self._run(data, src, d, ruuid, cuuid))
        return self.answers.respond(
            201,
            {"message": "call fired", "request_uuid": placed[0] if len(placed) == 1 else placed},
        )

    async def one(self, request: web.Request, cuuid: str) -> web.StreamResponse:
        """``/Call/{call_uuid}/``: its record (GET), its live state (GET ``?status=live``), a
        hang-up (DELETE) or a transfer (POST)."""
        if request.method in ("DELETE", "POST"):
            return await self.control(request, cuuid)
        if request.method != "GET":
            raise self.answers.fail(405, "Method Not Allowed")
        if "status" in request.query:
            # Plivo's queued calls (``status=queued``) are not modelled.
            if request.query["status"] != "live":
                raise self.answers.fail(400, "status must be live")
            live = self.live(cuuid)
            if live is None:
                raise self.answers.fail(404, "not found")
            return self.answers.respond(200, live)
        record = self.records.get(cuuid)
        if record is None:  # not placed, or not ended yet: no record
            raise self.answers.fail(404, "not found")
        return self.answers.respond(200, dict(record))

    def live(self, cuuid: str) -> dict[str, Any] | None:
        """The call while the carrier runs it (Plivo's live call), or None."""
        state = self.carrier.state(cuuid)
        placed = self.placed.get(cuuid)
        if state is None or placed is None:
            return None
        return {**placed, "call_status": state}

    async def _run(self, data: dict[str, Any], src: str, dst: str, ruuid: str, cuuid: str) -> None:
        """The callbacks of one outbound call, answered at once (or never, for the carrier's
        unanswered and busy numbers); its record is written as it ends."""

        def target(url: str, method: str) -> tuple[str, str] | None:
            value = data.get(url)
            return (str(value), str(data.get(method) or "POST")) if value else None

        def ended(call: LiveCall) -> dict[str, str]:
            self.placed.pop(cuuid, None)
            return self._ended(call, src, dst)

        answer = target("answer_url", "answer_method")
        assert answer is not None
        ring_timeout = data.get("ring_timeout")
        base = {
            "CallUUID": cuuid,
            "RequestUUID": ruuid,
            "ALegUUID": cuuid,
            "ALegRequestUUID": ruuid,
            "From": digits(src),
            "To": digits(dst),
            "Direction": "outbound",
            "CallerName": "+" + digits(src),
            "BillRate": "0.00850",
        }
        await self.carrier.run_call(
            answer,
            base,
            ring=target("ring_url", "ring_method"),
            hangup=target("hangup_url", "hangup_method"),
            call_id=cuuid,
            destination=dst,
            ring_timeout=float(ring_timeout) if ring_timeout is not None else None,
            on_end=ended,
        )

    def _ended(self, call: LiveCall, src: str, dst: str) -> dict[str, str]:
        """The call's record, written as it ends; what its hang-up callback says of the end."""
        started = call.started or self.clock()
        stopped = call.ended or self.clock()
        answered = call.answered
        duration = int((stopped - answered).total_seconds()) if answered is not None else 0
        billed = max(60, -(-duration // 60) * 60) if answered is not None else 0
        state, cause, name, code, source = _ENDINGS.get(call.state, _ENDINGS["completed"])
        self.records[call.call_id] = {
            "answer_time": self.fmt(answered, False) if answered is not None else None,
            "bill_duration": duration,
            "billed_duration": billed,
            "call_direction": "outbound",
            "call_duration": duration,
            "call_state": state,
            "call_uuid": call.call_id,
            "end_time": self.fmt(stopped, False),
            "from_number": "+" + digits(src),
            "hangup_cause_code": int(code),
            "hangup_cause_name": name,
            "hangup_source": source,
            "initiation_time": self.fmt(started, False),
            "parent_call_uuid": None,
            "resource_uri": f"/v1/Account/{self.auth_id}/Call/{call.call_id}/",
            "to_number": digits(dst),
            "total_amount": f"{billed / 60 * 0.0085:.5f}",
            "total_rate": "0.00850",
        }
        told = {
            "Duration": str(duration),
            "BillDuration": str(billed),
            "HangupCause": cause,
            "HangupCauseName": name,
            "HangupCauseCode": code,
            "HangupSource": source,
            "StartTime": self.fmt(started, False)[:19],
            "EndTime": self.fmt(stopped, False)[:19],
            "TotalCost": f"{billed / 60 * 0.0085:.5f}",
        }
        if answered is not None:
            told["AnswerTime"] = self.fmt(answered, False)[:19]
        return told

    async def control(self, request: web.Request, cuuid: str) -> web.StreamResponse:
        """Hang up (DELETE) or transfer (POST) a live call, by its ``call_uuid``."""
        if request.method == "DELETE":
            if not self.carrier.hang_up(cuuid):
                raise self.answers.fail(404, "not found")
            return web.Response(status=204)
        data = await self.answers.read_json(request)
        legs = data.get("legs")
        if legs not in ("aleg", "bleg", "both"):
            raise self.answers.fail(400, "legs must be one of aleg, bleg, both")
        if legs != "aleg":
            raise self.answers.fail(400, "this call has no B leg to transfer")
        url = data.get("aleg_url")
        if not isinstance(url, str) or not re.match(r"^https?://", url):
            raise self.answers.fail(400, "aleg_url parameter is required for legs aleg")
        method = str(data.get("aleg_method") or "POST").upper()
        if method not in ("GET", "POST"):
            raise self.answers.fail(400, "aleg_method must be GET or POST")
        if not self.carrier.transfer(cuuid, url, method):
            raise self.answers.fail(404, "not found")
        return self.answers.respond(202, {"message": "call transfered"})

    def cancel(self, request: web.Request, ruuid: str) -> web.StreamResponse:
        """Cancel a call that has not been answered yet, by its ``request_uuid``."""
        if request.method != "DELETE":
            raise self.answers.fail(405, "Method Not Allowed")
        cuuid = self.requests.get(ruuid)
        if cuuid is None or not self.carrier.cancel(cuuid):
            raise self.answers.fail(404, "not found")
        return web.Response(status=204)
