"""The upstream HTTP client against raw TCP servers that misbehave on purpose.

Each server is a few lines of asyncio on 127.0.0.1 that answers exactly the bytes a test
needs, so keep-alive, framing and failure handling are checked byte for byte.
"""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from proxy.http import budget
from proxy.http import client as http_client
from proxy.http.client import Pool

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


class Origin:
    """A TCP server; ``connections`` counts accepted connections, ``requests`` their heads."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.active = 0
        self.peak = 0
        self.requests: list[bytes] = []
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await self.handler(reader, writer, self.connections)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.active -= 1
            writer.close()

    async def read_request(self, reader: asyncio.StreamReader) -> bytes:
        head = await reader.readuntil(b"\r\n\r\n")
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                head += await reader.readexactly(int(line.split(b":")[1]))
        self.requests.append(head)
        return head


@asynccontextmanager
async def origin(handler: Handler) -> AsyncIterator[Origin]:
    o = Origin(handler)
    server = await asyncio.start_server(o._serve, "127.0.0.1", 0)
    o.port = server.sockets[0].getsockname()[1]
    try:
        yield o
    finally:
        server.close()


def ok(body: bytes = b'{"ok":true}', extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"{extra}\r\n"
    ).encode() + body


def keep_answering(answer: bytes) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        while True:
            await ORIGIN[0].read_request(reader)
            writer.write(answer)
            await writer.drain()

    return handler


ORIGIN: list[Origin] = []


@asynccontextmanager
async def serving(handler: Handler, **pool_args: Any) -> AsyncIterator[tuple[Origin, Pool]]:
    async with origin(handler) as o:
        ORIGIN[:] = [o]
        pool = Pool(f"http://127.0.0.1:{o.port}", **pool_args)
        try:
            yield o, pool
        finally:
            await pool.close()


async def test_keep_alive_reuses_one_connection() -> None:
    async with serving(keep_answering(ok())) as (o, pool):
        for _ in range(3):
            response = await pool.request("GET", "/v1/x")
            assert response.status == 200 and response.body == b'{"ok":true}'
            assert response.headers["content-type"] == "application/json"
        assert o.connections == 1
        assert pool.idle_connections == 1


async def test_connection_close_is_honoured() -> None:
    async with serving(keep_answering(ok(extra="Connection: close\r\n"))) as (o, pool):
        assert (await pool.request("GET", "/a")).status == 200
        assert (await pool.request("GET", "/a")).status == 200
        assert o.connections == 2
        assert pool.open_connections == 0


async def test_chunked_body_is_reassembled_and_the_connection_reused() -> None:
    answer = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'5\r\n{"a":\r\n4\r\n1234\r\n1\r\n}\r\n0\r\n\r\n'
    )
    async with serving(keep_answering(answer)) as (o, pool):
        assert (await pool.request("GET", "/")).body == b'{"a":1234}'
        assert (await pool.request("GET", "/")).body == b'{"a":1234}'
        assert o.connections == 1


async def test_body_delimited_by_close() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await ORIGIN[0].read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello, ")
        await writer.drain()
        await asyncio.sleep(0.01)
        writer.write(b"world")
        await writer.drain()

    async with serving(handler) as (_, pool):
        response = await pool.request("GET", "/")
        assert response.body == b"hello, world"
        assert pool.open_connections == 0


@pytest.mark.parametrize(
    ("encoding", "packed"),
    [
        ("gzip", gzip.compress(b'{"x":"' + b"y" * 5000 + b'"}')),
        ("deflate", zlib.compress(b'{"x":"' + b"y" * 5000 + b'"}')),
        ("deflate", zlib.compress(b'{"x":"' + b"y" * 5000 + b'"}')[2:-4]),  # raw deflate
    ],
)
async def test_compressed_bodies_are_decoded(encoding: str, packed: bytes) -> None:
    answer = ok(packed, extra=f"Content-Encoding: {encoding}\r\n")
    async with serving(keep_answering(answer)) as (o, pool):
        response = await pool.request("GET", "/")
        assert response.body == b'{"x":"' + b"y" * 5000 + b'"}'
        assert b"accept-encoding: gzip, deflate" in o.requests[0].lower()


async def test_a_decompression_bomb_stops_at_the_limit() -> None:
    answer = ok(gzip.compress(b"0" * 5_000_000), extra="Content-Encoding: gzip\r\n")
    async with serving(keep_answering(answer)) as (_, pool):
        with pytest.raises(http_client.BodyTooLarge):
            await pool.request("GET", "/", max_body=100_000)


async def test_declared_length_over_the_limit_is_refused_unread() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await ORIGIN[0].read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(5)

    async with serving(handler) as (_, pool):
        with pytest.raises(http_client.BodyTooLarge, match="999999999"):
            await pool.request("GET", "/", max_body=1000, budget=3)
        assert pool.open_connections == 0


async def test_chunked_body_over_the_limit_is_refused() -> None:
    chunk = b"x" * 600
    answer = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + (b"258\r\n" + chunk + b"\r\n") * 3
        + b"0\r\n\r\n"
    )
    async with serving(keep_answering(answer)) as (_, pool):
        with pytest.raises(http_client.BodyTooLarge):
            await pool.request("GET", "/", max_body=1000)


async def test_refused_connection() -> None:
    async with origin(keep_answering(ok())) as o:
        port = o.port
    pool = Pool(f"http://127.0.0.1:{port}")
    with pytest.raises(http_client.ConnectFailed, match="ConnectionRefused"):
        await pool.request("GET", "/")
    assert pool.open_connections == 0
    await pool.close()


async def test_connect_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    pool = Pool("http://127.0.0.1:9", connect_timeout=0.05)

    async def never(*_: Any, **__: Any) -> Any:
        await asyncio.sleep(10)

    monkeypatch.setattr(pool.loop, "create_connection", never)
    with pytest.raises(http_client.ConnectTimeout):
        await pool.request("GET", "/")
    assert pool.open_connections == 0


async def test_response_timeout_closes_the_connection() -> None:
    closed = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await ORIGIN[0].read_request(reader)
        await reader.read()  # until the client gives up and closes
        closed.set()

    async with serving(handler) as (_, pool):
        with pytest.raises(http_client.ResponseTimeout):
            await pool.request("GET", "/", budget=0.1)
        await asyncio.wait_for(closed.wait(), 2)
        assert pool.open_connections == 0


async def test_trickling_body_past_the_deadline_times_out() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await ORIGIN[0].read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        for _ in range(100):
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.02)

    async with serving(handler) as (_, pool):
        with pytest.raises(http_client.ResponseTimeout):
            await pool.request("GET", "/", budget=0.2)


@pytest.mark.parametrize("how", ["truncated", "reset"])
async def test_connection_ending_inside_the_body(how: str) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await ORIGIN[0].read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
        await writer.drain()
        if how == "reset":
            writer.transport.abort()

    async with serving(handler) as (_, pool):
        with pytest.raises(http_client.IncompleteBody):
            await pool.request("GET", "/")
        assert pool.open_connections == 0


async def test_not_http_is_malformed() -> None:
    async with serving(keep_answering(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")) as (_, pool):
        with pytest.raises(http_client.MalformedResponse):
            await pool.request("GET", "/")


async def test_pool_limit_queues_requests_and_serves_them_all() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        while True:
            await ORIGIN[0].read_request(reader)
            await asyncio.sleep(0.02)
            writer.write(ok())
            await writer.drain()

    async with serving(handler, limit=2) as (o, pool):
        results = await asyncio.gather(*(pool.request("GET", f"/{i}") for i in range(8)))
        assert [r.status for r in results] == [200] * 8
        assert o.peak <= 2 and o.connections == 2
        assert pool.open_connections == 2


async def test_waiting_for_a_free_connection_is_bounded_by_the_deadline() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await ORIGIN[0].read_request(reader)
        await asyncio.sleep(0.5)
        writer.write(ok())
        await writer.drain()

    async with serving(handler, limit=1) as (_, pool):
        slow = asyncio.ensure_future(pool.request("GET", "/slow"))
        await asyncio.sleep(0.05)
        with pytest.raises(http_client.ResponseTimeout):
            await pool.request("GET", "/queued", budget=0.1)
        assert (await slow).status == 200


async def test_cancelled_request_frees_its_connection() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while True:
            await ORIGIN[0].read_request(reader)
            if n == 1:
                await asyncio.sleep(10)
            writer.write(ok())
            await writer.drain()

    async with serving(handler, limit=1) as (o, pool):
        task = asyncio.ensure_future(pool.request("GET", "/"))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The cancelled answer may still come on that connection: it is never reused.
        assert (await pool.request("GET", "/", budget=2)).status == 200
        assert o.connections == 2


def close_after_first(answer: bytes) -> Handler:
    """Answers the first request of a connection, then reads the next and hangs up."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await ORIGIN[0].read_request(reader)
        writer.write(answer)
        await writer.drain()
        await ORIGIN[0].read_request(reader)
        writer.transport.abort()

    return handler


async def test_a_stale_pooled_connection_is_retried_for_a_get() -> None:
    async with serving(close_after_first(ok())) as (o, pool):
        assert (await pool.request("GET", "/1")).status == 200
        assert (await pool.request("GET", "/2")).status == 200
        assert o.connections == 2
        assert [r.split(b" ")[1] for r in o.requests] == [b"/1", b"/2", b"/2"]


async def test_a_stale_pooled_connection_never_repeats_a_post() -> None:
    async with serving(close_after_first(ok())) as (o, pool):
        assert (await pool.request("POST", "/1", body=b"{}")).status == 200
        with pytest.raises(http_client.Disconnected):
            await pool.request("POST", "/2", body=b'{"to":"1"}')
        assert [r.split(b" ")[1] for r in o.requests] == [b"/1", b"/2"]


async def test_idle_connections_expire_before_the_servers_timer() -> None:
    async with serving(keep_answering(ok()), idle_timeout=0.05) as (o, pool):
        assert (await pool.request("POST", "/", body=b"{}")).status == 200
        await asyncio.sleep(0.1)
        assert (await pool.request("POST", "/", body=b"{}")).status == 200
        assert o.connections == 2


async def test_bytes_beyond_the_declared_length_spoil_the_connection() -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}garbage"
    async with serving(keep_answering(answer)) as (o, pool):
        assert (await pool.request("GET", "/")).body == b"{}"
        assert (await pool.request("GET", "/")).body == b"{}"
        assert o.connections == 2


async def test_interim_100_continue_and_empty_204() -> None:
    answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n"
    async with serving(keep_answering(answer)) as (o, pool):
        response = await pool.request("DELETE", "/")
        assert (response.status, response.body, response.headers["X-A"]) == (204, b"", "1")
        assert (await pool.request("DELETE", "/")).status == 204
        assert o.connections == 1


async def test_request_line_headers_and_body_on_the_wire() -> None:
    async with origin(keep_answering(ok())) as o:
        ORIGIN[:] = [o]
        pool = Pool(f"http://127.0.0.1:{o.port}/base/")
        await pool.request(
            "POST",
            "/Message/a b",
            query=[("to", "+1 555"), ("x", "1")],
            raw_query="raw=%2B1",
            headers=[("X-Request-Id", "r1"), ("Content-Length", "99"), ("Host", "evil")],
            body=b'{"a":1}',
        )
        await pool.close()
    head = o.requests[0].decode()
    assert head.startswith("POST /base/Message/a%20b?to=%2B1+555&x=1&raw=%2B1 HTTP/1.1\r\n")
    assert f"Host: 127.0.0.1:{o.port}\r\n" in head
    assert "Content-Length: 7\r\n" in head and "evil" not in head
    assert "Content-Length: 99" not in head and head.count("Host:") == 1
    assert head.endswith('\r\n\r\n{"a":1}')


async def test_line_breaks_in_a_header_are_refused() -> None:
    async with serving(keep_answering(ok())) as (o, pool):
        with pytest.raises(ValueError, match="line break"):
            await pool.request("GET", "/", headers=[("X-A", "1\r\nX-Injected: 1")])
        assert o.requests == []


async def test_headers_beyond_the_limit_are_malformed() -> None:
    many = "".join(f"X-H{i}: {'v' * 400}\r\n" for i in range(300))
    answer = f"HTTP/1.1 200 OK\r\n{many}Content-Length: 0\r\n\r\n".encode()
    async with serving(keep_answering(answer)) as (_, pool):
        with pytest.raises(http_client.MalformedResponse, match="limits"):
            await pool.request("GET", "/")


async def test_credentials_in_the_url_are_basic_auth_unless_the_request_has_its_own() -> None:
    async with origin(keep_answering(ok())) as o:
        ORIGIN[:] = [o]
        pool = Pool(f"http://legacy:k%40y@127.0.0.1:{o.port}")
        await pool.request("GET", "/")
        await pool.request("GET", "/", headers=[("Authorization", "Bearer t")])
        await pool.close()
    assert "Authorization: Basic bGVnYWN5OmtAeQ==\r\n" in o.requests[0].decode()
    assert "Authorization: Bearer t\r\n" in o.requests[1].decode()
    assert "Basic" not in o.requests[1].decode()


@pytest.mark.parametrize("bad", ["a\rb", "a\nb", "a\0b"])
async def test_any_cr_lf_or_nul_in_a_header_name_or_value_is_refused(bad: str) -> None:
    async with serving(keep_answering(ok())) as (o, pool):
        for header in [("X-A", bad), (bad, "v")]:
            with pytest.raises(ValueError, match="line break"):
                await pool.request("GET", "/", headers=[("X-Ok", "1"), header])
        assert o.requests == []


# -- HEAD ------------------------------------------------------------------------------------


async def test_head_is_sent_as_head_and_its_answer_ends_with_its_headers() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        while True:
            head = await ORIGIN[0].read_request(reader)
            if head.startswith(b"HEAD "):
                # The length of the body a GET would get, and no body.
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nX-H: 1\r\n\r\n")
            else:
                writer.write(ok())
            await writer.drain()

    async with serving(handler) as (o, pool):
        response = await pool.request("HEAD", "/v1/x")
        assert (response.status, response.body, response.headers["X-H"]) == (200, b"", "1")
        assert (await pool.request("GET", "/v1/x")).body == b'{"ok":true}'
        assert (await pool.request("HEAD", "/v1/x")).status == 200
        assert o.connections == 1  # the next answer was parsed from its start each time
        assert [r.split(b" ")[0] for r in o.requests] == [b"HEAD", b"GET", b"HEAD"]


async def test_a_body_after_the_answer_to_head_spoils_the_connection() -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
    async with serving(keep_answering(answer)) as (o, pool):
        assert (await pool.request("HEAD", "/")).body == b""
        await asyncio.sleep(0.05)  # the stray body arrives on the idle connection
        assert (await pool.request("HEAD", "/")).body == b""
        assert o.connections == 2


# -- the budget of answer bytes --------------------------------------------------------------


@pytest.fixture
def spent() -> Iterator[budget.Budget]:
    """The process-wide budget with 1 MiB allowed and 900 KiB of it already held."""
    held = budget.ANSWER_BYTES
    saved = held.limit, held.used, held.refused
    held.limit, held.used, held.refused = 1 << 20, 900 << 10, 0
    yield held
    held.limit, held.used, held.refused = saved


async def test_a_declared_body_past_the_budget_is_refused_unread(spent: budget.Budget) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await ORIGIN[0].read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 500000\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(5)  # the body never comes: the client must not wait for it

    async with serving(handler) as (_, pool):
        with pytest.raises(http_client.Overloaded):
            await pool.request("GET", "/", budget=3)
        assert pool.open_connections == 0
        assert spent.used == 900 << 10 and spent.refused == 1


async def test_a_chunked_body_past_the_budget_is_refused(spent: budget.Budget) -> None:
    chunk = b"x" * 0x10000
    answer = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + (b"10000\r\n" + chunk + b"\r\n") * 4
        + b"0\r\n\r\n"
    )
    async with serving(keep_answering(answer)) as (_, pool):
        with pytest.raises(http_client.Overloaded):
            await pool.request("GET", "/")
        assert spent.used == 900 << 10


async def test_small_bodies_pass_a_spent_budget_and_large_ones_are_released(
    spent: budget.Budget,
) -> None:
    small = b"s" * 60_000
    async with serving(keep_answering(ok(small))) as (_, pool):
        assert (await pool.request("GET", "/")).body == small
        assert spent.used == 900 << 10  # taken while it arrived, given back once handed over
    spent.used = 0
    large = b"l" * 300_000
    async with serving(keep_answering(ok(large))) as (_, pool):
        assert (await pool.request("GET", "/")).body == large
        assert spent.used == 0
