"""What every resource of the Twilio-style mock shares: JSON bodies, Twilio's 4-field errors,
the 404 for an unknown path or SID, Basic auth whose account must match the path, the E.164
check behind Twilio's number validation codes, and new SIDs.

One definition for the messages and calls (``mock``) and the other resources
(``mock_resources``), so that all of them refuse a request in the same words and codes.
"""

from __future__ import annotations

import base64
import random
import re
import uuid
from typing import Any

import orjson
from aiohttp import web

from proxy.providers.twilio import rest as twilio

E164 = re.compile(r"^\+[1-9]\d{7,14}$")


class Failure(Exception):
    """A Twilio error answer: HTTP status, Twilio code, message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: int, message: str) -> web.Response:
    body = {"code": code, "message": message, "more_info": twilio.more_info_url(code)}
    return json_response({**body, "status": status}, status)


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")


def not_found(path: str) -> Failure:
    return Failure(404, 20404, f"The requested resource {path} was not found")


def authenticate(request: web.Request, account_sid: str, auth_token: str, account: str) -> None:
    """Refuses (401, 20003) a request without the account's Basic credentials, or one whose
    path names another account (``account``)."""
    header = request.headers.get("Authorization", "")
    expected = "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
    if header != expected or account != account_sid:
        raise Failure(401, 20003, "Authenticate")


def new_sid(prefix: str, rng: random.Random | None) -> str:
    """A SID: ``prefix`` and 32 hex digits, from ``rng`` when seeding (the same demo data each
    time), random otherwise."""
    value = rng.getrandbits(128) if rng else uuid.uuid4().int
    return f"{prefix}{value:032x}"
