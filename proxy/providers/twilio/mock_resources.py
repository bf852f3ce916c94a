"""The Twilio-style mock's other resources: recordings, message media, phone numbers, balance.

``mock`` serves messages and calls (and runs them through the carrier); this module serves what
an application also calls, as strictly as the 2010-04-01 API does (Twilio's OpenAPI description
and the project's reference notes): Basic auth whose account must match the path, ``.json``
paths, 404/20404 for an unknown SID, form-encoded updates, ``PageSize`` 1-1000 (20007 above),
``Page`` above 0 only with the ``PageToken`` the page before handed out (21481 otherwise),
root-relative paging links, RFC 2822 dates in GMT and 4-field errors. Deletes answer 204.

- ``/Recordings.json``, ``/Recordings/{RE}.json`` (GET, DELETE), ``/Calls/{CA}/Recordings.json``
  and ``/Calls/{CA}/Recordings/{RE}.json`` (a recording of another call is 20404). The media
  (``/Recordings/{RE}``, ``.mp3``, ``.wav``) is public, as on Twilio unless an account turns on
  HTTP authentication for recordings; ``media_url`` is absolute, on the mock's own host.
- ``/Messages/{SM}/Media.json`` and ``/Messages/{SM}/Media/{ME}.json`` (GET, DELETE); the
  content (no extension) needs the account's credentials, as Twilio's media URLs do.
- ``/IncomingPhoneNumbers.json`` (GET; POST buys: ``PhoneNumber`` from the inventory, or the
  first number in ``AreaCode``), ``/IncomingPhoneNumbers/{PN}.json`` (GET, POST updates, DELETE
  releases it), ``/AvailablePhoneNumbers/{Country}/{Type}.json`` (one page:
  Twilio does not page a search), ``/Balance.json`` and the account itself.

Seeded from the mock's own calls and messages: a recording for every third answered call,
media for every message that has some, the two numbers the seeded traffic uses, and an
inventory of fictional numbers (NANP 555-01xx/02xx ranges, Ofcom's drama ranges) to buy.
"""

from __future__ import annotations

import base64
import random
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import orjson
from aiohttp import web

from proxy.providers.twilio import rest as twilio

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
AVAILABLE_TYPES = ("Local", "Mobile", "TollFree")
_APP_SID = re.compile(r"^AP[0-9a-fA-F]{32}$")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_CONTENT_TYPES = {
    "png": "image/png",
    "gif": "image/gif",
    "mp4": "video/mp4",
    "pdf": "application/pdf",
}


class Failure(Exception):
    """A Twilio error answer: HTTP status, Twilio code, message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: int, message: str) -> web.Response:
    body = {"code": code, "message": message, "more_info": twilio.more_info_url(code)}
    return _json({**body, "status": status}, status)


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")


def _not_found(path: str) -> Failure:
    return Failure(404, 20404, f"The requested resource {path} was not found")


def silent_wav(seconds: float = 0.25, rate: int = 8000) -> bytes:
    """A real (silent) 8 kHz, 16-bit mono WAV file: what a recording's media is made of here."""
    data = b"\x00\x00" * int(seconds * rate)
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        *(b"RIFF", 36 + len(data), b"WAVE", b"fmt ", 16, 1, 1, rate, rate * 2, 2, 16),
        *(b"data", len(data)),
    )
    return header + data


# An ID3 header and one silent MPEG-1 Layer III frame (32 kbit/s, 8 kHz is not MPEG-1: 32 kHz).
SILENT_MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x18\xc4" + b"\x00" * 140


def _friendly(number: str) -> str:
    """Twilio's friendly form of a number: ``(415) 555-0100`` in North America."""
    if number.startswith("+1") and len(number) == 12:
        return f"({number[2:5]}) {number[5:8]}-{number[8:]}"
    return number


def _inventory() -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Fictional numbers to search and buy: NANP 555-02xx/03xx/04xx, Ofcom's drama ranges."""

    def entry(number: str, locality: str | None, region: str, **kw: Any) -> dict[str, Any]:
        country = "US" if number.startswith("+1") else "GB"
        return {
            "friendly_name": _friendly(number),
            "phone_number": number,
            "lata": kw.get("lata"),
            "locality": locality,
            "rate_center": kw.get("rate_center"),
            "latitude": kw.get("latitude"),
            "longitude": kw.get("longitude"),
            "region": region,
            "postal_code": kw.get("postal_code"),
            "iso_country": country,
            "address_requirements": kw.get("address_requirements", "none"),
            "beta": False,
            "capabilities": {
                "voice": True,
                "sms": kw.get("sms", True),
                "mms": kw.get("mms", True),
                "fax": False,
            },
        }

    sf = {
        "lata": "722",
        "rate_center": "SNFC CNTRL",
        "latitude": 37.77,
        "longitude": -122.39,
        "postal_code": "94105",
    }
    ny = {
        "lata": "132",
        "rate_center": "NWYRCYZN01",
        "latitude": 40.71,
        "longitude": -74.0,
        "postal_code": "10007",
    }
    return {
        ("US", "Local"): [
            entry(f"+1415555{n:04d}", "San Francisco", "CA", **sf) for n in range(200, 220)
        ]
        + [entry(f"+1212555{n:04d}", "New York", "NY", **ny) for n in range(300, 310)],
        ("US", "TollFree"): [
            entry(f"+1833555{n:04d}", None, "US", mms=False) for n in range(400, 410)
        ],
        ("US", "Mobile"): [],
        ("GB", "Local"): [
            entry(
                f"+44207946{n:04d}",
                "London",
                "England",
                address_requirements="local",
                sms=False,
                mms=False,
            )
            for n in range(100, 110)
        ],
        ("GB", "Mobile"): [
            entry(f"+44770090{n:04d}", None, "GB", address_requirements="any", mms=False)
            for n in range(1100, 1110)
        ],
        ("GB", "TollFree"): [],
    }


@dataclass
class TwilioResourcesState:
    recordings: dict[str, dict[str, Any]] = field(default_factory=dict)
    media: dict[str, dict[str, Any]] = field(default_factory=dict)  # ME sid -> record
    numbers: dict[str, dict[str, Any]] = field(default_factory=dict)  # PN sid -> record
    inventory: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=_inventory)
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
        self.state = TwilioResourcesState()
        self.base = f"/2010-04-01/Accounts/{account_sid}"

    # -- records ----------------------------------------------------------------------------

    @staticmethod
    def _new_sid(prefix: str, rng: random.Random | None) -> str:
        return f"{prefix}{(rng or random.SystemRandom()).getrandbits(128):032x}"

    def add_recording(
        self,
        call: dict[str, Any],
        *,
        start: datetime,
        seconds: int,
        source: str = "RecordVerb",
        rng: random.Random | None = None,
    ) -> dict[str, Any]:
        sid = self._new_sid("RE", rng)
        uri = f"{self.base}/Recordings/{sid}"
        record = {
            "account_sid": self.sid,
            "api_version": "2010-04-01",
            "call_sid": call["sid"],
            "conference_sid": None,
            "channels": 1,
            "date_created": twilio.rfc2822(start),
            "date_updated": twilio.rfc2822(start + timedelta(seconds=seconds)),
            "start_time": twilio.rfc2822(start),
            "price": f"-{max(1, -(-seconds // 60)) * 0.0025:.5f}",
            "price_unit": "USD",
            "duration": str(seconds),
            "sid": sid,
            "source": source,
            "status": "completed",
            "error_code": None,
            "uri": f"{uri}.json",
            "encryption_details": None,
            "subresource_uris": {
                "add_on_results": f"{uri}/AddOnResults.json",
                "transcriptions": f"{uri}/Transcriptions.json",
            },
            "media_url": uri,  # made absolute, on the host asked, when answered
        }
        self.state.recordings[sid] = record
        return record

    def attach_media(
        self, message: dict[str, Any], urls: list[str], rng: random.Random | None = None
    ) -> None:
        """The media of a message (one per ``MediaUrl``), as Twilio stores them."""
        for url in urls:
            sid = self._new_sid("ME", rng)
            ext = url.rsplit(".", 1)[-1].lower() if "." in url.rsplit("/", 1)[-1] else ""
            self.state.media[sid] = {
                "account_sid": self.sid,
                "content_type": _CONTENT_TYPES.get(ext, "image/jpeg"),
                "date_created": message["date_created"],
                "date_updated": message["date_created"],
                "parent_sid": message["sid"],
                "sid": sid,
                "uri": f"{self.base}/Messages/{message['sid']}/Media/{sid}.json",
            }

    def add_number(
        self,
        number: str,
        when: datetime,
        *,
        friendly_name: str | None = None,
        capabilities: dict[str, bool] | None = None,
        number_type: str = "local",
        rng: random.Random | None = None,
    ) -> dict[str, Any]:
        sid = self._new_sid("PN", rng)
        record = {
            "account_sid": self.sid,
            "address_sid": None,
            "address_requirements": "none",
            "api_version": "2010-04-01",
            "beta": False,
            "capabilities": capabilities or {"voice": True, "sms": True, "mms": True, "fax": False},
            "date_created": twilio.rfc2822(when),
            "date_updated": twilio.rfc2822(when),
            "friendly_name": friendly_name or _friendly(number),
            "identity_sid": None,
            "phone_number": number,
            "origin": "twilio",
            "sid": sid,
            "sms_application_sid": None,
            "sms_fallback_method": "POST",
            "sms_fallback_url": "",
            "sms_method": "POST",
            "sms_url": "",
            "status_callback": "",
            "status_callback_method": "POST",
            "trunk_sid": None,
            "uri": f"{self.base}/IncomingPhoneNumbers/{sid}.json",
            "voice_application_sid": None,
            "voice_caller_id_lookup": False,
            "voice_fallback_method": "POST",
            "voice_fallback_url": None,
            "voice_method": "POST",
            "voice_url": None,
            "voice_receive_mode": "voice",
            "emergency_status": "Inactive",
            "emergency_address_sid": None,
            "emergency_address_status": "unregistered",
            "bundle_sid": None,
            "status": "in-use",
            "type": number_type,
        }
        self.state.numbers[sid] = record
        return record

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
                self.add_recording(call, start=start, seconds=int(call["duration"]) - 2, rng=rng)
        for message in sorted(self.messages.values(), key=lambda m: m["sid"]):
            count = int(message.get("num_media") or 0)
            if count:
                urls = [f"https://demo.example/photo{i}.jpg" for i in range(count)]
                self.attach_media(message, urls, rng)
        self.add_number(
            "+14155550100", now - timedelta(days=400), friendly_name="Main line", rng=rng
        )
        self.add_number("+14155550101", now - timedelta(days=120), rng=rng)

    # -- HTTP -------------------------------------------------------------------------------

    async def handle(self, request: web.Request, form: dict[str, Any]) -> web.StreamResponse | None:
        """The answer for one of these resources, or None for a path that is not one of them."""
        for name, pattern in ROUTES:
            m = pattern.match(request.path)
            if m is None:
                continue
            try:
                if name != "recording_media":
                    self._authenticate(request, m["account"])
                elif m["account"] != self.sid:
                    raise _not_found(request.path)
                return self._serve(name, request, m, form)
            except Failure as exc:
                return error_response(exc.status, exc.code, exc.message)
        return None

    def _authenticate(self, request: web.Request, account: str) -> None:
        header = request.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(f"{self.sid}:{self.token}".encode()).decode()
        if header != expected or account != self.sid:
            raise Failure(401, 20003, "Authenticate")

    def _serve(
        self, name: str, request: web.Request, m: re.Match[str], form: dict[str, Any]
    ) -> web.StreamResponse:
        method, path = request.method, request.path
        allowed = {
            "number": ("GET", "POST", "DELETE"),
            "numbers": ("GET", "POST"),
            "recording": ("GET", "DELETE"),
            "call_recording": ("GET", "DELETE"),
            "media": ("GET", "DELETE"),
        }.get(name, ("GET",))
        if method == "HEAD":
            method = "GET"
        if method not in allowed:
            raise Failure(405, 20004, "Method not allowed")
        if name == "account":
            return _json(self._account())
        if name == "balance":
            return _json(
                {"account_sid": self.sid, "balance": self.state.balance, "currency": "USD"}
            )
        if name in ("recordings", "call_recordings"):
            return self._recordings(request, m["call"] if name == "call_recordings" else None)
        if name in ("recording", "call_recording"):
            call = m["call"] if name == "call_recording" else None
            record = self.state.recordings.get(m["sid"])
            if record is None or (call is not None and record["call_sid"] != call):
                raise _not_found(path)
            if method == "DELETE":
                del self.state.recordings[m["sid"]]
                return web.Response(status=204)
            return _json(self._recording_view(request, record, call is not None))
        if name == "recording_media":
            if m["sid"] not in self.state.recordings:
                raise _not_found(path)
            if m["ext"] == ".mp3":
                return web.Response(body=SILENT_MP3, content_type="audio/mpeg")
            return web.Response(body=silent_wav(), content_type="audio/x-wav")
        if name in ("media_list", "media", "media_content"):
            return self._media(request, name, m)
        if name == "numbers":
            if method == "POST":
                return _json(self._buy(form), 201)
            return self._numbers(request)
        if name == "number":
            record = self.state.numbers.get(m["sid"])
            if record is None:
                raise _not_found(path)
            if method == "DELETE":
                self._release(record)
                return web.Response(status=204)
            if method == "POST":
                self._update_number(record, form)
            return _json(record)
        return self._available(request, m["country"], m["type"])

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

    # -- recordings -------------------------------------------------------------------------

    def _recording_view(
        self, request: web.Request, record: dict[str, Any], of_call: bool
    ) -> dict[str, Any]:
        view = dict(record)
        if of_call:
            # The call's own sub-list: its shape (no media_url, a track), its URI.
            for key in ("media_url", "subresource_uris"):
                view.pop(key)
            view["track"] = "both"
            # A number here, as Twilio's description of this sub-list says (a string above).
            view["price"] = float(record["price"]) if record["price"] is not None else None
            view["uri"] = f"{self.base}/Calls/{record['call_sid']}/Recordings/{record['sid']}.json"
        else:
            view["media_url"] = f"{request.scheme}://{request.host}{record['media_url']}"
        return view

    def _recordings(self, request: web.Request, call: str | None) -> web.Response:
        q = request.query
        if call is not None and call not in self.calls:
            raise _not_found(request.path)
        records = list(self.state.recordings.values())
        if call is not None:
            records = [r for r in records if r["call_sid"] == call]
        if "CallSid" in q:
            records = [r for r in records if r["call_sid"] == q["CallSid"]]
        if "ConferenceSid" in q:
            records = [r for r in records if r["conference_sid"] == q["ConferenceSid"]]
        records = [r for r in records if _in_window(r["date_created"], q, "DateCreated")]
        records.sort(key=lambda r: (twilio.parse_datetime(r["date_created"]), r["sid"]))
        records.reverse()
        views = [self._recording_view(request, r, call is not None) for r in records]
        return page(request, views, "recordings")

    # -- media ------------------------------------------------------------------------------

    def _media(self, request: web.Request, name: str, m: re.Match[str]) -> web.StreamResponse:
        message = m["message"]
        if message not in self.messages:
            raise _not_found(request.path)
        if name == "media_list":
            records = [r for r in self.state.media.values() if r["parent_sid"] == message]
            records = [
                r for r in records if _in_window(r["date_created"], request.query, "DateCreated")
            ]
            records.sort(key=lambda r: r["sid"], reverse=True)
            return page(request, records, "media_list")
        record = self.state.media.get(m["sid"])
        if record is None or record["parent_sid"] != message:
            raise _not_found(request.path)
        if name == "media_content":
            return web.Response(
                body=b"\xff\xd8\xff\xe0demo\xff\xd9", content_type=record["content_type"]
            )
        if request.method == "DELETE":
            del self.state.media[m["sid"]]
            return web.Response(status=204)
        return _json(record)

    # -- numbers ----------------------------------------------------------------------------

    def _numbers(self, request: web.Request) -> web.Response:
        q = request.query
        records = list(self.state.numbers.values())
        if "PhoneNumber" in q:
            # "Only show the numbers that match this pattern": partial, ``*`` for any digit.
            wanted = re.sub(r"[^0-9*]", "", q["PhoneNumber"])
            pattern = re.compile(re.escape(wanted).replace(r"\*", r"\d"))
            records = [r for r in records if pattern.search(r["phone_number"])]
        if "FriendlyName" in q:
            records = [r for r in records if r["friendly_name"] == q["FriendlyName"]]
        if "Origin" in q:
            records = [r for r in records if r["origin"] == q["Origin"]]
        records.sort(key=lambda r: (twilio.parse_datetime(r["date_created"]), r["sid"]))
        records.reverse()
        return page(request, records, "incoming_phone_numbers")

    def _buy(self, form: dict[str, Any]) -> dict[str, Any]:
        number, area = form.get("PhoneNumber"), form.get("AreaCode")
        if not number and not area:
            raise Failure(400, 21452, "A PhoneNumber or an AreaCode is required.")
        if number and not _E164.match(str(number)):
            raise Failure(400, 21421, f"PhoneNumber {number} is invalid.")
        found: tuple[str, dict[str, Any]] | None = None
        for (_, kind), entries in self.state.inventory.items():
            for entry in entries:
                if number and entry["phone_number"] == number:
                    found = (kind, entry)
                elif not number and entry["phone_number"].startswith(f"+1{area}"):
                    found = found or (kind, entry)
        if found is None:
            if number:
                raise Failure(400, 21422, f"PhoneNumber {number} is not available.")
            raise Failure(400, 21452, f"No phone numbers found in area code {area}.")
        kind, entry = found
        for entries in self.state.inventory.values():
            if entry in entries:
                entries.remove(entry)
        record = self.add_number(
            entry["phone_number"],
            self.clock(),
            friendly_name=form.get("FriendlyName"),
            capabilities=dict(entry["capabilities"]),
            number_type={"TollFree": "tollfree", "Mobile": "mobile"}.get(kind, "local"),
        )
        self._update_number(record, form)
        return record

    def _update_number(self, record: dict[str, Any], form: dict[str, Any]) -> None:
        for key in ("VoiceApplicationSid", "SmsApplicationSid"):
            value = form.get(key)
            if value and not _APP_SID.match(str(value)):
                raise Failure(400, 21606, f"{key} {value} is not a valid Application SID.")
        for key in ("VoiceMethod", "SmsMethod", "VoiceFallbackMethod", "SmsFallbackMethod"):
            if key in form and str(form[key]).upper() not in ("GET", "POST"):
                raise Failure(400, 20001, f"{key} must be GET or POST.")
        names = {
            "FriendlyName": "friendly_name",
            "VoiceUrl": "voice_url",
            "VoiceMethod": "voice_method",
            "VoiceFallbackUrl": "voice_fallback_url",
            "SmsUrl": "sms_url",
            "SmsMethod": "sms_method",
            "SmsFallbackUrl": "sms_fallback_url",
            "StatusCallback": "status_callback",
            "VoiceApplicationSid": "voice_application_sid",
            "SmsApplicationSid": "sms_application_sid",
        }
        for param, key in names.items():
            if param in form:
                value = form[param]
                record[key] = str(value[-1] if isinstance(value, list) else value)
        record["date_updated"] = twilio.rfc2822(self.clock())

    def _release(self, record: dict[str, Any]) -> None:
        del self.state.numbers[record["sid"]]

    def _available(self, request: web.Request, country: str, kind: str) -> web.Response:
        entries = self.state.inventory.get((country, kind))
        if entries is None:
            raise _not_found(request.path)
        q = request.query
        try:
            page_size = int(q.get("PageSize", "50"))
        except ValueError:
            raise Failure(400, 20001, "PageSize must be an integer") from None
        if page_size > 1000:
            raise Failure(400, 20007, "PageSize must be less than or equal to 1000")
        if page_size < 1:
            raise Failure(400, 20001, "Invalid paging parameters")
        found = list(entries)
        if "AreaCode" in q:
            found = [e for e in found if e["phone_number"].startswith(f"+1{q['AreaCode']}")]
        if "Contains" in q:
            pattern = _contains(q["Contains"])
            found = [e for e in found if pattern.search(e["phone_number"])]
        if "InRegion" in q:
            found = [e for e in found if e["region"] == q["InRegion"]]
        for param, key in (("SmsEnabled", "sms"), ("MmsEnabled", "mms"), ("VoiceEnabled", "voice")):
            if param in q:
                if q[param] not in ("true", "false"):
                    raise Failure(400, 20001, f"{param} must be true or false.")
                found = [e for e in found if e["capabilities"][key] == (q[param] == "true")]
        chunk = [dict(e, capabilities=dict(e["capabilities"])) for e in found[:page_size]]
        body = {
            "available_phone_numbers": chunk,
            "end": len(chunk) - 1 if chunk else 0,
            "first_page_uri": _uri(request.path, _filters(q), page_size, 0, None),
            "next_page_uri": None,
            "page": 0,
            "page_size": page_size,
            "previous_page_uri": None,
            "start": 0,
            "uri": _uri(request.path, _filters(q), page_size, 0, None),
        }
        return _json(body)


_KEYPAD = {
    c: str(d)
    for d, cs in enumerate(["", "", "ABC", "DEF", "GHI", "JKL", "MNO", "PQRS", "TUV", "WXYZ"])
    for c in cs
}


def _contains(wanted: str) -> re.Pattern[str]:
    """Twilio's ``Contains``: 2-16 digits or letters (a keypad's), ``*`` one digit, ``%`` any
    run of them; a leading ``+`` anchors at the number's start, a trailing ``$`` at its end."""
    if not re.fullmatch(r"\+?[0-9A-Za-z*%]{2,16}\$?", wanted):
        raise Failure(400, 20001, f"Contains {wanted} is not a valid pattern.")
    body = wanted.strip("+$")
    regex = "".join(
        r"\d" if c == "*" else r"\d*" if c == "%" else _KEYPAD.get(c.upper(), c) for c in body
    )
    head = r"^\+" if wanted.startswith("+") else ""
    tail = "$" if wanted.endswith("$") else ""
    return re.compile(head + regex + tail)


def _in_window(stamp: str, q: Any, name: str) -> bool:
    """Twilio's date filters: ``Name`` the day itself, ``Name<``/``Name>`` up to/from a day."""
    created = twilio.parse_datetime(stamp)
    try:
        if name + ">" in q and created < twilio.parse_datetime(q[name + ">"]):
            return False
        if name + "<" in q and created > twilio.parse_datetime(q[name + "<"]):
            return False
        if name in q:
            day = twilio.parse_datetime(q[name])
            return day <= created < day + timedelta(days=1)
    except ValueError:
        raise Failure(400, 20001, f"{name} must be a date (YYYY-MM-DD)") from None
    return True


def _filters(q: Any) -> list[tuple[str, str]]:
    return [(k, v) for k, v in q.items() if k not in ("PageSize", "Page", "PageToken")]


def _uri(
    path: str, filters: list[tuple[str, str]], page_size: int, page_no: int, token: str | None
) -> str:
    parts = [f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in filters]
    parts += [f"PageSize={page_size}", f"Page={page_no}"]
    if token:
        parts.append(f"PageToken={token}")
    return f"{path}?{'&'.join(parts)}"


def page(request: web.Request, records: list[dict[str, Any]], key: str) -> web.Response:
    """One Twilio list page of ``records`` (already filtered and in order), by SID cursor: the
    ``PageToken`` of the next page is ``PA`` + the last SID of this one."""
    q = request.query
    try:
        page_size = int(q.get("PageSize", "50"))
        page_no = int(q.get("Page", "0"))
    except ValueError:
        raise Failure(400, 20001, "PageSize and Page must be integers") from None
    if page_size > 1000:
        raise Failure(400, 20007, "PageSize must be less than or equal to 1000")
    if page_size < 1 or page_no < 0:
        raise Failure(400, 20001, "Invalid paging parameters")
    token = q.get("PageToken")
    if page_no > 0 and not token:
        raise Failure(400, 20001, "PageToken is required for paging.")
    start = 0
    if token:
        after = token[2:] if token.startswith("PA") else ""
        index = next((i for i, r in enumerate(records) if r["sid"] == after), None)
        if index is None:
            raise Failure(400, 21481, "Invalid PageToken")
        start = index + 1
    chunk = records[start : start + page_size]
    filters = _filters(q)
    more = start + page_size < len(records)
    previous = None
    if page_no > 0 and chunk:
        previous = _uri(request.path, filters, page_size, page_no - 1, "PB" + chunk[0]["sid"])
    following = None
    if more and chunk:
        following = _uri(request.path, filters, page_size, page_no + 1, "PA" + chunk[-1]["sid"])
    body = {
        "first_page_uri": _uri(request.path, filters, page_size, 0, None),
        "end": start + len(chunk) - 1 if chunk else 0,
        "previous_page_uri": previous,
        "uri": _uri(request.path, filters, page_size, page_no, token),
        "page_size": page_size,
        "start": start if chunk else 0,
        "next_page_uri": following,
        "page": page_no,
        key: chunk,
    }
    return _json(body)
