"""A misbehaving upstream: the client always gets an error in its own style, and the proxy
keeps serving the next request."""

from __future__ import annotations

import asyncio
import gzip
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from proxy.app import build_app
from proxy.settings import load_config_text
from tests.conftest import ROOT
from tests.integration.conftest import AUTH, SID, facade_env

MESSAGE = f"/2010-04-01/Accounts/{SID}/Messages/SM{'1' * 32}.json"
RECORD = {
    "api_id": "a1",
    "message_uuid": "11111111-1111-1111-1111-111111111111",
    "from_number": "14155550100",
    "to_number": "14155550111",
    "message_direction": "outbound",
    "message_state": "delivered",
    "message_type": "sms",
    "message_time": "2025-05-01 17:30:00+05:30",
    "units": 1,
    "total_amount": "0.00350",
    "error_code": "000",
}

Client = TestClient[Any, Any]


async def proxy_for(
    aiohttp_client: Callable[..., Awaitable[Client]], url: str, total: float = 10
) -> Client:
    text = (ROOT / "config" / "twilio-over-plivo.yaml").read_text()
    text = text.replace(
        "timeout: {connect: 2, total: 10}", f"timeout: {{connect: 1, total: {total}}}"
    )
    config = load_config_text(text, env=facade_env(url))
    return await aiohttp_client(build_app(config, configure_logging=False))


async def serve(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> str:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


async def expect_error(client: Client, status: int, code: int) -> dict[str, Any]:
    resp = await client.get(MESSAGE, headers=AUTH)
    assert resp.status == status, await resp.text()
    body: dict[str, Any] = await resp.json()
    assert set(body) == {"code", "message", "more_info", "status"}
    assert body["code"] == code and body["status"] == status
    assert "Traceback" not in body["message"]
    assert resp.headers["X-Request-Id"]
    return body


@pytest.fixture
def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


async def test_connection_refused_is_502(aiohttp_client: Any, closed_port: int) -> None:
    client = await proxy_for(aiohttp_client, f"http://127.0.0.1:{closed_port}")
    body = await expect_error(client, 502, 20500)
    assert body["message"] == "The upstream service could not be reached."
    await expect_error(client, 502, 20500)  # and again: the proxy still serves


async def test_upstream_that_never_answers_is_504(aiohttp_client: Any, aiohttp_server: Any) -> None:
    release = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response()

    client = await proxy_for(aiohttp_client, await serve(aiohttp_server, hang), total=0.3)
    await expect_error(client, 504, 20500)
    release.set()


async def test_non_json_success_body_is_502(aiohttp_client: Any, aiohttp_server: Any) -> None:
    async def html(request: web.Request) -> web.Response:
        return web.Response(text="<html>ok</html>", content_type="text/html")

    client = await proxy_for(aiohttp_client, await serve(aiohttp_server, html))
    await expect_error(client, 502, 20500)


async def test_truncated_json_is_502(aiohttp_client: Any, aiohttp_server: Any) -> None:
    async def truncated(request: web.Request) -> web.Response:
        return web.Response(body=b'{"api_id": "x", "message_uu', content_type="application/json")

    client = await proxy_for(aiohttp_client, await serve(aiohttp_server, truncated))
    await expect_error(client, 502, 20500)


async def test_html_error_page_keeps_the_status_with_a_generic_message(
    aiohttp_client: Any, aiohttp_server: Any
) -> None:
    async def broken(request: web.Request) -> web.Response:
        return web.Response(
            status=500, text="<h1>Internal Server Error</h1>", content_type="text/html"
        )

    client = await proxy_for(aiohttp_client, await serve(aiohttp_server, broken))
    body = await expect_error(client, 500, 20500)
    assert "<h1>" not in body["message"]


async def test_gzip_encoded_body_is_decoded(aiohttp_client: Any, aiohttp_server: Any) -> None:
    async def zipped(request: web.Request) -> web.Response:
        resp = web.Response(
            body=gzip.compress(orjson.dumps(RECORD)), content_type="application/json"
        )
        resp.headers["Content-Encoding"] = "gzip"
        return resp

    client = await proxy_for(aiohttp_client, await serve(aiohttp_server, zipped))
    resp = await client.get(MESSAGE, headers=AUTH)
    assert resp.status == 200, await resp.text()
    assert "Content-Encoding" not in resp.headers or resp.headers["Content-Encoding"] != "gzip"
    body = await resp.json()
    assert body["date_created"] == "Thu, 01 May 2025 12:00:00 +0000"


async def test_body_over_the_limit_is_502(aiohttp_client: Any, aiohttp_server: Any) -> None:
    async def huge(request: web.Request) -> web.Response:
        return web.Response(
            body=b'{"pad": "' + b"x" * (11 * 1024 * 1024) + b'"}', content_type="application/json"
        )

    client = await proxy_for(aiohttp_client, await serve(aiohttp_server, huge))
    await expect_error(client, 502, 20500)


@pytest.fixture
async def reset_server() -> AsyncIterator[str]:
    """Answers with a Content-Length it never fulfils, then closes the connection."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b'Content-Length: 500\r\n\r\n{"api_id"'
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.close()
    await server.wait_closed()


async def test_reset_mid_body_is_502(aiohttp_client: Any, reset_server: str) -> None:
    client = await proxy_for(aiohttp_client, reset_server)
    await expect_error(client, 502, 20500)
    await expect_error(client, 502, 20500)


async def test_accepted_send_with_only_invalid_numbers_is_21211(
    aiohttp_client: Any, aiohttp_server: Any
) -> None:
    async def refused(request: web.Request) -> web.Response:
        body = {
            "api_id": "x",
            "message": "message(s) queued",
            "message_uuid": [],
            "invalid_number": ["14155550111"],
        }
        return web.Response(status=202, body=orjson.dumps(body), content_type="application/json")

    client = await proxy_for(aiohttp_client, await serve(aiohttp_server, refused))
    resp = await client.post(
        f"/2010-04-01/Accounts/{SID}/Messages.json",
        data={"To": "+14155550111", "From": "+14155550100", "Body": "x"},
        headers=AUTH,
    )
    assert resp.status == 400
    body = await resp.json()
    assert body["code"] == 21211 and "+14155550111" in body["message"]
