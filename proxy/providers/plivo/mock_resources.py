"""The Plivo-style mock's other resources: recordings, message media, numbers, number search.

``mock`` serves messages, calls and the account (with its ``cash_credits``); this module serves
what an application also calls, as strictly as the v1 API does (its docs and the project's
reference notes): Basic auth matching the path's auth id and trailing slashes (both checked
here the way ``mock`` checks them), ``limit`` 1-20 and offset paging with relative
``meta.next``/``previous``, times in the account's own UTC offset, numbers without ``+``, JSON
bodies, ``{"api_id","error"}`` errors, 204 on a delete.

- ``/Recording/`` (filters ``call_uuid``, ``from_number``, ``to_number``, ``add_time__gt`` …),
  ``/Recording/{id}/`` (GET, DELETE). ``recording_url`` is public and absolute, on the mock's
  own host (Plivo's are on its media host), and ends in the recording's format.
- ``/Message/{uuid}/Media/`` (``{"objects": [...]}``, no ``meta``: a message has at most ten)
  and ``/Message/{uuid}/Media/{media_id}/``; ``media_url`` is public, as Plivo's media URLs are.
- ``/Number/`` (filters ``type``, ``number_startswith``, ``alias``, ``services``),
  ``/Number/{number}/`` (GET; POST ``alias``/``app_id`` answers 202 ``{"message": "changed"}``;
  DELETE unrents it), ``/PhoneNumber/?country_iso=…`` (``type``, ``pattern`` after the country
  code, ``region``, ``services``) and ``POST /PhoneNumber/{number}/`` (buys it: 201 with the
  ``numbers`` bought and ``"status": "fulfilled"``; a number not in the inventory is refused).

Seeded from the mock's own calls and messages: a recording for every third answered call (every
fourth of them WAV), media for every MMS, the two numbers the seeded traffic uses, and the same
fictional inventory the Twilio-style mock sells (NANP 555 ranges, Ofcom's drama ranges).
"""

from __future__ import annotations

import base64
import random
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from proxy.providers.plivo import rest as plivo
from proxy.providers.twilio.mock_resources import SILENT_MP3, silent_wav

_ACC = r"^/v1/Account/(?P<auth>[^/]+)"
ROUTES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("recordings", re.compile(_ACC + r"/Recording/$")),
    ("recording", re.compile(_ACC + r"/Recording/(?P<id>[^/]+)/$")),
    ("media_list", re.compile(_ACC + r"/Message/(?P<message>[^/]+)/Media/$")),
    ("media", re.compile(_ACC + r"/Message/(?P<message>[^/]+)/Media/(?P<id>[^/]+)/$")),
    ("numbers", re.compile(_ACC + r"/Number/$")),
    ("number", re.compile(_ACC + r"/Number/(?P<number>[^/]+)/$")),
    ("search", re.compile(_ACC + r"/PhoneNumber/$")),
    ("buy", re.compile(_ACC + r"/PhoneNumber/(?P<number>[^/]+)/$")),
)
# The same resources without their trailing slash: Plivo answers those 404.
_UNSLASHED = re.compile(_ACC + r"/(Recording|Number|PhoneNumber)(/[^/]+)?$|/Media(/[^/]+)?$")
MEDIA = re.compile(
    r"^/media/(?:Recording/(?P<recording>[^/.]+)\.(?P<format>mp3|wav)"
    r"|Message/(?P<message>[^/]+)/Media/(?P<id>[^/]+))$"
)
_DIGITS = re.compile(r"^[1-9]\d{7,14}$")
_SERVICES = ("voice", "sms", "mms")
_TYPES = ("local", "fixed", "mobile", "tollfree", "national", "any")
_CALLING_CODES = {"US": "1", "CA": "1", "GB": "44"}
_CONTENT_TYPES = {
    "png": "image/png",
    "gif": "image/gif",
    "mp4": "video/mp4",
    "pdf": "application/pdf",
}
DEFAULT_APP = "29986316244302815"


def _inventory() -> dict[str, dict[str, Any]]:
    """Numbers to search and buy, as Plivo's PhoneNumber objects (the Twilio-style mock's
    fictional ranges)."""

    def entry(number: str, kind: str, sub: str, city: str | None, **kw: Any) -> dict[str, Any]:
        us = number.startswith("1")
        return {
            "city": city,
            "country": "UNITED STATES" if us else "UNITED KINGDOM",
            "lata": kw.get("lata"),
            "mms_enabled": kw.get("mms", us),
            "mms_rate": "0.00000",
            "monthly_rental_rate": "0.80000" if kind != "tollfree" else "1.00000",
            "number": number,
            "prefix": number[1:4] if us else number[2:5],
            "rate_center": kw.get("rate_center"),
            "region": kw.get("region", "UNITED STATES" if us else "UNITED KINGDOM"),
            "resource_uri": None,  # filled with the account's path when answered
            "restriction": kw.get("restriction"),
            "restriction_text": kw.get("restriction_text"),
            "setup_rate": "0.00000",
            "sms_enabled": kw.get("sms", True),
            "sms_rate": "0.00000",
            "sub_type": sub,
            "type": kind,
            "voice_enabled": True,
            "voice_rate": "0.00500",
        }

    sf = {"lata": 722, "rate_center": "SNFC CNTRL", "region": "California, UNITED STATES"}
    ny = {"lata": 132, "rate_center": "NWYRCYZN01", "region": "New York, UNITED STATES"}
    found = [
        entry(f"1415555{n:04d}", "fixed", "local", "SAN FRANCISCO", **sf) for n in range(200, 220)
    ]
    found += [entry(f"1212555{n:04d}", "fixed", "local", "NEW YORK", **ny) for n in range(300, 310)]
    found += [
        entry(f"1833555{n:04d}", "tollfree", "tollfree", None, mms=False) for n in range(400, 410)
    ]
    london = {
        "region": "London, UNITED KINGDOM",
        "restriction": "city-address",
        "sms": False,
        "restriction_text": "A local address in the city of the number is required.",
    }
    found += [
        entry(f"44207946{n:04d}", "fixed", "local", "LONDON", **london) for n in range(100, 110)
    ]
    mobile = {
        "restriction": "country-address",
        "mms": False,
        "restriction_text": "An address in the country of the number is required.",
    }
    found += [
        entry(f"44770090{n:04d}", "mobile", "mobile", None, **mobile) for n in range(1100, 1110)
    ]
    return {e["number"]: e for e in found}


@dataclass
class PlivoResourcesState:
    recordings: dict[str, dict[str, Any]] = field(default_factory=dict)
    media: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # message uuid -> media
    numbers: dict[str, dict[str, Any]] = field(default_factory=dict)  # number -> record
    inventory: dict[str, dict[str, Any]] = field(default_factory=_inventory)


PLIVO_MOCK_RESOURCES = web.AppKey("plivo_mock_resources", PlivoResourcesState)


class PlivoResources:
    """``fail(status, text)`` makes the mock's own error, ``respond(status, body)`` its answer
    (with an ``api_id``) and ``read_json(request)`` its strict JSON body: one of each."""

    def __init__(
        self,
        auth_id: str,
        auth_token: str,
        *,
        clock: Callable[[], datetime],
        fmt: Callable[[datetime, bool], str],
        messages: dict[str, dict[str, Any]],
        calls: dict[str, dict[str, Any]],
        fail: Callable[[int, str], Exception],
        respond: Callable[[int, dict[str, Any]], web.Response],
        read_json: Callable[[web.Request], Awaitable[dict[str, Any]]],
    ) -> None:
        self.auth_id, self.auth_token = auth_id, auth_token
        self.clock, self.fmt = clock, fmt
        self.messages, self.calls = messages, calls
        self.fail, self.respond, self.read_json = fail, respond, read_json
        self.state = PlivoResourcesState()
        self.base = f"/v1/Account/{auth_id}"

    # -- records ----------------------------------------------------------------------------

    def add_recording(
        self,
        call: dict[str, Any],
        *,
        start: datetime,
        seconds: int,
        fmt: str = "mp3",
        rng: random.Random | None = None,
    ) -> dict[str, Any]:
        rid = _uuid(rng)
        end = start + timedelta(seconds=seconds)
        added = end + timedelta(seconds=4, milliseconds=210)
        days = max(1, (self.clock() - added).days + 1)
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        record = {
            "add_time": self.fmt(added, True),
            "call_uuid": call["call_uuid"],
            "conference_name": None,
            "from_number": call["from_number"],
            "monthly_recording_storage_amount": "0.00000",
            "recording_duration_ms": f"{seconds * 1000}.00000",
            "recording_end_ms": f"{(end - epoch) // timedelta(milliseconds=1)}.00000",
            "recording_format": fmt,
            "recording_id": rid,
            "recording_start_ms": f"{(start - epoch) // timedelta(milliseconds=1)}.00000",
            "recording_storage_duration": days,
            "recording_storage_rate": "0.00040",
            "recording_type": "normal",
            "recording_url": f"/media/Recording/{rid}.{fmt}",  # absolute when answered
            "resource_uri": f"{self.base}/Recording/{rid}/",
            "rounded_recording_duration": max(60, -(-seconds // 60) * 60),
            "to_number": call["to_number"],
        }
        self.state.recordings[rid] = record
        return record

    def attach_media(
        self, message_uuids: list[str], urls: list[str], rng: random.Random | None = None
    ) -> None:
        """The media Plivo keeps for an MMS: one per ``media_urls`` item."""
        for muuid in message_uuids:
            items = self.state.media.setdefault(muuid, [])
            for url in urls:
                mid = _uuid(rng)
                tail = url.rsplit("/", 1)[-1]
                ext = tail.rsplit(".", 1)[-1].lower() if "." in tail else ""
                items.append(
                    {
                        "content_type": _CONTENT_TYPES.get(ext, "image/jpeg"),
                        "media_id": mid,
                        "media_url": f"/media/Message/{muuid}/Media/{mid}",
                        "message_uuid": muuid,
                        "size": 48213 + 1024 * len(items),
                    }
                )

    def add_number(
        self, number: str, added: datetime, *, alias: str | None = None, app_id: str | None = None
    ) -> dict[str, Any]:
        entry = self.state.inventory.pop(number, None) or _inventory().get(number) or {}
        record = {
            "added_on": added.date().isoformat(),
            "alias": alias,
            "application": f"{self.base}/Application/{app_id or DEFAULT_APP}/",
            "carrier": "Plivo",
            "city": entry.get("city", "SAN FRANCISCO"),
            "country": entry.get("country", "UNITED STATES"),
            "mms_enabled": entry.get("mms_enabled", True),
            "mms_rate": "0.00000",
            "monthly_rental_rate": entry.get("monthly_rental_rate", "0.80000"),
            "number": number,
            "number_type": entry.get("sub_type", "local"),
            "region": entry.get("region", "California, UNITED STATES"),
            "renewal_date": (added + timedelta(days=30)).date().isoformat(),
            "resource_uri": f"{self.base}/Number/{number}/",
            "sms_enabled": entry.get("sms_enabled", True),
            "sms_rate": "0.00000",
            "sub_account": None,
            "voice_enabled": True,
            "voice_rate": "0.00850",
        }
        self.state.numbers[number] = record
        return record

    def seed(self, seed: int) -> None:
        """Derived from the mock's seeded calls and messages, with its own random stream so the
        calls and messages stay what they were."""
        rng = random.Random(seed + 101)
        now = self.clock()
        answered = [c for c in self.calls.values() if c.get("answer_time") and c["call_duration"]]
        answered.sort(key=lambda c: c["call_uuid"])
        for i, call in enumerate(answered):
            if i % 3 == 0 and call["call_duration"] >= 5:
                start = datetime.fromisoformat(call["answer_time"]) + timedelta(seconds=1)
                fmt = "wav" if i % 4 == 3 else "mp3"
                self.add_recording(
                    call, start=start, seconds=call["call_duration"] - 2, fmt=fmt, rng=rng
                )
        for muuid, message in sorted(self.messages.items()):
            if message.get("message_type") == "mms":
                count = 1 + rng.randint(0, 1)
                self.attach_media(
                    [muuid], [f"https://demo.example/photo{i}.jpg" for i in range(count)], rng
                )
        self.add_number("14155550100", now - timedelta(days=400), alias="Main line")
        self.add_number("14155550101", now - timedelta(days=120))

    # -- HTTP -------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse | None:
        """The answer for one of these resources, or None for a path that is not one of them."""
        media = MEDIA.match(request.path)
        if media is not None:
            return self._content(media)
        for name, pattern in ROUTES:
            m = pattern.match(request.path)
            if m is not None:
                self._authenticate(request, m["auth"])
                return await self._serve(name, request, m)
        if _UNSLASHED.search(request.path):
            raise self.fail(404, "not found")  # the trailing slash is required
        return None

    def _authenticate(self, request: web.Request, path_auth: str) -> None:
        header = request.headers.get("Authorization", "")
        raw = f"{self.auth_id}:{self.auth_token}".encode()
        if header != "Basic " + base64.b64encode(raw).decode() or path_auth != self.auth_id:
            raise self.fail(401, "Authentication credentials invalid")

    def _content(self, m: re.Match[str]) -> web.Response:
        if m["recording"] is not None:
            record = self.state.recordings.get(m["recording"])
            if record is None or record["recording_format"] != m["format"]:
                raise self.fail(404, "not found")
            if m["format"] == "mp3":
                return web.Response(body=SILENT_MP3, content_type="audio/mpeg")
            return web.Response(body=silent_wav(), content_type="audio/x-wav")
        items = self.state.media.get(m["message"], [])
        item = next((i for i in items if i["media_id"] == m["id"]), None)
        if item is None:
            raise self.fail(404, "not found")
        return web.Response(body=b"\xff\xd8\xff\xe0demo\xff\xd9", content_type=item["content_type"])

    async def _serve(self, name: str, request: web.Request, m: re.Match[str]) -> web.Response:
        method = "GET" if request.method == "HEAD" else request.method
        allowed = {
            "recording": ("GET", "DELETE"),
            "number": ("GET", "POST", "DELETE"),
            "buy": ("POST",),
        }.get(name, ("GET",))
        if method not in allowed:
            raise self.fail(405, "Method Not Allowed")
        host = f"{request.scheme}://{request.host}"
        if name == "recordings":
            return self._recordings(request, host)
        if name == "recording":
            record = self.state.recordings.get(m["id"])
            if record is None:
                raise self.fail(404, "not found")
            if method == "DELETE":
                del self.state.recordings[m["id"]]
                return web.Response(status=204)
            return self.respond(200, _absolute(record, "recording_url", host))
        if name in ("media_list", "media"):
            if m["message"] not in self.messages:
                raise self.fail(404, "not found")
            items = [
                _absolute(i, "media_url", host) for i in self.state.media.get(m["message"], [])
            ]
            if name == "media_list":
                return self.respond(200, {"objects": items})
            item = next((i for i in items if i["media_id"] == m["id"]), None)
            if item is None:
                raise self.fail(404, "not found")
            return self.respond(200, item)
        if name == "numbers":
            return self._numbers(request)
        if name == "number":
            record = self.state.numbers.get(m["number"])
            if record is None:
                raise self.fail(404, "not found")
            if method == "DELETE":
                del self.state.numbers[m["number"]]
                return web.Response(status=204)
            if method == "POST":
                await self._update(request, record)
                return self.respond(202, {"message": "changed"})
            return self.respond(200, dict(record))
        if name == "search":
            return self._search(request)
        return await self._buy(request, m["number"])

    # -- recordings -------------------------------------------------------------------------

    def _recordings(self, request: web.Request, host: str) -> web.Response:
        q = request.query
        limit, offset = self._window(q)
        records = list(self.state.recordings.values())
        for name in ("call_uuid", "conference_name"):
            if name in q:
                records = [r for r in records if r.get(name) == q[name]]
        for name in ("from_number", "to_number"):
            if name in q:
                records = [r for r in records if str(r[name]).lstrip("+") == q[name].lstrip("+")]
        for op in ("gt", "gte", "lt", "lte"):
            key = f"add_time__{op}"
            if key in q:
                bound = self._filter_time(q[key])
                records = [
                    r for r in records if _holds(datetime.fromisoformat(r["add_time"]), op, bound)
                ]
        records.sort(key=lambda r: (datetime.fromisoformat(r["add_time"]), r["recording_id"]))
        records.reverse()
        objects = [_absolute(r, "recording_url", host) for r in records[offset : offset + limit]]
        return self._page(request, objects, len(records), limit, offset)

    # -- numbers ----------------------------------------------------------------------------

    def _numbers(self, request: web.Request) -> web.Response:
        q = request.query
        limit, offset = self._window(q)
        records = list(self.state.numbers.values())
        if "type" in q:
            records = [r for r in records if r["number_type"] == q["type"]]
        if "number_startswith" in q:
            records = [r for r in records if r["number"].startswith(q["number_startswith"])]
        if "alias" in q:
            records = [r for r in records if r["alias"] == q["alias"]]
        if "services" in q:
            records = [r for r in records if all(r[f"{s}_enabled"] for s in self._services(q))]
        records.sort(key=lambda r: (r["added_on"], r["number"]), reverse=True)
        window = [dict(r) for r in records[offset : offset + limit]]
        return self._page(request, window, len(records), limit, offset)

    async def _update(self, request: web.Request, record: dict[str, Any]) -> None:
        data = await self.read_json(request)
        app_id = data.get("app_id")
        if app_id is not None and not re.fullmatch(r"\d{1,32}", str(app_id)):
            raise self.fail(400, "app_id is not a valid application id")
        alias = data.get("alias")
        if alias is not None and not isinstance(alias, str):
            raise self.fail(400, "alias must be a string")
        if alias is not None:
            record["alias"] = alias
        if app_id is not None:
            record["application"] = f"{self.base}/Application/{app_id}/"

    def _search(self, request: web.Request) -> web.Response:
        q = request.query
        country = q.get("country_iso")
        if not country:
            raise self.fail(400, "country_iso parameter is missing")
        kind = q.get("type", "any")
        if kind not in _TYPES:
            raise self.fail(400, f"type must be one of {', '.join(_TYPES)}")
        limit, offset = self._window(q)
        code = _CALLING_CODES.get(country.upper())
        found = (
            []
            if code is None
            else [
                e
                for e in self.state.inventory.values()
                if e["number"].startswith(code)
                and (e["country"] == "UNITED STATES") == (country.upper() in ("US", "CA"))
            ]
        )
        if kind in ("local", "national"):
            found = [e for e in found if e["sub_type"] == kind]
        elif kind != "any":
            found = [e for e in found if e["type"] == kind]
        if "pattern" in q:
            if not re.fullmatch(r"\d{1,12}", q["pattern"]):
                raise self.fail(400, "pattern must be digits")
            found = [e for e in found if e["number"].startswith(f"{code}{q['pattern']}")]
        if "region" in q:
            wanted = q["region"].lower()
            found = [e for e in found if wanted in f"{e['city'] or ''} {e['region']}".lower()]
        if "services" in q:
            found = [e for e in found if all(e[f"{s}_enabled"] for s in self._services(q))]
        found.sort(key=lambda e: e["number"])
        window = [
            dict(e, resource_uri=f"{self.base}/PhoneNumber/{e['number']}/")
            for e in found[offset : offset + limit]
        ]
        return self._page(request, window, len(found), limit, offset)

    async def _buy(self, request: web.Request, number: str) -> web.Response:
        data = await self.read_json(request) if await request.read() else {}
        if not _DIGITS.match(number):
            raise self.fail(400, f"'{number}' is not a valid phone number.")
        if number in self.state.numbers:
            raise self.fail(400, f"Number {number} is already rented by this account")
        if number not in self.state.inventory:
            raise self.fail(400, f"Number {number} is not available for purchase")
        app_id = data.get("app_id")
        if app_id is not None and not re.fullmatch(r"\d{1,32}", str(app_id)):
            raise self.fail(400, "app_id is not a valid application id")
        self.add_number(number, self.clock(), app_id=str(app_id) if app_id is not None else None)
        body = {
            "message": "created",
            "numbers": [{"number": number, "status": "Success"}],
            "status": "fulfilled",
        }
        return self.respond(201, body)

    # -- paging -----------------------------------------------------------------------------

    def _window(self, q: Any) -> tuple[int, int]:
        try:
            limit, offset = int(q.get("limit", "20")), int(q.get("offset", "0"))
        except ValueError:
            raise self.fail(400, "limit and offset must be integers") from None
        if not 1 <= limit <= plivo.MAX_LIMIT:
            raise self.fail(400, "limit should be between 1 and 20")
        if offset < 0:
            raise self.fail(400, "offset should be a non-negative integer")
        return limit, offset

    def _services(self, q: Any) -> list[str]:
        wanted = [s for s in q["services"].split(",") if s]
        if not wanted or any(s not in _SERVICES for s in wanted):
            raise self.fail(400, "services must be voice, sms or mms, separated by commas")
        return wanted

    def _filter_time(self, value: str) -> datetime:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?", value):
            raise self.fail(400, f"'{value}' is not a valid time filter, use YYYY-MM-DD HH:MM[:ss]")
        return datetime.fromisoformat(value).replace(tzinfo=UTC)

    def _page(
        self,
        request: web.Request,
        objects: list[dict[str, Any]],
        total: int,
        limit: int,
        offset: int,
    ) -> web.Response:
        filters = [(k, v) for k, v in request.query.items() if k not in ("limit", "offset")]
        meta = plivo.list_meta(
            request.path,
            limit=limit,
            offset=offset,
            total_count=total,
            has_next=offset + limit < total,
            filters=filters,
        )
        return self.respond(200, {"meta": meta, "objects": objects})


def _uuid(rng: random.Random | None) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4)) if rng else str(uuid.uuid4())


def _absolute(record: dict[str, Any], key: str, host: str) -> dict[str, Any]:
    out = dict(record)
    if isinstance(out.get(key), str) and out[key].startswith("/"):
        out[key] = host + out[key]
    return out


def _holds(value: datetime, op: str, bound: datetime) -> bool:
    return {"gt": value > bound, "gte": value >= bound, "lt": value < bound, "lte": value <= bound}[
        op
    ]
