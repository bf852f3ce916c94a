"""The generic sidecar: requests pass through unchanged, answers come back in Twilio's style."""

from __future__ import annotations

import asyncio
from typing import Any

import defusedxml.ElementTree as SafeET
import orjson
from aiohttp import web

from proxy.settings import load_config
from tests.conftest import ROOT
from tests.dialect_server import DialectTestServer
from tests.integration.test_upstream_faults import serve


async def sidecar(aiohttp_client: Any, aiohttp_server: Any, seen: list[dict[str, Any]]) -> Any:
    async def legacy(request: web.Request) -> web.Response:
        seen.append(
            {
                "method": request.method,
                "path": request.raw_path,
                "body": await request.read(),
                "ctype": request.headers.get("Content-Type"),
                "auth": request.headers.get("Authorization"),
            }
        )
        if request.path.startswith("/v1/missing"):
            return web.json_response({"api_id": "e1", "error": "not found"}, status=404)
        if request.path.startswith("/v1/bad"):
            return web.json_response(
                {"api_id": "e2", "error": "src parameter is required"}, status=400
            )
        body = {
            "api_id": "a1",
            "message": "message(s) queued",
            "messageUuid": ["u1"],
            "itemCount": 2,
        }
        return web.json_response(body, status=202)

    url = await serve(aiohttp_server, legacy)
    config = load_config(ROOT / "config" / "sidecar-plivo-to-twilio.yaml", env={"LEGACY_URL": url})
    return await aiohttp_client(DialectTestServer(config))


async def test_request_passes_through_unchanged(aiohttp_client: Any, aiohttp_server: Any) -> None:
    seen: list[dict[str, Any]] = []
    client = await sidecar(aiohttp_client, aiohttp_server, seen)
    raw = orjson.dumps({"src": "1415", "dst": "1416<1417"})
    resp = await client.post(
        "/v1/Account/MA1/Message/.json?x=1&y=a%20b",
        data=raw,
        headers={"Content-Type": "application/json", "Authorization": "Basic bGVnYWN5OnB3"},
    )
    assert resp.status == 202, await resp.text()
    assert seen[-1] == {
        "method": "POST",
        "path": "/v1/Account/MA1/Message/?x=1&y=a%20b",
        "body": raw,
        "ctype": "application/json",
        "auth": "Basic bGVnYWN5OnB3",
    }
    body = await resp.json()
    assert body == {"message": "message(s) queued", "message_uuid": ["u1"], "item_count": 2}
    assert resp.headers["X-Upstream-Api-Id"] == "a1"


async def test_errors_are_translated_to_twilio_errors(
    aiohttp_client: Any, aiohttp_server: Any
) -> None:
    client = await sidecar(aiohttp_client, aiohttp_server, [])
    resp = await client.get("/v1/missing/thing.json")
    assert resp.status == 404
    assert await resp.json() == {
        "code": 20404,
        "message": "not found",
        "more_info": "https://www.twilio.com/docs/errors/20404",
        "status": 404,
    }
    resp = await client.get("/v1/bad.xml")
    assert resp.status == 400
    rest = SafeET.fromstring(await resp.read()).find("RestException")
    assert rest.find("Code").text == "20001"
    assert rest.find("Message").text == "src parameter is required"


async def test_format_by_extension_and_no_path_escape(
    aiohttp_client: Any, aiohttp_server: Any
) -> None:
    seen: list[dict[str, Any]] = []
    client = await sidecar(aiohttp_client, aiohttp_server, seen)
    resp = await client.get("/v1/thing.csv")
    assert resp.content_type == "text/csv"
    assert (await resp.text()).splitlines()[0] == "Message,MessageUuid,ItemCount"
    assert seen[-1]["path"] == "/v1/thing"
    for target in ("/v1/%2e%2e/%2e%2e/etc/passwd.json", "/v1/../../etc/passwd"):
        reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
        writer.write(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        raw = await asyncio.wait_for(reader.read(), timeout=5)
        writer.close()
        assert raw.startswith(b"HTTP/1.1 404"), raw[:200]
    assert len(seen) == 1
