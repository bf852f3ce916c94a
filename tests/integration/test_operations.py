"""Health, readiness, metrics, and the request limits a production proxy needs."""

from __future__ import annotations

import socket
from typing import Any

from proxy.engine.ratelimit import FailureLimiter
from tests.integration.conftest import AUTH, SID, Facade, basic
from tests.integration.test_upstream_faults import proxy_for

BASE = f"/2010-04-01/Accounts/{SID}"


async def test_health_readiness_and_metrics(facade: Facade) -> None:
    assert (await facade.client.get("/_dialect/healthz")).status == 200
    ready = await facade.client.get("/_dialect/readyz")
    assert ready.status == 200
    assert (await ready.json())["upstreams"] == {"plivo": "ok"}
    await facade.client.get(f"{BASE}/Messages.json?PageSize=2", headers=AUTH)
    await facade.client.get(f"{BASE}/Messages/SMbad.json", headers=AUTH)
    text = await (await facade.client.get("/_dialect/metrics")).text()
    assert 'dialect_requests_total{route="messages.list",status="200"} 1.0' in text
    assert 'dialect_requests_total{route="messages.fetch",status="404"} 1.0' in text
    assert (
        'dialect_translation_failures_total{op="convert",phase="request",route="messages.fetch",step="1"} 1.0'
        in text
    )
    assert "dialect_request_duration_seconds_bucket" in text


async def test_readiness_fails_when_the_upstream_is_down(aiohttp_client: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = await proxy_for(aiohttp_client, f"http://127.0.0.1:{port}")
    ready = await client.get("/_dialect/readyz")
    assert ready.status == 503
    assert (await ready.json())["upstreams"] == {"plivo": "unreachable"}
    await client.get(f"{BASE}/Messages/SM{'1' * 32}.json", headers=AUTH)
    text = await (await client.get("/_dialect/metrics")).text()
    assert 'dialect_upstream_errors_total{kind="unreachable",route="messages.fetch"} 1.0' in text


async def test_over_long_url_is_414_in_client_style(facade: Facade) -> None:
    resp = await facade.client.get(f"{BASE}/Messages.json?To={'1' * 5000}", headers=AUTH)
    assert resp.status == 414
    assert (await resp.json())["status"] == 414


async def test_too_many_or_too_large_headers_are_431(facade: Facade) -> None:
    many = {f"X-H{i}": "v" for i in range(80)}
    resp = await facade.client.get(f"{BASE}/Messages.json", headers={**AUTH, **many})
    assert resp.status == 431
    big = {f"X-B{i}": "v" * 4000 for i in range(5)}
    resp = await facade.client.get(f"{BASE}/Messages.json", headers={**AUTH, **big})
    assert resp.status == 431 and (await resp.json())["code"] == 20001


async def test_failed_authentication_burst_is_rate_limited(facade: Facade) -> None:
    bad = basic(SID, "guess")
    statuses = [
        (await facade.client.get(f"{BASE}/Messages.json", headers=bad)).status for _ in range(10)
    ]
    assert statuses == [401] * 10
    blocked = await facade.client.get(f"{BASE}/Messages.json", headers=bad)
    assert blocked.status == 429
    assert int(blocked.headers["Retry-After"]) >= 1
    body = await blocked.json()
    assert body["code"] == 20429 and body["status"] == 429
    # The guesses are limited, never the right credentials (tests/integration/test_auth_limits.py).
    assert (await facade.client.get(f"{BASE}/Messages.json", headers=AUTH)).status == 200


def test_limiter_window_expires_and_table_is_bounded() -> None:
    now = [0.0]
    limiter = FailureLimiter(2, 10, max_addresses=3, clock=lambda: now[0])
    limiter.record_failure("a")
    limiter.record_failure("a")
    try:
        limiter.check("a")
        raise AssertionError("should be blocked")
    except Exception as exc:
        assert getattr(exc, "retry_after", None) == 10
    now[0] = 10.5
    limiter.check("a")  # window passed
    for address in "bcdef":
        limiter.record_failure(address)
    assert len(limiter._failures) == 3
