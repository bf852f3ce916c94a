"""The Plivo-style mock's numbers: the account's rented numbers, the number search, buying.

``/Number/`` (filters ``type``, ``number_startswith``, ``alias``, ``services``),
``/Number/{number}/`` (GET; POST ``alias``/``app_id`` answers 202 ``{"message": "changed"}``;
DELETE unrents it), ``/PhoneNumber/?country_iso=…`` (``type``, ``pattern`` after the country
code, ``region``, ``services``) and ``POST /PhoneNumber/{number}/`` (buys it: 201 with the
``numbers`` bought and ``"status": "fulfilled"``; a number not in the inventory is refused).
Numbers are written without ``+``, as Plivo writes them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from proxy.providers.plivo.mock_answers import PlivoAnswers
from proxy.providers.plivo.mock_inventory import number_inventory

_DIGITS = re.compile(r"^[1-9]\d{7,14}$")
_TYPES = ("local", "fixed", "mobile", "tollfree", "national", "any")
_CALLING_CODES = {"US": "1", "CA": "1", "GB": "44"}
# The application a number answers with until one is set.
DEFAULT_APP = "29986316244302815"


class PlivoNumbers:
    def __init__(
        self,
        auth_id: str,
        *,
        clock: Callable[[], datetime],
        records: dict[str, dict[str, Any]],
        inventory: dict[str, dict[str, Any]],
        answers: PlivoAnswers,
    ) -> None:
        self.clock, self.records, self.inventory, self.answers = clock, records, inventory, answers
        self.base = f"/v1/Account/{auth_id}"

    def add(
        self, number: str, added: datetime, *, alias: str | None = None, app_id: str | None = None
    ) -> dict[str, Any]:
        entry = self.inventory.pop(number, None) or number_inventory().get(number) or {}
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
        self.records[number] = record
        return record

    def listing(self, request: web.Request) -> web.Response:
        q = request.query
        limit, offset = self.answers.window(q)
        records = list(self.records.values())
        if "type" in q:
            records = [r for r in records if r["number_type"] == q["type"]]
        if "number_startswith" in q:
            records = [r for r in records if r["number"].startswith(q["number_startswith"])]
        if "alias" in q:
            records = [r for r in records if r["alias"] == q["alias"]]
        if "services" in q:
            records = [
                r for r in records if all(r[f"{s}_enabled"] for s in self.answers.services(q))
            ]
        records.sort(key=lambda r: (r["added_on"], r["number"]), reverse=True)
        window = [dict(r) for r in records[offset : offset + limit]]
        return self.answers.page(request, window, len(records), limit, offset)

    async def one(self, request: web.Request, number: str) -> web.Response:
        """A rented number: GET answers it, POST updates it (202), DELETE unrents it."""
        record = self.records.get(number)
        if record is None:
            raise self.answers.fail(404, "not found")
        if request.method == "DELETE":
            del self.records[number]
            return web.Response(status=204)
        if request.method == "POST":
            await self._update(request, record)
            return self.answers.respond(202, {"message": "changed"})
        return self.answers.respond(200, dict(record))

    async def _update(self, request: web.Request, record: dict[str, Any]) -> None:
        data = await self.answers.read_json(request)
        app_id = data.get("app_id")
        if app_id is not None and not re.fullmatch(r"\d{1,32}", str(app_id)):
            raise self.answers.fail(400, "app_id is not a valid application id")
        alias = data.get("alias")
        if alias is not None and not isinstance(alias, str):
            raise self.answers.fail(400, "alias must be a string")
        if alias is not None:
            record["alias"] = alias
        if app_id is not None:
            record["application"] = f"{self.base}/Application/{app_id}/"

    def search(self, request: web.Request) -> web.Response:
        q = request.query
        country = q.get("country_iso")
        if not country:
            raise self.answers.fail(400, "country_iso parameter is missing")
        kind = q.get("type", "any")
        if kind not in _TYPES:
            raise self.answers.fail(400, f"type must be one of {', '.join(_TYPES)}")
        limit, offset = self.answers.window(q)
        code = _CALLING_CODES.get(country.upper())
        found = (
            []
            if code is None
            else [
                e
                for e in self.inventory.values()
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
                raise self.answers.fail(400, "pattern must be digits")
            found = [e for e in found if e["number"].startswith(f"{code}{q['pattern']}")]
        if "region" in q:
            wanted = q["region"].lower()
            found = [e for e in found if wanted in f"{e['city'] or ''} {e['region']}".lower()]
        if "services" in q:
            found = [e for e in found if all(e[f"{s}_enabled"] for s in self.answers.services(q))]
        found.sort(key=lambda e: e["number"])
        window = [
            dict(e, resource_uri=f"{self.base}/PhoneNumber/{e['number']}/")
            for e in found[offset : offset + limit]
        ]
        return self.answers.page(request, window, len(found), limit, offset)

    async def buy(self, request: web.Request, number: str) -> web.Response:
        data = await self.answers.read_json(request) if await request.read() else {}
        if not _DIGITS.match(number):
            raise self.answers.fail(400, f"'{number}' is not a valid phone number.")
        if number in self.records:
            raise self.answers.fail(400, f"Number {number} is already rented by this account")
        if number not in self.inventory:
            raise self.answers.fail(400, f"Number {number} is not available for purchase")
        app_id = data.get("app_id")
        if app_id is not None and not re.fullmatch(r"\d{1,32}", str(app_id)):
            raise self.answers.fail(400, "app_id is not a valid application id")
        self.add(number, self.clock(), app_id=str(app_id) if app_id is not None else None)
        body = {
            "message": "created",
            "numbers": [{"number": number, "status": "Success"}],
            "status": "fulfilled",
        }
        return self.answers.respond(201, body)
