"""The state of one request as it moves through the proxy.

Steps read and edit an :class:`Exchange`; nothing else is shared between them. The handler
fills it in order (route, request steps, upstream, response steps) and encodes it once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from multidict import CIMultiDict

if TYPE_CHECKING:
    from proxy.settings.models import Account


@dataclass(slots=True)
class UpstreamCall:
    """One request the proxy will make upstream. A route usually plans one; paging plans several."""

    method: str
    path: str
    query: list[tuple[str, str]] = field(default_factory=list)
    body: Any = None
    # Private per-call notes for the steps that planned it (e.g. the paging window).
    note: dict[str, Any] = field(default_factory=dict)
    # Parameters for this call only (a fanned-out destination); None: the exchange's.
    params: dict[str, Any] | None = None
    # Paths tried in order while the upstream answers 404 (SM… then MM…).
    alternatives: list[str] = field(default_factory=list)


@dataclass(slots=True)
class UpstreamReply:
    """One decoded upstream answer."""

    status: int
    headers: Mapping[str, str]
    body: Any
    call: UpstreamCall


@dataclass(slots=True)
class Exchange:
    route_name: str
    request_id: str
    method: str
    path: str
    query: list[tuple[str, str]]
    path_params: dict[str, str]
    fmt: str
    # The client's parameters (query string merged with the decoded body). Request steps edit
    # this; what is left becomes the upstream query (GET) or body (other methods).
    params: Any
    # A frozen copy of what the client sent, for response steps that need it ($request.To).
    original: dict[str, Any]
    account: Account | None = None
    upstream_method: str = ""
    upstream_path: str = ""
    upstream_alternatives: list[str] = field(default_factory=list)
    # Set by a request step that fans out (paging); otherwise the handler builds one call.
    plan: list[UpstreamCall] | None = None
    replies: list[UpstreamReply] = field(default_factory=list)
    status: int = 200
    body: Any = None
    headers: CIMultiDict[str] = field(default_factory=CIMultiDict)
    upstream_ids: list[str] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    _context: dict[str, Any] | None = None

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
