"""The Twilio-style mock's other resources: recordings, message media, phone numbers, balance.

``mock`` serves messages and calls (and runs them through the carrier); this module routes what
an application also calls, as strictly as the 2010-04-01 API does (Twilio's OpenAPI description
and the project's reference notes): Basic auth whose account must match the path, ``.json``
paths, 404/20404 for an unknown SID, 405/20004 for a method a resource does not take,
form-encoded updates, Twilio's paging (``mock_paging``), RFC 2822 dates in GMT and 4-field
errors (``mock_http``). Deletes answer 204. Each resource is its own module:

- recordings, of the account and of a call, and their audio (``mock_recordings``);
- the media of a message (``mock_media``);
- the account's numbers, buying one and searching the inventory (``mock_numbers``,
  ``mock_inventory``);
- here: ``/Balance.json`` and the account itself.

Seeded from the mock's own calls and messages: a recording for every third answered call,
media for every message that has some, the two numbers the seeded traffic uses, and an
inventory of fictional numbers (NANP 555-01xx/02xx ranges, Ofcom's drama ranges) to buy.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from proxy.providers.twilio import rest as twilio
from proxy.providers.twilio.mock_http import (
    Failure,
    authenticate,
    error_response,
    json_response,
    not_found,
)
from proxy.providers.twilio.mock_inventory import number_inventory
from proxy.providers.twilio.mock_media import TwilioMedia
from proxy.providers.twilio.mock_numbers import TwilioNumbers
from proxy.providers.twilio.mock_recordings import TwilioRecordings

_API = r"^/2010-04-01/Accounts/(?P<account>[^/]+)"
_ID = r"[^/.]+"
ROUTES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("account", re.compile(_API + r"\.json$")),
    ("balance", re.compile(_API + r"/Balance\.json$")),
    ("recordings", re.compile(_API + r"/Recordings\.json$")),
    ("recording", re.compile(_API + rf"/Recordings/(?P<sid>{_ID})\.json$")),
    ("recording_media", re.compile(_API + rf"/Recordings/(?P<sid>{_ID})(?P<ext>\.mp3|\.wav)?$")),
    ("call_recordings", re.compile(_API + rf"/Calls/(?P<call>{_ID})/Recordings\.json$")),
    (
        "call_recording",
        re.compile(_API + rf"/Calls/(?P<call>{_ID})/Recordings/(?P<sid>{_ID})\.json$"),
    ),
    ("media_list", re.compile(_API + rf"/Messages/(?P<message>{_ID})/Media\.json$")),
    ("media", re.compile(_API + rf"/Messages/(?P<message>{_ID})/Media/(?P<sid>{_ID})\.json$")),
    ("media_content", re.compile(_API + rf"/Messages/(?P<message>{_ID})/Media/(?P<sid>{_ID})$")),
    ("numbers", re.compile(_API + r"/IncomingPhoneNumbers\.json$")),
    ("number", re.compile(_API + rf"/IncomingPhoneNumbers/(?P<sid>{_ID})\.json$")),
    (
        "available",
        re.compile(_API + rf"/AvailablePhoneNumbers/(?P<country>{_ID})/(?P<type>{_ID})\.json$"),
    ),
)
# The methods a route takes (HEAD is answered as GET); one not listed takes GET only. 20004 else.
_METHODS = {
    "number": ("GET", "POST", "DELETE"),
    "numbers": ("GET", "POST"),
    "recording": ("GET", "DELETE"),
    "call_recording": ("GET", "DELETE"),
    "media": ("GET", "DELETE"),
}


@dataclass
class TwilioResourcesState:
    recordings: dict[str, dict[str, Any]] = field(default_factory=dict)
    media: dict[str, dict[str, Any]] = field(default_factory=dict)  # ME sid -> record
    numbers: dict[str, dict[str, Any]] = field(default_factory=dict)  # PN sid -> record
    inventory: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=number_inventory)
    balance: str = "12.34"


TWILIO_MOCK_RESOURCES = web.AppKey("twilio_mock_resources", TwilioResourcesState)


class TwilioResources:
    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        clock: Callable[[], datetime],
        messages: dict[str, dict[str, Any]],
        calls: dict[str, dict[str, Any]],
    ) -> None:
        self.sid, self.token, self.clock = account_sid, auth_token, clock
        self.messages, self.calls = messages, calls
        self.state = state = TwilioResourcesState()
        self.base = f"/2010-04-01/Accounts/{account_sid}"
        self.recordings = TwilioRecordings(account_sid, state.recordings, calls)
        self.media = TwilioMedia(account_sid, state.media, messages)
        self.numbers = TwilioNumbers(account_sid, clock, state.numbers, state.inventory)

    def seed(self, seed: int) -> None:
        """Derived from the mock's seeded calls and messages, with its own random stream so the
        calls and messages stay what they were."""
        rng = random.Random(seed + 101)
        now = self.clock()
        answered = [
            c for c in self.calls.values() if c.get("status") == "completed" and c.get("duration")
        ]
        answered.sort(key=lambda c: c["sid"])
        for i, call in enumerate(answered):
            if i % 3 == 0 and int(call["duration"]) >= 5:
                start = twilio.parse_datetime(call["start_time"]) + timedelta(seconds=1)
                self.recordings.add(call, start=start, seconds=int(call["duration"]) - 2, rng=rng)
        for message in sorted(self.messages.values(), key=lambda m: m["sid"]):
            count = int(message.get("num_media") or 0)
            if count:
                urls = [f"https://demo.example/photo{i}.jpg" for i in range(count)]
                self.media.attach(message, urls, rng)
        self.numbers.add(
            "+14155550100", now - timedelta(days=400), friendly_name="Main line", rng=rng
        )
        self.numbers.add("+14155550101", now - timedelta(days=120), rng=rng)

    async def handle(self, request: web.Request, form: dict[str, Any]) -> web.StreamResponse | None:
        """The answer for one of these resources, or None for a path that is not one of them."""
        for name, pattern in ROUTES:
            m = pattern.match(request.path)
            if m is None:
                continue
            try:
                if name != "recording_media":
                    authenticate(request, self.sid, self.token, m["account"])
                elif m["account"] != self.sid:
                    raise not_found(request.path)
                return self._serve(name, request, m, form)
            except Failure as exc:
                return error_response(exc.status, exc.code, exc.message)
        return None

    def _serve(
        self, name: str, request: web.Request, m: re.Match[str], form: dict[str, Any]
    ) -> web.StreamResponse:
        method = "GET" if request.method == "HEAD" else request.method
        if method not in _METHODS.get(name, ("GET",)):
            raise Failure(405, 20004, "Method not allowed")
        if name == "account":
            return json_response(self._account())
        if name == "balance":
            return json_response(
                {"account_sid": self.sid, "balance": self.state.balance, "currency": "USD"}
            )
        if name in ("recordings", "call_recordings"):
            return self.recordings.listing(
                request, m["call"] if name == "call_recordings" else None
            )
        if name in ("recording", "call_recording"):
            return self.recordings.one(request, m, m["call"] if name == "call_recording" else None)
        if name == "recording_media":
            return self.recordings.audio(request, m)
        if name in ("media_list", "media", "media_content"):
            return self.media.serve(request, name, m)
        if name == "numbers":
            return self.numbers.collection(request, form)
        if name == "number":
            return self.numbers.one(request, m, form)
        return self.numbers.available(request, m["country"], m["type"])

    def _account(self) -> dict[str, Any]:
        created = twilio.rfc2822(datetime(2021, 3, 1, 9, 30, tzinfo=self.clock().tzinfo))
        return {
            "auth_token": self.token,
            "date_created": created,
            "date_updated": created,
            "friendly_name": "Dialect Demo",
            "owner_account_sid": self.sid,
            "sid": self.sid,
            "status": "active",
            "subresource_uris": {
                "balance": f"{self.base}/Balance.json",
                "calls": f"{self.base}/Calls.json",
                "incoming_phone_numbers": f"{self.base}/IncomingPhoneNumbers.json",
                "messages": f"{self.base}/Messages.json",
                "recordings": f"{self.base}/Recordings.json",
            },
            "type": "Full",
            "uri": f"{self.base}.json",
        }
