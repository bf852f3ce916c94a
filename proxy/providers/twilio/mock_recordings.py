"""The Twilio-style mock's recordings: the records, their two lists and their audio.

``/Recordings.json`` and ``/Recordings/{RE}.json`` (GET, DELETE), ``/Calls/{CA}/Recordings.json``
and ``/Calls/{CA}/Recordings/{RE}.json`` (a recording of another call is 20404; the call's own
sub-list has its own shape: no ``media_url``, a ``track``, a number for ``price``). The audio
(``/Recordings/{RE}``, ``.mp3``, ``.wav``) is public, as on Twilio unless an account turns on
HTTP authentication for recordings; ``media_url`` is absolute, on the mock's own host.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from proxy.providers.mock_content import SILENT_MP3, silent_wav
from proxy.providers.twilio import rest as twilio
from proxy.providers.twilio.mock_http import json_response, new_sid, not_found
from proxy.providers.twilio.mock_paging import in_window, page


class TwilioRecordings:
    def __init__(
        self,
        account_sid: str,
        records: dict[str, dict[str, Any]],
        calls: dict[str, dict[str, Any]],
    ) -> None:
        self.sid, self.records, self.calls = account_sid, records, calls
        self.base = f"/2010-04-01/Accounts/{account_sid}"

    def add(
        self,
        call: dict[str, Any],
        *,
        start: datetime,
        seconds: int,
        source: str = "RecordVerb",
        rng: random.Random | None = None,
    ) -> dict[str, Any]:
        sid = new_sid("RE", rng)
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
        self.records[sid] = record
        return record

    def one(self, request: web.Request, m: re.Match[str], call: str | None) -> web.Response:
        """A recording (of ``call`` when the path names one): GET answers it, DELETE removes it."""
        record = self.records.get(m["sid"])
        if record is None or (call is not None and record["call_sid"] != call):
            raise not_found(request.path)
        if request.method == "DELETE":
            del self.records[m["sid"]]
            return web.Response(status=204)
        return json_response(self._view(request, record, call is not None))

    def audio(self, request: web.Request, m: re.Match[str]) -> web.Response:
        if m["sid"] not in self.records:
            raise not_found(request.path)
        if m["ext"] == ".mp3":
            return web.Response(body=SILENT_MP3, content_type="audio/mpeg")
        return web.Response(body=silent_wav(), content_type="audio/x-wav")

    def _view(self, request: web.Request, record: dict[str, Any], of_call: bool) -> dict[str, Any]:
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

    def listing(self, request: web.Request, call: str | None) -> web.Response:
        q = request.query
        if call is not None and call not in self.calls:
            raise not_found(request.path)
        records = list(self.records.values())
        if call is not None:
            records = [r for r in records if r["call_sid"] == call]
        if "CallSid" in q:
            records = [r for r in records if r["call_sid"] == q["CallSid"]]
        if "ConferenceSid" in q:
            records = [r for r in records if r["conference_sid"] == q["ConferenceSid"]]
        records = [r for r in records if in_window(r["date_created"], q, "DateCreated")]
        records.sort(key=lambda r: (twilio.parse_datetime(r["date_created"]), r["sid"]))
        records.reverse()
        views = [self._view(request, r, call is not None) for r in records]
        return page(request, views, "recordings")
