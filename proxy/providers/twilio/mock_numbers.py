"""The Twilio-style mock's phone numbers: the account's own, buying one, searching the inventory.

``/IncomingPhoneNumbers.json`` (GET; POST buys: ``PhoneNumber`` from the inventory, or the first
number in ``AreaCode``), ``/IncomingPhoneNumbers/{PN}.json`` (GET, POST updates, DELETE releases
it) and ``/AvailablePhoneNumbers/{Country}/{Type}.json`` (one page: Twilio does not page a
search; ``Contains`` with a keypad's letters, ``*`` and ``%``, as Twilio reads it).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from proxy.providers.twilio import rest as twilio
from proxy.providers.twilio.mock_http import E164, Failure, json_response, new_sid, not_found
from proxy.providers.twilio.mock_inventory import friendly
from proxy.providers.twilio.mock_paging import list_filters, page, page_uri

_APP_SID = re.compile(r"^AP[0-9a-fA-F]{32}$")


class TwilioNumbers:
    def __init__(
        self,
        account_sid: str,
        clock: Callable[[], datetime],
        records: dict[str, dict[str, Any]],
        inventory: dict[tuple[str, str], list[dict[str, Any]]],
    ) -> None:
        self.sid, self.clock, self.records, self.inventory = account_sid, clock, records, inventory
        self.base = f"/2010-04-01/Accounts/{account_sid}"

    def add(
        self,
        number: str,
        when: datetime,
        *,
        friendly_name: str | None = None,
        capabilities: dict[str, bool] | None = None,
        number_type: str = "local",
        rng: random.Random | None = None,
    ) -> dict[str, Any]:
        sid = new_sid("PN", rng)
        record = {
            "account_sid": self.sid,
            "address_sid": None,
            "address_requirements": "none",
            "api_version": "2010-04-01",
            "beta": False,
            "capabilities": capabilities or {"voice": True, "sms": True, "mms": True, "fax": False},
            "date_created": twilio.rfc2822(when),
            "date_updated": twilio.rfc2822(when),
            "friendly_name": friendly_name or friendly(number),
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
        self.records[sid] = record
        return record

    def collection(self, request: web.Request, form: dict[str, Any]) -> web.Response:
        """``/IncomingPhoneNumbers.json``: GET lists the account's numbers, POST buys one."""
        if request.method == "POST":
            return json_response(self._buy(form), 201)
        return self._listing(request)

    def one(self, request: web.Request, m: re.Match[str], form: dict[str, Any]) -> web.Response:
        """A number of the account: GET answers it, POST updates it, DELETE releases it."""
        record = self.records.get(m["sid"])
        if record is None:
            raise not_found(request.path)
        if request.method == "DELETE":
            self._release(record)
            return web.Response(status=204)
        if request.method == "POST":
            self._update(record, form)
        return json_response(record)

    def _listing(self, request: web.Request) -> web.Response:
        q = request.query
        records = list(self.records.values())
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
        if number and not E164.match(str(number)):
            raise Failure(400, 21421, f"PhoneNumber {number} is invalid.")
        found: tuple[str, dict[str, Any]] | None = None
        for (_, kind), entries in self.inventory.items():
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
        for entries in self.inventory.values():
            if entry in entries:
                entries.remove(entry)
        record = self.add(
            entry["phone_number"],
            self.clock(),
            friendly_name=form.get("FriendlyName"),
            capabilities=dict(entry["capabilities"]),
            number_type={"TollFree": "tollfree", "Mobile": "mobile"}.get(kind, "local"),
        )
        self._update(record, form)
        return record

    def _update(self, record: dict[str, Any], form: dict[str, Any]) -> None:
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
        del self.records[record["sid"]]

    def available(self, request: web.Request, country: str, kind: str) -> web.Response:
        entries = self.inventory.get((country, kind))
        if entries is None:
            raise not_found(request.path)
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
            "first_page_uri": page_uri(request.path, list_filters(q), page_size, 0, None),
            "next_page_uri": None,
            "page": 0,
            "page_size": page_size,
            "previous_page_uri": None,
            "start": 0,
            "uri": page_uri(request.path, list_filters(q), page_size, 0, None),
        }
        return json_response(body)


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
