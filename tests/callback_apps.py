"""Apps that receive callbacks, as a migrating application would run them.

Each app checks every request with its provider SDK's own validator (twilio's
``RequestValidator``, plivo's ``validate_v3_signature`` and ``validate_signature``) over the
URL it was called at, records what it got, and answers documents built with that SDK's own
builders. What the app accepts is the contract: a signature Dialect computes wrongly shows
up here as a rejected request.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

import plivo.utils
from aiohttp import web
from twilio.request_validator import RequestValidator

WAIT = 10.0
Answer = Callable[[dict[str, str]], tuple[int, bytes, str]]


@dataclass
class Received:
    path: str
    method: str
    params: dict[str, str]
    valid: bool
    headers: dict[str, str]


@dataclass
class App:
    """An app on loopback: ``answers`` maps a path to what it answers."""

    style: str
    token: str
    answers: dict[str, Answer] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    delay: float = 0.0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def wait_for(self, path: str, count: int = 1) -> list[Received]:
        """Until ``count`` requests reached ``path`` (bounded: fails after ``WAIT`` seconds)."""
        async with asyncio.timeout(WAIT):
            while len(self.at(path)) < count:
                self.changed.clear()
                await self.changed.wait()
        return self.at(path)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.post() if request.method == "POST" else {}
        params = {k: str(v) for k, v in body.items()}
        url = str(request.url)
        query = {k: v for k, v in request.query.items()}
        valid = self._valid(request, url, params, query)
        self.received.append(
            Received(
                request.path, request.method, {**query, **params}, valid, dict(request.headers)
            )
        )
        self.changed.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        if not valid:
            return web.Response(status=403, text="bad signature")
        answer = self.answers.get(request.path)
        if answer is None:
            return web.Response(status=204)
        status, payload, ctype = answer({**query, **params})
        return web.Response(status=status, body=payload, content_type=ctype)

    def _valid(
        self, request: web.Request, url: str, params: dict[str, str], query: dict[str, str]
    ) -> bool:
        if self.style == "twilio":
            signature = request.headers.get("X-Twilio-Signature", "")
            validator = RequestValidator(self.token)
            return bool(validator.validate(url, params, signature))
        nonce = request.headers.get("X-Plivo-Signature-V3-Nonce", "")
        v3 = request.headers.get("X-Plivo-Signature-V3", "")
        v3_ok = bool(
            plivo.utils.validate_v3_signature(
                request.method, url, nonce, self.token, v3, params if params else None
            )
        )
        v2_ok = bool(
            plivo.utils.validate_signature(
                url.split("?")[0],
                request.headers.get("X-Plivo-Signature-V2-Nonce", ""),
                request.headers.get("X-Plivo-Signature-V2", ""),
                self.token,
            )
        )
        # Both schemes must pass: an app may validate either one.
        return v3_ok and v2_ok

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app


def xml(document: object) -> Answer:
    """A fixed document from an SDK builder (``VoiceResponse``, ``plivo.xml.ResponseElement``)."""
    text = document.to_xml() if hasattr(document, "to_xml") else document.to_string()  # type: ignore[attr-defined]
    return lambda _params: (200, text.encode(), "application/xml")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
