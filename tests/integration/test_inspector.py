"""The inspector's API on Dialect's own server, in front of the strict Plivo mock.

What the page reads (``events``, ``exchanges/N``) and may do (replay), and who may use it:
off unless the config turns it on (never in the shipped configs), loopback only, read-only
but for replay, nothing secret in anything it serves, a bounded history.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson
import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer
from twilio.twiml.voice_response import VoiceResponse

from proxy.callbacks import signatures
from proxy.ops.inspector import _loopback_address, _loopback_host
from proxy.providers.plivo.mock import PLIVO_MOCK_STATE, build_plivo_mock
from proxy.settings import load_config, load_config_text
from proxy.settings.loader import Config
from tests.callback_apps import App, free_port, xml
from tests.conftest import ROOT
from tests.dialect_server import DialectTestServer
from tests.integration.conftest import AUTH, PLIVO_ID, PLIVO_TOKEN, SID, TOKEN, facade_env

INSPECTOR = "/_dialect/inspector"
MESSAGES = f"/2010-04-01/Accounts/{SID}/Messages.json"
Client = TestClient[Any, Any]


def config_with(upstream: TestServer, inspector: Any) -> Config:
    raw = yaml.safe_load((ROOT / "config" / "twilio-over-plivo.yaml").read_text())
    if inspector is not None:
        raw.setdefault("server", {})["inspector"] = inspector
    url = str(upstream.make_url("")).rstrip("/")
    return load_config_text(yaml.safe_dump(raw), env=facade_env(url))


@pytest.fixture
def start(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    aiohttp_client: Callable[..., Awaitable[Client]],
) -> Callable[..., Awaitable[tuple[Client, Any]]]:
    async def started(inspector: Any = True) -> tuple[Client, Any]:
        mock = build_plivo_mock(PLIVO_ID, PLIVO_TOKEN)
        upstream = await aiohttp_server(mock)
        client = await aiohttp_client(DialectTestServer(config_with(upstream, inspector)))
        return client, mock[PLIVO_MOCK_STATE]

    return started


async def events(client: Client, after: int = 0, wait: bool = False) -> dict[str, Any]:
    answer = await client.get(f"{INSPECTOR}/events?after={after}&wait={int(wait)}")
    assert answer.status == 200
    data: dict[str, Any] = orjson.loads(await answer.read())
    return data


async def until_kept(client: Client, count: int) -> dict[str, Any]:
    """The events once ``count`` exchanges are kept (each is stored just after its answer)."""
    for _ in range(100):
        data = await events(client)
        if data["kept"] >= count:
            return data
        await asyncio.sleep(0.01)
    pytest.fail(f"fewer than {count} exchanges were kept")


async def test_the_inspector_is_off_unless_the_config_turns_it_on(
    start: Callable[..., Awaitable[tuple[Client, Any]]],
) -> None:
    client, _ = await start(inspector=None)
    for path in (INSPECTOR, f"{INSPECTOR}/events", f"{INSPECTOR}/static/inspector.js"):
        answer = await client.get(path)
        assert answer.status == 404, path
        assert await answer.json() == {"status": "not found"}  # the admin's own 404


@pytest.mark.parametrize(
    "name", ["twilio-over-plivo", "plivo-over-twilio", "sidecar-plivo-to-twilio"]
)
def test_no_shipped_config_turns_the_inspector_on(name: str) -> None:
    text = (ROOT / "config" / f"{name}.yaml").read_text()
    assert "inspector" not in text
    config = load_config(ROOT / "config" / f"{name}.yaml", offline=True)
    assert config.model.server.inspector.enabled is False
    assert config.model.server.opentelemetry is False


async def test_the_page_and_its_static_files_are_served_from_the_package(
    start: Callable[..., Awaitable[tuple[Client, Any]]],
) -> None:
    client, _ = await start()
    page = await client.get(INSPECTOR)
    assert page.status == 200 and page.content_type == "text/html"
    html = await page.text()
    assert "http://" not in html and "https://" not in html  # nothing from elsewhere
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    for name, kind in (("inspector.js", "text/javascript"), ("inspector.css", "text/css")):
        answer = await client.get(f"{INSPECTOR}/static/{name}")
        assert answer.status == 200 and answer.content_type == kind
        assert "https://" not in await answer.text()
    assert (await client.get(f"{INSPECTOR}/static/../../pyproject.toml")).status == 404


async def test_an_exchange_is_listed_and_opened_with_its_calls_and_trace(
    start: Callable[..., Awaitable[tuple[Client, Any]]],
) -> None:
    client, _ = await start()
    assert (await events(client))["items"] == []
    answer = await client.get(f"{MESSAGES}?PageSize=2", headers=AUTH)
    assert answer.status == 200
    data = await until_kept(client, 1)
    (item,) = data["items"]
    assert item["route"] == "messages.list" and item["method"] == "GET"
    assert item["status"] == 200 and item["path"] == f"{MESSAGES}?PageSize=2"
    assert [c["status"] for c in item["calls"]] == [200]

    detail = await (await client.get(f"{INSPECTOR}/exchanges/{item['id']}")).json()
    assert detail["client"]["method"] == "GET"
    assert ["Authorization", "[secret]"] in detail["client"]["headers"]
    assert detail["client"]["curl"].startswith("curl ")
    assert f"-u '{SID}:[secret]'" in detail["client"]["curl"]
    (call,) = detail["upstream"]
    assert call["url"].split("?")[0].endswith(f"/v1/Account/{PLIVO_ID}/Message/")
    assert call["status"] == 200 and call["reply"]["body"]["text"].startswith("{")
    assert f"-u '{PLIVO_ID}:[secret]'" in call["curl"]
    assert detail["response"]["status"] == 200
    assert orjson.loads(detail["response"]["body"]["text"])["page_size"] == 2
    steps = [row["step"] for row in detail["trace"]]
    assert "response[0]" in steps
    assert "response[1]/twilio_message[0]" in steps
    assert len(detail["trace_id"]) == 32 and detail["traceparent"] == call["traceparent"]


async def test_nothing_it_serves_holds_a_secret(
    start: Callable[..., Awaitable[tuple[Client, Any]]],
) -> None:
    client, _ = await start()
    # A secret in the body and the query too: a client pasting its token where it should not.
    await client.post(
        MESSAGES,
        data={"To": "+14155550111", "From": "+14155550100", "Body": f"token {TOKEN}"},
        headers={**AUTH, "Cookie": "session=abc123", "X-Note": PLIVO_TOKEN},
    )
    await client.get(f"{MESSAGES}?PageSize=1&Note={TOKEN}", headers=AUTH)
    data = await until_kept(client, 2)
    served = [orjson.dumps(data)]
    for item in data["items"]:
        served.append(await (await client.get(f"{INSPECTOR}/exchanges/{item['id']}")).read())
    basic = base64.b64encode(f"{SID}:{TOKEN}".encode())
    upstream_basic = base64.b64encode(f"{PLIVO_ID}:{PLIVO_TOKEN}".encode())
    for text in served:
        for secret in (TOKEN.encode(), PLIVO_TOKEN.encode(), basic, upstream_basic, b"abc123"):
            assert secret not in text
    assert b"token [secret]" in served[1] + served[2]


async def test_a_waiting_poll_is_answered_by_the_next_exchange(
    start: Callable[..., Awaitable[tuple[Client, Any]]],
) -> None:
    client, _ = await start()
    poll = asyncio.create_task(events(client, after=0, wait=True))
    await asyncio.sleep(0)
    assert not poll.done()
    await client.get(MESSAGES, headers=AUTH)
    data = await asyncio.wait_for(poll, 10)
    assert data["last"] == 1 and [i["id"] for i in data["items"]] == [1]


async def test_the_history_is_bounded_by_count_and_newest_first(
    start: Callable[..., Awaitable[tuple[Client, Any]]],
) -> None:
    client, _ = await start(inspector={"enabled": True, "max_exchanges": 3})
    for n in range(5):
        await client.get(f"{MESSAGES}?PageSize={n + 1}", headers=AUTH)
    await asyncio.sleep(0)
    data = await until_kept(client, 3)
    for _ in range(100):
        if data["last"] == 5:
            break
        await asyncio.sleep(0.01)
        data = await events(client)
    assert data["kept"] == 3 and [i["id"] for i in data["items"]] == [5, 4, 3]
    assert (await client.get(f"{INSPECTOR}/exchanges/1")).status == 404
    assert (await events(client, after=4))["items"][0]["id"] == 5


async def test_the_history_is_bounded_by_bytes(
    start: Callable[..., Awaitable[tuple[Client, Any]]],
) -> None:
    client, _ = await start(inspector={"enabled": True, "max_bytes": 64 * 1024})
    for _ in range(8):  # list pages of 20 messages: many kilobytes each, with their trace
        await client.get(f"{MESSAGES}?PageSize=20", headers=AUTH)
    data = await until_kept(client, 1)
    for _ in range(100):
        if data["last"] == 8:
            break
        await asyncio.sleep(0.01)
        data = await events(client)
    assert 1 <= data["kept"] < 8
    sizes = []
    for item in data["items"]:
        sizes.append(len(await (await client.get(f"{INSPECTOR}/exchanges/{item['id']}")).read()))
    assert sum(sizes) <= 64 * 1024


async def test_replay_sends_the_request_again_and_is_recorded_as_such(
    start: Callable[..., Awaitable[tuple[Client, Any]]],
) -> None:
    client, state = await start()
    form = {"To": "+14155550111", "From": "+14155550100", "Body": "again"}
    created = await client.post(MESSAGES, data=form, headers={**AUTH, "Idempotency-Key": "k1"})
    assert created.status == 201
    await until_kept(client, 1)
    sent = len(state.messages)

    refused = await client.post(f"{INSPECTOR}/exchanges/1/replay")
    assert refused.status == 403  # a cross-site form cannot send the header
    assert (await client.get(f"{INSPECTOR}/exchanges/1/replay")).status == 405
    assert (
        await client.post(
            f"{INSPECTOR}/exchanges/99/replay", headers={"X-Dialect-Inspector": "replay"}
        )
    ).status == 404

    replayed = await client.post(
        f"{INSPECTOR}/exchanges/1/replay", headers={"X-Dialect-Inspector": "replay"}
    )
    assert replayed.status == 200
    # The same Idempotency-Key: the first outcome, not a second message.
    assert await replayed.json() == {"replayed": 1, "id": 2, "status": 201}
    assert len(state.messages) == sent
    data = await until_kept(client, 2)
    assert data["items"][0]["replay_of"] == 1 and data["items"][0]["id"] == 2
    detail = await (await client.get(f"{INSPECTOR}/exchanges/2")).json()
    assert ["Idempotent-Replayed", "true"] in detail["response"]["headers"]


async def test_the_inspector_is_read_only_and_its_own_requests_are_not_recorded(
    start: Callable[..., Awaitable[tuple[Client, Any]]],
) -> None:
    client, _ = await start()
    for method in ("POST", "PUT", "DELETE"):
        assert (await client.request(method, f"{INSPECTOR}/events")).status == 405
    await client.get(INSPECTOR)
    await client.get("/_dialect/healthz")
    await client.get(f"{INSPECTOR}/exchanges/1")
    assert (await events(client))["kept"] == 0


async def test_a_client_through_a_proxy_or_by_another_name_is_refused(
    start: Callable[..., Awaitable[tuple[Client, Any]]],
) -> None:
    client, _ = await start()
    for headers in (
        {"X-Forwarded-For": "203.0.113.9"},
        {"Forwarded": "for=203.0.113.9"},
        {"Host": "inspector.example"},
        {"Host": "evil.example:8080"},
    ):
        answer = await client.get(f"{INSPECTOR}/events?wait=0", headers=headers)
        assert answer.status == 403, headers
        assert "loopback" in await answer.text()
    for host in ("localhost:8080", "127.0.0.1", "[::1]:80", "dev.localhost"):
        answer = await client.get(f"{INSPECTOR}/events?wait=0", headers={"Host": host})
        assert answer.status == 200, host


async def test_allow_remote_says_so_in_so_many_words(
    start: Callable[..., Awaitable[tuple[Client, Any]]],
) -> None:
    client, _ = await start(inspector={"enabled": True, "allow_remote": True})
    answer = await client.get(
        f"{INSPECTOR}/events?wait=0", headers={"Host": "gateway.example", "X-Forwarded-For": "x"}
    )
    assert answer.status == 200


def test_loopback_addresses_and_host_names() -> None:
    assert _loopback_address("127.0.0.1") and _loopback_address("127.8.9.10")
    assert _loopback_address("::1") and _loopback_address("::ffff:127.0.0.1")
    for remote in ("10.0.0.1", "192.168.1.2", "::ffff:10.0.0.1", "fe80::1", "", None, "x"):
        assert not _loopback_address(remote)
    for host in ("localhost", "LOCALHOST:8080", "127.0.0.1:1", "[::1]", "app.localhost:3000"):
        assert _loopback_host(host)
    for host in ("example.com", "localhost.example.com", "10.0.0.1:80", "", "[fe80::1]:80"):
        assert not _loopback_host(host)


def test_allow_remote_without_enabled_is_a_config_problem() -> None:
    raw = yaml.safe_load((ROOT / "config" / "twilio-over-plivo.yaml").read_text())
    raw.setdefault("server", {})["inspector"] = {"allow_remote": True}
    with pytest.raises(Exception, match="allow_remote applies to an enabled inspector"):
        load_config_text(yaml.safe_dump(raw), env=facade_env("http://127.0.0.1:9"))


async def test_a_callback_shows_the_carriers_request_the_apps_and_the_answer(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    dialect_server: Callable[..., Awaitable[DialectTestServer]],
) -> None:
    app = App("twilio", TOKEN)
    answer = VoiceResponse()
    answer.say("hello")
    app.answers["/voice"] = xml(answer)
    app_url = str((await aiohttp_server(app.application())).make_url("")).rstrip("/")
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    raw = yaml.safe_load((ROOT / "config" / "twilio-over-plivo.yaml").read_text())
    raw.setdefault("server", {})["inspector"] = True
    env = facade_env(f"http://127.0.0.1:{free_port()}") | {"DIALECT_PUBLIC_URL": public}
    config = load_config_text(yaml.safe_dump(raw), env=env)
    await dialect_server(config, port=port)
    assert config.callbacks is not None
    url = config.callbacks.issuer.issue("call-answer", app_url + "/voice", "POST", SID)
    params = {
        "CallUUID": "d0a3c2f0-1111-2222-3333-444455556666",
        "From": "14155550100",
        "To": "14155550199",
        "Direction": "outbound",
        "CallStatus": "in-progress",
    }
    nonce = signatures.new_nonce()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        signatures.PLIVO_V3: signatures.plivo_v3_signature(
            PLIVO_TOKEN, url, "POST", list(params.items()), nonce
        ),
        signatures.PLIVO_V3_NONCE: nonce,
        "traceparent": f"00-{'ab' * 16}-{'cd' * 8}-01",  # the carrier's trace goes on
    }
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=urlencode(params), headers=headers) as carrier:
            assert carrier.status == 200
        for _ in range(100):
            async with session.get(f"{public}{INSPECTOR}/events?wait=0") as polled:
                data = await polled.json()
            if data["kept"]:
                break
            await asyncio.sleep(0.01)
        (item,) = data["items"]
        assert item["kind"] == "callback" and item["route"] == "callback"
        async with session.get(f"{public}{INSPECTOR}/exchanges/{item['id']}") as opened:
            detail = await opened.json()
    assert detail["client"]["url"].startswith(f"{public}/_dialect/callbacks/")
    assert "From=14155550100" in detail["client"]["body"]["text"]  # the carrier's own words
    (call,) = detail["upstream"]  # what the app got, and what it answered
    assert call["url"] == f"{app_url}/voice" and call["status"] == 200
    assert "From=%2B14155550100" in call["body"]["text"]
    assert any(name == "X-Twilio-Signature" for name, _ in call["headers"])
    assert "<Say>hello</Say>" in call["reply"]["body"]["text"]
    assert ">hello</Speak>" in detail["response"]["body"]["text"]  # what the carrier got
    assert detail["trace"] == []
    (got,) = app.received
    assert got.headers["traceparent"] == call["traceparent"]
    assert call["traceparent"].startswith(f"00-{'ab' * 16}-") and detail["trace_id"] == "ab" * 16


async def test_a_waiting_poll_does_not_hold_a_stopping_server(
    start: Callable[..., Awaitable[tuple[Client, Any]]],
) -> None:
    client, _ = await start()
    poll = asyncio.create_task(events(client, after=0, wait=True))
    await asyncio.sleep(0.05)
    assert not poll.done()
    live = client.server.live  # type: ignore[attr-defined]
    live.stopping()  # what dialect serve does first on SIGTERM
    data = await asyncio.wait_for(poll, 10)
    assert data["closed"] is True and data["items"] == []


async def test_a_reload_keeps_the_history_and_one_without_the_inspector_ends_it(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    aiohttp_client: Callable[..., Awaitable[Client]],
) -> None:
    upstream = await aiohttp_server(build_plivo_mock(PLIVO_ID, PLIVO_TOKEN))
    client = await aiohttp_client(DialectTestServer(config_with(upstream, True)))
    live = client.server.live  # type: ignore[attr-defined]
    await client.get(MESSAGES, headers=AUTH)
    await until_kept(client, 1)
    await live.reload(config_with(upstream, {"enabled": True, "max_exchanges": 50}))
    assert (await events(client))["kept"] == 1
    await client.get(MESSAGES, headers=AUTH)
    assert (await until_kept(client, 2))["last"] == 2
    await live.reload(config_with(upstream, None))
    assert (await client.get(f"{INSPECTOR}/events?wait=0")).status == 404


def test_auto_workers_are_one_with_the_inspector_on(monkeypatch: pytest.MonkeyPatch) -> None:
    from proxy.runtime import workers

    monkeypatch.setattr(workers, "cores", lambda: 4)
    raw = yaml.safe_load((ROOT / "config" / "sidecar-plivo-to-twilio.yaml").read_text())
    text = yaml.safe_dump(raw)
    env = {"LEGACY_URL": "http://127.0.0.1:9"}
    assert workers.resolve("auto", load_config_text(text, env=env)) == (4, None)
    raw.setdefault("server", {})["inspector"] = True
    count, why = workers.resolve("auto", load_config_text(yaml.safe_dump(raw), env=env))
    assert count == 1 and why is not None and "inspector" in why
