"""The state of one request as it moves through the proxy: the one object that carries it.

Steps read and edit an :class:`Exchange`; nothing else is shared between them. The engine fills
it in order (intake: route, account, the client's parameters; the upstream calls; the response
steps) and encodes it once. The same object carries what the outermost layer needs to answer a
failure in the client's style at any point (``style``, ``fmt``, ``api_id``) and what the log line
reports (``upstream_status``, ``upstream_api_ids``), so one request is one object from socket to
socket.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from multidict import CIMultiDict

if TYPE_CHECKING:
    from proxy.engine.routing import CompiledRoute
    from proxy.http.messages import Request
    from proxy.pipeline.trace import StepTrace
    from proxy.settings.models import Account


# Methods whose parameters travel in the query: a body on them means nothing to these APIs.
BODYLESS = frozenset({"GET", "HEAD", "DELETE"})


def query_pairs(params: dict[str, Any]) -> list[tuple[str, str]]:
    """Parameters as query pairs: a list repeats its key, None is left out, booleans are
    ``true``/``false``."""
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


# Plain classes, not dataclasses: compiled (see setup.py), a dataclass's generated __init__
# stays interpreted Python, and these are made on every request.


class UpstreamCall:
    """One request the proxy will make upstream. A route usually plans one; paging plans several."""

    def __init__(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        note: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        alternatives: list[str] | None = None,
        replaces: UpstreamReply | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.query: list[tuple[str, str]] = query if query is not None else []
        self.body = body
        # Private per-call notes for the steps that planned it (e.g. the paging window).
        self.note: dict[str, Any] = note if note is not None else {}
        # Parameters for this call only (a fanned-out destination); None: the exchange's.
        self.params = params
        # Paths tried in order while the upstream answers 404 (SM… then MM…).
        self.alternatives: list[str] = alternatives if alternatives is not None else []
        # An earlier reply this call answers in place of (a second call made because the first
        # failed, ``then`` with ``on_status``): that reply no longer answers the request.
        self.replaces = replaces

    def __repr__(self) -> str:
        return f"UpstreamCall({self.method} {self.path} query={self.query!r})"


class UpstreamReply:
    """One decoded upstream answer."""

    def __init__(self, status: int, headers: Mapping[str, str], body: Any, call: UpstreamCall):
        self.status = status
        self.headers = headers
        self.body = body
        self.call = call

    def __repr__(self) -> str:
        return f"UpstreamReply({self.status}, {self.call!r})"


class Exchange:
    """One request. Steps, tests and ``dialect translate`` build one with keywords; the engine
    builds it empty at the socket (only ``request_id`` and ``request``) and fills it as it goes.
    """

    def __init__(
        self,
        route_name: str = "",
        request_id: str = "",
        method: str = "",
        path: str = "",
        query: list[tuple[str, str]] | None = None,
        path_params: dict[str, str] | None = None,
        fmt: str = "json",
        params: Any = None,
        original: dict[str, Any] | None = None,
        account: Account | None = None,
        upstream_method: str = "",
        upstream_path: str = "",
        upstream_alternatives: list[str] | None = None,
        plan: list[UpstreamCall] | None = None,
        replies: list[UpstreamReply] | None = None,
        status: int = 200,
        body: Any = None,
        headers: CIMultiDict[str] | None = None,
        notes: dict[str, Any] | None = None,
        started: datetime | None = None,
        request: Request | None = None,
        route: CompiledRoute | None = None,
        style: str = "",
        api_id: str | None = None,
    ) -> None:
        self.route_name = route_name
        self.request_id = request_id
        self.method = method
        # The path as a person reads it (percent-decoded): messages, logs, ``$route.path``.
        self.path = path
        self.query: list[tuple[str, str]] = query if query is not None else []
        self.path_params: dict[str, str] = path_params if path_params is not None else {}
        # The client's format (json, xml, csv); "" until a route (or a guess) decides it.
        self.fmt = fmt
        # The client's parameters (query string merged with the decoded body). Request steps
        # edit this; what is left becomes the upstream query (GET) or body (other methods).
        self.params: Any = params if params is not None else {}
        # A frozen copy of what the client sent, for response steps that need it ($request.To).
        self.original: dict[str, Any] = original if original is not None else {}
        self.account = account
        self.upstream_method = upstream_method
        self.upstream_path = upstream_path
        self.upstream_alternatives: list[str] = (
            upstream_alternatives if upstream_alternatives is not None else []
        )
        # Set by a request step that fans out (paging); otherwise the engine plans one call.
        self.plan = plan
        self.replies: list[UpstreamReply] = replies if replies is not None else []
        self.status = status
        self.body = body
        self.headers: CIMultiDict[str] = headers if headers is not None else CIMultiDict()
        self.notes: dict[str, Any] = notes if notes is not None else {}
        self.started: datetime = started if started is not None else datetime.now(UTC)
        self._context: dict[str, Any] | None = None
        # What the engine alone reads. The request as received (None offline and in tests).
        self.request = request
        # The matched route; None before routing, and when nothing matched.
        self.route = route
        # The client's style (twilio, plivo); "" until a route (or a guess) decides it.
        self.style = style
        # Plivo-style clients get a time-based api_id on every body, header and log line.
        self.api_id = api_id
        # A route that forwards the request as it came (a sidecar): the raw path and query to
        # send; only the answer is translated.
        self.forward_path: str | None = None
        self.raw_query = ""
        # time.monotonic() by which every upstream call of this request must have answered.
        self.deadline = 0.0
        # For the log line: each upstream status, and the api_ids of a Plivo-style upstream.
        self.upstream_status: list[int] = []
        self.upstream_api_ids: list[str] = []
        # An error already rendered into the answer (idempotent creates keep their outcome).
        self.error_detail: str | None = None
        # Set only while the exchange is traced (the inspector, ``dialect translate --trace``):
        # the steps then run one by one and each one's changes are kept (proxy.pipeline.trace).
        self.tracer: StepTrace | None = None

    def __repr__(self) -> str:
        return f"Exchange({self.route_name} {self.method} {self.path})"

    def context(self) -> dict[str, Any]:
        """The values ``$name`` references resolve against (built once per request, on demand)."""
        if self._context is None:
            account = self.account
            self._context = {
                "request": self.original,
                "path": self.path_params,
                "query": dict(self.query),
                "account": {"sid": account.account_sid if account else None},
                "upstream": {
                    "user": account.upstream.user if account else None,
                    "timezone": account.upstream.timezone if account else None,
                },
                "route": {"name": self.route_name, "path": self.path, "method": self.method},
                "now": self.started,
                "status": self.status,
            }
        self._context["status"] = self.status
        return self._context
