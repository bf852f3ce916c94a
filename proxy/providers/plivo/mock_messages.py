"""The Plivo-style mock's messages: their records and the send, with its status callbacks.

The send is as strict as the v1 API: ``type`` sms, mms or whatsapp, ``src`` (or a
``powerpack_uuid``), ``dst`` with ``<`` between several destinations (the invalid ones are
reported in ``invalid_number``, all invalid is 400), ``text`` unless an MMS carries media, and
``src`` never one of the destinations. A message sent with a ``url`` gets V2-signed status
callbacks (queued, sent, delivered) from the carrier (``proxy.providers.carrier``).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from proxy.pipeline.converters import build_converter
from proxy.providers.carrier import Carrier
from proxy.providers.plivo.mock_answers import MockAccount, digits, new_uuid

_SEGMENTS = build_converter("sms_segments", None)
_NUMBER = re.compile(r"^\+?[1-9]\d{7,14}$")


class PlivoMessages:
    """``records``: message records by ``message_uuid`` (the mock's state, shared with its lists
    and resources); ``attach_media(uuids, urls)`` keeps an MMS's media (``mock_resources``)."""

    def __init__(
        self,
        account: MockAccount,
        *,
        carrier: Carrier,
        records: dict[str, dict[str, Any]],
        attach_media: Callable[[list[str], list[str]], None],
    ) -> None:
        self.auth_id, self.clock, self.fmt = account.auth_id, account.clock, account.fmt
        self.answers, self.carrier = account.answers, carrier
        self.records, self.attach_media = records, attach_media

    def add(
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
        """A message record (MDR), as ``GET /Message/{message_uuid}/`` answers it."""
        muuid = new_uuid(rng)
        record = {
            "message_uuid": muuid,
            "from_number": digits(src),
            "to_number": digits(dst),
            "message_direction": direction,
            "message_state": state,
            "message_type": mtype,
            "message_time": self.fmt(when, False),
            "message_sent_time": self.fmt(when + timedelta(milliseconds=947), True),
            "message_updated_time": self.fmt(when + timedelta(seconds=2, milliseconds=120), True),
            "units": _SEGMENTS(text) if text else 1,
            "total_amount": "0.00000" if state == "queued" else "0.00350",
            "total_rate": "0.00350",
            "error_code": error_code,
            "error_message": "" if error_code in (None, "000") else "Destination unreachable",
            "resource_uri": f"/v1/Account/{self.auth_id}/Message/{muuid}/",
            "destination_country_iso2": "US"
            if digits(dst).startswith("1")
            else ("IN" if digits(dst).startswith("91") else None),
            "requester_ip": "127.0.0.1",
            "powerpack_id": None,
        }
        self.records[muuid] = record
        return record

    def seed(
        self, rng: random.Random, now: datetime, count: int, ours: list[str], theirs: list[str]
    ) -> None:
        """``count`` messages of the last 20 hours and five older ones, some inbound, in every
        state."""
        states = ["delivered", "delivered", "sent", "queued", "undelivered", "failed"]
        texts = ["Your code is 4812", "See you at 6?", "Order #1042 shipped"]
        texts.append("Hello from Dialect ☎")
        ages = [timedelta(minutes=rng.randint(1, 20 * 60)) for _ in range(count)]
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
            self.add(
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

    async def send(self, request: web.Request) -> web.Response:
        """``POST /Message/``: one message per valid destination; 202 with their ids."""
        data = await self.answers.read_json(request)
        mtype = data.get("type", "sms")
        if mtype not in ("sms", "mms", "whatsapp"):
            raise self.answers.fail(400, "type must be one of sms, mms, whatsapp")
        src = data.get("src")
        if not src and not data.get("powerpack_uuid"):
            raise self.answers.fail(400, "src parameter is required")
        if not data.get("dst"):
            raise self.answers.fail(400, "dst parameter is required")
        media = data.get("media_urls")
        if media is not None and (
            not isinstance(media, list) or not all(isinstance(u, str) for u in media)
        ):
            raise self.answers.fail(400, "media_urls must be a list of URLs")
        text = data.get("text")
        if not text and not (mtype == "mms" and media):
            raise self.answers.fail(400, "text parameter is required")
        if src and not _NUMBER.match(str(src)):
            raise self.answers.fail(400, f"'{src}' is not a valid phone number.")
        dsts = [d for d in str(data["dst"]).split("<") if d]
        valid = [d for d in dsts if _NUMBER.match(d)]
        invalid = [d for d in dsts if not _NUMBER.match(d)]
        if not valid:
            raise self.answers.fail(
                400, f"'{invalid[0] if invalid else data['dst']}' is not a valid phone number."
            )
        if src and any(digits(d) == digits(str(src)) for d in valid):
            raise self.answers.fail(400, "src and dst cannot be the same")
        now = self.clock()
        uuids = [
            self.add(
                src=str(src or "14155550100"), dst=d, text=str(text or ""), when=now, mtype=mtype
            )["message_uuid"]
            for d in valid
        ]
        if mtype == "mms" and media:
            self.attach_media(uuids, [str(url) for url in media])
        out: dict[str, Any] = {"message": "message(s) queued", "message_uuid": uuids}
        if invalid:
            out["invalid_number"] = invalid
        url = data.get("url")
        if url:
            method = str(data.get("method") or "POST").upper()
            if method not in ("GET", "POST"):
                raise self.answers.fail(400, "method must be GET or POST")
            for muuid in uuids:
                record = self.records[muuid]
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
        return self.answers.respond(202, out)
