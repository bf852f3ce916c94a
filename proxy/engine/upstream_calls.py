"""The upstream half of a request: plan the calls, send them, decode each reply once.

A route usually makes one call; request steps may plan several (fan-out, paging), and response
steps that page by cursor ask for further rounds, each bounded and sequential. Every call of a
request shares the upstream's total timeout as one deadline. An upstream error answer becomes a
:class:`Problem` through the route's error rules (``upstream_problem``); a transport failure
after the request may have reached the upstream becomes the route's ``uncertain_outcome``
answer, because a client retrying a create must know the first one may have gone through. An
upstream whose circuit is open (``proxy.engine.breaker``) is not called at all: the client gets
the route's answer to an upstream 503 at once, with ``Retry-After``.

``proxy.engine.upstream`` is the network seam (connection pools, retries of reads); this module
is what a request asks of it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import time
from typing import TYPE_CHECKING, Any

from multidict import CIMultiDict

from proxy import codecs
from proxy.engine.errors import (
    Problem,
    ProxyError,
    UpstreamError,
    UpstreamUnavailable,
    UpstreamUnreachable,
    UpstreamUnreadable,
)
from proxy.engine.exchange import BODYLESS, Exchange, UpstreamCall, UpstreamReply, query_pairs
from proxy.engine.upstream import RawReply, Upstream, basic_auth
from proxy.http.headers import upstream_headers
from proxy.http.messages import Request
from proxy.providers.plivo import rest as plivo
from proxy.providers.twilio import rest as twilio
from proxy.settings.loader import Config

if TYPE_CHECKING:
    # Only for types: importing routing first would enter the routing <-> settings cycle
    # from the wrong end.
    from proxy.engine.routing import CompiledRoute

MAX_ROUNDS = 50


class UpstreamCalls:
    def __init__(self, config: Config, upstreams: dict[str, Upstream]) -> None:
        self.config = config
        # Shared with the generation, which fills it as it starts each upstream.
        self.upstreams = upstreams

    async def make(self, ex: Exchange) -> list[UpstreamReply]:
        """Every call of the request, with the route's answer for an outcome the upstream left
        open (a failure after the request may have been acted on, or a 5xx)."""
        route = ex.route
        request = ex.request
        assert route is not None and request is not None
        uncertain = route.settings.uncertain_outcome
        # The upstream's total timeout bounds the whole exchange, follow-up rounds included:
        # each call gets what is left of it (a deadline, not a timer task per request).
        total = self.config.model.upstreams[route.settings.upstream].timeout.total
        ex.deadline = time.monotonic() + total
        try:
            replies = await self._calls(ex, route, request)
        except UpstreamUnavailable as unavailable:
            raise unavailable.answer(mapped_problem(route, 503, unavailable.message)) from None
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

    async def _calls(
        self, ex: Exchange, route: CompiledRoute, request: Request
    ) -> list[UpstreamReply]:
        upstream = self.upstreams[route.settings.upstream]
        style = route.settings.styles.upstream
        headers = upstream_headers(
            request.headers,
            client_ip=request.remote,
            scheme=request.scheme,
            request_id=ex.request_id,
        )
        if ex.account is not None:
            creds = ex.account.upstream
            headers["Authorization"] = basic_auth(creds.user, creds.secret.get_secret_value())
        elif ex.forward_path is not None and "Authorization" in request.headers:
            # A sidecar that does not check credentials itself leaves them to the service.
            headers["Authorization"] = request.headers["Authorization"]
        if ex.forward_path is not None:
            return [await self._forward(upstream, style, ex, ex.forward_path, request, headers)]
        calls = plan(ex)
        replies = await self._send_all(upstream, style, calls, ex, headers)
        # Steps that page by cursor ask for further rounds; each round is bounded and sequential.
        followers = route.followers
        for _ in range(MAX_ROUNDS):
            ex.replies = replies
            more = [call for step in followers for call in step.follow(ex)]
            if not more:
                break
            replies = replies + await self._send_all(upstream, style, more, ex, headers)
        return replies

    async def _forward(
        self,
        upstream: Upstream,
        style: str,
        ex: Exchange,
        path: str,
        request: Request,
        headers: CIMultiDict[str],
    ) -> UpstreamReply:
        """The request as it came (a sidecar route): its raw path, query and body."""
        call = UpstreamCall(method=ex.upstream_method, path=path)
        content_type = request.headers.get("Content-Type")
        if content_type:
            headers["Content-Type"] = content_type
        raw = await upstream.send(
            call.method,
            call.path,
            query=[],
            raw_query=ex.raw_query,
            headers=headers,
            body=request.body or None,
            deadline=ex.deadline,
        )
        return _reply(call, raw, style, ex)

    async def _send_all(
        self,
        upstream: Upstream,
        style: str,
        calls: list[UpstreamCall],
        ex: Exchange,
        headers: CIMultiDict[str],
    ) -> list[UpstreamReply]:
        if len(calls) == 1:  # the common case, without a task per call
            return [await self._send_one(upstream, style, calls[0], ex, headers)]
        return list(
            await asyncio.gather(
                *(self._send_one(upstream, style, call, ex, headers) for call in calls)
            )
        )

    async def _send_one(
        self,
        upstream: Upstream,
        style: str,
        call: UpstreamCall,
        ex: Exchange,
        headers: CIMultiDict[str],
    ) -> UpstreamReply:
        method = call.method.upper()
        params = call.params if call.params is not None else ex.params
        params = params if isinstance(params, dict) else {}
        call_headers = headers
        body: bytes | None = None
        if method in BODYLESS:
            call.query = query_pairs(params) + call.query
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
                deadline=ex.deadline,
            )
            # A 404 with alternatives left (an SM… SID that may be an MM…) tries the next one.
            if raw.status != 404 or n == len(paths) - 1:
                call.path = path
                return _reply(call, raw, style, ex)
        raise AssertionError("unreachable")  # pragma: no cover


def plan(ex: Exchange) -> list[UpstreamCall]:
    """The calls the request steps planned, or the one call to the upstream path; each call
    without its own method or path takes the exchange's."""
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


def _reply(call: UpstreamCall, raw: RawReply, style: str, ex: Exchange) -> UpstreamReply:
    ex.upstream_status.append(raw.status)
    body = decode_reply(raw)
    if style == "plivo":
        api_id = plivo.api_id_of(body)
        if api_id:
            ex.upstream_api_ids.append(api_id)
    return UpstreamReply(raw.status, raw.headers, body, call)


def decode_reply(raw: RawReply) -> Any:
    """The reply's body, decoded once. An error answer that is not JSON (an HTML page from a
    load balancer) decodes to None and keeps its status; a 2xx that cannot be read is 502."""
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


def upstream_problem(route: CompiledRoute, reply: UpstreamReply) -> Problem:
    """An upstream error answer as the client's problem, through the route's error rules."""
    style = route.settings.styles.upstream
    if style == "plivo":
        text = plivo.error_text(reply.body)
    else:
        found = reply.body.get("message") if isinstance(reply.body, dict) else None
        text = str(found) if found is not None else None
    return mapped_problem(route, reply.status, text)


def mapped_problem(route: CompiledRoute, status: int, text: str | None) -> Problem:
    """An upstream status (and its text) as the route's error rules answer it. A Plivo-style
    client gets 500 for 502/503/504, whose text its SDK would drop (``plivo.client_status``)."""
    problem = route.error_rules.problem(status, text)
    if route.client_style == "twilio" and problem.code is None:
        return dataclasses.replace(problem, code=twilio.generic_code(problem.status))
    if route.client_style == "plivo" and plivo.client_status(problem.status) != problem.status:
        return dataclasses.replace(problem, status=plivo.client_status(problem.status))
    return problem


def retry_after(reply: UpstreamReply) -> str | None:
    """The upstream's ``Retry-After``, when it is one (delay-seconds or an HTTP-date)."""
    value = reply.headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit() and len(value) <= 10:
        return value
    try:
        email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return value if value.isprintable() and len(value) <= 64 else None
