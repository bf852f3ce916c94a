"""Overload: an upstream's 503/429 reaches the client in its style with ``Retry-After`` kept, and
a circuit breaker per upstream answers 503 at once while the upstream keeps failing (open),
lets one probe through after its cooldown (half-open) and closes when the upstream answers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import plivo
import plivo.rest.client as plivo_client
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client as TwilioClient

from proxy.http import budget
from proxy.settings import load_config_text
from tests.conftest import ROOT
from tests.dialect_server import DialectTestServer
from tests.integration.conftest import AUTH, SID, TOKEN, basic
from tests.integration.test_upstream_faults import RECORD, proxy_for, serve

Client = TestClient[Any, Any]
MESSAGE = f"/2010-04-01/Accounts/{SID}/Messages/SM{'1' * 32}.json"
BREAKER = "breaker: {failures: 3, cooldown: 0.2}"
PLIVO_ID, PLIVO_TOKEN = "MAFACADEAUTHID000001", "plivo-facade-token"


@dataclass
class Upstream:
    """A Plivo- or Twilio-style upstream whose health the test decides."""

    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    hits: int = 0
    gate: asyncio.Event | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.hits += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.status == 200:
            return web.Response(body=orjson.dumps(RECORD), content_type="application/json")
        body = {"api_id": "a1", "error": "try later"}
        return web.Response(
            status=self.status, body=orjson.dumps(body), headers=self.headers,
            content_type="application/json",
        )  # fmt: skip


async def twilio_facade(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    aiohttp_client: Callable[..., Awaitable[Client]],
    upstream: Upstream,
    extra: str = "",
) -> Client:
    return await proxy_for(aiohttp_client, await serve(aiohttp_server, upstream.handle), 10, extra)


async def test_an_upstream_503_keeps_its_retry_after_in_twilio_style(
    aiohttp_server: Any, aiohttp_client: Any
) -> None:
    upstream = Upstream(503, {"Retry-After": "7"})
    client = await twilio_facade(aiohttp_server, aiohttp_client, upstream)
    resp = await client.get(MESSAGE, headers=AUTH)
    assert resp.status == 503 and resp.headers["Retry-After"] == "7"
    body = await resp.json()
    assert body["code"] == 20503 and body["status"] == 503 and body["message"] == "try later"
    upstream.status, upstream.headers = 429, {"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}
    limited = await client.get(MESSAGE, headers=AUTH)
    assert limited.status == 429 and (await limited.json())["code"] == 20429
    assert limited.headers["Retry-After"] == "Wed, 21 Oct 2026 07:28:00 GMT"
    upstream.headers = {"Retry-After": "soon\u2026"}
    garbled = await client.get(MESSAGE, headers=AUTH)
    assert garbled.status == 429 and "Retry-After" not in garbled.headers


async def test_the_twilio_sdk_sees_503_and_its_code(
    aiohttp_server: Any, aiohttp_client: Any
) -> None:
    upstream = Upstream(503, {"Retry-After": "7"})
    client = await twilio_facade(aiohttp_server, aiohttp_client, upstream)
    sdk = TwilioClient(SID, TOKEN, environment={"DIALECT_TEST": "1"})
    sdk.api.base_url = str(client.make_url("")).rstrip("/")
    with pytest.raises(TwilioRestException) as unavailable:
        await asyncio.to_thread(lambda: sdk.messages("SM" + "1" * 32).fetch())
    assert unavailable.value.status == 503 and unavailable.value.code == 20503


async def test_the_circuit_opens_probes_and_closes(
    aiohttp_server: Any, aiohttp_client: Any
) -> None:
    upstream = Upstream(503)
    client = await twilio_facade(aiohttp_server, aiohttp_client, upstream, BREAKER)
    for _ in range(3):
        assert (await client.get(MESSAGE, headers=AUTH)).status == 503
    assert upstream.hits == 3
    # Open: answered at once, nothing sent, told when to come back.
    refused = await client.get(MESSAGE, headers=AUTH)
    assert refused.status == 503 and refused.headers["Retry-After"] == "1"
    body = await refused.json()
    assert body["code"] == 20503 and "unavailable" in body["message"]
    assert upstream.hits == 3
    ready = await client.get("/_dialect/readyz")
    assert ready.status == 200  # an open circuit does not take the replica out of service
    assert (await ready.json())["circuits"] == {"plivo": "open"}
    metrics = await (await client.get("/_dialect/metrics")).text()
    assert 'dialect_upstream_circuit_state{state="open",upstream="plivo"} 1.0' in metrics
    assert 'dialect_upstream_circuit_opened_total{upstream="plivo"} 1.0' in metrics
    assert 'dialect_upstream_circuit_refused_total{upstream="plivo"} 1.0' in metrics
    assert (
        'dialect_upstream_errors_total{kind="circuit_open",route="messages.fetch"} 1.0' in metrics
    )

    # Half-open after the cooldown: one probe; it fails, and the circuit opens again.
    await asyncio.sleep(0.25)
    assert (await client.get(MESSAGE, headers=AUTH)).status == 503
    assert upstream.hits == 4
    assert (await client.get(MESSAGE, headers=AUTH)).status == 503
    assert upstream.hits == 4

    # The upstream recovers: the next probe succeeds and the circuit closes.
    upstream.status = 200
    await asyncio.sleep(0.25)
    assert (await client.get(MESSAGE, headers=AUTH)).status == 200
    assert (await client.get(MESSAGE, headers=AUTH)).status == 200
    assert upstream.hits == 6
    assert (await (await client.get("/_dialect/readyz")).json())["circuits"] == {"plivo": "closed"}
    metrics = await (await client.get("/_dialect/metrics")).text()
    assert 'dialect_upstream_circuit_state{state="closed",upstream="plivo"} 1.0' in metrics
    assert 'dialect_upstream_circuit_opened_total{upstream="plivo"} 2.0' in metrics


async def test_one_probe_at_a_time_while_half_open(
    aiohttp_server: Any, aiohttp_client: Any
) -> None:
    upstream = Upstream(503)
    client = await twilio_facade(aiohttp_server, aiohttp_client, upstream, BREAKER)
    for _ in range(3):
        await client.get(MESSAGE, headers=AUTH)
    await asyncio.sleep(0.25)
    upstream.status, upstream.gate = 200, asyncio.Event()
    probe = asyncio.ensure_future(client.get(MESSAGE, headers=AUTH))
    for _ in range(100):  # bounded: until the probe reached the upstream
        if upstream.hits == 4:
            break
        await asyncio.sleep(0.01)
    assert upstream.hits == 4
    meanwhile = await client.get(MESSAGE, headers=AUTH)
    assert meanwhile.status == 503 and meanwhile.headers["Retry-After"] == "1"
    upstream.gate.set()
    assert (await probe).status == 200
    assert (await client.get(MESSAGE, headers=AUTH)).status == 200
    assert upstream.hits == 5


async def test_client_errors_and_429_never_open_the_circuit(
    aiohttp_server: Any, aiohttp_client: Any
) -> None:
    upstream = Upstream(404)
    client = await twilio_facade(aiohttp_server, aiohttp_client, upstream, BREAKER)
    for status in (404, 404, 404, 429, 429, 429, 429):
        upstream.status = status
        assert (await client.get(MESSAGE, headers=AUTH)).status == status
    assert upstream.hits == 7


@pytest.fixture
def plivo_bases() -> Iterator[Callable[[str], None]]:
    names = (
        "PLIVO_API_BASE_URI",
        "API_VOICE_BASE_URI",
        "API_VOICE_BASE_URI_FALLBACK_1",
        "API_VOICE_BASE_URI_FALLBACK_2",
    )
    saved = {name: getattr(plivo_client, name) for name in names}

    def point(url: str) -> None:
        for name in names:
            setattr(plivo_client, name, url)

    yield point
    for name, value in saved.items():
        setattr(plivo_client, name, value)


async def test_a_plivo_client_gets_500_with_the_reason_and_no_second_call(
    aiohttp_server: Any,
    aiohttp_client: Any,
    plivo_bases: Callable[[str], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    upstream = Upstream(503, {"Retry-After": "7"})
    text = (ROOT / "config" / "plivo-over-twilio.yaml").read_text()
    text = text.replace(
        "timeout: {connect: 1, total: 4}", "timeout: {connect: 1, total: 4}\n    " + BREAKER
    )
    env = {
        "PLIVO_AUTH_ID": PLIVO_ID,
        "PLIVO_AUTH_TOKEN": PLIVO_TOKEN,
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_API_URL": await serve(aiohttp_server, upstream.handle),
    }
    client = await aiohttp_client(DialectTestServer(load_config_text(text, env=env)))
    headers = basic(PLIVO_ID, PLIVO_TOKEN)
    path = f"/v1/Account/{PLIVO_ID}/Message/{'1' * 8}-1111-1111-1111-{'1' * 12}/"
    first = await client.get(path, headers=headers)
    # The plivo SDK keeps the text of a 500 and drops that of a 503: the outage is a 500.
    assert first.status == 500 and first.headers["Retry-After"] == "7"
    assert set(await first.json()) == {"api_id", "error"}
    for _ in range(2):
        await client.get(path, headers=headers)
    assert upstream.hits == 3
    refused = await client.get(path, headers=headers)
    assert refused.status == 500 and refused.headers["Retry-After"] == "1"
    assert "unavailable" in (await refused.json())["error"] and upstream.hits == 3

    # Through the SDK: its own exception, with the reason; a call create, which the SDK retries
    # on any 5xx, is refused each time without reaching the upstream (no call placed twice).
    plivo_bases(str(client.make_url("/v1/Account")))
    sdk = plivo.RestClient(PLIVO_ID, PLIVO_TOKEN)
    with pytest.raises(plivo.exceptions.PlivoServerError, match="unavailable"):
        await asyncio.to_thread(lambda: sdk.messages.get("1" * 8 + "-1111-1111-1111-" + "1" * 12))
    with pytest.raises(plivo.exceptions.PlivoServerError, match="unavailable"):
        await asyncio.to_thread(
            lambda: sdk.calls.create(
                from_="+14155550100", to_="+14155550111", answer_url="http://a.b/c"
            )
        )
    assert upstream.hits == 3
    capsys.readouterr()


async def test_the_budget_refusal_says_when_to_retry(
    aiohttp_server: Any, aiohttp_client: Any
) -> None:
    async def large(_request: web.Request) -> web.Response:
        record = {**RECORD, "padding": "x" * (2 * budget.SMALL)}
        return web.Response(body=orjson.dumps(record), content_type="application/json")

    client = await proxy_for(aiohttp_client, await serve(aiohttp_server, large))
    held = budget.ANSWER_BYTES.limit
    assert budget.ANSWER_BYTES.take(held)
    try:
        resp = await client.get(MESSAGE, headers=AUTH)
    finally:
        budget.ANSWER_BYTES.give(held)
    assert resp.status == 503 and resp.headers["Retry-After"] == "1"
    assert (await resp.json())["code"] == 20503
