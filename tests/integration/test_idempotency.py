"""Retried creates get the first outcome: no second message or call. Memory and Redis stores."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from aiohttp import web

from proxy.engine.store import MemoryStore, RedisStore
from proxy.settings import load_config, load_config_text
from tests.conftest import ROOT
from tests.dialect_server import DialectTestServer
from tests.integration.conftest import AUTH, SID, Facade, facade_env
from tests.integration.test_upstream_faults import serve

MESSAGES = f"/2010-04-01/Accounts/{SID}/Messages.json"
FORM = {"To": "+14155550111", "From": "+14155550100", "Body": "only once"}


async def test_same_body_retried_quickly_is_sent_once(facade: Facade) -> None:
    first = await facade.client.post(MESSAGES, data=FORM, headers=AUTH)
    again = await facade.client.post(MESSAGES, data=FORM, headers=AUTH)
    assert first.status == again.status == 201
    assert (await first.json())["sid"] == (await again.json())["sid"]
    assert again.headers["Idempotent-Replayed"] == "true"
    sends = [r for r in facade.state.requests if r.method == "POST"]
    assert len(sends) == 1
    other = await facade.client.post(MESSAGES, data={**FORM, "Body": "another"}, headers=AUTH)
    assert (await other.json())["sid"] != (await first.json())["sid"]


async def test_idempotency_key_header_wins_over_the_body(facade: Facade) -> None:
    headers = {**AUTH, "Idempotency-Key": "order-1042"}
    first = await facade.client.post(MESSAGES, data=FORM, headers=headers)
    changed = await facade.client.post(MESSAGES, data={**FORM, "Body": "edited"}, headers=headers)
    assert (await first.json())["sid"] == (await changed.json())["sid"]
    fresh = await facade.client.post(
        MESSAGES, data=FORM, headers={**AUTH, "Idempotency-Key": "order-1043"}
    )
    assert (await fresh.json())["sid"] != (await first.json())["sid"]


async def test_refused_connection_is_not_remembered(aiohttp_client: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = load_config(
        ROOT / "config" / "twilio-over-plivo.yaml", env=facade_env(f"http://127.0.0.1:{port}")
    )
    client = await aiohttp_client(DialectTestServer(config))
    for _ in range(2):
        resp = await client.post(MESSAGES, data=FORM, headers=AUTH)
        assert resp.status == 502 and "Idempotent-Replayed" not in resp.headers


async def test_timed_out_call_is_not_placed_twice_through_the_plivo_facade(
    aiohttp_client: Any, aiohttp_server: Any
) -> None:
    calls: list[bytes] = []

    async def slow(request: web.Request) -> web.Response:
        calls.append(await request.read())
        await asyncio.sleep(2)
        return web.Response(
            status=201, body=orjson.dumps({"sid": "CA" + "1" * 32}), content_type="application/json"
        )

    url = await serve(aiohttp_server, slow)
    text = (
        (ROOT / "config" / "plivo-over-twilio.yaml").read_text().replace("total: 4}", "total: 0.3}")
    )
    env = {
        "PLIVO_AUTH_ID": "MAIDEMPOTENT00000001",
        "PLIVO_AUTH_TOKEN": "p",
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_AUTH_TOKEN": "t",
        "TWILIO_API_URL": url,
    }
    client = await aiohttp_client(DialectTestServer(load_config_text(text, env=env)))
    import base64

    auth = {"Authorization": "Basic " + base64.b64encode(b"MAIDEMPOTENT00000001:p").decode()}
    body = {"from": "+14155550100", "to": "+14155550111", "answer_url": "http://e.x/a"}
    for _ in range(3):
        resp = await client.post("/v1/Account/MAIDEMPOTENT00000001/Call/", json=body, headers=auth)
        assert resp.status == 409
        assert "check the call list" in (await resp.json())["error"]
    assert len(calls) == 1


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        reason = (
            "redis-server is not installed (make test installs it: apt-get install redis-server)"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("redis-server did not start")
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_stores_share_one_contract(redis_url: str) -> None:
    for store in (MemoryStore(), RedisStore(redis_url, prefix="contract:")):
        await store.release("k")
        assert await store.claim("k", 5) is True
        assert await store.claim("k", 5) is False
        await store.put("k", b"outcome", 5)
        assert await store.get("k") == b"outcome"
        await store.release("k")
        assert await store.get("k") is None
        assert await store.claim("short", 0.05) is True
        await asyncio.sleep(0.1)
        assert await store.claim("short", 5) is True  # expired
        await store.close()


async def test_two_replicas_sharing_redis_send_once(
    redis_url: str, aiohttp_client: Any, aiohttp_server: Any
) -> None:
    from proxy.providers.plivo.mock import PLIVO_MOCK_STATE, build_plivo_mock
    from tests.integration.conftest import PLIVO_ID, PLIVO_TOKEN

    mock = build_plivo_mock(PLIVO_ID, PLIVO_TOKEN)
    upstream = await aiohttp_server(mock)
    env = {
        **facade_env(str(upstream.make_url("")).rstrip("/")),
        "DIALECT_STORE": "redis",
        "DIALECT_REDIS_URL": redis_url,
    }
    replicas = [
        await aiohttp_client(
            DialectTestServer(load_config(ROOT / "config" / "twilio-over-plivo.yaml", env=env))
        )
        for _ in range(2)
    ]
    form = {**FORM, "Body": f"replicated {time.time()}"}
    answers = await asyncio.gather(*(r.post(MESSAGES, data=form, headers=AUTH) for r in replicas))
    sids = {(await a.json())["sid"] for a in answers}
    assert len(sids) == 1
    posts = [r for r in mock[PLIVO_MOCK_STATE].requests if r.method == "POST"]
    assert len(posts) == 1


async def test_the_memory_store_stays_bounded_and_keeps_pending_claims() -> None:
    store = MemoryStore(max_keys=100)
    assert await store.claim("in-flight", 60) is True  # never finished: must survive
    for n in range(1000):
        assert await store.claim(f"k{n}", 60) is True
        await store.put(f"k{n}", b"outcome", 60)
    assert len(store._data) <= 100
    # The claim still in flight keeps its place: a retry of it waits rather than sending again.
    assert await store.claim("in-flight", 60) is False
    # The newest outcomes are the ones kept; the oldest were let go.
    assert await store.get("k999") == b"outcome"
    assert await store.get("k0") is None


def test_a_kept_outcome_replays_byte_for_byte() -> None:
    from proxy.engine.idempotency import freeze, thaw
    from proxy.http.messages import Response

    body = b'<?xml version="1.0"?>\n<TwilioResponse>\r\n<Message/>\n</TwilioResponse>\n'
    original = Response(201, body, content_type="application/xml")
    original.headers["X-Upstream-Api-Id"] = "a1"
    stored = freeze(original)
    assert stored.endswith(b"\n" + body)  # the body is kept as it is, not hex-encoded
    replayed = thaw(stored)
    assert (replayed.status, replayed.body) == (201, body)
    assert replayed.headers["Content-Type"] == "application/xml"
    assert replayed.headers["X-Upstream-Api-Id"] == "a1"
    assert replayed.headers["Idempotent-Replayed"] == "true"
