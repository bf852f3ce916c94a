"""Intake: from a request as received to an exchange the request steps have run on.

Route match → authenticate → decode the client's parameters once → the exchange (``accept``),
then the route's request steps (``run_request_steps``). Everything a client can get wrong about
its request is refused here, before any upstream is called: an unknown path or method, a format
the route does not offer, credentials, an unreadable query or body.

A body means something only where the method carries one: GET, HEAD and DELETE bodies are
ignored (plivo-node sends ``Content-Type: application/json`` and the body ``""`` on a fetch),
still bounded by the server's limits. Where there is a body, its declared type decides how it
is read, with the charset it names; without a declared type (or as bytes), JSON is recognised
by its first character and anything else is read as a form.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from proxy import codecs
from proxy.engine.auth import Gate
from proxy.engine.errors import ClientRequestError, MethodNotAllowed, NotFound, ProxyError
from proxy.engine.exchange import BODYLESS, Exchange, query_pairs
from proxy.http.messages import Request
from proxy.providers.plivo import rest as plivo
from proxy.settings.loader import Config

if TYPE_CHECKING:
    # Only for types: importing routing first would enter the routing <-> settings cycle
    # from the wrong end.
    from proxy.engine.routing import CompiledRoute

_FORM = "application/x-www-form-urlencoded"
# What a client that declares no type (or just bytes) most likely sent: sniffed, not refused.
_UNDECLARED = frozenset({"", "application/octet-stream"})
_XML = frozenset({"application/xml", "text/xml"})
_UTF8 = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})


class Intake:
    def __init__(self, config: Config) -> None:
        self.router = config.router
        limits = config.model.server.limits
        self.gate = Gate(
            config.model.active_accounts, limits.auth_failures, limits.auth_failure_window
        )

    def accept(self, ex: Exchange) -> CompiledRoute:
        """Fill ``ex`` from its request: its route, account, format and parameters. The
        request steps run apart (``run_request_steps``), so that the handler may resolve an
        id in the store between the two (``proxy.engine.aliases``): steps never wait."""
        request = ex.request
        assert request is not None
        raw_path, _, raw_query = request.target.partition("?")
        if not raw_path.startswith("/"):
            raise ClientRequestError("Only origin-form request targets are accepted.")
        method = request.method
        matched, allowed = self.router.match(method, raw_path)
        path = decoded_path(raw_path)
        if matched is None:
            if allowed:
                raise MethodNotAllowed(f"Method {method} is not allowed on {path}.")
            raise NotFound(f"The requested resource {path} was not found")
        route, params = matched.route, matched.params
        ex.route, ex.route_name, ex.style = route, route.name, route.client_style
        if route.client_style == "plivo":
            ex.api_id = plivo.new_api_id()
        ext = params.pop("ext", None)
        fmt = route.format_for(ext)
        if fmt is None:
            ex.fmt = route.settings.format.default
            raise NotFound(f"The requested resource {path} was not found")
        ex.fmt = fmt

        if route.settings.auth:
            account = self.gate.authenticate(
                request.headers.get("Authorization"), request.remote or "unknown"
            )
            if not _account_matches(params, account.account_sid, account.client.user):
                raise ProxyError("Authenticate", status=401, log_detail="path account mismatch")
            ex.account = account

        # The raw query, decoded once: decoding an already decoded one would turn a literal
        # "%2B" into "+".
        try:
            query = codecs.decode_form(raw_query) if raw_query else {}
        except codecs.DecodeError:
            raise ClientRequestError("The query string could not be read.") from None
        if route.settings.passthrough:
            client_params = dict(query)
            ex.forward_path = _forward_path(raw_path, path, ext)
            ex.raw_query = raw_query
        else:
            client_params = client_parameters(request, query)
        ex.method = method
        ex.path = path
        ex.query = query_pairs(query)
        ex.path_params = params
        ex.params = client_params
        ex.original = _snapshot(client_params)
        # HEAD goes upstream as HEAD where the answer is forwarded (a sidecar: the service
        # decides what HEAD costs); a façade asks the provider's API, which knows GET only.
        ex.upstream_method = (
            "GET" if method == "HEAD" and not route.settings.passthrough else method
        )
        ex.upstream_path = path
        return route

    def run_request_steps(self, ex: Exchange, route: CompiledRoute) -> None:
        """The route's request steps, on the parameters ``accept`` decoded."""
        route.run_request_steps(ex)


def client_parameters(request: Request, query: dict[str, Any]) -> dict[str, Any]:
    """The query merged with the body's parameters (the body wins), each decoded once."""
    params = dict(query)
    raw = request.body
    if not raw or request.method in BODYLESS or raw.isspace():
        return params
    ctype = request.content_type
    try:
        if ctype == "application/json" or ctype.endswith("+json"):
            body = codecs.decode_json(_utf8(raw, request.charset))
        elif ctype == _FORM:
            body = codecs.decode_form(raw, charset=request.charset or "utf-8")
        elif ctype in _UNDECLARED:
            if raw.lstrip()[:1] == b"{":
                body = codecs.decode_json(raw)
            else:
                body = codecs.decode_form(raw, charset=request.charset or "utf-8")
        elif ctype in _XML:
            body = codecs.decode_xml(raw)
        else:
            raise ClientRequestError(f"Content-Type {ctype} is not supported.", status=415)
    except codecs.DecodeError as exc:
        raise ClientRequestError(f"The request body could not be read: {exc}") from None
    if isinstance(body, dict):
        params.update(body)
        return params
    if body is None or body == "":
        # JSON null, or the empty JSON string axios makes of "no data" (plivo-node): no
        # parameters, like an empty body.
        return params
    raise ClientRequestError("The request body must be an object.")


def _utf8(raw: bytes, charset: str | None) -> bytes:
    """JSON in UTF-8, which is what JSON is on the wire; another declared charset is honoured."""
    if charset is None or charset.lower() in _UTF8:
        return raw
    try:
        return raw.decode(charset).encode("utf-8")
    except LookupError:
        raise codecs.DecodeError(f"charset {charset} is not supported") from None
    except UnicodeError:
        raise codecs.DecodeError(f"body is not valid text in charset {charset}") from None


def _account_matches(params: dict[str, str], sid: str, user: str) -> bool:
    # Twilio puts the account SID in the path; Plivo the auth id. Either must be the caller's.
    for name, expected in (("AccountSid", sid), ("account", sid), ("auth_id", user)):
        if name in params and params[name] != expected:
            return False
    return True


def _forward_path(raw_path: str, decoded: str, ext: str | None) -> str:
    """The raw path a forwarding route sends on: without the format extension, and never one
    that climbs out of the upstream's tree."""
    path = raw_path[: len(raw_path) - len(ext)] if ext else raw_path
    segments = unquote(path).split("/")
    if any(seg in (".", "..") for seg in segments) or "\\" in path:
        raise NotFound(f"The requested resource {decoded} was not found")
    return path


def decoded_path(raw: str) -> str:
    """The path as a person reads it (messages, logs, ``$route.path``): percent-decoded."""
    return unquote(raw) if "%" in raw else raw


def _snapshot(params: dict[str, Any]) -> dict[str, Any]:
    """A copy request steps cannot change: strings are shared, anything nested is copied."""
    return {k: v if isinstance(v, str) else copy.deepcopy(v) for k, v in params.items()}
