"""Prometheus metrics, one registry per app (so several apps in one process never collide).

The per-request pair (a request counter and a latency histogram by route and status) is kept
in plain numbers and handed to prometheus_client only when scraped: its ``Counter`` and
``Histogram`` take a lock and walk the buckets in Python on every observation, a cost paid by
every request for numbers read once per scrape (measured: ``docs/performance.md``). Rare events
(upstream errors, failed steps) keep prometheus_client's own counters.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from proxy.engine.errors import (
    ProxyError,
    StepError,
    UpstreamError,
    UpstreamTimeout,
    UpstreamTooLarge,
    UpstreamUnavailable,
    UpstreamUnreachable,
    UpstreamUnreadable,
)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def upstream_error_kind(error: UpstreamError) -> str:
    if isinstance(error, UpstreamUnavailable):
        return "circuit_open"
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


class FallbackTally:
    """``dialect_pipeline_fallbacks_total``: how often a fused record pipeline handed over to
    its steps one by one, by pipeline and reason (``proxy.pipeline.fused``). Process-wide, as
    the generated code is: every app in the process reports the same numbers."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}  # bounded by the configs' pipelines

    def add(self, pipeline: str, reason: str) -> None:
        key = (pipeline, reason)
        self.counts[key] = self.counts.get(key, 0) + 1

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "dialect_pipeline_fallbacks",
            "Fused pipelines that ran step by step instead, by pipeline and reason.",
            labels=["pipeline", "reason"],
        )
        for (pipeline, reason), count in sorted(self.counts.items()):
            family.add_metric([pipeline, reason], count)
        yield family


PIPELINE_FALLBACKS = FallbackTally()


# Per upstream: the circuit's state, how often it opened, how many requests it refused.
CircuitReport = Mapping[str, tuple[str, int, int]]
CIRCUIT_STATES = ("closed", "open", "half-open")


class CircuitCollector:
    """The upstreams' circuit breakers (``proxy.engine.breaker``), read when scraped."""

    def __init__(self, report: Callable[[], CircuitReport]) -> None:
        self.report = report

    def collect(self) -> Iterator[Metric]:
        state = GaugeMetricFamily(
            "dialect_upstream_circuit_state",
            "1 for the state each upstream's circuit is in (closed, open, half-open).",
            labels=["upstream", "state"],
        )
        opened = CounterMetricFamily(
            "dialect_upstream_circuit_opened",
            "How often each upstream's circuit opened.",
            labels=["upstream"],
        )
        refused = CounterMetricFamily(
            "dialect_upstream_circuit_refused",
            "Requests answered 503 at once because their upstream's circuit was open.",
            labels=["upstream"],
        )
        for name, (current, times, count) in sorted(self.report().items()):
            for candidate in CIRCUIT_STATES:
                state.add_metric([name, candidate], 1.0 if candidate == current else 0.0)
            opened.add_metric([name], times)
            refused.add_metric([name], count)
        yield state
        yield opened
        yield refused


def _bound(value: float) -> str:
    return "+Inf" if value == float("inf") else repr(value)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.request_series = RequestCollector()
        self.registry.register(self.request_series)
        self.registry.register(PIPELINE_FALLBACKS)
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

    def watch_circuits(self, report: Callable[[], CircuitReport]) -> None:
        """Report the upstreams' circuits at every scrape (once per registry)."""
        self.registry.register(CircuitCollector(report))

    def render(self) -> bytes:
        return generate_latest(self.registry)
