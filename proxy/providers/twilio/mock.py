"""A strict, stateful Twilio-style (2010-04-01) upstream.

The fake behind the Plivo façade's tests, and the demo backend for that direction. Strict in the
ways the project's reference notes describe the real API: Basic auth whose account must match
the path, form-encoded bodies only, Twilio's own validation codes (21604, 21603, 21602, 21211,
21212, 21201, 21213, 21205), ``PageSize`` 1-1000 (20007 above), ``Page`` above 0 refused
without the ``PageToken`` the previous page handed out, cursor tokens (``PA`` + the last SID of
the page before), root-relative paging links, RFC 2822 dates in GMT, and 4-field errors
(``mock_http``, ``mock_paging``: one definition for every resource).

This module is the application and the Messages resource; the calls, which run on the carrier
and take call control, are ``mock_calls``; recordings, media, numbers and the account are
``mock_resources``. Like the real carrier it calls back (``proxy.providers.carrier``), signing
each request with ``X-Twilio-Signature`` and the auth token: a message sent with
``StatusCallback`` reports ``sent`` and ``delivered`` (Twilio sends nothing for ``queued``).
``DELETE …/Messages/{SM}.json`` answers 204 for a message in a final state and Twilio's 20009
("Cannot delete this resource before it is complete", HTTP 409) for one still on its way.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from aiohttp import web

from proxy.codecs import decode_form
from proxy.pipeline.converters import build_converter
from proxy.providers.carrier import Carrier
from proxy.providers.twilio import rest as twilio
from proxy.providers.twilio.mock_calls import TwilioCalls
from proxy.providers.twilio.mock_http import (
    E164,
    Failure,
    authenticate,
    error_response,
    new_sid,
    not_found,
)
from proxy.providers.twilio.mock_paging import in_window, page, paging
from proxy.providers.twilio.mock_resources import TWILIO_MOCK_RESOURCES, TwilioResources

_SEGMENTS = build_converter("sms_segments", None)
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


class TwilioMock:
    def __init__(self, account_sid: str, auth_token: str, clock: Callable[[], datetime]) -> None:
        self.sid, self.token, self.clock = account_sid, auth_token, clock
        self.state = TwilioMockState()
        self.carrier = Carrier("twilio", auth_token)
        # Recordings, media, numbers, balance and the account: ``mock_resources``.
        self.resources = TwilioResources(
            account_sid, auth_token, clock, self.state.messages, self.state.calls
        )
        self.calls = TwilioCalls(account_sid, clock, self.carrier, self.state.calls)

    # -- records ----------------------------------------------------------------------------

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
        sid = new_sid("MM" if media else "SM", rng)
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
            self.calls.add(
                to=rng.choice(theirs),
                from_=ours[i % 2],
                when=now - timedelta(minutes=rng.randint(1, 5 * 24 * 60)),
                duration=rng.randint(3, 600),
                status="completed",
                rng=rng,
            )

    # -- HTTP -------------------------------------------------------------------------------

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await handler(request)
            return response
        except Failure as exc:
            return error_response(exc.status, exc.code, exc.message)

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
            raise not_found(request.path)
        authenticate(request, self.sid, self.token, m["account"])
        kind, sid = m["kind"], m["sid"]
        store = self.state.messages if kind == "Messages" else self.state.calls
        if sid is not None:
            if sid not in store:
                raise not_found(request.path)
            if kind == "Calls" and request.method == "POST":
                return web.json_response(self.calls.update(store[sid], form), dumps=_dumps)
            if kind == "Messages" and request.method == "DELETE":
                return self._delete_message(store, sid)
            if request.method != "GET":
                raise Failure(405, 20004, "Method not allowed")
            live = self.carrier.state(sid) if kind == "Calls" else None
            if live is not None:
                store[sid]["status"] = live
            return web.Response(body=orjson.dumps(store[sid]), content_type="application/json")
        if request.method == "POST":
            record = self._create_message(form) if kind == "Messages" else self.calls.create(form)
            return web.Response(
                status=201, body=orjson.dumps(record), content_type="application/json"
            )
        if request.method == "GET":
            return self._list(request, kind, store)
        raise Failure(405, 20004, "Method not allowed")

    def _create_message(self, form: dict[str, Any]) -> dict[str, Any]:
        to, from_, body = form.get("To"), form.get("From"), form.get("Body")
        media = form.get("MediaUrl")
        media_list = media if isinstance(media, list) else ([media] if media else [])
        if not to:
            raise Failure(400, 21604, "A 'To' phone number is required.")
        if not from_ and not form.get("MessagingServiceSid"):
            raise Failure(400, 21603, "A 'From' phone number is required.")
        if not body and not media_list:
            raise Failure(400, 21602, "Message body is required.")
        if not E164.match(str(to)):
            raise Failure(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if (
            from_
            and not E164.match(str(from_))
            and not re.fullmatch(r"[A-Za-z0-9 ]{1,11}", str(from_))
        ):
            raise Failure(
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
        self.resources.media.attach(record, [str(url) for url in media_list])
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

    def _delete_message(self, store: dict[str, dict[str, Any]], sid: str) -> web.Response:
        if store[sid]["status"] not in _FINAL_MESSAGE_STATES:
            raise Failure(409, 20009, "Cannot delete this resource before it is complete")
        del store[sid]
        return web.Response(status=204)

    def _list(
        self, request: web.Request, kind: str, store: dict[str, dict[str, Any]]
    ) -> web.Response:
        q = request.query
        asked = paging(q)  # refused before any filter is read
        records = [r for r in store.values() if self._matches(r, q, kind)]
        records.sort(
            key=lambda r: (twilio.parse_datetime(r["date_created"]), r["sid"]), reverse=True
        )
        return page(request, records, kind.lower(), asked)

    @staticmethod
    def _matches(record: dict[str, Any], q: Any, kind: str) -> bool:
        for key, field_name in (("To", "to"), ("From", "from")):
            if key in q and record.get(field_name) != q[key]:
                return False
        if kind == "Calls" and "Status" in q and record.get("status") != q["Status"]:
            return False
        return in_window(
            record["date_created"], q, "DateSent" if kind == "Messages" else "StartTime"
        )


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
