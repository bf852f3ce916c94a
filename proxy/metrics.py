"""Prometheus metrics, one registry per app (so several apps in one process never collide)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from proxy.errors import (
    ProxyError,
    StepError,
    UpstreamError,
    UpstreamTimeout,
    UpstreamTooLarge,
    UpstreamUnreachable,
    UpstreamUnreadable,
)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def upstream_error_kind(error: UpstreamError) -> str:
    if isinstance(error, UpstreamUnreachable):
        return "unreachable"
    if isinstance(error, UpstreamTimeout):
        return "timeout"
    if isinstance(error, UpstreamTooLarge):
        return "too_large"
    if isinstance(error, UpstreamUnreadable):
        return "unreadable"
    return "transport"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}
        self.requests = Counter(
            "dialect_requests",
            "Requests answered, by route and status.",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "dialect_request_duration_seconds",
            "Time to answer, by route and status.",
            ["route", "status"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.upstream_errors = Counter(
            "dialect_upstream_errors",
            "Upstream failures, by upstream route and kind.",
            ["route", "kind"],
            registry=self.registry,
        )
        self.translation_failures = Counter(
            "dialect_translation_failures",
            "Steps that failed, by route, phase, step and op.",
            ["route", "phase", "step", "op"],
            registry=self.registry,
        )

    def observe(
        self, route: str | None, status: int, seconds: float, error: ProxyError | None
    ) -> None:
        name = route or "unmatched"
        pair = self._children.get((name, status))
        if pair is None:
            # labels() locks and validates on every call; the children are looked up once per
            # (route, status), a set bounded by the config's routes and HTTP's status codes.
            code = str(status)
            pair = self._children[(name, status)] = (
                self.requests.labels(name, code),
                self.latency.labels(name, code),
            )
        pair[0].inc()
        pair[1].observe(seconds)
        if isinstance(error, UpstreamError):
            self.upstream_errors.labels(name, upstream_error_kind(error)).inc()
        elif isinstance(error, StepError):
            self.translation_failures.labels(name, error.phase, str(error.index), error.op).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
