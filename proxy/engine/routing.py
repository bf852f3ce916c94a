"""Route matching: method plus a path template, and the route's compiled parts.

Templates look like ``/2010-04-01/Accounts/{AccountSid}/Messages/{Sid}{ext}``. ``{ext}`` is the
optional format extension (``.json``); other fields match one path segment, except ``{name*}``,
which matches the rest of the path (a catch-all sidecar route is ``/{path*}{ext}``). Matching
runs on the raw (still percent-encoded) path, so an encoded ``%2F`` can never split a segment,
and each field is decoded only after the match.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import unquote

from proxy.engine.errors import Problem
from proxy.engine.exchange import Exchange
from proxy.pipeline.fused import Fusion
from proxy.pipeline.runner import run_steps
from proxy.pipeline.step import AcceptsFailures, FollowsUpstream, Step
from proxy.settings.models import ErrorRule, RouteSettings, Style

_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(\*?)\}")


class PathTemplate:
    def __init__(self, template: str) -> None:
        self.template = template
        pattern, pos, names = "", 0, []
        for m in _FIELD.finditer(template):
            pattern += re.escape(template[pos : m.start()])
            name = m.group(1)
            if name in names:
                raise ValueError(f"field {{{name}}} appears twice")
            names.append(name)
            if name == "ext":
                if m.end() != len(template):
                    raise ValueError("{ext} must end the template")
                pattern += r"(?P<ext>\.[A-Za-z0-9]+)?"
            elif m.group(2):
                pattern += rf"(?P<{name}>.*?)"  # {name*}: the rest of the path, slashes included
            else:
                pattern += rf"(?P<{name}>[^/]+?)"
            pos = m.end()
        if "{" in template[pos:] or "}" in template[pos:]:
            raise ValueError("unbalanced braces in path template")
        pattern += re.escape(template[pos:])
        self.names = tuple(names)
        self.regex = re.compile(pattern + r"\Z")
        # The literal text before the first field: used to guess a client's style on a 404.
        first = _FIELD.search(template)
        self.prefix = template[: first.start()] if first else template

    def match(self, raw_path: str) -> dict[str, str] | None:
        m = self.regex.match(raw_path)
        if m is None:
            return None
        return {k: unquote(v) if v is not None else "" for k, v in m.groupdict().items()}


class ErrorRules:
    """Chooses the client's error code (and text) for an upstream error."""

    def __init__(self, rules: Sequence[ErrorRule]) -> None:
        self.rules = [(r, re.compile(r.match) if r.match else None) for r in rules]

    def problem(self, status: int, text: str | None) -> Problem:
        """Unmatched errors keep ``code=None``: the client's dialect picks its generic code."""
        client_status = status if 400 <= status <= 599 else 502
        message = text or f"The upstream service answered with status {status}."
        for rule, regex in self.rules:
            if rule.status is not None:
                wanted = rule.status if isinstance(rule.status, list) else [rule.status]
                if status not in wanted:
                    continue
            if regex is not None and (text is None or not regex.search(text)):
                continue
            if rule.message:
                message = rule.message.replace("{upstream_message}", text or "")
            return Problem(
                status=rule.http_status or client_status, message=message, code=rule.code
            )
        return Problem(status=client_status, message=message)


@dataclass(frozen=True)
class CompiledRoute:
    settings: RouteSettings
    template: PathTemplate
    request_steps: tuple[Step, ...]
    response_steps: tuple[Step, ...]
    error_rules: ErrorRules
    # Each phase's steps as one function (``fuse_phase``): fused where they form a record
    # pipeline, else ``run_steps`` over them.
    request: Fusion
    response: Fusion

    def run_request_steps(self, ex: Exchange) -> None:
        """The request steps on ``ex.params``; a traced exchange runs them one by one, so
        that each step's changes are seen."""
        if ex.tracer is None:
            ex.params = self.request.run(ex, ex.params, "", None)
        else:
            ex.params = run_steps(self.request_steps, ex, ex.params, phase="request")

    def run_response_steps(self, ex: Exchange) -> None:
        """The response steps on ``ex.body``, as ``run_request_steps``."""
        if ex.tracer is None:
            ex.body = self.response.run(ex, ex.body, "", None)
        else:
            ex.body = run_steps(self.response_steps, ex, ex.body, phase="response")

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def client_style(self) -> Style:
        return self.settings.styles.client

    def format_for(self, ext: str | None) -> str | None:
        """The response format for a path extension, or None when this route does not offer it."""
        policy = self.settings.format
        if not ext:
            return policy.default
        fmt = ext[1:].lower()
        return fmt if fmt in policy.allow else None

    @cached_property
    def followers(self) -> tuple[FollowsUpstream, ...]:
        """Response steps that may ask for more upstream rounds (cursor paging)."""
        return tuple(s for s in self.response_steps if isinstance(s, FollowsUpstream))

    @cached_property
    def accepts_failures(self) -> bool:
        return any(isinstance(step, AcceptsFailures) for step in self.response_steps)

    def resource_name(self) -> str | None:
        if self.settings.resource:
            return self.settings.resource
        return None


class RouteMatch:
    # A plain class, not a dataclass: compiled, a dataclass's generated __init__ stays
    # interpreted Python, and one is made per request.
    __slots__ = ("params", "route")

    def __init__(self, route: CompiledRoute, params: dict[str, str]) -> None:
        self.route = route
        self.params = params


HIT_TABLE = 1024


class Router:
    def __init__(self, routes: Sequence[CompiledRoute], default_style: Style) -> None:
        self.routes = tuple(routes)
        self.default_style: Style = default_style
        # Routes a method can reach, in config order: most requests try only their own.
        self._by_method: dict[str, tuple[CompiledRoute, ...]] = {}
        # Recent (method, raw path) hits: a client polling one resource matches it once. Only
        # hits are kept, and the table is emptied when full, so it stays small whatever
        # paths clients send.
        self._hits: dict[tuple[str, str], tuple[CompiledRoute, dict[str, str]]] = {}

    def _candidates(self, method: str) -> tuple[CompiledRoute, ...]:
        found = self._by_method.get(method)
        if found is None:
            found = tuple(
                r
                for r in self.routes
                if r.settings.match.method in ("*", method)
                or (method == "HEAD" and r.settings.match.method == "GET")
            )
            if len(self._by_method) < 64:  # methods are a small set; never grow without bound
                self._by_method[method] = found
        return found

    def match(self, method: str, raw_path: str) -> tuple[RouteMatch | None, list[str]]:
        """The first route matching method and path; else the methods the path would allow.

        The match's ``params`` are the caller's own copy, free to edit."""
        hit = self._hits.get((method, raw_path))
        if hit is not None:
            return RouteMatch(hit[0], dict(hit[1])), []
        for route in self._candidates(method):
            params = route.template.match(raw_path)
            if params is not None:
                if len(self._hits) >= HIT_TABLE:
                    self._hits.clear()
                self._hits[(method, raw_path)] = (route, dict(params))
                return RouteMatch(route, params), []
        allowed: list[str] = []
        for route in self.routes:
            params = route.template.match(raw_path)
            if params is None:
                continue
            m = route.settings.match.method
            if m in ("*", method) or (method == "HEAD" and m == "GET"):
                return RouteMatch(route, params), []
            allowed.append(m)
        return None, allowed

    def style_for(self, raw_path: str) -> tuple[Style, CompiledRoute | None]:
        """The style a client on this path most likely speaks, for errors before a match."""
        best: CompiledRoute | None = None
        for route in self.routes:
            prefix = route.template.prefix
            if raw_path.startswith(prefix) and (
                best is None or len(prefix) > len(best.template.prefix)
            ):
                best = route
        if best is not None:
            return best.client_style, best
        return self.default_style, None


__all__ = ["CompiledRoute", "ErrorRules", "PathTemplate", "RouteMatch", "Router"]
