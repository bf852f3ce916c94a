"""Encoding a body or a problem in the client's style and format: the one exit of every request.

The live path and ``dialect translate`` both end here, so what a rule change looks like offline
is byte for byte what a client receives.
"""

from __future__ import annotations

from typing import Any

from proxy import codecs
from proxy.engine.errors import Problem, ProxyError
from proxy.engine.exchange import Exchange
from proxy.http.messages import Response
from proxy.providers.plivo import rest as plivo
from proxy.providers.twilio import rest as twilio


def success(
    body: Any, *, style: str, fmt: str, resource: str | None, status: int, api_id: str | None = None
) -> Response:
    if status == 204:
        # "No Content": a Plivo hang-up, a Twilio delete. Nothing to encode, no type to name.
        return Response(204)
    if style == "plivo":
        if isinstance(body, dict) and api_id is not None:
            body = {"api_id": api_id, **{k: v for k, v in body.items() if k != "api_id"}}
        fmt = "json"
    data = codecs.encode(body, fmt, resource=resource)
    return Response(status, data, content_type=codecs.MEDIA_TYPES[fmt])


def problem(
    p: Problem, *, style: str, fmt: str, api_id: str | None = None, list_endpoint: bool = False
) -> Response:
    if style == "plivo":
        body = plivo.error_body(p, api_id=api_id or plivo.new_api_id(), list_endpoint=list_endpoint)
        return Response(p.status, codecs.encode_json(body), content_type="application/json")
    data = codecs.encode(twilio.error_body(p), fmt, error=True)
    return Response(p.status, data, content_type=codecs.MEDIA_TYPES[fmt])


def failure(error: ProxyError, ex: Exchange) -> Response:
    """``error`` as the exchange's client expects it; ``ex.style`` and ``ex.fmt`` are known (a
    route matched, or the outermost layer guessed them from the path)."""
    if ex.style == "plivo" and ex.api_id is None:
        # The body's api_id and the X-Api-Id header must be the same one.
        ex.api_id = plivo.new_api_id()
    route = ex.route
    response = problem(
        error.problem(),
        style=ex.style,
        fmt=ex.fmt,
        api_id=ex.api_id,
        list_endpoint=route.settings.is_list if route is not None else False,
    )
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response
