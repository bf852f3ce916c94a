"""Encoding a body or a problem in the client's style and format: the one exit of every request."""

from __future__ import annotations

from typing import Any

from proxy import codecs
from proxy.engine.errors import Problem
from proxy.http.messages import Response
from proxy.providers.plivo import rest as plivo
from proxy.providers.twilio import rest as twilio


def success(
    body: Any, *, style: str, fmt: str, resource: str | None, status: int, api_id: str | None = None
) -> Response:
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
