"""A strict, stateful Twilio-style (2010-04-01) upstream.

The fake behind the Plivo façade's tests, and the demo backend for that direction. Strict in the
ways the project's reference notes describe the real API: Basic auth whose account must match
the path, form-encoded bodies only, Twilio's own validation codes (21604, 21603, 21602, 21211,
21212, 21201, 21213, 21205), ``PageSize`` 1-1000 (20007 above), ``Page`` above 0 refused
without the ``PageToken`` the previous page handed out, cursor tokens (``PA`` + the last SID of
the page before), root-relative paging links, RFC 2822 dates in GMT, and 4-field errors.

Like the real carrier it calls back (``proxy.providers.carrier``), signing each request with
``X-Twilio-Signature`` and the auth token: a message sent with ``StatusCallback`` reports
``sent`` and ``delivered`` (Twilio sends nothing for ``queued``); a call fetches its ``Url``,
runs the TwiML it gets (a Gather "presses" 1234; a Gather without ``action`` posts to the
current document, as Twilio does) and reports ``ringing`` (when ``StatusCallbackEvent`` asks
for it) and ``completed`` to ``StatusCallback``.

Call control (``POST …/Calls/{CA}.json``) acts on the call the carrier is running
(``Carrier.live``): ``Status=completed`` hangs it up, ``Status=canceled`` cancels it while it
rings (and has no effect once answered, as Twilio says), ``Url``/``Method`` redirect it (21220
when it is not in progress); the answer is the Call resource. The mock runs TwiML from URLs
only: an inline ``Twiml`` update is refused. ``DELETE …/Messages/{SM}.json`` answers 204 for a
message in a final state and Twilio's 20009 ("Cannot delete this resource before it is
complete", HTTP 409) for one still on its way.
"""

from __future__ import annotations

import base64
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import orjson
from aiohttp import web

from proxy.codecs import decode_form
from proxy.pipeline.converters import build_converter
from proxy.providers.carrier import Carrier
from proxy.providers.twilio import rest as twilio
from proxy.providers.twilio.mock_resources import TWILIO_MOCK_RESOURCES, TwilioResources

_SEGMENTS = build_converter("sms_segments", None)
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_PATH = re.compile(
    r"^/2010-04-01/Accounts/(?P<account>[^/]+)/(?P<kind>Messages|Calls)(?:/(?P<sid>[^/]+?))?\.json$"
)


# A message in one of these states may be deleted; before them Twilio answers 20009.
_FINAL_MESSAGE_STATES = frozenset(
    {"delivered", "undelivered", "failed", "received", "canceled", "read"}
)


def _dumps(data: Any) -> str:
    return orjson.dumps(data).decode()


@dataclass
class TwilioMockState:
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, list[tuple[str, str]], dict[str, Any]]] = field(
        default_factory=list
    )


TWILIO_MOCK_STATE = web.AppKey("twilio_mock_state", TwilioMockState)
TWILIO_MOCK_CARRIER = web.AppKey("twilio_mock_carrier", Carrier)


class _Fail(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class TwilioMock:
    def __init__(self, account_sid: str, auth_token: str, clock: Callable[[], datetime]) -> None:
        self.sid, self.token, self.clock = account_sid, auth_token, clock
        self.state = TwilioMockState()
        self.carrier = Carrier("twilio", auth_token)
        # Recordings, media, numbers, balance and the account: ``mock_resources``.
        self.resources = TwilioResources(
            account_sid, auth_token, clock, self.state.messages, self.state.calls
        )

    # -- records ----------------------------------------------------------------------------

    def _new_sid(self, prefix: str, rng: random.Random | None) -> str:
        value = rng.getrandbits(128) if rng else uuid.uuid4().int
        return f"{prefix}{value:032x}"

    def add_message(
        self,
        *,
        to: str,
        from_: str,
        body: str,
        when: datetime,
        media: int = 0,
        status: str = "queued",
        direction: str = "outbound-api",
        error_code: int | None = None,
        rng: random.Random | None = None,
    ) -> dict[str, Any]:
        sid = self._new_sid("MM" if media else "SM", rng)
        base = f"/2010-04-01/Accounts/{self.sid}/Messages/{sid}"
        record = {
            "account_sid": self.sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": twilio.rfc2822(when),
            "date_sent": None
            if status == "queued"
            else twilio.rfc2822(when + timedelta(seconds=1)),
            "date_updated": twilio.rfc2822(when + timedelta(seconds=2)),
            "direction": direction,
            "error_code": error_code,
            "error_message": "Unreachable destination handset" if error_code else None,
            "from": from_,
            "messaging_service_sid": None,
            "num_media": str(media),
            "num_segments": str(_SEGMENTS(body) if body else 1),
            "price": None if status == "queued" else "-0.00790",
            "price_unit": "USD",
            "sid": sid,
            "status": status,
            "subresource_uris": {"media": f"{base}/Media.json"},
            "to": to,
            "uri": f"{base}.json",
        }
        self.state.messages[sid] = record
        return record

    def add_call(
        self,
        *,
        to: str,
        from_: str,
        when: datetime,
        duration: int | None = None,
        status: str = "queued",
        rng: random.Random | None = None,
    ) -> dict[str, Any]:
        sid = self._new_sid("CA", rng)
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
        self.state.calls[sid] = record
        return record

    def seed(self, messages: int, calls: int, seed: int) -> None:
        rng = random.Random(seed)
        now = self.clock()
        ours, theirs = (
            ["+14155550100", "+14155550101"],
            ["+14155550111", "+14155550123", "+919876543210"],
        )
        statuses = ["delivered", "sent", "queued", "undelivered", "failed", "delivered"]
        for i in range(messages):
            status = statuses[i % len(statuses)]
            self.add_message(
                to=rng.choice(theirs),
                from_=ours[i % 2],
                body=f"Seeded message {i}",
                when=now - timedelta(minutes=rng.randint(1, 5 * 24 * 60)),
                media=1 if i % 9 == 4 else 0,
                status=status,
                error_code=30003 if status in ("failed", "undelivered") else None,
                rng=rng,
            )
        for i in range(calls):
            self.add_call(
                to=rng.choice(theirs),
                from_=ours[i % 2],
                when=now - timedelta(minutes=rng.randint(1, 5 * 24 * 60)),
                duration=rng.randint(3, 600),
                status="completed",
                rng=rng,
            )

    # -- HTTP -------------------------------------------------------------------------------

    @staticmethod
    def error(status: int, code: int, message: str) -> web.Response:
        body = {
            "code": code,
            "message": message,
            "more_info": twilio.more_info_url(code),
            "status": status,
        }
        return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await handler(request)
            return response
        except _Fail as exc:
            return self.error(exc.status, exc.code, exc.message)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        form: dict[str, Any] = {}
        if request.content_type == "application/x-www-form-urlencoded" and raw:
            form = dict(decode_form(raw))
        self.state.requests.append(
            (request.method, request.path, list(request.query.items()), form)
        )
        other = await self.resources.handle(request, form)
        if other is not None:
            return other
        m = _PATH.match(request.path)
        if m is None:
            raise _Fail(404, 20404, f"The requested resource {request.path} was not found")
        header = request.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(f"{self.sid}:{self.token}".encode()).decode()
        if header != expected or m["account"] != self.sid:
            raise _Fail(401, 20003, "Authenticate")
        kind, sid = m["kind"], m["sid"]
        store = self.state.messages if kind == "Messages" else self.state.calls
        if sid is not None:
            if sid not in store:
                raise _Fail(404, 20404, f"The requested resource {request.path} was not found")
            if kind == "Calls" and request.method == "POST":
                return web.json_response(self._update_call(store[sid], form), dumps=_dumps)
            if kind == "Messages" and request.method == "DELETE":
                return self._delete_message(store, sid)
            if request.method != "GET":
                raise _Fail(405, 20004, "Method not allowed")
            live = self.carrier.state(sid) if kind == "Calls" else None
            if live is not None:
                store[sid]["status"] = live
            return web.Response(body=orjson.dumps(store[sid]), content_type="application/json")
        if request.method == "POST":
            record = self._create_message(form) if kind == "Messages" else self._create_call(form)
            return web.Response(
                status=201, body=orjson.dumps(record), content_type="application/json"
            )
        if request.method == "GET":
            return self._list(request, kind, store)
        raise _Fail(405, 20004, "Method not allowed")

    def _create_message(self, form: dict[str, Any]) -> dict[str, Any]:
        to, from_, body = form.get("To"), form.get("From"), form.get("Body")
        media = form.get("MediaUrl")
        media_list = media if isinstance(media, list) else ([media] if media else [])
        if not to:
            raise _Fail(400, 21604, "A 'To' phone number is required.")
        if not from_ and not form.get("MessagingServiceSid"):
            raise _Fail(400, 21603, "A 'From' phone number is required.")
        if not body and not media_list:
            raise _Fail(400, 21602, "Message body is required.")
        if not _E164.match(str(to)):
            raise _Fail(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if (
            from_
            and not _E164.match(str(from_))
            and not re.fullmatch(r"[A-Za-z0-9 ]{1,11}", str(from_))
        ):
            raise _Fail(
                400,
                21212,
                f"The 'From' number {from_} is not a valid phone number, shortcode, "
                "or alphanumeric sender ID.",
            )
        record = self.add_message(
            to=str(to),
            from_=str(from_ or ""),
            body=str(body or ""),
            when=self.clock(),
            media=len(media_list),
        )
        self.resources.attach_media(record, [str(url) for url in media_list])
        callback = form.get("StatusCallback")
        if callback:
            base = {
                "AccountSid": self.sid,
                "ApiVersion": "2010-04-01",
                "MessageSid": record["sid"],
                "SmsSid": record["sid"],
                "From": record["from"],
                "To": record["to"],
            }
            self.carrier.spawn(
                self.carrier.message_status(str(callback), "POST", base, ["sent", "delivered"])
            )
        return record

    def _create_call(self, form: dict[str, Any]) -> dict[str, Any]:
        if not form.get("To"):
            raise _Fail(400, 21201, "No 'To' number is specified")
        if not form.get("From"):
            raise _Fail(400, 21213, "No 'From' number is specified")
        if not (form.get("Url") or form.get("Twiml") or form.get("ApplicationSid")):
            raise _Fail(400, 21205, "Url parameter is required.")
        to = str(form["To"])
        if not (_E164.match(to) or to.startswith(("sip:", "client:"))):
            raise _Fail(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        record = self.add_call(to=to, from_=str(form["From"]), when=self.clock())
        if form.get("Url"):
            self.carrier.spawn(self._run_call(form, record))
        return record

    def _update_call(self, record: dict[str, Any], form: dict[str, Any]) -> dict[str, Any]:
        sid = record["sid"]
        status, url = form.get("Status"), form.get("Url")
        if status is not None and status not in ("canceled", "completed"):
            raise _Fail(400, 20001, "Status must be canceled or completed.")
        if form.get("Twiml"):
            raise _Fail(400, 20001, "The mock runs TwiML from a Url only.")
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
                raise _Fail(400, 20001, "Method must be GET or POST.")
            if not self.carrier.transfer(sid, str(url), method):
                raise _Fail(400, 21220, "Call is not in-progress. Cannot redirect.")
        elif live is not None:
            record["status"] = live
        record["date_updated"] = twilio.rfc2822(self.clock())
        return record

    def _delete_message(self, store: dict[str, dict[str, Any]], sid: str) -> web.Response:
        if store[sid]["status"] not in _FINAL_MESSAGE_STATES:
            raise _Fail(409, 20009, "Cannot delete this resource before it is complete")
        del store[sid]
        return web.Response(status=204)

    async def _run_call(self, form: dict[str, Any], record: dict[str, Any]) -> None:
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

    def _list(
        self, request: web.Request, kind: str, store: dict[str, dict[str, Any]]
    ) -> web.Response:
        q = request.query
        try:
            page_size = int(q.get("PageSize", "50"))
            page = int(q.get("Page", "0"))
        except ValueError:
            raise _Fail(400, 20001, "PageSize and Page must be integers") from None
        if page_size > 1000:
            raise _Fail(400, 20007, "PageSize must be less than or equal to 1000")
        if page_size < 1 or page < 0:
            raise _Fail(400, 20001, "Invalid paging parameters")
        token = q.get("PageToken")
        if page > 0 and not token:
            raise _Fail(400, 20001, "PageToken is required for paging.")
        records = [r for r in store.values() if self._matches(r, q, kind)]
        records.sort(
            key=lambda r: (twilio.parse_datetime(r["date_created"]), r["sid"]), reverse=True
        )
        start = 0
        if token:
            after = token[2:] if token.startswith("PA") else ""
            index = next((i for i, r in enumerate(records) if r["sid"] == after), None)
            if index is None:
                raise _Fail(400, 21481, "Invalid PageToken")
            start = index + 1
        chunk = records[start : start + page_size]
        filters = [(k, v) for k, v in q.items() if k not in ("PageSize", "Page", "PageToken")]
        path = request.path

        def uri(p: int, tok: str | None) -> str:
            parts = [f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in filters]
            parts += [f"PageSize={page_size}", f"Page={p}"]
            if tok:
                parts.append(f"PageToken={tok}")
            return f"{path}?{'&'.join(parts)}"

        more = start + page_size < len(records)
        body = {
            "first_page_uri": uri(0, None),
            "end": start + len(chunk) - 1 if chunk else 0,
            "previous_page_uri": uri(page - 1, "PB" + chunk[0]["sid"])
            if page > 0 and chunk
            else None,
            "uri": uri(page, token),
            "page_size": page_size,
            "start": start if chunk else 0,
            "next_page_uri": uri(page + 1, "PA" + chunk[-1]["sid"]) if more and chunk else None,
            "page": page,
            kind.lower(): chunk,
        }
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    @staticmethod
    def _matches(record: dict[str, Any], q: Any, kind: str) -> bool:
        for key, field_name in (("To", "to"), ("From", "from")):
            if key in q and record.get(field_name) != q[key]:
                return False
        if kind == "Calls" and "Status" in q and record.get("status") != q["Status"]:
            return False
        created = twilio.parse_datetime(record["date_created"])
        prefix = "DateSent" if kind == "Messages" else "StartTime"
        if prefix + ">" in q and created < twilio.parse_datetime(q[prefix + ">"]):
            return False
        if prefix + "<" in q and created > twilio.parse_datetime(q[prefix + "<"]):
            return False
        if prefix in q:
            day = twilio.parse_datetime(q[prefix])
            if not day <= created < day + timedelta(days=1):
                return False
        return True


def build_twilio_mock(
    account_sid: str,
    auth_token: str,
    *,
    seed_messages: int = 45,
    seed_calls: int = 25,
    seed: int = 7,
    clock: Callable[[], datetime] | None = None,
) -> web.Application:
    mock = TwilioMock(account_sid, auth_token, clock or (lambda: datetime.now(UTC)))
    mock.seed(seed_messages, seed_calls, seed)
    mock.resources.seed(seed)
    app = web.Application(middlewares=[mock.middleware])
    app[TWILIO_MOCK_STATE] = mock.state
    app[TWILIO_MOCK_RESOURCES] = mock.resources.state
    app[TWILIO_MOCK_CARRIER] = mock.carrier

    async def _stop_callbacks(_: web.Application) -> None:
        await mock.carrier.close()

    app.on_cleanup.append(_stop_callbacks)
    app.router.add_route("*", "/{tail:.*}", mock.handle)
    return app
