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
import structlog
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from proxy.http.server import CONNECTION_TASK
from proxy.settings import load_config_text
from tests.conftest import ROOT
from tests.dialect_server import DialectTestServer
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
    aiohttp_client: Callable[..., Awaitable[Client]],
    url: str,
    total: float = 10,
    upstream_extra: str = "",
) -> Client:
    text = (ROOT / "config" / "twilio-over-plivo.yaml").read_text()
    text = text.replace(
        "timeout: {connect: 2, total: 10}",
        f"timeout: {{connect: 1, total: {total}}}"
        + (f"\n    {upstream_extra}" if upstream_extra else ""),
    )
    config = load_config_text(text, env=facade_env(url))
    return await aiohttp_client(DialectTestServer(config))


async def serve(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> str:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


async def expect_error(client: Client, status: int, code: int) -> dict[str, Any]:
    with structlog.testing.capture_logs() as logs:
        resp = await client.get(MESSAGE, headers=AUTH)
    # One log line names the request and says what happened upstream.
    (line,) = [e for e in logs if e["event"] == "request"]
    assert line["request_id"] == resp.headers["X-Request-Id"]
    assert line["status"] == status and line["error"]
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


async def test_idempotent_reads_are_retried_where_configured_and_posts_never(
    aiohttp_client: Any, aiohttp_server: Any
) -> None:
    seen: list[str] = []

    async def flaky(request: web.Request) -> web.Response:
        seen.append(request.method)
        if len(seen) % 2 == 1:
            return web.Response(status=503, text="busy")
        if request.method == "POST":
            body = {
                "api_id": "a",
                "message": "message(s) queued",
                "message_uuid": [RECORD["message_uuid"]],
            }
            return web.Response(
                status=202, body=orjson.dumps(body), content_type="application/json"
            )
        return web.Response(body=orjson.dumps(RECORD), content_type="application/json")

    client = await proxy_for(
        aiohttp_client,
        await serve(aiohttp_server, flaky),
        upstream_extra="retries: {attempts: 3, backoff: 0.01}",
    )
    resp = await client.get(MESSAGE, headers=AUTH)
    assert resp.status == 200 and seen == ["GET", "GET"]
    seen.clear()
    resp = await client.post(
        f"/2010-04-01/Accounts/{SID}/Messages.json",
        data={"To": "+14155550111", "From": "+14155550100", "Body": "x"},
        headers=AUTH,
    )
    assert resp.status == 503 and seen == ["POST"]


async def test_faults_leak_no_connections(aiohttp_client: Any, aiohttp_server: Any) -> None:
    """With a pool of two connections, twenty failed exchanges must leave the pool usable."""
    calls = {"n": 0}

    async def mixed(request: web.Request) -> web.StreamResponse:
        calls["n"] += 1
        if calls["n"] <= 20:
            kind = calls["n"] % 3
            if kind == 0:
                return web.Response(status=500, text="<h1>oops</h1>", content_type="text/html")
            if kind == 1:
                return web.Response(body=b"{not json", content_type="application/json")
            resp = web.StreamResponse(headers={"Content-Type": "application/json"})
            resp.content_length = 1000
            await resp.prepare(request)
            await resp.write(b'{"api_id"')
            request.transport.close() if request.transport else None
            return resp
        return web.Response(body=orjson.dumps(RECORD), content_type="application/json")

    client = await proxy_for(
        aiohttp_client,
        await serve(aiohttp_server, mixed),
        total=2,
        upstream_extra="max_connections: 2",
    )

    def work_tasks() -> int:
        # Server-side connection tasks come and go with keep-alive connections (aiohttp's for
        # the fake upstream, Dialect's own for the client); count everything else.
        return sum(
            "RequestHandler.start" not in repr(t.get_coro()) and t.get_name() != CONNECTION_TASK
            for t in asyncio.all_tasks()
        )

    tasks_before = work_tasks()
    for _ in range(20):
        assert (await client.get(MESSAGE, headers=AUTH)).status in (500, 502)
    # Had any failed exchange kept its connection, the two-connection pool would now block
    # and this request would time out instead.
    resp = await client.get(MESSAGE, headers=AUTH)
    assert resp.status == 200
    await asyncio.sleep(0.05)
    assert work_tasks() <= tasks_before


async def test_slow_byte_by_byte_body_is_read_whole(
    aiohttp_client: Any, aiohttp_server: Any
) -> None:
    async def trickle(request: web.Request) -> web.StreamResponse:
        data = orjson.dumps(RECORD)
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.content_length = len(data)
        await resp.prepare(request)
        for i in range(0, len(data), 40):
            await resp.write(data[i : i + 40])
            await asyncio.sleep(0.01)
        return resp

    client = await proxy_for(aiohttp_client, await serve(aiohttp_server, trickle))
    resp = await client.get(MESSAGE, headers=AUTH)
    assert resp.status == 200
    assert (await resp.json())["sid"] == "SM" + "1" * 32


async def test_trickle_past_the_timeout_is_504(aiohttp_client: Any, aiohttp_server: Any) -> None:
    async def trickle(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.content_length = 100
        await resp.prepare(request)
        for _ in range(100):
            await resp.write(b" ")
            await asyncio.sleep(0.05)
        return resp

    client = await proxy_for(aiohttp_client, await serve(aiohttp_server, trickle), total=0.5)
    await expect_error(client, 504, 20500)


async def test_deflate_encoded_body_is_decoded(aiohttp_client: Any, aiohttp_server: Any) -> None:
    import zlib

    async def deflated(request: web.Request) -> web.Response:
        resp = web.Response(
            body=zlib.compress(orjson.dumps(RECORD)), content_type="application/json"
        )
        resp.headers["Content-Encoding"] = "deflate"
        return resp

    client = await proxy_for(aiohttp_client, await serve(aiohttp_server, deflated))
    resp = await client.get(MESSAGE, headers=AUTH)
    assert resp.status == 200
    assert (await resp.json())["to"] == "+14155550111"


async def raw_exchange(client: Client, head: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(head)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), timeout=5)
    writer.close()
    return data


async def test_connect_and_crlf_headers_are_refused(
    aiohttp_client: Any, aiohttp_server: Any
) -> None:
    seen: list[str] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.Response(body=orjson.dumps(RECORD), content_type="application/json")

    client = await proxy_for(aiohttp_client, await serve(aiohttp_server, record))
    connect = await raw_exchange(
        client,
        b"CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\nConnection: close\r\n\r\n",
    )
    assert connect.split(b"\r\n", 1)[0].split(b" ")[1][:1] == b"4", connect[:100]
    crlf = await raw_exchange(
        client,
        f"GET {MESSAGE} HTTP/1.1\r\nHost: x\r\nX-Evil: a\rInjected: b\r\nConnection: close\r\n\r\n".encode(),
    )
    assert crlf.split(b"\r\n", 1)[0].split(b" ")[1] == b"400", crlf[:100]
    assert seen == []
    assert (await client.get(MESSAGE, headers=AUTH)).status == 200
