"""The Plivo-style mock's other resources: recordings, message media, numbers, number search.

``mock`` serves messages, calls and the account (with its ``cash_credits``); this module routes
what an application also calls, as strictly as the v1 API does (its docs and the project's
reference notes): Basic auth matching the path's auth id and trailing slashes (both checked
here the way ``mock`` checks them), ``limit`` 1-20 and offset paging with relative
``meta.next``/``previous``, times in the account's own UTC offset, numbers without ``+``, JSON
bodies, ``{"api_id","error"}`` errors (``mock_answers``), 204 on a delete. Each resource is its
own module:

- recordings and their audio (``mock_recordings``);
- the account's numbers, the number search and buying (``mock_numbers``, ``mock_inventory``);
- here, the media of a message: ``/Message/{uuid}/Media/`` (``{"objects": [...]}``, no
  ``meta``: a message has at most ten) and ``/Message/{uuid}/Media/{media_id}/``; ``media_url``
  is public, as Plivo's media URLs are.

Seeded from the mock's own calls and messages: a recording for every third answered call (every
fourth of them WAV), media for every MMS, the two numbers the seeded traffic uses, and the same
fictional inventory the Twilio-style mock sells (NANP 555 ranges, Ofcom's drama ranges).
"""

from __future__ import annotations

import base64
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from proxy.providers.mock_content import MEDIA_BYTES, media_type
from proxy.providers.plivo.mock_answers import PlivoAnswers, absolute, new_uuid
from proxy.providers.plivo.mock_inventory import number_inventory
from proxy.providers.plivo.mock_numbers import PlivoNumbers
from proxy.providers.plivo.mock_recordings import PlivoRecordings

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
# The methods a route takes (HEAD is answered as GET); one not listed takes GET only.
_METHODS = {
    "recording": ("GET", "DELETE"),
    "number": ("GET", "POST", "DELETE"),
    "buy": ("POST",),
}


@dataclass
class PlivoResourcesState:
    recordings: dict[str, dict[str, Any]] = field(default_factory=dict)
    media: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # message uuid -> media
    numbers: dict[str, dict[str, Any]] = field(default_factory=dict)  # number -> record
    inventory: dict[str, dict[str, Any]] = field(default_factory=number_inventory)


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
        self.state = state = PlivoResourcesState()
        answers = PlivoAnswers(fail, respond, read_json)
        self.recordings = PlivoRecordings(
            auth_id, clock=clock, fmt=fmt, records=state.recordings, answers=answers
        )
        self.numbers = PlivoNumbers(
            auth_id, clock=clock, records=state.numbers, inventory=state.inventory, answers=answers
        )

    def attach_media(
        self, message_uuids: list[str], urls: list[str], rng: random.Random | None = None
    ) -> None:
        """The media Plivo keeps for an MMS: one per ``media_urls`` item."""
        for muuid in message_uuids:
            items = self.state.media.setdefault(muuid, [])
            for url in urls:
                mid = new_uuid(rng)
                items.append(
                    {
                        "content_type": media_type(url),
                        "media_id": mid,
                        "media_url": f"/media/Message/{muuid}/Media/{mid}",
                        "message_uuid": muuid,
                        "size": 48213 + 1024 * len(items),
                    }
                )

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
                self.recordings.add(
                    call, start=start, seconds=call["call_duration"] - 2, fmt=fmt, rng=rng
                )
        for muuid, message in sorted(self.messages.items()):
            if message.get("message_type") == "mms":
                count = 1 + rng.randint(0, 1)
                self.attach_media(
                    [muuid], [f"https://demo.example/photo{i}.jpg" for i in range(count)], rng
                )
        self.numbers.add("14155550100", now - timedelta(days=400), alias="Main line")
        self.numbers.add("14155550101", now - timedelta(days=120))

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
        """The public media behind a ``recording_url`` or a ``media_url``."""
        if m["recording"] is not None:
            return self.recordings.audio(m)
        items = self.state.media.get(m["message"], [])
        item = next((i for i in items if i["media_id"] == m["id"]), None)
        if item is None:
            raise self.fail(404, "not found")
        return web.Response(body=MEDIA_BYTES, content_type=item["content_type"])

    async def _serve(self, name: str, request: web.Request, m: re.Match[str]) -> web.Response:
        method = "GET" if request.method == "HEAD" else request.method
        if method not in _METHODS.get(name, ("GET",)):
            raise self.fail(405, "Method Not Allowed")
        host = f"{request.scheme}://{request.host}"
        if name == "recordings":
            return self.recordings.listing(request, host)
        if name == "recording":
            return self.recordings.one(request, m["id"], host)
        if name in ("media_list", "media"):
            return self._media(name, m, host)
        if name == "numbers":
            return self.numbers.listing(request)
        if name == "number":
            return await self.numbers.one(request, m["number"])
        if name == "search":
            return self.numbers.search(request)
        return await self.numbers.buy(request, m["number"])

    def _media(self, name: str, m: re.Match[str], host: str) -> web.Response:
        if m["message"] not in self.messages:
            raise self.fail(404, "not found")
        items = [absolute(i, "media_url", host) for i in self.state.media.get(m["message"], [])]
        if name == "media_list":
            return self.respond(200, {"objects": items})
        item = next((i for i in items if i["media_id"] == m["id"]), None)
        if item is None:
            raise self.fail(404, "not found")
        return self.respond(200, item)
