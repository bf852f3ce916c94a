"""A strict, stateful Plivo-style upstream: the HTTP shell, the account, the seed and the lists.

It serves ``dialect demo`` (seeded with plausible messages and calls) and the test suite, so it
is at least as strict as the real v1 API as the project's reference notes describe it:
Basic auth that must match the path's auth id, trailing slashes required, ``limit`` 1-20,
newest-first offset paging with relative ``meta.next``/``previous`` links, the 24-hour (messages)
and 7-day (calls) default windows, timestamps in the account's own UTC offset, numbers without
``+``, ``api_id`` on every body, and ``{"api_id","error"}`` errors.

Like the real carrier it calls back (``proxy.providers.carrier``). Messages are
``mock_messages``: a message sent with a ``url`` gets V2-signed status callbacks. Calls are
``mock_calls``: a created call has a ``request_uuid`` (what the create answers, what a cancel
takes) and its own, different ``call_uuid`` (its record, hang-up and transfer), as on the real
carrier; its callbacks carry both. A call's record (``GET /Call/{call_uuid}/``) exists once the
call has ended; while it runs, ``GET /Call/{call_uuid}/?status=live`` answers its live state
(404 before and after). Test numbers that never answer: ``proxy.providers.carrier.UNANSWERED``
(rings until canceled or the create's ``ring_timeout``, then ``no-answer``) and ``BUSY``.
Recordings, media and numbers are ``mock_resources``.
"""

from __future__ import annotations

import base64
import random
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
from aiohttp import web

from proxy.providers.carrier import Carrier
from proxy.providers.plivo.mock_answers import MockAccount, PlivoAnswers, digits, holds
from proxy.providers.plivo.mock_calls import PlivoCalls
from proxy.providers.plivo.mock_messages import PlivoMessages
from proxy.providers.plivo.mock_resources import PLIVO_MOCK_RESOURCES, PlivoResources

_ACCOUNT = re.compile(r"^/v1/Account/(?P<auth>[^/]+)/$")
_PREFIX = re.compile(r"^/v1/Account/(?P<auth>[^/]+)/(?P<kind>Message|Call)(?P<rest>/.*)?$")
_CALL_REQUEST = re.compile(r"^/v1/Account/(?P<auth>[^/]+)/Request/(?P<uuid>[^/]+)/$")
# The seeded traffic's numbers: the account's own, and the people it talks to.
OURS = ["14155550100", "14155550101"]
THEIRS = ["14155550111", "14155550123", "919876543210", "447700900123"]
# Each list: the time it filters and sorts on, the id that breaks ties, how far back it looks
# without a time filter (Plivo's: a day of messages, a week of calls), and its exact filters.
_LISTS: dict[str, tuple[str, str, timedelta, tuple[str, ...]]] = {
    "Message": (
        "message_time",
        "message_uuid",
        timedelta(hours=24),
        ("message_direction", "message_state", "message_type"),
    ),
    "Call": ("end_time", "call_uuid", timedelta(days=7), ("call_direction",)),
}


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: list[tuple[str, str]]
    json: Any
    headers: dict[str, str]


@dataclass
class PlivoMockState:
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Each created call's call_uuid, by the request_uuid its create answered.
    call_requests: dict[str, str] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    list_times: list[float] = field(default_factory=list)


PLIVO_MOCK_STATE = web.AppKey("plivo_mock_state", PlivoMockState)
PLIVO_MOCK_CARRIER = web.AppKey("plivo_mock_carrier", Carrier)


class _Fail(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status, self.error = status, error


def _fmt(dt: datetime, tz: timezone, micro: bool = False) -> str:
    local = dt.astimezone(tz)
    text = local.strftime("%Y-%m-%d %H:%M:%S")
    if micro:
        text += f".{local.microsecond:06d}".rstrip("0").rstrip(".") if local.microsecond else ""
    off = local.strftime("%z")
    return f"{text}{off[:3]}:{off[3:]}"


class PlivoMock:
    def __init__(
        self,
        auth_id: str,
        auth_token: str,
        *,
        clock: Callable[[], datetime],
        utc_offset: timedelta,
        list_rate_limit_per_minute: int | None,
    ) -> None:
        self.auth_id, self.auth_token = auth_id, auth_token
        self.clock = clock
        self.tz = timezone(utc_offset)
        self.rate_limit = list_rate_limit_per_minute
        self.state = PlivoMockState()
        self.carrier = Carrier("plivo", auth_token, clock=clock)
        self.answers = PlivoAnswers(_Fail, self.body, self._json)

        def fmt(dt: datetime, micro: bool) -> str:
            return _fmt(dt, self.tz, micro)

        account = MockAccount(auth_id, clock, fmt, self.answers)
        # Recordings, message media, numbers and the number search: ``mock_resources``.
        self.resources = PlivoResources(
            auth_id,
            auth_token,
            clock=clock,
            fmt=fmt,
            messages=self.state.messages,
            calls=self.state.calls,
            fail=_Fail,
            respond=self.body,
            read_json=self._json,
        )
        self.messages = PlivoMessages(
            account,
            carrier=self.carrier,
            records=self.state.messages,
            attach_media=self.resources.attach_media,
        )
        self.calls = PlivoCalls(
            account,
            carrier=self.carrier,
            records=self.state.calls,
            requests=self.state.call_requests,
        )

    # -- records ----------------------------------------------------------------------------

    def seed(self, messages: int, calls: int, seed: int) -> None:
        """Plausible traffic from one random stream: messages first, then calls."""
        rng = random.Random(seed)
        now = self.clock()
        self.messages.seed(rng, now, messages, OURS, THEIRS)
        self.calls.seed(rng, now, calls, OURS, THEIRS)

    # -- HTTP -------------------------------------------------------------------------------

    def body(self, status: int, data: dict[str, Any]) -> web.Response:
        payload = {"api_id": str(uuid.uuid1()), **data}
        return web.Response(
            status=status, body=orjson.dumps(payload), content_type="application/json"
        )

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        raw = await request.read()
        parsed: Any = None
        if raw:
            try:
                parsed = orjson.loads(raw)
            except orjson.JSONDecodeError:
                parsed = raw.decode("utf-8", "replace")
        self.state.requests.append(
            RecordedRequest(
                request.method,
                request.path,
                list(request.query.items()),
                parsed,
                dict(request.headers),
            )
        )
        try:
            response: web.StreamResponse = await handler(request)
            return response
        except _Fail as exc:
            return self.body(exc.status, {"error": exc.error})

    async def handle(self, request: web.Request) -> web.StreamResponse:
        other = await self.resources.handle(request)
        if other is not None:
            return other
        account = _ACCOUNT.match(request.path)
        if account is not None:
            self._authenticate(request, account["auth"])
            if request.method != "GET":
                raise _Fail(405, "Method Not Allowed")
            return self.body(200, self._account())
        queued = _CALL_REQUEST.match(request.path)
        if queued is not None:
            self._authenticate(request, queued["auth"])
            return self.calls.cancel(request, queued["uuid"])
        m = _PREFIX.match(request.path)
        if m is None:
            raise _Fail(404, "not found")
        self._authenticate(request, m["auth"])
        rest = m["rest"] or ""
        kind = m["kind"]
        if rest == "":
            raise _Fail(404, "not found")  # the trailing slash is required
        if rest == "/":
            if request.method == "POST":
                create = self.messages.send if kind == "Message" else self.calls.create
                return await create(request)
            if request.method == "GET":
                return self._list(request, kind)
            raise _Fail(405, "Method Not Allowed")
        ident = re.fullmatch(r"/([^/]+)/", rest)
        if ident is None:
            raise _Fail(404, "not found")
        if kind == "Call":
            return await self.calls.one(request, ident[1])
        if request.method != "GET":
            raise _Fail(405, "Method Not Allowed")
        record = self.state.messages.get(ident[1])
        if record is None:
            raise _Fail(404, "not found")
        return self.body(200, dict(record))

    def _account(self) -> dict[str, Any]:
        """The account details (``GET /v1/Account/{auth_id}/``)."""
        return {
            "account_type": "standard",
            "address": "",
            "auth_id": self.auth_id,
            "auto_recharge": False,
            "billing_mode": "prepaid",
            "cash_credits": "12.34560",
            "city": "",
            "name": "Dialect Demo",
            "resource_uri": f"/v1/Account/{self.auth_id}/",
            "state": "",
            "timezone": "Asia/Kolkata",
        }

    def _authenticate(self, request: web.Request, path_auth: str) -> None:
        header = request.headers.get("Authorization", "")
        expected = (
            "Basic " + base64.b64encode(f"{self.auth_id}:{self.auth_token}".encode()).decode()
        )
        if header != expected or path_auth != self.auth_id:
            raise _Fail(401, "Authentication credentials invalid")

    async def _json(self, request: web.Request) -> dict[str, Any]:
        if request.content_type != "application/json":
            raise _Fail(400, "Content-Type must be application/json")
        try:
            data = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            raise _Fail(400, "Request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise _Fail(400, "Request body must be a JSON object")
        return data

    def _list(self, request: web.Request, kind: str) -> web.Response:
        """The message or call list: newest first, by default only the last day of messages
        or week of calls; paged and filtered as every list of the mock is (``mock_answers``)."""
        q = request.query
        if kind == "Message" and self.rate_limit is not None:
            t = time.monotonic()
            self.state.list_times[:] = [x for x in self.state.list_times if t - x < 60]
            if len(self.state.list_times) >= self.rate_limit:
                raise _Fail(429, "too many requests")
            self.state.list_times.append(t)
        limit, offset = self.answers.window(q)
        time_key, id_key, window, exact = _LISTS[kind]
        records = self.state.messages if kind == "Message" else self.state.calls
        now = self.clock()
        bounds = self.answers.time_bounds(q, time_key) or [("gte", now - window)]
        out = [
            r
            for r in records.values()
            if all(holds(datetime.fromisoformat(r[time_key]), op, b) for op, b in bounds)
            and not any(name in q and r.get(name) != q[name] for name in exact)
            and not any(
                name in q and digits(str(r.get(name))) != digits(q[name])
                for name in ("from_number", "to_number")
            )
        ]
        out.sort(key=lambda r: (datetime.fromisoformat(r[time_key]), r[id_key]), reverse=True)
        objects = [dict(r) for r in out[offset : offset + limit]]
        if kind == "Call":  # every call in the list repeats an api_id, as Plivo's do
            for o in objects:
                o["api_id"] = str(uuid.uuid1())
        return self.answers.page(request, objects, len(out), limit, offset)


def build_plivo_mock(
    auth_id: str,
    auth_token: str,
    *,
    seed_messages: int = 45,
    seed_calls: int = 25,
    seed: int = 7,
    clock: Callable[[], datetime] | None = None,
    utc_offset: timedelta = timedelta(hours=5, minutes=30),
    list_rate_limit_per_minute: int | None = None,
) -> web.Application:
    mock = PlivoMock(
        auth_id,
        auth_token,
        clock=clock or (lambda: datetime.now(UTC)),
        utc_offset=utc_offset,
        list_rate_limit_per_minute=list_rate_limit_per_minute,
    )
    mock.seed(seed_messages, seed_calls, seed)
    mock.resources.seed(seed)
    app = web.Application(middlewares=[mock.middleware])
    app[PLIVO_MOCK_STATE] = mock.state
    app[PLIVO_MOCK_RESOURCES] = mock.resources.state
    app[PLIVO_MOCK_CARRIER] = mock.carrier

    async def _stop_callbacks(_: web.Application) -> None:
        await mock.carrier.close()

    app.on_cleanup.append(_stop_callbacks)
    app.router.add_route("*", "/{tail:.*}", mock.handle)
    return app
