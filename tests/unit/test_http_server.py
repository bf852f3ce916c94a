"""The listening HTTP/1.1 server, over real sockets on 127.0.0.1.

Most tests speak raw bytes through ``asyncio.open_connection`` so that framing, the order of
answers and the moment a connection closes are checked exactly; a few use ``requests`` and
aiohttp's client as a real client would. Every wait is bounded by ``WAIT`` seconds.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import pytest
import requests
from multidict import CIMultiDict
from structlog.testing import capture_logs

from proxy.engine.errors import ProxyError
from proxy.http import budget
from proxy.http.messages import Request, Response
from proxy.http.server import HTTPServer
from proxy.settings.models import Limits

WAIT = 5.0
LIMITS = Limits(max_body_bytes=4096, max_url_bytes=256, max_headers=8, max_header_bytes=1024)
IMF_FIXDATE = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d\d:\d\d:\d\d GMT"
)

HandlerFn = Callable[[Request], Awaitable[Response]]


@dataclass
class Served:
    server: HTTPServer
    port: int
    seen: list[Request] = field(default_factory=list)
    refused: list[tuple[str | None, ProxyError]] = field(default_factory=list)


async def echo(request: Request) -> Response:
    """The body back, with what the server parsed in headers."""
    return Response(
        200,
        request.body,
        headers={"X-Method": request.method, "X-Target": request.target},
    )


@asynccontextmanager
async def serve(
    handler: HandlerFn = echo,
    *,
    limits: Limits = LIMITS,
    reject: Callable[[str | None, ProxyError], Response] | None = None,
    **options: float,
) -> AsyncIterator[Served]:
    served: Served

    async def recording(request: Request) -> Response:
        served.seen.append(request)
        return await handler(request)

    def rendering(target: str | None, error: ProxyError) -> Response:
        served.refused.append((target, error))
        body = {"status": error.status, "message": error.message, "target": target}
        return Response(error.status, json.dumps(body).encode(), content_type="application/json")

    server = HTTPServer(recording, reject=reject or rendering, limits=limits, **options)
    [(host, port)] = await server.start("127.0.0.1", 0)
    assert host == "127.0.0.1"
    served = Served(server, port)
    try:
        yield served
    finally:
        await server.shutdown(1.0)


@dataclass
class Answer:
    status: int
    reason: str
    headers: CIMultiDict[str]
    body: bytes
    head: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), WAIT)


async def read_answer(reader: asyncio.StreamReader, *, head: bool = False) -> Answer:
    """One response: its head, and a body of exactly Content-Length bytes (none for HEAD)."""
    raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    lines = raw.decode("latin-1").split("\r\n")[:-2]
    version, status, reason = lines[0].split(" ", 2)
    assert version == "HTTP/1.1"
    headers: CIMultiDict[str] = CIMultiDict()
    for line in lines[1:]:
        name, _, value = line.partition(": ")
        headers.add(name, value)
    length = int(headers.get("Content-Length", "0"))
    body = b"" if head else await asyncio.wait_for(reader.readexactly(length), WAIT)
    return Answer(int(status), reason, headers, body, raw)


async def closed(reader: asyncio.StreamReader) -> bool:
    """True when the server ends the connection with nothing more to say."""
    try:
        rest = await asyncio.wait_for(reader.read(), WAIT)
    except ConnectionResetError:
        return True
    assert rest == b"", rest[:200]
    return True


async def exchange(port: int, data: bytes) -> tuple[Answer, bool]:
    """Send ``data`` on a new connection; one answer, and whether the server closed after it."""
    reader, writer = await connect(port)
    try:
        writer.write(data)
        answer = await read_answer(reader)
        return answer, await closed(reader)
    finally:
        writer.close()


async def settle(probe: Callable[[], int], *, quiet: float = 0.3) -> int:
    """Wait until ``probe()`` stops changing for ``quiet`` seconds (at most WAIT); its value."""
    loop = asyncio.get_running_loop()
    end = loop.time() + WAIT
    last, since = probe(), loop.time()
    while loop.time() < end:
        await asyncio.sleep(0.05)
        value = probe()
        if value != last:
            last, since = value, loop.time()
        elif loop.time() - since >= quiet:
            break
    return last


async def eventually(probe: Callable[[], bool]) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + WAIT
    while not probe():
        assert loop.time() < end, "condition not reached in time"
        await asyncio.sleep(0.02)


def get(target: str = "/", extra: str = "", version: str = "1.1") -> bytes:
    return f"GET {target} HTTP/{version}\r\nHost: t\r\n{extra}\r\n".encode("latin-1")


# -- listening and keep-alive ---------------------------------------------------------------


async def test_start_returns_the_bound_address() -> None:
    server = HTTPServer(echo, reject=lambda t, e: Response(e.status), limits=LIMITS)
    try:
        bound = await server.start("127.0.0.1", 0)
        assert bound == server.addresses
        assert bound[0][0] == "127.0.0.1" and bound[0][1] > 0
        answer, _ = await exchange(bound[0][1], get("/ping", "Connection: close\r\n"))
        assert answer.status == 200
    finally:
        await server.shutdown(1.0)


async def test_keep_alive_and_the_request_as_received() -> None:
    async with serve() as s:
        reader, writer = await connect(s.port)
        writer.write(
            b"POST /a%20b/c?x=1&y=%2F HTTP/1.1\r\nHost: t\r\nX-Rep: 1\r\nx-rep: 2\r\n"
            b"X-Latin: caf\xe9\r\nX-Pad:   padded  \r\nContent-Length: 3\r\n\r\nabc"
        )
        first = await read_answer(reader)
        writer.write(get("/second"))
        second = await read_answer(reader)
        assert (first.status, first.body, second.status) == (200, b"abc", 200)
        assert "Connection" not in first.headers  # HTTP/1.1: kept open without saying so
        assert s.server.connections == 1
        request = s.seen[0]
        assert (request.method, request.target) == ("POST", "/a%20b/c?x=1&y=%2F")
        assert request.headers.getall("X-REP") == ["1", "2"]
        assert [k for k, _ in request.headers.items() if k.lower() == "x-rep"] == ["X-Rep", "x-rep"]
        assert request.headers["X-Latin"] == "caf\xe9"
        assert request.headers["X-Pad"] == "padded"
        assert (request.remote, request.scheme, request.body) == ("127.0.0.1", "http", b"abc")
        assert s.seen[1].target == "/second"
        writer.close()


@pytest.mark.parametrize(
    ("extra", "kept"), [("", False), ("Connection: keep-alive\r\n", True)], ids=["plain", "ka"]
)
async def test_http10_closes_unless_asked_to_keep_alive(extra: str, kept: bool) -> None:
    async with serve() as s:
        reader, writer = await connect(s.port)
        writer.write(get("/old", extra, version="1.0"))
        answer = await read_answer(reader)
        assert answer.status == 200
        if kept:
            assert answer.headers["Connection"] == "keep-alive"
            writer.write(get("/again", extra, version="1.0"))
            assert (await read_answer(reader)).status == 200
        else:
            assert answer.headers["Connection"] == "close"
            assert await closed(reader)
        writer.close()


async def test_connection_close_is_honoured() -> None:
    async with serve() as s:
        answer, was_closed = await exchange(s.port, get("/", "Connection: close\r\n"))
        assert answer.status == 200
        assert answer.headers["Connection"] == "close"
        assert was_closed
        await eventually(lambda: s.server.connections == 0)


async def test_requests_pipelined_after_connection_close_are_not_answered() -> None:
    async with serve() as s:
        answer, was_closed = await exchange(
            s.port, get("/1", "Connection: close\r\n") + get("/2") + get("/3")
        )
        assert answer.headers["X-Target"] == "/1" and was_closed
        assert [r.target for r in s.seen] == ["/1"]


# -- pipelining and flow control ------------------------------------------------------------


async def test_pipelined_requests_answered_in_order_one_at_a_time() -> None:
    active = peak = 0

    async def slow(request: Request) -> Response:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        # Earlier requests take longer: answers in order prove the server waits for each.
        await asyncio.sleep(0.002 * (20 - int(request.target[1:])))
        active -= 1
        return await echo(request)

    async with serve(slow) as s:
        reader, writer = await connect(s.port)
        writer.write(b"".join(get(f"/{i}") for i in range(20)) + b"NOT HTTP\r\n\r\n")
        targets = [(await read_answer(reader)).headers["X-Target"] for _ in range(20)]
        assert targets == [f"/{i}" for i in range(20)]
        assert peak == 1
        # The malformed request after them is refused after their answers, then it closes.
        refusal = await read_answer(reader)
        assert refusal.status == 400 and refusal.headers["Connection"] == "close"
        assert await closed(reader)
        writer.close()


async def test_a_long_pipeline_is_parsed_a_little_at_a_time() -> None:
    release = asyncio.Event()

    async def held(request: Request) -> Response:
        await release.wait()
        return await echo(request)

    def parsed_waiting() -> int:
        # Requests parsed but not yet handled: what a pipelining client makes the server hold.
        return sum(len(c.queue) for c in s.server.registry.open)

    async with serve(held) as s:
        reader, writer = await connect(s.port)
        count = 3000  # about 90 KiB in one write, all arriving while the first one is held
        writer.write(b"".join(get(f"/{i}") for i in range(count)))
        await eventually(lambda: len(s.seen) == 1)
        assert 0 < await settle(parsed_waiting) < 400  # a slice's worth, not 3000
        release.set()
        for i in range(count):
            assert (await read_answer(reader)).headers["X-Target"] == f"/{i}"
        writer.close()


async def test_100_continue_waits_for_the_answers_owed_before_it() -> None:
    async def handler(request: Request) -> Response:
        if request.target == "/slow":
            await asyncio.sleep(0.1)
        return await echo(request)

    async with serve(handler) as s:
        reader, writer = await connect(s.port)
        writer.write(
            get("/slow")
            + b"POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
        )
        assert (await read_answer(reader)).headers["X-Target"] == "/slow"
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(b"ok")
        assert (await read_answer(reader)).body == b"ok"
        writer.close()


async def test_reading_stops_while_requests_wait() -> None:
    release = asyncio.Event()
    body = b"x" * (1 << 20)

    async def held(request: Request) -> Response:
        await release.wait()
        return Response(200, str(len(request.body)).encode(), headers={"X-T": request.target})

    count = 48
    async with serve(held, limits=Limits(max_body_bytes=len(body))) as s:
        reader, writer = await connect(s.port)
        for i in range(count):
            head = f"POST /{i} HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n\r\n"
            writer.write(head.encode() + body)
        # A server that kept reading would hold all 48 MiB; this one reads a few requests
        # and lets TCP push back, so most of the upload stays in the client's buffer.
        unsent = await settle(writer.transport.get_write_buffer_size)
        assert unsent > 16 * len(body)
        assert len(s.seen) == 1
        release.set()
        for i in range(count):
            answer = await read_answer(reader)
            assert (answer.headers["X-T"], answer.body) == (f"/{i}", b"1048576")
        writer.close()


async def test_answers_wait_for_a_client_that_does_not_read() -> None:
    big = b"y" * (1 << 20)

    async def large(request: Request) -> Response:
        return Response(200, big, headers={"X-T": request.target})

    count = 64
    async with serve(large) as s:
        reader, writer = await connect(s.port)
        writer.write(b"".join(get(f"/{i}") for i in range(count)))
        # Without write flow control all 64 MiB of answers would be produced and buffered.
        handled = await settle(lambda: len(s.seen))
        assert handled < count // 2
        for i in range(count):
            answer = await read_answer(reader)
            assert answer.headers["X-T"] == f"/{i}" and answer.body == big
        writer.close()


# -- bodies -------------------------------------------------------------------------------


async def test_content_length_and_chunked_bodies_are_read_whole() -> None:
    async with serve() as s:
        reader, writer = await connect(s.port)
        writer.write(b"PUT /cl HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhel")
        await asyncio.sleep(0.02)
        writer.write(b"lo")
        assert (await read_answer(reader)).body == b"hello"
        writer.write(
            b"POST /ch HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n4\r\ndefg\r\n0\r\nX-Trailer: t\r\n\r\n"
        )
        answer = await read_answer(reader)
        assert answer.body == b"abcdefg"
        assert "X-Trailer" not in s.seen[1].headers
        writer.close()


async def test_chunked_body_over_the_limit_is_refused_and_closed() -> None:
    async with serve() as s:
        reader, writer = await connect(s.port)
        writer.write(b"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(5):
            writer.write(b"400\r\n" + b"z" * 1024 + b"\r\n")  # 5 KiB, over the 4 KiB limit
        answer = await read_answer(reader)
        assert answer.status == 413 and answer.headers["Connection"] == "close"
        assert answer.json()["target"] == "/upload"
        assert await closed(reader)
        assert s.seen == []
        writer.close()


async def test_declared_length_over_the_limit_is_refused_before_the_body() -> None:
    async with serve() as s:
        reader, writer = await connect(s.port)
        writer.write(b"POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 4097\r\n\r\n")
        answer = await read_answer(reader)  # no body byte was sent
        assert answer.status == 413 and answer.headers["Connection"] == "close"
        assert await closed(reader)
        assert s.seen == []
        writer.close()


async def test_refusal_reaches_a_client_still_uploading() -> None:
    async with serve() as s:
        reader, writer = await connect(s.port)
        writer.write(b"POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 2097152\r\n\r\n")
        writer.write(b"u" * 2097152)  # sent without waiting, as most clients do
        answer = await read_answer(reader)
        assert answer.status == 413
        assert await closed(reader)
        writer.close()


async def test_expect_100_continue() -> None:
    async with serve() as s:
        reader, writer = await connect(s.port)
        writer.write(
            b"POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(b"hello")
        answer = await read_answer(reader)
        assert (answer.status, answer.body) == (200, b"hello")
        writer.close()


async def test_expect_100_continue_over_the_limit_is_413() -> None:
    async with serve() as s:
        answer, was_closed = await exchange(
            s.port,
            b"POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n",
        )
        assert answer.status == 413 and was_closed
        assert b"100 Continue" not in answer.head


async def test_unknown_expectation_is_417() -> None:
    async with serve() as s:
        answer, was_closed = await exchange(s.port, get("/", "Expect: teapot\r\n"))
        assert answer.status == 417 and was_closed
        assert s.refused[0][1].status == 417
        assert s.seen == []


# -- limits and malformed requests ---------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "status", "target"),
    [
        (get("/" + "a" * 255), 200, None),
        (get("/" + "a" * 256), 414, None),
        (get("/h", "".join(f"X-{i}: v\r\n" for i in range(7))), 200, None),  # 8 with Host
        (get("/h", "".join(f"X-{i}: v\r\n" for i in range(8))), 431, "/h"),
        (get("/b", "X-Pad: " + "p" * 1014 + "\r\n"), 200, None),  # names+values: 1024
        (get("/b", "X-Pad: " + "p" * 1015 + "\r\n"), 431, "/b"),
    ],
    ids=["url-at-limit", "url-over", "headers-at-limit", "headers-over", "bytes-at", "bytes-over"],
)
async def test_limits(data: bytes, status: int, target: str | None) -> None:
    async with serve() as s:
        reader, writer = await connect(s.port)
        writer.write(data + get("/next", "Connection: close\r\n"))
        answer = await read_answer(reader)
        assert answer.status == status
        if status == 200:
            assert (await read_answer(reader)).headers["X-Target"] == "/next"
        else:
            assert s.seen == []
            assert s.refused[0][0] == target
            assert answer.json()["status"] == status
        assert await closed(reader)
        writer.close()


async def test_header_limit_holds_while_a_header_is_still_arriving() -> None:
    async with serve() as s:
        reader, writer = await connect(s.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: t\r\nX-Endless: ")
        answered = asyncio.ensure_future(read_answer(reader))
        for _ in range(40):  # 4000 bytes of one value that never ends
            if answered.done():
                break
            writer.write(b"v" * 100)
            await asyncio.sleep(0.01)
        answer = await answered
        assert answer.status == 431
        assert await closed(reader)
        writer.close()


@pytest.mark.parametrize(
    "data",
    [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
        b"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
        b"GET / HTTP/1.1\r\nA: \x00b\r\n\r\n",
        b"GET /\x7f HTTP/1.1\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
        b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET / HTTP/1.2\r\n\r\n",
    ],
    ids=["method", "no-colon", "obs-fold", "nul", "url-char", "two-lengths", "cl-te", "chunk", "v"],
)
async def test_malformed_requests_are_400_then_closed(data: bytes) -> None:
    async with serve() as s:
        answer, was_closed = await exchange(s.port, data)
        assert answer.status == 400 and answer.headers["Connection"] == "close"
        assert was_closed and s.seen == []
        message = answer.json()["message"]
        assert message.startswith("Malformed HTTP request") and len(message) < 120
        assert "Traceback" not in message and "callback" not in message


@pytest.mark.parametrize(
    "data",
    [
        get("/ws", "Connection: Upgrade\r\nUpgrade: websocket\r\n"),
        get("/h2c", "Upgrade: h2c\r\n"),
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    ],
    ids=["websocket", "upgrade-header", "connect"],
)
async def test_upgrades_are_refused(data: bytes) -> None:
    async with serve() as s:
        answer, was_closed = await exchange(s.port, data)
        assert answer.status == 400 and was_closed
        assert "not supported" in answer.json()["message"]
        assert s.seen == []


@pytest.mark.parametrize("version", ["2.0", "0.9"])
async def test_other_http_versions_are_refused(version: str) -> None:
    async with serve() as s:
        answer, was_closed = await exchange(s.port, get("/", version=version))
        assert answer.status == 505 and was_closed


async def test_absolute_form_target_is_passed_as_it_came() -> None:
    async with serve() as s:
        answer, _ = await exchange(s.port, get("http://example.com/x?y=1", "Connection: close\r\n"))
        assert answer.headers["X-Target"] == "http://example.com/x?y=1"


# -- writing answers ------------------------------------------------------------------------


async def test_the_server_owns_framing_headers() -> None:
    async def own(request: Request) -> Response:
        status = int(request.target[1:])
        headers = {
            "Content-Length": "999",
            "Transfer-Encoding": "chunked",
            "Connection": "close",
            "Date": "yesterday",
            "X-Own": "kept",
        }
        return Response(status, b"hello", headers=headers)

    async with serve(own) as s:
        reader, writer = await connect(s.port)
        writer.write(get("/201") + get("/599"))
        created = await read_answer(reader)
        unknown = await read_answer(reader)
        assert created.head.startswith(b"HTTP/1.1 201 Created\r\n")
        assert unknown.head.startswith(b"HTTP/1.1 599 Unknown\r\n")
        for answer in (created, unknown):
            assert answer.body == b"hello"
            assert answer.headers.getall("Content-Length") == ["5"]
            assert answer.headers["X-Own"] == "kept"
            assert "Transfer-Encoding" not in answer.headers
            assert "Connection" not in answer.headers
            [date] = answer.headers.getall("Date")
            assert IMF_FIXDATE.fullmatch(date) and parsedate_to_datetime(date).tzinfo
        writer.write(get("/200"))  # still open: the handler's "Connection: close" was dropped
        assert (await read_answer(reader)).status == 200
        writer.close()


async def test_head_gets_the_length_but_no_body() -> None:
    async with serve() as s:
        reader, writer = await connect(s.port)
        writer.write(b"HEAD /h HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello" + get("/n"))
        head = await read_answer(reader, head=True)
        assert head.status == 200 and head.headers["Content-Length"] == "5"
        # Had the body been written, it would sit where the next answer's status line is.
        after = await read_answer(reader)
        assert after.headers["X-Target"] == "/n"
        writer.close()


async def test_head_without_a_body_from_the_handler_has_no_length() -> None:
    async def bodiless(request: Request) -> Response:
        return Response(200, b"", headers={"X-Target": request.target})

    async with serve(bodiless) as s:
        reader, writer = await connect(s.port)
        writer.write(b"HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n" + get("/n"))
        head = await read_answer(reader, head=True)
        assert head.status == 200 and "Content-Length" not in head.headers
        assert (await read_answer(reader)).headers["X-Target"] == "/n"
        writer.close()


@pytest.mark.parametrize("status", [204, 304])
async def test_no_body_statuses_have_no_length_and_no_body(status: int) -> None:
    async def bodiless(request: Request) -> Response:
        if request.target == "/n":
            return await echo(request)
        return Response(status, b"must not be sent")

    async with serve(bodiless) as s:
        reader, writer = await connect(s.port)
        writer.write(get("/x") + get("/n"))
        answer = await read_answer(reader)
        assert answer.status == status and "Content-Length" not in answer.headers
        assert (await read_answer(reader)).headers["X-Target"] == "/n"
        writer.close()


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Bad": "a\r\nSet-Cookie: evil=1"},
        {"X-Bad": "a\nSet-Cookie: evil=1"},
        {"X-Bad": "a\rSet-Cookie: evil=1"},
        {"X-Bad\r\nSet-Cookie": "evil=1"},
        {"X-Bad": "a\x00evil"},
    ],
    ids=["crlf", "lf", "cr", "in-name", "nul"],
)
async def test_a_header_with_a_line_break_is_never_written(headers: dict[str, str]) -> None:
    async def smuggling(request: Request) -> Response:
        return Response(200, b"ok", headers=headers)

    async with serve(smuggling) as s:
        reader, writer = await connect(s.port)
        writer.write(get("/"))
        answer = await read_answer(reader)
        assert answer.status == 500
        assert b"evil" not in answer.head + answer.body
        writer.close()


async def test_a_handler_failure_is_a_500_without_details() -> None:
    async def failing(request: Request) -> Response:
        raise RuntimeError(f"card 4111111111111111 in {request.body!r}")

    async with serve(failing) as s:
        with capture_logs() as logs:
            answer, _ = await exchange(
                s.port,
                b"POST / HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 6\r\n\r\n"
                b"secret",
            )
        assert answer.status == 500
        assert answer.json()["message"] == ProxyError.default_message
        wire = answer.head + answer.body
        for leak in (b"RuntimeError", b"Traceback", b"4111", b"secret"):
            assert leak not in wire
        [entry] = [e for e in logs if e["event"] == "request handler failed"]
        assert entry["error"] == "RuntimeError"
        assert "4111" not in repr(logs) and "secret" not in repr(logs)


async def test_an_interim_status_from_the_handler_is_a_500() -> None:
    async def interim(request: Request) -> Response:
        return Response(101, b"")

    async with serve(interim) as s:
        answer, _ = await exchange(s.port, get("/", "Connection: close\r\n"))
        assert answer.status == 500


async def test_a_failing_reject_still_gets_an_answer() -> None:
    async def failing(request: Request) -> Response:
        raise ValueError("handler")

    def broken(target: str | None, error: ProxyError) -> Response:
        raise KeyError("reject")

    async with serve(failing, reject=broken) as s:
        for data in (get("/"), b"GARBAGE\r\n\r\n"):
            answer, was_closed = await exchange(s.port, data)
            assert answer.head.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
            assert answer.body == b"" and was_closed


# -- timeouts, disconnects, shutdown --------------------------------------------------------


async def test_an_idle_keep_alive_connection_is_closed() -> None:
    async with serve(keepalive_timeout=0.2) as s:
        reader, writer = await connect(s.port)
        writer.write(get("/"))
        assert (await read_answer(reader)).status == 200
        assert await closed(reader)
        await eventually(lambda: s.server.connections == 0)
        writer.close()


async def test_a_request_that_arrives_too_slowly_is_closed() -> None:
    async with serve(request_timeout=0.3, keepalive_timeout=30) as s:
        reader, writer = await connect(s.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        ended = asyncio.ensure_future(reader.read())
        for _ in range(100):  # one byte every 20 ms: each keeps the connection busy
            if ended.done():
                break
            writer.write(b"s")
            await asyncio.sleep(0.02)
        assert await asyncio.wait_for(ended, WAIT) == b""
        assert s.seen == []
        writer.close()


@pytest.mark.parametrize("how", ["reset", "close"])
async def test_the_handler_is_not_cancelled_when_the_client_leaves(how: str) -> None:
    started, release = asyncio.Event(), asyncio.Event()
    finished: list[str] = []

    async def sending(request: Request) -> Response:
        started.set()
        await release.wait()
        finished.append(request.target)
        return Response(200, b"too late")

    async with serve(sending) as s:
        _reader, writer = await connect(s.port)
        writer.write(b"POST /messages HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi")
        await asyncio.wait_for(started.wait(), WAIT)
        if how == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.close()
            # The server sees the reset at once; the handler goes on regardless.
            await eventually(lambda: s.server.connections == 0)
        else:
            # A plain close is a half-close as far as the server can tell: it keeps the
            # connection to deliver the answer, and closes it once that is written.
            writer.close()
        release.set()
        await eventually(lambda: finished == ["/messages"])
        await eventually(lambda: s.server.connections == 0)


async def test_a_half_closed_client_still_gets_its_answer() -> None:
    async def slow(request: Request) -> Response:
        await asyncio.sleep(0.05)
        return await echo(request)

    async with serve(slow) as s:
        reader, writer = await connect(s.port)
        writer.write(get("/half"))
        writer.write_eof()
        answer = await read_answer(reader)
        assert answer.headers["X-Target"] == "/half"
        assert answer.headers["Connection"] == "close"
        assert await closed(reader)
        writer.close()


async def test_shutdown_finishes_requests_in_flight_and_closes_idle_ones() -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def handler(request: Request) -> Response:
        if request.target == "/slow":
            started.set()
            await release.wait()
        return await echo(request)

    async with serve(handler) as s:
        busy_r, busy_w = await connect(s.port)
        busy_w.write(get("/slow"))
        await asyncio.wait_for(started.wait(), WAIT)
        idle_r, idle_w = await connect(s.port)
        idle_w.write(get("/fast"))
        assert (await read_answer(idle_r)).status == 200

        stopping = asyncio.ensure_future(s.server.shutdown(WAIT))
        assert await closed(idle_r)  # the idle keep-alive connection is closed at once
        with pytest.raises(OSError):
            await connect(s.port)  # no longer accepting
        assert not stopping.done()
        release.set()
        answer = await read_answer(busy_r)
        assert answer.status == 200 and answer.headers["Connection"] == "close"
        assert await closed(busy_r)
        busy_w.close()
        await asyncio.wait_for(stopping, WAIT)
        assert s.server.connections == 0
        idle_w.close()


async def test_shutdown_is_bounded_by_its_timeout() -> None:
    started = asyncio.Event()
    cancelled: list[bool] = []

    async def stuck(request: Request) -> Response:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        raise AssertionError("unreachable")

    async with serve(stuck) as s:
        reader, writer = await connect(s.port)
        writer.write(get("/"))
        await asyncio.wait_for(started.wait(), WAIT)
        await asyncio.wait_for(s.server.shutdown(0.2), WAIT)
        assert await closed(reader)
        assert cancelled == [True]
        writer.close()


# -- real clients ---------------------------------------------------------------------------


async def test_requests_session_keeps_its_connection() -> None:
    open_at_call: list[int] = []

    async def counting(request: Request) -> Response:
        open_at_call.append(served.server.connections)
        return await echo(request)

    def client(port: int) -> tuple[int, bytes, str]:
        with requests.Session() as session:
            first = session.get(f"http://127.0.0.1:{port}/a?b=1", timeout=WAIT)
            second = session.post(f"http://127.0.0.1:{port}/p", json={"x": 1}, timeout=WAIT)
            return first.status_code, second.content, first.headers["X-Target"]

    async with serve(counting) as served:
        status, body, target = await asyncio.to_thread(client, served.port)
        assert (status, body, target) == (200, b'{"x": 1}', "/a?b=1")
        assert open_at_call == [1, 1]


async def test_aiohttp_client_streaming_a_chunked_body() -> None:
    async def parts() -> AsyncIterator[bytes]:
        for piece in (b"ab", b"cd", b"ef"):
            yield piece

    async with serve() as s, aiohttp.ClientSession() as session:
        async with session.post(f"http://127.0.0.1:{s.port}/c", data=parts()) as response:
            assert response.status == 200
            assert await response.read() == b"abcdef"
        assert s.seen[0].headers["Transfer-Encoding"] == "chunked"


# -- the budget of answer bytes --------------------------------------------------------------


async def test_a_large_answer_past_the_budget_is_a_503_from_reject() -> None:
    large = b"l" * 200_000

    async def answers(request: Request) -> Response:
        return Response(200, large if request.target == "/large" else b"small")

    saved = budget.ANSWER_BYTES.limit, budget.ANSWER_BYTES.used
    async with serve(answers, limits=Limits(max_buffered_bytes=1 << 20)) as s:
        budget.ANSWER_BYTES.used = 900 << 10  # held for other, slower clients
        try:
            reader, writer = await connect(s.port)
            writer.write(get("/large") + get("/small"))
            refused = await read_answer(reader)
            assert refused.status == 503 and refused.headers["Retry-After"] == "1"
            assert refused.json()["target"] == "/large"
            assert (await read_answer(reader)).body == b"small"  # small answers still pass
            budget.ANSWER_BYTES.used = 0
            writer.write(get("/large"))
            assert (await read_answer(reader)).body == large
            await eventually(lambda: budget.ANSWER_BYTES.used == 0)  # read, so given back
            writer.close()
        finally:
            budget.ANSWER_BYTES.limit, budget.ANSWER_BYTES.used = saved
