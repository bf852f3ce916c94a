"""The state of one request as it moves through the proxy.

Steps read and edit an :class:`Exchange`; nothing else is shared between them. The handler
fills it in order (route, request steps, upstream, response steps) and encodes it once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from multidict import CIMultiDict

if TYPE_CHECKING:
    from proxy.settings.models import Account


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
    def __init__(
        self,
        route_name: str,
        request_id: str,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        path_params: dict[str, str],
        fmt: str,
        params: Any,
        original: dict[str, Any],
        account: Account | None = None,
        upstream_method: str = "",
        upstream_path: str = "",
        upstream_alternatives: list[str] | None = None,
        plan: list[UpstreamCall] | None = None,
        replies: list[UpstreamReply] | None = None,
        status: int = 200,
        body: Any = None,
        headers: CIMultiDict[str] | None = None,
        upstream_ids: list[str] | None = None,
        notes: dict[str, Any] | None = None,
        started: datetime | None = None,
    ) -> None:
        self.route_name = route_name
        self.request_id = request_id
        self.method = method
        self.path = path
        self.query = query
        self.path_params = path_params
        self.fmt = fmt
        # The client's parameters (query string merged with the decoded body). Request steps
        # edit this; what is left becomes the upstream query (GET) or body (other methods).
        self.params = params
        # A frozen copy of what the client sent, for response steps that need it ($request.To).
        self.original = original
        self.account = account
        self.upstream_method = upstream_method
        self.upstream_path = upstream_path
        self.upstream_alternatives: list[str] = (
            upstream_alternatives if upstream_alternatives is not None else []
        )
        # Set by a request step that fans out (paging); otherwise the handler builds one call.
        self.plan = plan
        self.replies: list[UpstreamReply] = replies if replies is not None else []
        self.status = status
        self.body = body
        self.headers: CIMultiDict[str] = headers if headers is not None else CIMultiDict()
        self.upstream_ids: list[str] = upstream_ids if upstream_ids is not None else []
        self.notes: dict[str, Any] = notes if notes is not None else {}
        self.started: datetime = started if started is not None else datetime.now(UTC)
        self._context: dict[str, Any] | None = None

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
                "upstream": {"user": account.upstream.user if account else None},
                "route": {"name": self.route_name, "path": self.path, "method": self.method},
                "now": self.started,
                "status": self.status,
            }
        self._context["status"] = self.status
        return self._context
