"""The Twilio-style mock's calls: the record Twilio answers, placing a call, controlling it.

A call created with a ``Url`` runs on the carrier (``proxy.providers.carrier``), as on Twilio:
it fetches its ``Url``, runs the TwiML it gets (a Gather "presses" 1234; a Gather without
``action`` posts to the current document, as Twilio does) and reports ``ringing`` (when
``StatusCallbackEvent`` asks for it) and ``completed`` to ``StatusCallback``, each request signed
with ``X-Twilio-Signature``.

Call control (``POST …/Calls/{CA}.json``) acts on the call the carrier is running
(``Carrier.live``): ``Status=completed`` hangs it up, ``Status=canceled`` cancels it while it
rings (and has no effect once answered, as Twilio says), ``Url``/``Method`` redirect it (21220
when it is not in progress); the answer is the Call resource. The mock runs TwiML from URLs
only: an inline ``Twiml`` update is refused.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from proxy.providers.carrier import Carrier
from proxy.providers.twilio import rest as twilio
from proxy.providers.twilio.mock_http import E164, Failure, new_sid


class TwilioCalls:
    def __init__(
        self,
        account_sid: str,
        clock: Callable[[], datetime],
        carrier: Carrier,
        records: dict[str, dict[str, Any]],
    ) -> None:
        self.sid, self.clock, self.carrier, self.records = account_sid, clock, carrier, records

    def add(
        self,
        *,
        to: str,
        from_: str,
        when: datetime,
        duration: int | None = None,
        status: str = "queued",
        rng: random.Random | None = None,
    ) -> dict[str, Any]:
        sid = new_sid("CA", rng)
        done = duration is not None
        record: dict[str, Any] = {
            "account_sid": self.sid,
            "answered_by": None,
            "api_version": "2010-04-01",
            "caller_name": None,
            "date_created": twilio.rfc2822(when),
            "date_updated": twilio.rfc2822(when + timedelta(seconds=duration or 0)),
            "direction": "outbound-api",
            "duration": str(duration) if done else None,
            "end_time": twilio.rfc2822(when + timedelta(seconds=duration or 0)) if done else None,
            "forwarded_from": None,
            "from": from_,
            "from_formatted": from_,
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": None,
            "price": f"-{(duration or 0) / 60 * 0.013:.5f}" if done else None,
            "price_unit": "USD",
            "queue_time": "0",
            "sid": sid,
            "start_time": twilio.rfc2822(when) if done else None,
            "status": status,
            "subresource_uris": {},
            "to": to,
            "to_formatted": to,
            "trunk_sid": None,
            "uri": f"/2010-04-01/Accounts/{self.sid}/Calls/{sid}.json",
        }
        self.records[sid] = record
        return record

    def create(self, form: dict[str, Any]) -> dict[str, Any]:
        if not form.get("To"):
            raise Failure(400, 21201, "No 'To' number is specified")
        if not form.get("From"):
            raise Failure(400, 21213, "No 'From' number is specified")
        if not (form.get("Url") or form.get("Twiml") or form.get("ApplicationSid")):
            raise Failure(400, 21205, "Url parameter is required.")
        to = str(form["To"])
        if not (E164.match(to) or to.startswith(("sip:", "client:"))):
            raise Failure(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        record = self.add(to=to, from_=str(form["From"]), when=self.clock())
        if form.get("Url"):
            self.carrier.spawn(self._run(form, record))
        return record

    def update(self, record: dict[str, Any], form: dict[str, Any]) -> dict[str, Any]:
        sid = record["sid"]
        status, url = form.get("Status"), form.get("Url")
        if status is not None and status not in ("canceled", "completed"):
            raise Failure(400, 20001, "Status must be canceled or completed.")
        if form.get("Twiml"):
            raise Failure(400, 20001, "The mock runs TwiML from a Url only.")
        live = self.carrier.state(sid)
        if status == "completed" and live is not None:
            self.carrier.hang_up(sid)
            record["status"] = "canceled" if live == "ringing" else "completed"
        elif status == "canceled" and live == "ringing":
            self.carrier.cancel(sid)
            record["status"] = "canceled"
        elif status is None and url:
            method = str(form.get("Method") or "POST").upper()
            if method not in ("GET", "POST"):
                raise Failure(400, 20001, "Method must be GET or POST.")
            if not self.carrier.transfer(sid, str(url), method):
                raise Failure(400, 21220, "Call is not in-progress. Cannot redirect.")
        elif live is not None:
            record["status"] = live
        record["date_updated"] = twilio.rfc2822(self.clock())
        return record

    async def _run(self, form: dict[str, Any], record: dict[str, Any]) -> None:
        base = {
            "AccountSid": self.sid,
            "ApiVersion": "2010-04-01",
            "CallSid": record["sid"],
            "From": record["from"],
            "To": record["to"],
            "Caller": record["from"],
            "Called": record["to"],
            "Direction": "outbound-api",
        }
        status = form.get("StatusCallback")
        method = str(form.get("StatusCallbackMethod") or "POST")
        events = form.get("StatusCallbackEvent") or []
        events = events if isinstance(events, list) else str(events).split()
        final = {
            "CallDuration": "15",
            "Duration": "1",
            "Timestamp": twilio.rfc2822(self.clock()),
            "CallbackSource": "call-progress-events",
            "SequenceNumber": "1",
        }
        started = self.clock()
        outcome = await self.carrier.run_call(
            (str(form["Url"]), str(form.get("Method") or "POST")),
            base,
            ring=(str(status), method) if status and "ringing" in events else None,
            hangup=(str(status), method) if status else None,
            final=final,
            call_id=record["sid"],
            destination=record["to"],
        )
        ended = self.clock()
        answered = outcome == "completed"
        record.update(
            status=outcome,
            start_time=twilio.rfc2822(started) if answered else None,
            end_time=twilio.rfc2822(ended),
            duration=str(int((ended - started).total_seconds())) if answered else "0",
            date_updated=twilio.rfc2822(ended),
        )
