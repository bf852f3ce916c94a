"""Prometheus metrics, one registry per app (so several apps in one process never collide).

The per-request pair (a request counter and a latency histogram by route and status) is kept
in plain numbers and handed to prometheus_client only when scraped: its ``Counter`` and
``Histogram`` take a lock and walk the buckets in Python on every observation, which cost
more than a microsecond per request. Rare events (upstream errors, failed steps) keep
prometheus_client's own counters.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

from proxy.engine.errors import (
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


BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _Series:
    """One (route, status): how many answers, their total time, and how many per bucket
    (not cumulative; the last slot counts those slower than the largest bound)."""

    __slots__ = ("buckets", "count", "total")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.buckets = [0] * (len(BUCKETS) + 1)


class RequestCollector:
    """``dialect_requests_total`` and ``dialect_request_duration_seconds``, built at scrape
    time from the plain numbers ``observe`` keeps."""

    def __init__(self) -> None:
        # Bounded by the config's routes times HTTP's status codes.
        self.series: dict[tuple[str, int], _Series] = {}

    def observe(self, route: str, status: int, seconds: float) -> None:
        series = self.series.get((route, status))
        if series is None:
            series = self.series[(route, status)] = _Series()
        series.count += 1
        series.total += seconds
        # Prometheus buckets are "less than or equal": bisect_left puts a value equal to a
        # bound into that bound's bucket.
        series.buckets[bisect_left(BUCKETS, seconds)] += 1

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "dialect_requests",
            "Requests answered, by route and status.",
            labels=["route", "status"],
        )
        latency = HistogramMetricFamily(
            "dialect_request_duration_seconds",
            "Time to answer, by route and status.",
            labels=["route", "status"],
        )
        for (route, status), series in sorted(self.series.items()):
            labels = [route, str(status)]
            requests.add_metric(labels, series.count)
            cumulative, running = [], 0
            for bound, n in zip((*BUCKETS, float("inf")), series.buckets, strict=True):
                running += n
                cumulative.append((_bound(bound), running))
            latency.add_metric(labels, cumulative, series.total)
        yield requests
        yield latency


def _bound(value: float) -> str:
    return "+Inf" if value == float("inf") else repr(value)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.request_series = RequestCollector()
        self.registry.register(self.request_series)
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
        self.request_series.observe(name, status, seconds)
        if isinstance(error, UpstreamError):
            self.upstream_errors.labels(name, upstream_error_kind(error)).inc()
        elif isinstance(error, StepError):
            self.translation_failures.labels(name, error.phase, str(error.index), error.op).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
