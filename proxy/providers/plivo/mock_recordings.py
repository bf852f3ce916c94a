"""The Plivo-style mock's recordings: the records, their list and their audio.

``/Recording/`` (filters ``call_uuid``, ``conference_name``, ``from_number``, ``to_number``,
``add_time__gt`` …) and ``/Recording/{id}/`` (GET, DELETE). ``recording_url`` is public and
absolute, on the mock's own host (Plivo's are on its media host), and ends in the recording's
format; the audio behind it (``/media/Recording/{id}.mp3`` or ``.wav``) is a real, silent file.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from proxy.providers.mock_content import SILENT_MP3, silent_wav
from proxy.providers.plivo.mock_answers import PlivoAnswers, absolute, holds, new_uuid


class PlivoRecordings:
    def __init__(
        self,
        auth_id: str,
        *,
        clock: Callable[[], datetime],
        fmt: Callable[[datetime, bool], str],
        records: dict[str, dict[str, Any]],
        answers: PlivoAnswers,
    ) -> None:
        self.clock, self.fmt, self.records, self.answers = clock, fmt, records, answers
        self.base = f"/v1/Account/{auth_id}"

    def add(
        self,
        call: dict[str, Any],
        *,
        start: datetime,
        seconds: int,
        fmt: str = "mp3",
        rng: random.Random | None = None,
    ) -> dict[str, Any]:
        rid = new_uuid(rng)
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
        self.records[rid] = record
        return record

    def listing(self, request: web.Request, host: str) -> web.Response:
        q = request.query
        limit, offset = self.answers.window(q)
        records = list(self.records.values())
        for name in ("call_uuid", "conference_name"):
            if name in q:
                records = [r for r in records if r.get(name) == q[name]]
        for name in ("from_number", "to_number"):
            if name in q:
                records = [r for r in records if str(r[name]).lstrip("+") == q[name].lstrip("+")]
        for op in ("gt", "gte", "lt", "lte"):
            key = f"add_time__{op}"
            if key in q:
                bound = self.answers.filter_time(q[key])
                records = [
                    r for r in records if holds(datetime.fromisoformat(r["add_time"]), op, bound)
                ]
        records.sort(key=lambda r: (datetime.fromisoformat(r["add_time"]), r["recording_id"]))
        records.reverse()
        objects = [absolute(r, "recording_url", host) for r in records[offset : offset + limit]]
        return self.answers.page(request, objects, len(records), limit, offset)

    def one(self, request: web.Request, rid: str, host: str) -> web.Response:
        """A recording: GET answers it, DELETE removes it."""
        record = self.records.get(rid)
        if record is None:
            raise self.answers.fail(404, "not found")
        if request.method == "DELETE":
            del self.records[rid]
            return web.Response(status=204)
        return self.answers.respond(200, absolute(record, "recording_url", host))

    def audio(self, m: re.Match[str]) -> web.Response:
        """``/media/Recording/{id}.{format}``: public, and only in the recording's own format."""
        record = self.records.get(m["recording"])
        if record is None or record["recording_format"] != m["format"]:
            raise self.answers.fail(404, "not found")
        if m["format"] == "mp3":
            return web.Response(body=SILENT_MP3, content_type="audio/mpeg")
        return web.Response(body=silent_wav(), content_type="audio/x-wav")
