"""What crosses the proxy: headers, credentials, the request id, the log line."""

from __future__ import annotations

import io
import json
from typing import Any

import orjson
from aiohttp import web

from proxy.ops.logs import configure
from tests.integration.conftest import AUTH, PLIVO_TOKEN, SID, TOKEN, Facade
from tests.integration.test_upstream_faults import MESSAGE, RECORD, proxy_for, serve


async def capturing_upstream(aiohttp_server: Any, seen: list[web.Request]) -> str:
    async def handler(request: web.Request) -> web.Response:
        seen.append(request)
        return web.Response(
            body=orjson.dumps(RECORD),
            content_type="application/json",
            headers={"X-RateLimit-Remaining": "99", "Connection": "keep-alive", "Keep-Alive": "5"},
        )

    return await serve(aiohttp_server, handler)


async def test_headers_forwarded_and_dropped(aiohttp_client: Any, aiohttp_server: Any) -> None:
    seen: list[web.Request] = []
    client = await proxy_for(aiohttp_client, await capturing_upstream(aiohttp_server, seen))
    resp = await client.get(
        MESSAGE,
        headers={
            **AUTH,
            "X-Custom": "kept",
            "Connection": "keep-alive, X-Hop",
            "X-Hop": "dropped",
            "Proxy-Authorization": "Basic secret",
            "X-Forwarded-For": "10.1.2.3",
            "X-Request-Id": "req-123",
        },
    )
    assert resp.status == 200, await resp.text()
    upstream = seen[-1].headers
    assert upstream["X-Custom"] == "kept"
    assert "X-Hop" not in upstream and "Proxy-Authorization" not in upstream
    assert upstream["X-Forwarded-For"] == "10.1.2.3, 127.0.0.1"
    assert upstream["X-Forwarded-Proto"] == "http"
    assert upstream["X-Request-Id"] == "req-123"
    # The client's Twilio credentials never go upstream; the Plivo ones do.
    assert TOKEN not in upstream["Authorization"]
    assert (
        seen[-1].path
        == f"/v1/Account/MATESTAUTHID00000001/Message/{'1' * 8}-1111-1111-1111-{'1' * 12}/"
    )
    # Downstream: end-to-end upstream headers pass, hop-by-hop ones do not.
    assert resp.headers["X-RateLimit-Remaining"] == "99"
    assert "Keep-Alive" not in resp.headers
    assert resp.headers["X-Request-Id"] == "req-123"
    assert resp.headers["X-Upstream-Api-Id"] == "a1"


async def test_unsafe_request_id_is_replaced(facade: Facade) -> None:
    resp = await facade.client.get(MESSAGE, headers={**AUTH, "X-Request-Id": "bad id\twith tab"})
    assert resp.headers["X-Request-Id"] != "bad id\twith tab"
    assert len(resp.headers["X-Request-Id"]) == 32


async def test_host_header_selects_nothing(aiohttp_client: Any, aiohttp_server: Any) -> None:
    seen: list[web.Request] = []
    client = await proxy_for(aiohttp_client, await capturing_upstream(aiohttp_server, seen))
    resp = await client.get(MESSAGE, headers={**AUTH, "Host": "evil.example:80"})
    assert resp.status == 200
    assert seen[-1].host.startswith("127.0.0.1")


async def test_encoded_slash_in_sid_cannot_escape_the_path(facade: Facade) -> None:
    before = len(facade.state.requests)
    resp = await facade.client.get(
        f"/2010-04-01/Accounts/{SID}/Messages/..%2F..%2FCall.json", headers=AUTH
    )
    assert resp.status == 404
    assert len(facade.state.requests) == before


async def test_one_log_line_per_request_without_secrets(facade: Facade) -> None:
    out = io.StringIO()
    configure("json", "info", stream=out)
    try:
        await facade.client.get(MESSAGE, headers=AUTH)
        await facade.client.get(MESSAGE, headers={"Authorization": "Basic d3Jvbmc6c2VjcmV0"})
        await facade.client.post(
            f"/2010-04-01/Accounts/{SID}/Messages.json",
            data={"To": "+14155550111", "From": "+14155550100", "Body": TOKEN},
            headers=AUTH,
        )
    finally:
        configure("console", "warning")
    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    requests = [line for line in lines if line["event"] == "request"]
    assert len(requests) == 3
    first = requests[0]
    for key in ("request_id", "route", "method", "status", "upstream_status", "latency_ms"):
        assert key in first
    assert first["route"] == "messages.fetch" and first["upstream_ids"]
    assert requests[1]["status"] == 401
    text = out.getvalue()
    assert TOKEN not in text and PLIVO_TOKEN not in text
    assert "Basic " not in text


async def test_absolute_form_target_is_refused_not_proxied(facade: Facade) -> None:
    import asyncio

    server = facade.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    auth = AUTH["Authorization"]
    writer.write(
        f"GET http://evil.example{MESSAGE} HTTP/1.1\r\nHost: evil.example\r\n"
        f"Authorization: {auth}\r\nConnection: close\r\n\r\n".encode()
    )
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), timeout=5)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), head
    assert json.loads(body)["code"] == 20001
    assert not any("evil" in r.path for r in facade.state.requests)


async def test_plivo_style_bodies_carry_a_fresh_api_id_also_in_header_and_log(
    aiohttp_client: Any, aiohttp_server: Any
) -> None:
    from proxy.providers.twilio.mock import build_twilio_mock
    from proxy.settings import load_config
    from tests.conftest import ROOT
    from tests.dialect_server import DialectTestServer
    from tests.integration.conftest import basic

    upstream = await aiohttp_server(build_twilio_mock("AC" + "d4" * 16, "t"))
    env = {
        "PLIVO_AUTH_ID": "MAAPIIDTEST000000001",
        "PLIVO_AUTH_TOKEN": "p",
        "TWILIO_ACCOUNT_SID": "AC" + "d4" * 16,
        "TWILIO_AUTH_TOKEN": "t",
        "TWILIO_API_URL": str(upstream.make_url("")).rstrip("/"),
    }
    client = await aiohttp_client(
        DialectTestServer(load_config(ROOT / "config" / "plivo-over-twilio.yaml", env=env))
    )
    out = io.StringIO()
    configure("json", "info", stream=out)
    try:
        ids = []
        for _ in range(2):
            resp = await client.get(
                "/v1/Account/MAAPIIDTEST000000001/Message/?limit=2",
                headers=basic("MAAPIIDTEST000000001", "p"),
            )
            body = await resp.json()
            assert resp.status == 200 and set(body) == {"api_id", "meta", "objects"}
            assert resp.headers["X-Api-Id"] == body["api_id"]
            ids.append(body["api_id"])
        missing = await client.get(
            "/v1/Account/MAAPIIDTEST000000001/Nothing/", headers=basic("MAAPIIDTEST000000001", "p")
        )
        assert missing.status == 404 and "api_id" in await missing.json()
    finally:
        configure("console", "warning")
    assert ids[0] != ids[1]
    import uuid as uuid_module

    assert all(uuid_module.UUID(i).version == 1 for i in ids)
    logged = [
        json.loads(line)["api_id"] for line in out.getvalue().splitlines() if '"request"' in line
    ]
    assert logged[:2] == ids


async def test_hostile_xml_body_is_refused_with_a_clear_error(facade: Facade) -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b"<r><To>&b;</To></r>"
    )
    resp = await facade.client.post(
        f"/2010-04-01/Accounts/{SID}/Messages.json",
        data=laughs,
        headers={**AUTH, "Content-Type": "application/xml"},
    )
    assert resp.status == 400
    body = await resp.json()
    assert "XML with DTDs or entities is refused" in body["message"]
    assert not [r for r in facade.state.requests if r.method == "POST"]


def test_secret_env_values_are_scrubbed_and_never_printed_by_check(tmp_path: Any) -> None:
    import io
    import subprocess
    import sys

    from proxy.ops.logs import get_logger, set_secrets
    from proxy.settings import load_config
    from tests.conftest import ROOT
    from tests.integration.conftest import facade_env

    env = {**facade_env("http://127.0.0.1:9"), "LEGACY_API_KEY": "k3y-that-must-not-leak"}
    text = (
        (ROOT / "config" / "twilio-over-plivo.yaml")
        .read_text()
        .replace(
            'url: "${PLIVO_API_URL:-demo}"', 'url: "http://user:${LEGACY_API_KEY}@127.0.0.1:9"'
        )
    )
    path = tmp_path / "c.yaml"
    path.write_text(text)
    config = load_config(path, env=env)
    assert "k3y-that-must-not-leak" in config.secrets
    set_secrets(config.secrets)
    out = io.StringIO()
    configure("json", "info", stream=out)
    try:
        get_logger().info("x", url="http://user:k3y-that-must-not-leak@h", authorization="Basic x")
    finally:
        configure("console", "warning")
    line = json.loads(out.getvalue())
    assert line["url"] == "http://user:[secret]@h" and line["authorization"] == "[secret]"
    result = subprocess.run(
        [sys.executable, "-m", "proxy", "check", str(path)],
        capture_output=True,
        text=True,
        env={**env, "PATH": "/usr/bin:/bin"},
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    for secret in ("k3y-that-must-not-leak", TOKEN, PLIVO_TOKEN):
        assert secret not in result.stdout + result.stderr
