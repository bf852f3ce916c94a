"""``dialect translate``: run one route's pipeline offline, on a body from a file or stdin.

A user changing a rule wants to see its effect without a server, an upstream or credentials.
The request steps always run first (they plan paging and fill the context the response steps
read); then, for the response phase, the given body stands for the upstream's answer: a 2xx
body goes through the response steps, an error body through the route's error rules. The
result is encoded exactly as a client would receive it, because the completion and the
rendering are the live path's own (``completion.finish``, ``render.failure``), run here on an
exchange built without a request.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from multidict import CIMultiDict

from proxy import codecs
from proxy.engine import render
from proxy.engine.aliases import resolve_as_is
from proxy.engine.completion import finish
from proxy.engine.errors import ProxyError
from proxy.engine.exchange import Exchange, UpstreamReply
from proxy.engine.routing import CompiledRoute
from proxy.engine.upstream_calls import plan
from proxy.http.messages import Response
from proxy.pipeline.listing import listing
from proxy.pipeline.trace import StepTrace
from proxy.settings.loader import PLACEHOLDER_SID, Config


class TranslateError(Exception):
    """A usage problem (unknown route, unreadable input); printed without a traceback."""


@dataclass
class Translation:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


def _route(config: Config, name: str) -> CompiledRoute:
    for route in config.router.routes:
        if route.name == name:
            return route
    known = ", ".join(r.name for r in config.router.routes)
    raise TranslateError(f"no route named {name!r} (routes: {known})")


def _client_path(
    route: CompiledRoute, fmt: str, fields: Mapping[str, str], path: str | None, account: str
) -> str:
    if path:
        return path
    out = route.template.template
    defaults = {"AccountSid": account, "account": account, "ext": f".{fmt}"}
    for name in route.template.names:
        value = fields.get(name, defaults.get(name, f"{name}-value"))
        out = out.replace(f"{{{name}*}}", value).replace(f"{{{name}}}", value)
    return out


def translate(
    config: Config,
    route_name: str,
    body: Any,
    *,
    phase: str = "response",
    fmt: str | None = None,
    status: int = 200,
    request_params: Mapping[str, Any] | None = None,
    path: str | None = None,
    path_fields: Mapping[str, str] | None = None,
    now: datetime | None = None,
    trace: StepTrace | None = None,
) -> Translation:
    """``trace``: kept up to date with what each step changed (``--trace``)."""
    route = _route(config, route_name)
    fmt = fmt or route.settings.format.default
    if route.client_style == "plivo":
        fmt = "json"
    accounts = config.model.active_accounts
    sid = accounts[0].account_sid if accounts else PLACEHOLDER_SID
    client_path = _client_path(route, fmt, path_fields or {}, path, sid)
    params = route.template.match(client_path)
    if params is None:
        raise TranslateError(f"{client_path!r} does not match {route.template.template!r}")
    params.pop("ext", None)
    query = list((request_params or {}).items()) if route.settings.match.method == "GET" else []
    given = dict(request_params or {})
    if phase == "request":
        given = dict(body) if isinstance(body, dict) else given
    ex = Exchange(
        route_name=route.name,
        request_id="translate",
        method=route.settings.match.method if route.settings.match.method != "*" else "GET",
        path=client_path,
        query=[(k, str(v)) for k, v in query],
        path_params=params,
        fmt=fmt,
        params=copy.deepcopy(given),
        original=copy.deepcopy(given),
        account=accounts[0] if accounts else None,
        upstream_method=route.settings.match.method,
        upstream_path=client_path,
        route=route,
        style=route.client_style,
        # A fixed api_id keeps a Plivo-style answer repeatable.
        api_id="translate",
    )
    if now is not None:
        ex.started = now
    ex.tracer = trace
    resolve_as_is(route.settings.resolve, ex.path_params, ex.params)  # offline: no store
    try:
        route.run_request_steps(ex)
        calls = plan(ex)
        if phase == "request":
            out = [
                {"method": c.method, "path": c.path, "query": c.query, "params": ex.params}
                for c in calls
            ]
            return Translation(
                200, codecs.encode_json(out if len(out) > 1 else out[0]), "application/json"
            )
        ex.replies = [UpstreamReply(status, CIMultiDict(), body, calls[0])]
        response = finish(ex)
    except ProxyError as exc:
        response = render.failure(exc, ex)
    return _translation(response)


def _translation(response: Response) -> Translation:
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
    return Translation(
        response.status, response.body, response.headers.get("Content-Type", ""), headers
    )


def generated_code(config: Config, route_name: str) -> str:
    """The code the route's steps run, as ``--show-code`` prints it (``proxy.pipeline``)."""
    route = _route(config, route_name)
    return listing(
        [
            ("request", route.request_steps, route.request),
            ("response", route.response_steps, route.response),
        ]
    )
