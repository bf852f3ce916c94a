"""The one-pass request flow.

route → authenticate → decode the client's parameters once → request steps → upstream call(s)
→ decode each reply once → response steps (or, for an upstream error, the route's error rules)
→ encode once in the client's style and format. Failures anywhere are :class:`ProxyError`s that
the error middleware renders in the client's style; nothing else leaves this module.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import hashlib
import itertools
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import unquote

from multidict import CIMultiDict

from proxy import codecs
from proxy.engine import render
from proxy.engine.auth import Verified
from proxy.engine.errors import (
    AuthenticationFailed,
    ClientRequestError,
    MethodNotAllowed,
    NotFound,
    Problem,
    ProxyError,
    TooManyRequests,
    UpstreamError,
    UpstreamProblem,
    UpstreamUnreachable,
    UpstreamUnreadable,
)
from proxy.engine.exchange import Exchange, UpstreamCall, UpstreamReply
from proxy.engine.ratelimit import FailureLimiter
from proxy.engine.routing import CompiledRoute
from proxy.engine.store import PENDING, MemoryStore, Store
from proxy.engine.upstream import RawReply, Upstream, basic_auth
from proxy.http.headers import downstream_headers, upstream_headers
from proxy.http.messages import Request, Response
from proxy.ops.admin import ADMIN_PREFIX, Admin
from proxy.ops.logs import get_logger, log_request
from proxy.ops.metrics import Metrics
from proxy.pipeline.runner import run_steps
from proxy.providers.plivo import rest as plivo
from proxy.providers.twilio import rest as twilio
from proxy.settings.loader import Config

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_BODYLESS = frozenset({"GET", "HEAD", "DELETE"})
MAX_ROUNDS = 50
REPLAY_WAIT = 5.0  # seconds a retry waits for the first attempt's outcome


class RequestInfo:
    """What the error middleware needs to answer in the client's style, filled as it is known.

    A plain class, not a dataclass: compiled, a dataclass's generated __init__ stays
    interpreted Python, and one is made per request."""

    def __init__(self, request_id: str, style: str, fmt: str = "json") -> None:
        self.request_id = request_id
        self.style = style
        self.fmt = fmt
        self.path = ""
        self.route: str | None = None
        self.list_endpoint = False
        self.upstream_status: list[int] = []
        self.upstream_ids: list[str] = []
        # Plivo-style clients get a time-based api_id on every body, header and log line.
        self.api_id: str | None = None
        # An error already rendered into the answer (idempotent creates keep their outcome).
        self.error_detail: str | None = None


def _format_from_path(path: str) -> str | None:
    """The format an unmatched request most likely wants, from its extension."""
    tail = path.rsplit("/", 1)[-1]
    ext = tail.rsplit(".", 1)[-1].lower() if "." in tail else ""
    return ext if ext in codecs.FORMATS else None


class Flight(NamedTuple):
    """One request on its way through the upstream half of the pass."""

    request: Request
    route: CompiledRoute
    ex: Exchange
    info: RequestInfo
    passthrough: Passthrough | None
    # time.monotonic() by which every upstream call of this request must have answered.
    deadline: float = 0.0


@dataclass(frozen=True)
class Passthrough:
    """A request forwarded as it came (sidecar routes): only the answer is translated."""

    path: str
    query: str
    body: bytes
    content_type: str | None


# Request ids: a random per-process prefix and a counter, 32 hex digits like a UUID. Unique
# across processes and restarts without a random read (a system call) per request.
_ID_PREFIX = uuid.uuid4().hex[:20]
_ID_COUNTER = itertools.count()


def new_request_id(incoming: str | None) -> str:
    if incoming and _REQUEST_ID.match(incoming):
        return incoming
    return f"{_ID_PREFIX}{next(_ID_COUNTER) & 0xFFFFFFFFFFFF:012x}"


class ProxyHandler:
    def __init__(
        self, config: Config, upstreams: dict[str, Upstream], store: Store | None = None
    ) -> None:
        self.config = config
        self.store: Store = store if store is not None else MemoryStore()
        self.upstreams = upstreams
        self.accounts = config.model.active_accounts
        self.verified = Verified(self.accounts)
        self.log = get_logger()
        self.metrics = Metrics()
        limits = config.model.server.limits
        self.auth_limiter = FailureLimiter(limits.auth_failures, limits.auth_failure_window)
        self.admin = Admin(config, upstreams, self.metrics)

    # -- the outermost layer --------------------------------------------------------------

    async def serve(self, request: Request) -> Response:
        """Every request's answer, in the client's style whatever happens, and its log line."""
        started = time.perf_counter()
        # Style and format are guessed from the path only if an error comes before a route
        # matched (_render_problem); a matched route sets both.
        info = RequestInfo(new_request_id(request.headers.get("X-Request-Id")), "", "")
        info.path = request.target
        error: ProxyError | None = None
        try:
            if request.target.startswith(ADMIN_PREFIX):
                response = await self.admin.handle(request)
                response.headers["X-Request-Id"] = info.request_id
                return response
            response = await self.handle(request, info)
        except ProxyError as exc:
            error = exc
        except asyncio.CancelledError:
            raise
        except Exception as bug:  # log it, never show it
            self.log.exception("unhandled", request_id=info.request_id, error=type(bug).__name__)
            error = ProxyError()
        if error is not None:
            response = self._render_problem(error, info)
        headers = response.headers
        headers["X-Request-Id"] = info.request_id
        if info.api_id is not None:
            headers["X-Api-Id"] = info.api_id
        if isinstance(error, TooManyRequests):
            headers["Retry-After"] = str(error.retry_after)
        elapsed = time.perf_counter() - started
        self.metrics.observe(info.route, response.status, elapsed, error)
        log_request(
            {
                "request_id": info.request_id,
                "route": info.route,
                "method": request.method,
                "path": _decoded_path(request.path),
                "status": response.status,
                "upstream_status": info.upstream_status or None,
                "upstream_ids": info.upstream_ids or None,
                "api_id": info.api_id,
                "latency_ms": round(elapsed * 1000, 2),
                "error": (error.log_detail or error.message) if error else info.error_detail,
                "event": "request",
            }
        )
        return response

    def reject(self, target: str | None, error: ProxyError) -> Response:
        """What the server answers itself (malformed HTTP, limits), in the client's style."""
        info = RequestInfo(new_request_id(None), "", "")
        info.path = target or ""
        response = self._render_problem(error, info)
        response.headers["X-Request-Id"] = info.request_id
        if info.api_id is not None:
            response.headers["X-Api-Id"] = info.api_id
        self.metrics.observe(None, response.status, 0.0, error)
        self.log.info(
            "refused",
            request_id=info.request_id,
            path=_decoded_path(info.path.partition("?")[0]) if target else None,
            status=response.status,
            error=error.log_detail or error.message,
        )
        return response

    # -- the pass -------------------------------------------------------------------------

    async def handle(self, request: Request, info: RequestInfo) -> Response:
        target = request.target
        raw_path, _, raw_query = target.partition("?")
        if not raw_path.startswith("/"):
            raise ClientRequestError("Only origin-form request targets are accepted.")
        method = request.method
        matched, allowed = self.config.router.match(method, raw_path)
        path = _decoded_path(raw_path)
        if matched is None:
            if allowed:
                raise MethodNotAllowed(f"Method {method} is not allowed on {path}.")
            raise NotFound(f"The requested resource {path} was not found")
        route, params = matched.route, matched.params
        info.route, info.style = route.name, route.client_style
        if route.client_style == "plivo":
            info.api_id = plivo.new_api_id()
        info.list_endpoint = route.settings.is_list
        ext = params.pop("ext", None)
        fmt = route.format_for(ext)
        if fmt is None:
            info.fmt = route.settings.format.default
            raise NotFound(f"The requested resource {path} was not found")
        info.fmt = fmt

        account = None
        if route.settings.auth:
            address = request.remote or "unknown"
            self.auth_limiter.check(address)
            try:
                account = self.verified.authenticate(request.headers.get("Authorization"))
            except AuthenticationFailed:
                self.auth_limiter.record_failure(address)
                raise
            if not self._account_matches(route, params, account.account_sid, account.client.user):
                raise ProxyError("Authenticate", status=401, log_detail="path account mismatch")

        # The raw query, decoded once: decoding an already decoded one would turn a literal
        # "%2B" into "+".
        try:
            query = codecs.decode_form(raw_query) if raw_query else {}
        except codecs.DecodeError:
            raise ClientRequestError("The query string could not be read.") from None
        if route.settings.passthrough:
            client_params = dict(query)
            passthrough = self._passthrough(request, raw_path, raw_query, path, ext)
        else:
            client_params = self._client_params(request, query)
            passthrough = None
        ex = Exchange(
            route_name=route.name,
            request_id=info.request_id,
            method=method,
            path=path,
            query=_pairs(query),
            path_params=params,
            fmt=fmt,
            params=client_params,
            original=_snapshot(client_params),
            account=account,
            upstream_method="GET" if method == "HEAD" else method,
            upstream_path=path,
        )
        ex.params = run_steps(route.request_steps, ex, ex.params, phase="request")
        flight = Flight(request, route, ex, info, passthrough)
        if route.settings.idempotency is not None:
            return await self._idempotent(flight)
        return await self._complete(flight)

    async def _complete(self, flight: Flight) -> Response:
        """From the upstream call to the encoded answer: the part a retry must not repeat."""
        _, route, ex, info, _, _ = flight
        replies = await self._call_upstream_guarded(flight)
        ex.replies = replies
        first = replies[0]
        failures = [r for r in replies if not 200 <= r.status < 300]
        # Steps that gather fanned-out calls accept some 4xx answers (invalid destinations).
        tolerant = route.accepts_failures and all(400 <= r.status < 500 for r in failures)
        if failures and (not tolerant or len(failures) == len(replies)):
            raise UpstreamProblem(self._upstream_problem(route, failures[0]))
        ex.status, ex.body = first.status, first.body
        ex.headers = downstream_headers(first.headers)
        if info.upstream_ids and route.settings.styles.upstream == "plivo":
            ex.headers["X-Upstream-Api-Id"] = ", ".join(dict.fromkeys(info.upstream_ids))
        ex.body = run_steps(route.response_steps, ex, ex.body, phase="response")
        response = render.success(
            ex.body,
            style=route.client_style,
            fmt=ex.fmt,
            resource=route.resource_name(),
            status=ex.status,
            api_id=info.api_id,
        )
        for key, value in ex.headers.items():
            if key.lower() not in ("content-type", "content-length"):
                response.headers.add(key, value)
        return response

    # -- idempotent creates --------------------------------------------------------------

    async def _idempotent(self, flight: Flight) -> Response:
        """The first outcome of a create, replayed to its retries within the window.

        Only outcomes after the upstream was (maybe) reached are kept: a refused connection
        or a request the proxy itself rejected changed nothing, so a retry runs again.
        """
        request, route, ex, info, _, _ = flight
        idem = route.settings.idempotency
        assert idem is not None
        explicit = request.headers.get(idem.header)
        window = idem.window if explicit else idem.body_window
        if window <= 0:
            return await self._complete(flight)
        key = _idempotency_key(route.name, ex, explicit)
        if not await self.store.claim(key, window):
            return await self._replay(key)
        try:
            response = await self._complete(flight)
        except UpstreamUnreachable:
            await self.store.release(key)
            raise
        except ProxyError as exc:
            response = self._render_problem(exc, info)
            info.error_detail = exc.log_detail or exc.message
        await self.store.put(key, _freeze(response), window)
        return response

    async def _replay(self, key: str) -> Response:
        deadline = time.monotonic() + REPLAY_WAIT
        while True:
            stored = await self.store.get(key)
            if stored is not None and stored != PENDING:
                return _thaw(stored)
            if stored is None or time.monotonic() > deadline:
                raise ProxyError(
                    "A request with the same content is still being processed; retry later.",
                    status=409,
                )
            await asyncio.sleep(0.05)

    def _render_problem(self, error: ProxyError, info: RequestInfo) -> Response:
        if not info.style or not info.fmt:
            style, guess = self.config.router.style_for(info.path)
            info.style = info.style or style
            info.fmt = (
                info.fmt
                or _format_from_path(info.path.split("?", 1)[0])
                or (guess.settings.format.default if guess else "json")
            )
        if info.style == "plivo" and info.api_id is None:
            info.api_id = plivo.new_api_id()
        return render.problem(
            error.problem(),
            style=info.style,
            fmt=info.fmt,
            api_id=info.api_id,
            list_endpoint=info.list_endpoint,
        )

    # -- pieces ---------------------------------------------------------------------------

    @staticmethod
    def _account_matches(route: CompiledRoute, params: dict[str, str], sid: str, user: str) -> bool:
        # Twilio puts the account SID in the path; Plivo the auth id. Either must be the caller's.
        for name, expected in (("AccountSid", sid), ("account", sid), ("auth_id", user)):
            if name in params and params[name] != expected:
                return False
        return True

    @staticmethod
    def _passthrough(
        request: Request, raw_path: str, raw_query: str, decoded: str, ext: str | None
    ) -> Passthrough:
        path = raw_path[: len(raw_path) - len(ext)] if ext else raw_path
        segments = unquote(path).split("/")
        if any(seg in (".", "..") for seg in segments) or "\\" in path:
            raise NotFound(f"The requested resource {decoded} was not found")
        return Passthrough(path, raw_query, request.body, request.headers.get("Content-Type"))

    @staticmethod
    def _client_params(request: Request, query: dict[str, Any]) -> dict[str, Any]:
        params = dict(query)
        raw = request.body
        if not raw:
            return params
        ctype = request.content_type
        try:
            if ctype == "application/json":
                body = codecs.decode_json(raw)
            elif ctype in ("application/x-www-form-urlencoded", "", "application/octet-stream"):
                body = codecs.decode_form(raw, charset=request.charset or "utf-8")
            elif ctype in ("application/xml", "text/xml"):
                body = codecs.decode_xml(raw)
            else:
                raise ClientRequestError(f"Content-Type {ctype} is not supported.", status=415)
        except codecs.DecodeError as exc:
            raise ClientRequestError(f"The request body could not be read: {exc}") from None
        if isinstance(body, dict):
            params.update(body)
            return params
        raise ClientRequestError("The request body must be an object.")

    @staticmethod
    def _plan(ex: Exchange) -> list[UpstreamCall]:
        base = ex.plan or [
            UpstreamCall(
                method=ex.upstream_method,
                path=ex.upstream_path,
                alternatives=list(ex.upstream_alternatives),
            )
        ]
        for call in base:
            call.method = call.method or ex.upstream_method
            call.path = call.path or ex.upstream_path
        return base

    async def _call_upstream_guarded(self, flight: Flight) -> list[UpstreamReply]:
        """The upstream calls, with the route's answer for an outcome the upstream left open."""
        route = flight.route
        uncertain = route.settings.uncertain_outcome
        # The upstream's total timeout bounds the whole exchange, follow-up rounds included:
        # each call gets what is left of it (a deadline, not a timer task per request).
        total = self.config.model.upstreams[route.settings.upstream].timeout.total
        # A new tuple, not _replace(): that one is interpreted Python on every request.
        request, _, ex, info, passthrough, _ = flight
        flight = Flight(request, route, ex, info, passthrough, time.monotonic() + total)
        try:
            replies = await self._call_upstream(flight)
        except UpstreamUnreachable:
            raise
        except UpstreamError as exc:
            if uncertain is None:
                raise
            raise ProxyError(
                uncertain.message, status=uncertain.status, log_detail=exc.log_detail or exc.message
            ) from None
        if uncertain is not None and any(r.status >= 500 for r in replies):
            raise ProxyError(
                uncertain.message,
                status=uncertain.status,
                log_detail=f"upstream answered {[r.status for r in replies]}",
            )
        return replies

    async def _call_upstream(self, flight: Flight) -> list[UpstreamReply]:
        request, route, ex, info, passthrough, _ = flight
        upstream = self.upstreams[route.settings.upstream]
        style = route.settings.styles.upstream
        headers = upstream_headers(
            request.headers,
            client_ip=request.remote,
            scheme=request.scheme,
            request_id=info.request_id,
        )
        if ex.account is not None:
            creds = ex.account.upstream
            headers["Authorization"] = basic_auth(creds.user, creds.secret.get_secret_value())
        elif passthrough is not None and "Authorization" in request.headers:
            # A sidecar that does not check credentials itself leaves them to the service.
            headers["Authorization"] = request.headers["Authorization"]
        if passthrough is not None:
            call = UpstreamCall(method=ex.upstream_method, path=passthrough.path)
            if passthrough.content_type:
                headers["Content-Type"] = passthrough.content_type
            raw = await upstream.send(
                call.method,
                call.path,
                query=[],
                raw_query=passthrough.query,
                headers=headers,
                body=passthrough.body or None,
                deadline=flight.deadline,
            )
            return [self._reply(call, raw, style, info)]
        calls = self._plan(ex)
        replies = await self._send_all(upstream, style, calls, flight, headers)
        # Steps that page by cursor ask for further rounds; each round is bounded and sequential.
        followers = route.followers
        for _ in range(MAX_ROUNDS):
            ex.replies = replies
            more = [call for step in followers for call in step.follow(ex)]
            if not more:
                break
            replies = replies + await self._send_all(upstream, style, more, flight, headers)
        return replies

    async def _send_all(
        self,
        upstream: Upstream,
        style: str,
        calls: list[UpstreamCall],
        flight: Flight,
        headers: CIMultiDict[str],
    ) -> list[UpstreamReply]:
        if len(calls) == 1:  # the common case, without a task per call
            return [await self._send_one(upstream, style, calls[0], flight, headers)]
        return list(
            await asyncio.gather(
                *(self._send_one(upstream, style, call, flight, headers) for call in calls)
            )
        )

    async def _send_one(
        self,
        upstream: Upstream,
        style: str,
        call: UpstreamCall,
        flight: Flight,
        headers: CIMultiDict[str],
    ) -> UpstreamReply:
        ex, info = flight.ex, flight.info
        method = call.method.upper()
        params = call.params if call.params is not None else ex.params
        params = params if isinstance(params, dict) else {}
        call_headers = headers
        body: bytes | None = None
        if method in _BODYLESS:
            call.query = _flatten(params) + call.query
        else:
            call_headers = headers.copy()
            if style == "plivo":
                body = codecs.encode_json(params)
                call_headers["Content-Type"] = "application/json"
            else:
                body = codecs.encode_form(params)
                call_headers["Content-Type"] = "application/x-www-form-urlencoded"
        call.body = params
        paths = [call.path, *call.alternatives]
        for n, path in enumerate(paths):
            raw = await upstream.send_with_retries(
                method,
                path,
                query=call.query,
                headers=call_headers,
                body=body,
                deadline=flight.deadline,
            )
            # A 404 with alternatives left (an SM… SID that may be an MM…) tries the next one.
            if raw.status != 404 or n == len(paths) - 1:
                call.path = path
                return self._reply(call, raw, style, info)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _reply(call: UpstreamCall, raw: RawReply, style: str, info: RequestInfo) -> UpstreamReply:
        info.upstream_status.append(raw.status)
        body = _decode_reply(raw)
        if style == "plivo":
            api_id = plivo.api_id_of(body)
            if api_id:
                info.upstream_ids.append(api_id)
        return UpstreamReply(raw.status, raw.headers, body, call)

    def _upstream_problem(self, route: CompiledRoute, reply: UpstreamReply) -> Problem:
        style = route.settings.styles.upstream
        if style == "plivo":
            text = plivo.error_text(reply.body)
        else:
            text = reply.body.get("message") if isinstance(reply.body, dict) else None
            text = str(text) if text is not None else None
        problem = route.error_rules.problem(reply.status, text)
        if route.client_style == "twilio" and problem.code is None:
            return dataclasses.replace(problem, code=twilio.generic_code(problem.status))
        return problem


def _idempotency_key(route: str, ex: Exchange, explicit: str | None) -> str:
    """Same caller, same route, and the same key header (or, without one, the same body)."""
    who = ex.account.client.user if ex.account is not None else ""
    what = (
        "key:" + explicit if explicit else "body:" + codecs.encode_json_sorted(ex.original).decode()
    )
    return hashlib.sha256(f"{route}\0{who}\0{what}".encode()).hexdigest()


_REPLAYED_HEADERS = ("Content-Type", "X-Upstream-Api-Id", "Retry-After")


def _freeze(response: Response) -> bytes:
    """A JSON line (status, replayed headers), then the body's bytes as they are: no hex, which
    doubled what the store holds per outcome. orjson writes no raw newline, so the first one
    ends the head."""
    headers = [(k, response.headers[k]) for k in _REPLAYED_HEADERS if k in response.headers]
    return (
        codecs.encode_json({"status": response.status, "headers": headers}) + b"\n" + response.body
    )


def _thaw(stored: bytes) -> Response:
    head, _, body = stored.partition(b"\n")
    data = codecs.decode_json(head)
    if "body" in data:  # an outcome stored by an earlier version (hex body, one JSON object)
        body = bytes.fromhex(data["body"])
    response = Response(data["status"], body)
    for key, value in data["headers"]:
        response.headers[key] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _decode_reply(raw: RawReply) -> Any:
    body = raw.body
    # Without strip(): it copies the body (a list page is tens of kilobytes) to look at it.
    if not body or body.isspace():
        return None
    ctype = raw.headers.get("Content-Type", "").split(";")[0].strip().lower()
    first = body[:1] if not body[:1].isspace() else body.lstrip()[:1]
    looks_json = first in (b"{", b"[")
    if ctype.endswith("json") or looks_json:
        try:
            return codecs.decode_json(body)
        except codecs.DecodeError:
            if 200 <= raw.status < 300:
                raise UpstreamUnreadable(log_detail="upstream body is not valid JSON") from None
            return None
    if 200 <= raw.status < 300:
        raise UpstreamUnreadable(log_detail=f"upstream answered {ctype or 'no content type'}")
    return None


def _decoded_path(raw: str) -> str:
    """The path as a person reads it (messages, logs, ``$route.path``): percent-decoded."""
    return unquote(raw) if "%" in raw else raw


def _snapshot(params: dict[str, Any]) -> dict[str, Any]:
    """A copy request steps cannot change: strings are shared, anything nested is copied."""
    return {k: v if isinstance(v, str) else copy.deepcopy(v) for k, v in params.items()}


def _pairs(params: dict[str, Any]) -> list[tuple[str, str]]:
    return _flatten(params)


def _flatten(params: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for key, value in params.items():
        values = value if isinstance(value, list) else [value]
        for v in values:
            if v is None:
                continue
            if isinstance(v, bool):
                v = "true" if v else "false"
            out.append((key, str(v)))
    return out
