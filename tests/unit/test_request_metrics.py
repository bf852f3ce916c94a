"""The request counter and latency histogram, kept as plain numbers, scrape exactly as
prometheus_client's own Counter and Histogram would (bucket edges included)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from proxy.ops.metrics import BUCKETS, Metrics


def _without_created(text: str) -> set[str]:
    return {line for line in text.splitlines() if "_created" not in line and "_total" not in line}


def test_the_scrape_matches_prometheus_clients_own_metrics() -> None:
    ours = Metrics()
    registry = CollectorRegistry()
    counter = Counter("dialect_requests", "Requests answered, by route and status.",
                      ["route", "status"], registry=registry)  # fmt: skip
    histogram = Histogram("dialect_request_duration_seconds",
                          "Time to answer, by route and status.", ["route", "status"],
                          registry=registry, buckets=BUCKETS)  # fmt: skip
    # Values on bucket edges, between them, below the first and beyond the last.
    samples = [("messages.fetch", 200, v) for v in (0.0004, 0.001, 0.0025, 0.003, 0.2, 10, 11)]
    samples += [("messages.list", 404, 0.05), (None, 404, 0.0)]
    for route, status, seconds in samples:
        ours.observe(route, status, seconds, None)
        name = route or "unmatched"
        counter.labels(name, str(status)).inc()
        histogram.labels(name, str(status)).observe(seconds)
    scraped = ours.render().decode()
    expected = generate_latest(registry).decode()
    assert _without_created(scraped) >= _without_created(expected)
    for line in expected.splitlines():
        if line.startswith("dialect_requests_total{"):
            assert line in scraped
    assert (
        'dialect_request_duration_seconds_bucket{le="0.001",route="messages.fetch",status="200"} 2.0'
        in scraped
    )
    assert 'dialect_request_duration_seconds_count{route="unmatched",status="404"} 1.0' in scraped
