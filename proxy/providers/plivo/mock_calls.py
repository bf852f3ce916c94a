"""The Plivo-style mock's calls: their records, the create, the run, call control and cancel.

Like the real carrier, a call has two ids. The create answers a ``request_uuid`` (time-based,
v1); the call it places is known by its own ``call_uuid`` (random, v4) from then on: its record
(``GET /Call/{call_uuid}/``), its hang-up (``DELETE /Call/{call_uuid}/``) and its transfer
(``POST /Call/{call_uuid}/``). Only a cancel goes by the request id
(``DELETE /Request/{request_uuid}/``). ``GET /Call/{request_uuid}/`` is 404, as Plivo answers:
a client learns the ``call_uuid`` from the callbacks, which carry both ids (``RequestUUID`` and
``CallUUID``, ``ALegRequestUUID`` and ``ALegUUID``), or from the call list.

Simplification (documented): a created call's record exists at once, under its ``call_uuid``.

The run (``proxy.providers.carrier``): the call fetches its ``answer_url``, runs the Plivo XML
it gets (a GetDigits/GetInput "presses" 1234), calls ``ring_url`` and ``hangup_url``, all
V3-signed with the auth token. While it runs (``Carrier.live``) a REST request may hang it up
(204), cancel it while it still rings (204), or transfer it with ``legs=aleg`` and ``aleg_url``
(202, "call transfered", the fixture's spelling): the carrier fetches the new URL. A call that
is not live is 404, as Plivo answers for a call it no longer runs.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from proxy.providers.carrier import Carrier

_NUMBER = re.compile(r"^\+?[1-9]\d{7,14}$")


def _digits(number: str) -> str:
    return number.lstrip("+")


class PlivoCalls:
    """``records``: call records by ``call_uuid`` (the mock's state, shared with its lists and
    resources); ``requests``: each created call's ``call_uuid`` by its ``request_uuid``.
    ``fail``, ``respond`` and ``read_json`` are the mock's own error, answer and strict body."""

    def __init__(
        self,
        auth_id: str,
        *,
        clock: Callable[[], datetime],
        fmt: Callable[[datetime, bool], str],
        carrier: Carrier,
        records: dict[str, dict[str, Any]],
        requests: dict[str, str],
        fail: Callable[[int, str], Exception],
        respond: Callable[[int, dict[str, Any]], web.Response],
        read_json: Callable[[web.Request], Awaitable[dict[str, Any]]],
    ) -> None:
        self.auth_id = auth_id
        self.clock, self.fmt = clock, fmt
        self.carrier = carrier
        self.records, self.requests = records, requests
        self.fail, self.respond, self.read_json = fail, respond, read_json

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
        cuuid = call_uuid or (
            str(uuid.UUID(int=rng.getrandbits(128), version=4)) if rng else str(uuid.uuid4())
        )
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
            "from_number": "+" + _digits(src),
            "hangup_cause_code": 4000,
            "hangup_cause_name": "Normal Hangup",
            "hangup_source": "Callee",
            "initiation_time": self.fmt(when, False),
            "parent_call_uuid": None,
            "resource_uri": f"/v1/Account/{self.auth_id}/Call/{cuuid}/",
            "to_number": _digits(dst),
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
        data = await self.read_json(request)
        for name in ("from", "to", "answer_url"):
            if not data.get(name):
                raise self.fail(400, f"{name} parameter is missing")
        src = str(data["from"])
        if not _NUMBER.match(src):
            raise self.fail(400, f"'{src}' is not a valid phone number.")
        dsts = [d for d in str(data["to"]).split("<") if d]
        for d in dsts:
            if not (_NUMBER.match(d) or d.startswith("sip:")):
                raise self.fail(400, f"'{d}' is not a valid phone number.")
        now = self.clock()
        placed = []
        for d in dsts:
            ruuid = str(uuid.uuid1())
            cuuid = self.add(src=src, dst=d, when=now, duration=0)["call_uuid"]
            self.requests[ruuid] = cuuid
            placed.append(ruuid)
            self.carrier.spawn(self._run(data, src, d, ruuid, cuuid))
        return self.respond(
            201,
            {"message": "call fired", "request_uuid": placed[0] if len(placed) == 1 else placed},
        )

    async def _run(self, data: dict[str, Any], src: str, dst: str, ruuid: str, cuuid: str) -> None:
        """The callbacks of one outbound call, answered at once, lasting 15 seconds."""

        def target(url: str, method: str) -> tuple[str, str] | None:
            value = data.get(url)
            return (str(value), str(data.get(method) or "POST")) if value else None

        answer = target("answer_url", "answer_method")
        assert answer is not None
        start = self.clock()
        base = {
            "CallUUID": cuuid,
            "RequestUUID": ruuid,
            "ALegUUID": cuuid,
            "ALegRequestUUID": ruuid,
            "From": _digits(src),
            "To": _digits(dst),
            "Direction": "outbound",
            "CallerName": "+" + _digits(src),
            "BillRate": "0.00850",
        }
        end = start + timedelta(seconds=20)
        final = {
            "Duration": "15",
            "BillDuration": "60",
            "HangupCause": "NORMAL_CLEARING",
            "HangupCauseName": "Normal Hangup",
            "HangupCauseCode": "4000",
            "HangupSource": "Callee",
            "StartTime": self.fmt(start, False)[:19],
            "AnswerTime": self.fmt(start + timedelta(seconds=5), False)[:19],
            "EndTime": self.fmt(end, False)[:19],
            "TotalCost": "0.00850",
        }
        await self.carrier.run_call(
            answer,
            base,
            ring=target("ring_url", "ring_method"),
            hangup=target("hangup_url", "hangup_method"),
            final=final,
            call_id=cuuid,
            destination=dst,
        )

    async def control(self, request: web.Request, cuuid: str) -> web.StreamResponse:
        """Hang up (DELETE) or transfer (POST) a live call, by its ``call_uuid``."""
        if request.method == "DELETE":
            if not self.carrier.hang_up(cuuid):
                raise self.fail(404, "not found")
            return web.Response(status=204)
        data = await self.read_json(request)
        legs = data.get("legs")
        if legs not in ("aleg", "bleg", "both"):
            raise self.fail(400, "legs must be one of aleg, bleg, both")
        if legs != "aleg":
            raise self.fail(400, "this call has no B leg to transfer")
        url = data.get("aleg_url")
        if not isinstance(url, str) or not re.match(r"^https?://", url):
            raise self.fail(400, "aleg_url parameter is required for legs aleg")
        method = str(data.get("aleg_method") or "POST").upper()
        if method not in ("GET", "POST"):
            raise self.fail(400, "aleg_method must be GET or POST")
        if cuuid not in self.records or not self.carrier.transfer(cuuid, url, method):
            raise self.fail(404, "not found")
        return self.respond(202, {"message": "call transfered"})

    def cancel(self, request: web.Request, ruuid: str) -> web.StreamResponse:
        """Cancel a call that has not been answered yet, by its ``request_uuid``."""
        if request.method != "DELETE":
            raise self.fail(405, "Method Not Allowed")
        cuuid = self.requests.get(ruuid)
        if cuuid is None or not self.carrier.cancel(cuuid):
            raise self.fail(404, "not found")
        return web.Response(status=204)
