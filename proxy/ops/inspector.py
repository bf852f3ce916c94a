"""The inspector: ``/_dialect/inspector``, a live page of the exchanges this process served.

A local development gateway people keep open: each exchange as it happens (route, method,
path, status, latency, upstream calls), opened into the client's request, every upstream
request and answer, the answer the client got, and the trace of the route's steps, field by
field (``proxy.pipeline.trace``); callbacks too (the carrier's request, what the app got and
answered, what the carrier got back). "Copy as curl" for each request, and replay.

On with ``server.inspector`` or in ``dialect demo``; off by default, and then absent (the
generation never dispatches here and no exchange is watched). Who may open it:

- loopback clients only, unless ``allow_remote: true``: a request from another address, or
  one that came through a proxy (``Forwarded``/``X-Forwarded-For``: a reverse proxy on this
  host would otherwise make every visitor look local) is refused;
- by a loopback host name only (``Host``), against DNS rebinding: a hostile page whose name
  resolves to 127.0.0.1 is not served the history;
- replay, the one thing that is not read-only, needs ``X-Dialect-Inspector: replay``: a
  header a cross-site form cannot send without a preflight this server never grants.

Why long polling, not server-sent events: ``proxy.http.server`` writes every answer whole
(no streaming, by design: it is the request path), so the page asks
``GET events?after=N`` and the answer waits (up to ``POLL_SECONDS``) until an exchange after N
is stored. A waiting poll is not counted in flight (a reload does not wait for it), and
shutdown answers it at once (``close``).

The page is static files shipped in the package (``inspector_static/``: HTML, CSS and plain
JavaScript, no CDN, no build step), served with a content security policy allowing nothing
from elsewhere.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from urllib.parse import parse_qs

from multidict import CIMultiDict, CIMultiDictProxy

from proxy.http.messages import Request, Response
from proxy.ops.inspector_history import History
from proxy.ops.inspector_record import Capture, render
from proxy.ops.logs import get_logger
from proxy.ops.tracecontext import TraceContext, Watchers
from proxy.settings.models import InspectorSettings

INSPECTOR_PREFIX = "/_dialect/inspector"
REPLAY_HEADER = "X-Dialect-Inspector"
POLL_SECONDS = 20.0
# Summaries one poll returns at most (the page asks again for more).
PAGE = 200
_STATIC = {
    "inspector.css": "text/css; charset=utf-8",
    "inspector.js": "text/javascript; charset=utf-8",
}
_SECURITY = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})

Serve = Callable[[Request], Awaitable[Response]]


class Inspector:
    """The history and the page. ``serve`` is how a replay is served: the live generation's
    own entry point, so a replay is an exchange like any other (and is recorded)."""

    def __init__(self, settings: InspectorSettings, serve: Serve) -> None:
        self.settings = settings
        self.serve = serve
        self.history = History(settings.max_exchanges, settings.max_bytes)
        self._numbers = itertools.count(1)
        self._replaying: tuple[Request, int] | None = None  # a replay, and what it replays
        self._replayed: dict[int, int] = {}  # id() of a replay's request -> its number
        self._log = get_logger()
        folder = resources.files("proxy.ops").joinpath("inspector_static")
        self._page = folder.joinpath("index.html").read_bytes()
        self._static = {name: folder.joinpath(name).read_bytes() for name in _STATIC}

    def configure(self, settings: InspectorSettings) -> None:
        """A reload's settings: the history stays, its bounds follow the new config."""
        self.settings = settings
        self.history.max_count, self.history.max_bytes = (
            settings.max_exchanges,
            settings.max_bytes,
        )

    def close(self) -> None:
        self.history.close()

    # -- watching exchanges ------------------------------------------------------------------

    def watch(self, request: Request, trace: TraceContext, kind: str) -> None:
        """Record this request: ``kind`` is ``request`` (for a route) or ``callback``."""
        replay_of = None
        if self._replaying is not None and self._replaying[0] is request:
            replay_of, self._replaying = self._replaying[1], None
        capture = Capture(request, kind, self._finished, replay_of)
        trace.steps = capture.steps
        observer = trace.observer
        trace.observer = capture if observer is None else Watchers(observer, capture)

    def _finished(self, capture: Capture, trace: TraceContext, response: Response) -> None:
        ident = next(self._numbers)
        elapsed = time.perf_counter() - capture.started
        if capture.replay_of is not None:
            self._replayed[id(capture.request)] = ident
        # After the answer is written: the redaction and JSON are not the client's wait.
        asyncio.get_running_loop().call_soon(self._store, capture, ident, trace, response, elapsed)

    def _store(
        self,
        capture: Capture,
        ident: int,
        trace: TraceContext,
        response: Response,
        elapsed: float,
    ) -> None:
        try:
            # A quarter of the history's bytes at most: one large page never empties it.
            budget = self.settings.max_bytes // 4
            summary, detail = render(capture, ident, trace, response, elapsed, budget)
        except Exception as bug:  # a bug here must not reach the serving loop
            self._log.warning("inspector could not record an exchange", error=repr(bug))
            return
        self.history.add(ident, summary, detail, capture.request)

    # -- the page and its API ----------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        refusal = self._refusal(request)
        if refusal is not None:
            return _text(403, refusal)
        path, _, query = request.target.partition("?")
        rest = path[len(INSPECTOR_PREFIX) :].strip("/")
        method = request.method
        if rest.endswith("/replay") and rest.startswith("exchanges/"):
            if method != "POST":
                return _json(405, b'{"error":"replay is a POST"}', allow="POST")
            return await self._replay(request, rest[len("exchanges/") : -len("/replay")])
        if method not in ("GET", "HEAD"):
            return _json(405, b'{"error":"the inspector is read-only"}', allow="GET, HEAD")
        if rest == "":
            return _answer(200, self._page, "text/html; charset=utf-8")
        if rest.startswith("static/") and rest[len("static/") :] in self._static:
            name = rest[len("static/") :]
            return _answer(200, self._static[name], _STATIC[name])
        if rest == "events":
            return await self._events(query)
        if rest.startswith("exchanges/"):
            ident = _number(rest[len("exchanges/") :])
            detail = self.history.detail(ident) if ident is not None else None
            if detail is None:
                return _json(404, b'{"error":"no such exchange (the history keeps the newest)"}')
            return _json(200, detail)
        return _json(404, b'{"error":"not found"}')

    async def _events(self, query: str) -> Response:
        params = parse_qs(query)
        after = _number(params.get("after", ["0"])[0]) or 0
        if params.get("wait", ["1"])[0] != "0":
            await self.history.wait(after, POLL_SECONDS)
        items = self.history.since(after, PAGE)
        head = (
            f'{{"last":{self.history.last},"kept":{len(self.history)},'
            f'"closed":{"true" if self.history.closed else "false"},"items":['
        )
        return _json(200, head.encode() + b",".join(items) + b"]}")

    async def _replay(self, request: Request, text: str) -> Response:
        if request.headers.get(REPLAY_HEADER, "").lower() != "replay":
            return _json(403, f'{{"error":"replay needs the {REPLAY_HEADER} header"}}'.encode())
        ident = _number(text)
        original = self.history.request(ident) if ident is not None else None
        if ident is None or original is None:
            return _json(404, b'{"error":"no such exchange (the history keeps the newest)"}')
        headers = CIMultiDict(original.headers)
        headers.popall("X-Request-Id", None)
        again = Request(
            original.method,
            original.target,
            CIMultiDictProxy(headers),
            original.body,
            original.remote,
            original.scheme,
        )
        self._replaying = (again, ident)
        try:
            response = await self.serve(again)
        finally:
            if self._replaying is not None and self._replaying[0] is again:
                self._replaying = None
            replay = self._replayed.pop(id(again), None)
        body = f'{{"replayed":{ident},"id":{replay or "null"},"status":{response.status}}}'
        return _json(200, body.encode())

    def _refusal(self, request: Request) -> str | None:
        """Why this client may not use the inspector, or None."""
        if self.settings.allow_remote:
            return None
        headers = request.headers
        if "Forwarded" in headers or "X-Forwarded-For" in headers:
            return "The inspector answers direct loopback clients only (server.inspector)."
        if not _loopback_address(request.remote):
            return "The inspector answers loopback clients only (server.inspector.allow_remote)."
        if not _loopback_host(headers.get("Host", "")):
            return "The inspector answers loopback host names only (localhost, 127.0.0.1, [::1])."
        return None


def _loopback_address(remote: str | None) -> bool:
    if not remote:
        return False
    try:
        address = ipaddress.ip_address(remote.partition("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def _loopback_host(host: str) -> bool:
    """The Host header names this machine's loopback (a name, an address, either with a
    port)."""
    host = host.strip().lower()
    if host.startswith("["):
        name = host[1:].partition("]")[0]
    else:
        name = host.rpartition(":")[0] if host.count(":") == 1 else host
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    return _loopback_address(name)


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) <= 18 else None


def _answer(status: int, body: bytes, content_type: str, **extra: str) -> Response:
    response = Response(status, body, content_type=content_type, headers=_SECURITY)
    for name, value in extra.items():
        response.headers[name.capitalize()] = value
    return response


def _json(status: int, body: bytes, **extra: str) -> Response:
    return _answer(status, body, "application/json", **extra)


def _text(status: int, text: str) -> Response:
    return _answer(status, text.encode(), "text/plain; charset=utf-8")
