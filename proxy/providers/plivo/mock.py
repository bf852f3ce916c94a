"""A strict, stateful Plivo-style upstream.

It serves ``dialect demo`` (seeded with plausible messages and calls) and the test suite, so it
is at least as strict as the real v1 API as the project's reference notes describe it:
Basic auth that must match the path's auth id, trailing slashes required, ``limit`` 1-20,
newest-first offset paging with relative ``meta.next``/``previous`` links, the 24-hour (messages)
and 7-day (calls) default windows, timestamps in the account's own UTC offset, numbers without
``+``, ``api_id`` on every body, and ``{"api_id","error"}`` errors.

Like the real carrier it calls back (``proxy.providers.carrier``): a message sent with a
``url`` gets V2-signed status callbacks (queued, sent, delivered); a call fetches its
``answer_url``, runs the Plivo XML it gets (a GetDigits/GetInput "presses" 1234), calls
``ring_url`` and ``hangup_url``, all V3-signed with the auth token.

Simplification (documented): a created call's CDR exists at once, and its ``call_uuid`` equals
the ``request_uuid`` the create answered with.

Call control, while the carrier runs the call (``Carrier.live``): ``DELETE /Call/{uuid}/`` hangs
up a live call (204), ``DELETE /Request/{uuid}/`` cancels one still ringing (204), and
``POST /Call/{uuid}/`` with ``legs=aleg`` and ``aleg_url`` transfers it (202, "call
transfered", the fixture's spelling): the carrier fetches the new URL. A call that is not live
is 404, as Plivo answers for a call it no longer runs.
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
from urllib.parse import urlencode

import orjson
from aiohttp import web

from proxy.pipeline.converters import build_converter
from proxy.providers.carrier import Carrier
from proxy.providers.plivo.mock_resources import PLIVO_MOCK_RESOURCES, PlivoResources

_SEGMENTS = build_converter("sms_segments", None)
_NUMBER = re.compile(r"^\+?[1-9]\d{7,14}$")
_FILTER_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$")
_ACCOUNT = re.compile(r"^/v1/Account/(?P<auth>[^/]+)/$")
_PREFIX = re.compile(r"^/v1/Account/(?P<auth>[^/]+)/(?P<kind>Message|Call)(?P<rest>/.*)?$")
_CALL_REQUEST = re.compile(r"^/v1/Account/(?P<auth>[^/]+)/Request/(?P<uuid>[^/]+)/$")


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


def _parse_local(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _digits(number: str) -> str:
    return number.lstrip("+")


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
        self.carrier = Carrier("plivo", auth_token)
        # Recordings, message media, numbers and the number search: ``mock_resources``.
        self.resources = PlivoResources(
            auth_id,
            auth_token,
            clock=clock,
            fmt=lambda dt, micro: _fmt(dt, self.tz, micro),
            messages=self.state.messages,
            calls=self.state.calls,
            fail=_Fail,
            respond=self.body,
            read_json=self._json,
        )

    # -- records ----------------------------------------------------------------------------

    def add_message(
        self,
        *,
        src: str,
        dst: str,
        text: str,
        when: datetime,
        mtype: str = "sms",
        state: str = "queued",
        direction: str = "outbound",
        error_code: str | None = None,
        rng: random.Random | None = None,
    ) -> dict[str, Any]:
        muuid = str(uuid.UUID(int=rng.getrandbits(128), version=4)) if rng else str(uuid.uuid4())
        record = {
            "message_uuid": muuid,
            "from_number": _digits(src),
            "to_number": _digits(dst),
            "message_direction": direction,
            "message_state": state,
            "message_type": mtype,
            "message_time": _fmt(when, self.tz),
            "message_sent_time": _fmt(when + timedelta(milliseconds=947), self.tz, micro=True),
            "message_updated_time": _fmt(
                when + timedelta(seconds=2, milliseconds=120), self.tz, micro=True
            ),
            "units": _SEGMENTS(text) if text else 1,
            "total_amount": "0.00000" if state == "queued" else "0.00350",
            "total_rate": "0.00350",
            "error_code": error_code,
            "error_message": "" if error_code in (None, "000") else "Destination unreachable",
            "resource_uri": f"/v1/Account/{self.auth_id}/Message/{muuid}/",
            "destination_country_iso2": "US"
            if _digits(dst).startswith("1")
            else ("IN" if _digits(dst).startswith("91") else None),
            "requester_ip": "127.0.0.1",
            "powerpack_id": None,
        }
        self.state.messages[muuid] = record
        return record

    def add_call(
        self,
        *,
        src: str,
        dst: str,
        when: datetime,
        duration: int = 42,
        call_uuid: str | None = None,
        rng: random.Random | None = None,
    ) -> dict[str, Any]:
        cuuid = call_uuid or (
            str(uuid.UUID(int=rng.getrandbits(128), version=4)) if rng else str(uuid.uuid4())
        )
        answer = when + timedelta(seconds=5)
        end = answer + timedelta(seconds=duration)
        billed = max(60, -(-duration // 60) * 60)
        record = {
            "answer_time": _fmt(answer, self.tz),
            "bill_duration": duration,
            "billed_duration": billed,
            "call_direction": "outbound",
            "call_duration": duration,
            "call_state": "ANSWER",
            "call_uuid": cuuid,
            "end_time": _fmt(end, self.tz),
            "from_number": "+" + _digits(src),
            "hangup_cause_code": 4000,
            "hangup_cause_name": "Normal Hangup",
            "hangup_source": "Callee",
            "initiation_time": _fmt(when, self.tz),
            "parent_call_uuid": None,
            "resource_uri": f"/v1/Account/{self.auth_id}/Call/{cuuid}/",
            "to_number": _digits(dst),
            "total_amount": f"{billed / 60 * 0.0085:.5f}",
            "total_rate": "0.00850",
        }
        self.state.calls[cuuid] = record
        return record

    def seed(self, messages: int, calls: int, seed: int) -> None:
        rng = random.Random(seed)
        now = self.clock()
        ours = ["14155550100", "14155550101"]
        theirs = ["14155550111", "14155550123", "919876543210", "447700900123"]
        states = ["delivered", "delivered", "sent", "queued", "undelivered", "failed"]
        texts = [
            "Your code is 4812",
            "See you at 6?",
            "Order #1042 shipped",
            "Hello from Dialect ☎",
        ]
        ages = [timedelta(minutes=rng.randint(1, 20 * 60)) for _ in range(messages)]
        ages += [timedelta(days=rng.randint(2, 5), minutes=rng.randint(0, 600)) for _ in range(5)]
        for i, age in enumerate(ages):
            inbound = i % 7 == 3
            state = "received" if inbound else states[i % len(states)]
            code = {"failed": "30", "undelivered": "200"}.get(
                state, "000" if state == "delivered" else None
            )
            src, dst = (
                (rng.choice(theirs), ours[0]) if inbound else (ours[i % 2], rng.choice(theirs))
            )
            self.add_message(
                src=src,
                dst=dst,
                text=texts[i % len(texts)],
                when=now - age,
                mtype="mms" if i % 9 == 4 else "sms",
                state=state,
                direction="inbound" if inbound else "outbound",
                error_code=code,
                rng=rng,
            )
        call_ages = [timedelta(minutes=rng.randint(1, 3 * 24 * 60)) for _ in range(calls)]
        call_ages += [timedelta(days=rng.randint(10, 20)) for _ in range(3)]
        for i, age in enumerate(call_ages):
            self.add_call(
                src=ours[i % 2],
                dst=rng.choice(theirs),
                when=now - age,
                duration=rng.randint(3, 600),
                rng=rng,
            )

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
            return self._cancel(request, queued["uuid"])
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
                return await (self._send(request) if kind == "Message" else self._call(request))
            if request.method == "GET":
                return self._list(request, kind)
            raise _Fail(405, "Method Not Allowed")
        ident = re.fullmatch(r"/([^/]+)/", rest)
        if ident is None:
            raise _Fail(404, "not found")
        if kind == "Call" and request.method in ("DELETE", "POST"):
            return await self._control(request, ident[1])
        if request.method != "GET":
            raise _Fail(405, "Method Not Allowed")
        store = self.state.messages if kind == "Message" else self.state.calls
        record = store.get(ident[1])
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

    async def _send(self, request: web.Request) -> web.Response:
        data = await self._json(request)
        mtype = data.get("type", "sms")
        if mtype not in ("sms", "mms", "whatsapp"):
            raise _Fail(400, "type must be one of sms, mms, whatsapp")
        src = data.get("src")
        if not src and not data.get("powerpack_uuid"):
            raise _Fail(400, "src parameter is required")
        if not data.get("dst"):
            raise _Fail(400, "dst parameter is required")
        media = data.get("media_urls")
        if media is not None and (
            not isinstance(media, list) or not all(isinstance(u, str) for u in media)
        ):
            raise _Fail(400, "media_urls must be a list of URLs")
        text = data.get("text")
        if not text and not (mtype == "mms" and media):
            raise _Fail(400, "text parameter is required")
        if src and not _NUMBER.match(str(src)):
            raise _Fail(400, f"'{src}' is not a valid phone number.")
        dsts = [d for d in str(data["dst"]).split("<") if d]
        valid = [d for d in dsts if _NUMBER.match(d)]
        invalid = [d for d in dsts if not _NUMBER.match(d)]
        if not valid:
            raise _Fail(
                400, f"'{invalid[0] if invalid else data['dst']}' is not a valid phone number."
            )
        if src and any(_digits(d) == _digits(str(src)) for d in valid):
            raise _Fail(400, "src and dst cannot be the same")
        now = self.clock()
        uuids = [
            self.add_message(
                src=str(src or "14155550100"), dst=d, text=str(text or ""), when=now, mtype=mtype
            )["message_uuid"]
            for d in valid
        ]
        if mtype == "mms" and media:
            self.resources.attach_media(uuids, [str(url) for url in media])
        out: dict[str, Any] = {"message": "message(s) queued", "message_uuid": uuids}
        if invalid:
            out["invalid_number"] = invalid
        url = data.get("url")
        if url:
            method = str(data.get("method") or "POST").upper()
            if method not in ("GET", "POST"):
                raise _Fail(400, "method must be GET or POST")
            for muuid in uuids:
                record = self.state.messages[muuid]
                base = {
                    "MessageUUID": muuid,
                    "From": record["from_number"],
                    "To": record["to_number"],
                    "Units": str(record["units"]),
                    "TotalRate": "0.00350",
                    "TotalAmount": "0.00350",
                    "MCC": "310",
                    "MNC": "260",
                    "ErrorCode": "",
                    "MessageTime": record["message_time"],
                }
                self.carrier.spawn(
                    self.carrier.message_status(
                        str(url), method, base, ["queued", "sent", "delivered"]
                    )
                )
        return self.body(202, out)

    async def _call(self, request: web.Request) -> web.Response:
        data = await self._json(request)
        for name in ("from", "to", "answer_url"):
            if not data.get(name):
                raise _Fail(400, f"{name} parameter is missing")
        src = str(data["from"])
        if not _NUMBER.match(src):
            raise _Fail(400, f"'{src}' is not a valid phone number.")
        dsts = [d for d in str(data["to"]).split("<") if d]
        for d in dsts:
            if not (_NUMBER.match(d) or d.startswith("sip:")):
                raise _Fail(400, f"'{d}' is not a valid phone number.")
        now = self.clock()
        uuids = [self.add_call(src=src, dst=d, when=now, duration=0)["call_uuid"] for d in dsts]
        for d, cuuid in zip(dsts, uuids, strict=True):
            self.carrier.spawn(self._run_call(data, src, d, cuuid))
        return self.body(
            201, {"message": "call fired", "request_uuid": uuids[0] if len(uuids) == 1 else uuids}
        )

    async def _run_call(self, data: dict[str, Any], src: str, dst: str, cuuid: str) -> None:
        """The callbacks of one outbound call, answered at once, lasting 15 seconds."""

        def target(url: str, method: str) -> tuple[str, str] | None:
            value = data.get(url)
            return (str(value), str(data.get(method) or "POST")) if value else None

        answer = target("answer_url", "answer_method")
        assert answer is not None
        start = self.clock()
        base = {
            "CallUUID": cuuid,
            "RequestUUID": cuuid,
            "ALegUUID": cuuid,
            "ALegRequestUUID": cuuid,
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
            "StartTime": _fmt(start, self.tz)[:19],
            "AnswerTime": _fmt(start + timedelta(seconds=5), self.tz)[:19],
            "EndTime": _fmt(end, self.tz)[:19],
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

    async def _control(self, request: web.Request, cuuid: str) -> web.StreamResponse:
        """Hang up (DELETE) or transfer (POST) a live call."""
        if request.method == "DELETE":
            if not self.carrier.hang_up(cuuid):
                raise _Fail(404, "not found")
            return web.Response(status=204)
        data = await self._json(request)
        legs = data.get("legs")
        if legs not in ("aleg", "bleg", "both"):
            raise _Fail(400, "legs must be one of aleg, bleg, both")
        if legs != "aleg":
            raise _Fail(400, "this call has no B leg to transfer")
        url = data.get("aleg_url")
        if not isinstance(url, str) or not re.match(r"^https?://", url):
            raise _Fail(400, "aleg_url parameter is required for legs aleg")
        method = str(data.get("aleg_method") or "POST").upper()
        if method not in ("GET", "POST"):
            raise _Fail(400, "aleg_method must be GET or POST")
        if cuuid not in self.state.calls or not self.carrier.transfer(cuuid, url, method):
            raise _Fail(404, "not found")
        return self.body(202, {"message": "call transfered"})

    def _cancel(self, request: web.Request, ruuid: str) -> web.StreamResponse:
        """Cancel a call request that has not been answered yet."""
        if request.method != "DELETE":
            raise _Fail(405, "Method Not Allowed")
        if not self.carrier.cancel(ruuid):
            raise _Fail(404, "not found")
        return web.Response(status=204)

    def _list(self, request: web.Request, kind: str) -> web.Response:
        q = request.query
        if kind == "Message" and self.rate_limit is not None:
            t = time.monotonic()
            self.state.list_times[:] = [x for x in self.state.list_times if t - x < 60]
            if len(self.state.list_times) >= self.rate_limit:
                raise _Fail(429, "too many requests")
            self.state.list_times.append(t)
        limit = self._int(q.get("limit", "20"), "limit")
        offset = self._int(q.get("offset", "0"), "offset")
        if not 1 <= limit <= 20:
            raise _Fail(400, "limit should be between 1 and 20")
        if offset < 0:
            raise _Fail(400, "offset should be a non-negative integer")
        now = self.clock()
        if kind == "Message":
            records, time_key = list(self.state.messages.values()), "message_time"
            window = timedelta(hours=24)
            exact: tuple[str, ...] = ("message_direction", "message_state", "message_type")
        else:
            records, time_key = list(self.state.calls.values()), "end_time"
            window = timedelta(days=7)
            exact = ("call_direction",)
        bounds: list[tuple[str, datetime]] = [
            (op, self._filter_time(q[f"{time_key}__{op}"]))
            for op in ("gt", "gte", "lt", "lte")
            if f"{time_key}__{op}" in q
        ]
        if time_key in q:
            bounds.append(("eq", self._filter_time(q[time_key])))
        if not bounds:
            bounds = [("gte", now - window)]
        out = []
        for r in records:
            stamp = _parse_local(r[time_key])
            if not all(_cmp(stamp, op, b) for op, b in bounds):
                continue
            if any(name in q and r.get(name) != q[name] for name in exact):
                continue
            if any(
                name in q and _digits(str(r.get(name))) != _digits(q[name])
                for name in ("from_number", "to_number")
            ):
                continue
            out.append(r)
        out.sort(
            key=lambda r: (
                _parse_local(r[time_key]),
                r["message_uuid" if kind == "Message" else "call_uuid"],
            ),
            reverse=True,
        )
        page = out[offset : offset + limit]
        filters = [(k, v) for k, v in q.items() if k not in ("limit", "offset")]
        path = f"/v1/Account/{self.auth_id}/{kind}/"

        def link(at: int) -> str:
            return f"{path}?{urlencode([('limit', str(limit)), ('offset', str(at)), *filters])}"

        objects = [dict(r) for r in page]
        if kind == "Call":
            for o in objects:
                o["api_id"] = str(uuid.uuid1())
        meta = {
            "limit": limit,
            "next": link(offset + limit) if offset + limit < len(out) else None,
            "offset": offset,
            "previous": link(max(offset - limit, 0)) if offset > 0 else None,
            "total_count": len(out),
        }
        return self.body(200, {"meta": meta, "objects": objects})

    @staticmethod
    def _int(value: str, name: str) -> int:
        try:
            return int(value)
        except ValueError:
            raise _Fail(400, f"{name} must be an integer") from None

    @staticmethod
    def _filter_time(value: str) -> datetime:
        if not _FILTER_TIME.match(value):
            raise _Fail(
                400, f"'{value}' is not a valid time filter, use YYYY-MM-DD HH:MM[:ss[.uuuuuu]]"
            )
        return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _cmp(t: datetime, op: str, bound: datetime) -> bool:
    return {
        "gt": t > bound,
        "gte": t >= bound,
        "lt": t < bound,
        "lte": t <= bound,
        "eq": t.replace(microsecond=0) == bound.replace(microsecond=0),
    }[op]


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
