"""Hostile clients, and merely many, against Dialect as it serves: one test per finding of an
audit of the HTTP layer, each asserting what nginx does in the same state.

1. Idle keep-alive connections must not lock new clients out: the descriptor limit is raised,
   the oldest idle connection makes room, and past ``max_connections`` a new client gets a
   503 at once.
2. Clients that never read a large answer must not hold memory without bound or end: the
   process stays under the shipped pod limit and each is dropped after ``send_timeout``.
3. A request without ``Host``, or with two, is refused 400 in the client's style.
4. A private CA, a client certificate and a server name are configured per upstream, a
   certificate the proxy cannot verify is a 502 in the client's style, and ``readyz`` says so.
5. HEAD is forwarded as HEAD and answered without a body.

Everything is on 127.0.0.1 with raw sockets, a few dozen at most: where a real descriptor
limit matters, a child process gets a low one (``resource.setrlimit``) instead of the test
opening thousands of sockets. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiohttp import web
from aiohttp.test_utils import TestServer

from proxy.http import budget
from proxy.settings import load_config_text
from proxy.settings.loader import Config
from tests.conftest import ROOT
from tests.dialect_server import DialectTestServer
from tests.servers import ServerThread
from tests.unit.test_http_server import Answer, closed, read_answer

WAIT = 10.0
StartDialect = Callable[[Config], Awaitable[DialectTestServer]]
StartServer = Callable[..., Awaitable[TestServer]]

# A sidecar: every path forwarded to one Plivo-style upstream, answers in the Twilio style.
CONFIG = """
server:
  default_style: twilio
  limits: {limits}
  tls: {server_tls}
upstreams:
  legacy:
    url: "{url}"
    style: plivo
    timeout: {{connect: 2, total: 10}}
    tls: {tls}
routes:
  - name: sidecar
    match: {{method: "*", path: "/{{path*}}{{ext}}"}}
    upstream: legacy
    styles: {{client: twilio, upstream: plivo}}
    format: {{from: extension, default: json, allow: [json]}}
    auth: false
    passthrough: true
"""


def sidecar_text(
    url: str, *, limits: str = "{}", tls: str = "null", server_tls: str = "null"
) -> str:
    return CONFIG.format(url=url, limits=limits, tls=tls, server_tls=server_tls)


def sidecar(url: str, **options: str) -> Config:
    return load_config_text(sidecar_text(url, **options))


def twilio_error(answer: Answer, status: int) -> dict[str, Any]:
    """The body of a refusal, checked to be a Twilio error (the sidecar's client style)."""
    assert answer.status == status
    assert answer.headers["Content-Type"].startswith("application/json")
    body: dict[str, Any] = answer.json()
    assert set(body) == {"code", "message", "more_info", "status"}
    assert body["status"] == status
    assert "Traceback" not in body["message"]
    return body


async def ask(port: int, data: bytes, **tls: Any) -> Answer:
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, **tls), WAIT)
    try:
        writer.write(data)
        return await read_answer(reader)
    finally:
        writer.close()


def get(target: str, host: str = "Host: t\r\n", version: str = "1.1") -> bytes:
    return f"GET {target} HTTP/{version}\r\n{host}\r\n".encode()


async def plivo_upstream(start: StartServer, **kwargs: Any) -> tuple[TestServer, list[str]]:
    """A Plivo-style upstream that records each request's method and answers a message."""
    methods: list[str] = []

    async def answer(request: web.Request) -> web.Response:
        methods.append(request.method)
        body = {
            "api_id": "u-1",
            "message_uuid": "m-1",
            "X-Proto": request.headers.get("X-Forwarded-Proto"),
        }
        return web.json_response(body)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    return await start(app, **kwargs), methods


# -- 1. idle connections and the descriptor limit ---------------------------------------------


def serve_process(
    config: Path, port: int, log: Path, nofile: tuple[int, int] | None = None
) -> subprocess.Popen[bytes]:
    """``dialect serve`` in a child process, with a lowered descriptor limit if asked."""
    argv = ["proxy", "serve", "--config", str(config), "--port", str(port), "--workers", "1"]
    code = (
        "import resource, runpy, sys\n"
        + (f"resource.setrlimit(resource.RLIMIT_NOFILE, {nofile})\n" if nofile else "")
        + f"sys.argv = {argv!r}\n"
        + "runpy.run_module('proxy', run_name='__main__')\n"
    )
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", code], stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    proc.kill()
    pytest.fail(f"dialect serve did not start: {log.read_text()[-2000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log_events(log: Path) -> list[dict[str, Any]]:
    events = []
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            events.append(json.loads(line))
    return events


def healthz(sock: socket.socket) -> bytes:
    """One health check on a held connection: the answer's head, or b"" if it was closed."""
    sock.sendall(b"GET /_dialect/healthz HTTP/1.1\r\nHost: t\r\n\r\n")
    received = b""
    while b'"ok"}' not in received:
        chunk = sock.recv(4096)
        if not chunk:
            return received
        received += chunk
    return received


def test_idle_connections_do_not_lock_out_a_new_client(tmp_path: Path) -> None:
    """With 100 descriptors (hard limit 128), 120 idle keep-alive connections used to leave
    a new client unanswered; now the limit is raised, and the oldest idle ones make room."""
    config = tmp_path / "dialect.yaml"
    config.write_text(sidecar_text("http://127.0.0.1:9"))
    port, log = free_port(), tmp_path / "serve.log"
    proc = serve_process(config, port, log, nofile=(100, 128))
    held: list[socket.socket] = []
    try:
        for _ in range(120):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            held.append(sock)
            assert healthz(sock).startswith(b"HTTP/1.1 200 ")
        newcomer = socket.create_connection(("127.0.0.1", port), timeout=5)
        held.append(newcomer)
        assert healthz(newcomer).startswith(b"HTTP/1.1 200 ")
        # The longest idle were closed for the newer ones; the newest are still served.
        assert healthz(held[0]) == b""
        assert healthz(held[-2]).startswith(b"HTTP/1.1 200 ")
    finally:
        for sock in held:
            sock.close()
        stop(proc)
    [limit] = [e for e in log_events(log) if e["event"] == "descriptor limit"]
    assert (limit["soft_at_start"], limit["soft"], limit["hard"]) == (100, 128, 128)
    assert limit["max_connections"] == 64  # a quarter, at least 64, kept for everything else


async def test_past_max_connections_a_new_client_is_refused_at_once(
    dialect_server: StartDialect,
) -> None:
    served = await dialect_server(sidecar("http://127.0.0.1:9", limits="{max_connections: 4}"))
    busy = []
    for _ in range(4):  # requests still arriving: nothing to reclaim
        reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
        writer.write(b"GET /_dialect/healthz HTTP/1.1\r\nHost: t\r\n")
        busy.append((reader, writer))
    await asyncio.sleep(0.1)
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    refusal = await read_answer(reader)
    twilio_error(refusal, 503)
    assert refusal.headers["Connection"] == "close" and refusal.headers["Retry-After"] == "1"
    assert await closed(reader)
    writer.close()
    for busy_reader, busy_writer in busy:  # the connections already there are unaffected
        busy_writer.write(b"\r\n")
        assert (await read_answer(busy_reader)).status == 200
        busy_writer.close()


async def test_the_longest_idle_connection_makes_room(dialect_server: StartDialect) -> None:
    served = await dialect_server(sidecar("http://127.0.0.1:9", limits="{max_connections: 3}"))
    idle = []
    for _ in range(3):
        reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
        writer.write(get("/_dialect/healthz"))
        assert (await read_answer(reader)).status == 200
        idle.append((reader, writer))
    answer = await ask(served.port, get("/_dialect/healthz"))
    assert answer.status == 200
    assert await closed(idle[0][0])
    for reader, writer in idle[1:]:
        writer.write(get("/_dialect/healthz"))
        assert (await read_answer(reader)).status == 200
    for _, writer in idle:
        writer.close()


async def test_keep_alive_is_short_by_default(dialect_server: StartDialect) -> None:
    served = await dialect_server(sidecar("http://127.0.0.1:9"))
    assert served.server is not None
    assert (served.server.keepalive_timeout, served.server.send_timeout) == (15.0, 60.0)


# -- 2. clients that do not read -------------------------------------------------------------

TEN_MB = json.dumps({"api_id": "big", "data": "x" * 10_000_000}).encode()


def large_answers() -> web.Application:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=TEN_MB, content_type="application/json")

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", answer)
    return app


def memory_mib(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) // 1024
    return fields


def test_fifty_clients_not_reading_ten_mb_answers_stay_under_the_pod_limit(
    tmp_path: Path,
) -> None:
    """Before: about 1.8 GB held, and never released while the clients stayed connected."""
    pod_limit = 256  # MiB: deploy/kubernetes/dialect.yaml
    servers = ServerThread()
    proc = None
    clients: list[socket.socket] = []
    try:
        upstream = servers.serve(large_answers)
        config = tmp_path / "dialect.yaml"
        config.write_text(sidecar_text(upstream, limits="{send_timeout: 2}"))
        port, log = free_port(), tmp_path / "serve.log"
        proc = serve_process(config, port, log)
        for i in range(50):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.sendall(get(f"/v1/Large/{i}/"))
            clients.append(sock)

        def answered() -> list[dict[str, Any]]:
            return [e for e in log_events(log) if e["event"] == "request"]

        deadline = time.monotonic() + 60
        while len(answered()) < 50:
            assert time.monotonic() < deadline, f"{len(answered())} of 50 answered"
            time.sleep(0.2)
        statuses = [e["status"] for e in answered()]
        served = statuses.count(200)
        # Answers past max_buffered_bytes (32 MiB) are refused; at least one is always served.
        assert 1 <= served <= 6 and statuses.count(503) == 50 - served
        while sum(e["event"] == "slow client dropped" for e in log_events(log)) < served:
            assert time.monotonic() < deadline, "the slow clients were never dropped"
            time.sleep(0.2)
        assert memory_mib(proc.pid)["VmHWM"] < pod_limit
        # A refused client reads its answer: a 503 in the client's style.
        refusals = [s for s in clients if b" 503 " in s.recv(64, socket.MSG_PEEK)]
        refusals[0].settimeout(5)
        raw = b""
        while not raw.endswith(b"}"):
            raw += refusals[0].recv(4096)
        body = json.loads(raw.partition(b"\r\n\r\n")[2])
        assert body["status"] == 503 and "retry" in body["message"]
        # And the process still serves.
        with socket.create_connection(("127.0.0.1", port), timeout=5) as fresh:
            assert healthz(fresh).startswith(b"HTTP/1.1 200 ")
    finally:
        for sock in clients:
            sock.close()
        if proc is not None:
            stop(proc)
        servers.close()


@pytest.fixture
def answer_bytes() -> Iterator[budget.Budget]:
    """The process-wide budget, restored after the test (servers set its limit)."""
    limit, used = budget.ANSWER_BYTES.limit, budget.ANSWER_BYTES.used
    yield budget.ANSWER_BYTES
    budget.ANSWER_BYTES.limit, budget.ANSWER_BYTES.used = limit, used


async def test_a_client_that_reads_nothing_is_dropped_by_its_deadline(
    dialect_server: StartDialect,
    aiohttp_server: StartServer,
    answer_bytes: budget.Budget,
) -> None:
    upstream = await aiohttp_server(large_answers())
    served = await dialect_server(
        sidecar(str(upstream.make_url("")).rstrip("/"), limits="{send_timeout: 0.5}")
    )
    assert served.server is not None
    before = answer_bytes.used
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=5)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        sock.sendall(get("/v1/Large/1/"))
        loop = asyncio.get_running_loop()
        end = loop.time() + WAIT
        while answer_bytes.used <= before:  # the answer is written, most of it still held
            assert loop.time() < end
            await asyncio.sleep(0.02)
        while served.server.connections:  # dropped once 0.5 s pass without a byte read
            assert loop.time() < end, "the slow client was never dropped"
            await asyncio.sleep(0.05)
        assert answer_bytes.used == before  # and what it was owed is freed
    finally:
        sock.close()


async def test_large_request_bodies_sent_slowly_are_held_within_max_buffered_bytes(
    dialect_server: StartDialect,
    aiohttp_server: StartServer,
    answer_bytes: budget.Budget,
) -> None:
    """Clients that send most of a large body and stall hold its memory until the request
    deadline; past max_buffered_bytes the next such body is refused 503 (Twilio style, with
    Retry-After) and its bytes freed, and those held are freed when their clients leave."""
    upstream = await aiohttp_server(large_answers())
    limit = 1024 * 1024
    served = await dialect_server(
        sidecar(str(upstream.make_url("")).rstrip("/"), limits=f"{{max_buffered_bytes: {limit}}}")
    )
    before = answer_bytes.used
    head = (
        b"POST /v1/Things/ HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: 600000\r\n\r\n"
    )
    sent = 400_000  # of 600,000: the client stalls there
    held = sent - budget.SMALL  # what each stalled body counts (the first SMALL bytes pass)
    fit = limit // held  # stalled bodies that fit in the budget: 3
    loop = asyncio.get_running_loop()
    clients = []
    try:
        for _ in range(fit):
            reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
            writer.write(head + b"x" * sent)
            await writer.drain()
            clients.append((reader, writer))
        end = loop.time() + WAIT
        while answer_bytes.used < before + fit * held:  # the server has read them all
            assert loop.time() < end, f"held {answer_bytes.used - before} bytes"
            await asyncio.sleep(0.02)
        reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
        clients.append((reader, writer))
        writer.write(head + b"x" * sent)
        refused = await asyncio.wait_for(read_answer(reader), WAIT)
        assert twilio_error(refused, 503)["message"].startswith("The proxy is holding too many")
        assert refused.headers["Retry-After"] == "1"
        assert answer_bytes.used == before + fit * held  # the refused body holds nothing
    finally:
        for _, writer in clients:
            writer.close()
    end = loop.time() + WAIT
    while answer_bytes.used > before:  # clients gone: their bodies are freed
        assert loop.time() < end, f"still held: {answer_bytes.used - before} bytes"
        await asyncio.sleep(0.02)


async def test_a_client_that_reads_slowly_but_steadily_is_not_dropped(
    dialect_server: StartDialect, aiohttp_server: StartServer
) -> None:
    upstream = await aiohttp_server(large_answers())
    served = await dialect_server(
        sidecar(str(upstream.make_url("")).rstrip("/"), limits="{send_timeout: 1}")
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port, limit=1 << 16)
    writer.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    writer.transport.pause_reading()
    writer.write(get("/v1/Large/1/"))
    received = 0
    for _ in range(2000):  # bounded: ~10 MB in reads of up to 64 KiB, 0.1 s apart at first
        writer.transport.resume_reading()
        chunk = await asyncio.wait_for(reader.read(65536), WAIT)
        writer.transport.pause_reading()
        if not chunk:
            break
        received += len(chunk)
        if received > len(TEN_MB):
            break
        await asyncio.sleep(0.1 if received < 2_000_000 else 0)
    assert received > len(TEN_MB)  # the whole answer, though it took longer than send_timeout
    writer.close()


# -- 3. Host --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        get("/v1/Message/1/", host=""),
        get("/v1/Message/1/", host="Host: a\r\nHost: b\r\n"),
        get("/v1/Message/1/", host="Host: a b\r\n"),
        get("/v1/Message/1/", host="Host: a/b\r\n"),
    ],
    ids=["none", "two", "space", "slash"],
)
async def test_a_request_without_exactly_one_valid_host_is_400(
    dialect_server: StartDialect, aiohttp_server: StartServer, data: bytes
) -> None:
    upstream, methods = await plivo_upstream(aiohttp_server)
    served = await dialect_server(sidecar(str(upstream.make_url("")).rstrip("/")))
    answer = await ask(served.port, data)
    assert "Host" in twilio_error(answer, 400)["message"]
    assert answer.headers["Connection"] == "close"
    assert methods == []  # nothing reached the upstream


@pytest.mark.parametrize(
    "data",
    [
        get("/v1/Message/1/", host="", version="1.0"),  # HTTP/1.0 has no Host requirement
        get("/v1/Message/1/", host="Host: [::1]:8080\r\n"),
        get("/v1/Message/1/", host="Host: api.example.com.\r\n"),
    ],
    ids=["http10", "ipv6", "fqdn"],
)
async def test_a_request_with_one_host_or_http10_is_served(
    dialect_server: StartDialect, aiohttp_server: StartServer, data: bytes
) -> None:
    upstream, methods = await plivo_upstream(aiohttp_server)
    served = await dialect_server(sidecar(str(upstream.make_url("")).rstrip("/")))
    answer = await ask(served.port, data)
    assert answer.status == 200 and methods == ["GET"]


# -- 4. TLS to upstreams, and serving HTTPS ----------------------------------------------------


class Pki:
    """A throwaway CA, and its certificates written where a config can name them."""

    def __init__(self, directory: Path) -> None:
        self.ca = trustme.CA()
        self.directory = directory
        self.ca_file = self.write("ca.pem", self.ca.cert_pem.bytes())
        self.server = self.ca.issue_cert("127.0.0.1", "localhost", "upstream.test")
        self.named = self.ca.issue_cert("upstream.test")  # not valid for 127.0.0.1
        self.client = self.ca.issue_cert("dialect.client.test")
        self.client_cert = self.write("client.pem", self.client.cert_chain_pems[0].bytes())
        self.client_key = self.write("client.key", self.client.private_key_pem.bytes())

    def write(self, name: str, data: bytes) -> str:
        path = self.directory / name
        path.write_bytes(data)
        return str(path)

    def server_context(
        self, cert: trustme.LeafCert, *, require_client: bool = False
    ) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        if require_client:
            context.verify_mode = ssl.CERT_REQUIRED
            self.ca.configure_trust(context)
        return context


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path)


async def proxied(
    dialect_server: StartDialect, upstream: TestServer, tls: str, path: str = "/v1/Message/1/"
) -> tuple[Answer, dict[str, Any]]:
    """One request through a sidecar to ``upstream`` over https, and readyz's verdict."""
    url = f"https://127.0.0.1:{upstream.port}"
    served = await dialect_server(sidecar(url, tls=tls))
    answer = await ask(served.port, get(path))
    ready = await ask(served.port, get("/_dialect/readyz"))
    return answer, ready.json()


async def test_an_upstream_certificate_from_an_unknown_ca_is_502_and_unready(
    dialect_server: StartDialect, aiohttp_server: StartServer, pki: Pki
) -> None:
    upstream, methods = await plivo_upstream(aiohttp_server, ssl=pki.server_context(pki.server))
    answer, ready = await proxied(dialect_server, upstream, tls="null")
    twilio_error(answer, 502)
    assert methods == []
    assert ready["status"] == "unready"
    assert ready["upstreams"]["legacy"].startswith("TLS certificate not accepted")


async def test_a_private_ca_is_trusted_with_ca_file(
    dialect_server: StartDialect, aiohttp_server: StartServer, pki: Pki
) -> None:
    upstream, methods = await plivo_upstream(aiohttp_server, ssl=pki.server_context(pki.server))
    answer, ready = await proxied(dialect_server, upstream, tls=f"{{ca_file: {pki.ca_file}}}")
    assert answer.status == 200 and answer.json()["message_uuid"] == "m-1"
    assert methods == ["GET"]
    assert ready == {
        "status": "ok",
        "upstreams": {"legacy": "ok"},
        "circuits": {"legacy": "closed"},
    }


async def test_server_name_is_sent_and_verified_instead_of_the_address(
    dialect_server: StartDialect, aiohttp_server: StartServer, pki: Pki
) -> None:
    upstream, _ = await plivo_upstream(aiohttp_server, ssl=pki.server_context(pki.named))
    tls = f"{{ca_file: {pki.ca_file}, server_name: upstream.test}}"
    answer, ready = await proxied(dialect_server, upstream, tls=tls)
    assert answer.status == 200 and ready["status"] == "ok"
    wrong, unready = await proxied(dialect_server, upstream, tls=f"{{ca_file: {pki.ca_file}}}")
    twilio_error(wrong, 502)
    assert unready["status"] == "unready"


async def test_mutual_tls_with_cert_file_and_key_file(
    dialect_server: StartDialect, aiohttp_server: StartServer, pki: Pki
) -> None:
    context = pki.server_context(pki.server, require_client=True)
    upstream, methods = await plivo_upstream(aiohttp_server, ssl=context)
    tls = f"{{ca_file: {pki.ca_file}, cert_file: {pki.client_cert}, key_file: {pki.client_key}}}"
    answer, ready = await proxied(dialect_server, upstream, tls=tls)
    assert answer.status == 200 and ready["status"] == "ok"
    assert methods == ["GET"]
    without, _ = await proxied(dialect_server, upstream, tls=f"{{ca_file: {pki.ca_file}}}")
    twilio_error(without, 502)  # the upstream refused the handshake without a certificate
    assert methods == ["GET"]


def test_dialect_serve_serves_https_with_server_tls(tmp_path: Path, pki: Pki) -> None:
    cert_file = pki.write("server.pem", pki.server.cert_chain_pems[0].bytes())
    key_file = pki.write("server.key", pki.server.private_key_pem.bytes())
    servers = ServerThread()
    proc = None
    try:

        def upstream_app() -> web.Application:
            async def answer(request: web.Request) -> web.Response:
                proto = request.headers.get("X-Forwarded-Proto")
                return web.json_response({"api_id": "u-1", "proto": proto})

            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", answer)
            return app

        config = tmp_path / "dialect.yaml"
        server_tls = f"{{cert_file: {cert_file}, key_file: {key_file}}}"
        config.write_text(sidecar_text(servers.serve(upstream_app), server_tls=server_tls))
        port = free_port()
        proc = serve_process(config, port, tmp_path / "serve.log")
        trusting = ssl.create_default_context()
        pki.ca.configure_trust(trusting)
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            trusting.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            tls.sendall(get("/v1/Message/1/", host="Host: localhost\r\n"))
            received = b""
            while not received.endswith(b"}"):
                received += tls.recv(4096)
        head, _, body = received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ")
        assert json.loads(body)["proto"] == "https"  # what the upstream was told
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            pytest.raises(ssl.SSLCertVerificationError),  # a client that does not trust it
        ):
            ssl.create_default_context().wrap_socket(raw, server_hostname="localhost")
    finally:
        if proc is not None:
            stop(proc)
        servers.close()


# -- 5. HEAD --------------------------------------------------------------------------------


async def test_head_is_forwarded_as_head_and_answered_without_a_body(
    dialect_server: StartDialect, aiohttp_server: StartServer
) -> None:
    upstream, methods = await plivo_upstream(aiohttp_server)
    served = await dialect_server(sidecar(str(upstream.make_url("")).rstrip("/")))
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    try:
        writer.write(b"HEAD /v1/Message/1/ HTTP/1.1\r\nHost: t\r\n\r\n" + get("/v1/Message/1/"))
        head = await read_answer(reader, head=True)
        assert head.status == 200
        # Had a body been written, it would sit where the next answer's status line is.
        after = await read_answer(reader)
        assert after.status == 200 and after.json()["message_uuid"] == "m-1"
        assert methods == ["HEAD", "GET"]
    finally:
        writer.close()
