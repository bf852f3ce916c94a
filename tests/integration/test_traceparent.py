"""W3C Trace Context across Dialect: a request's ``traceparent`` kept (or started), passed on
to every upstream call and callback, on the log line; and the optional OpenTelemetry spans,
checked with the SDK's in-memory exporter.
"""

from __future__ import annotations

import io
import re
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from proxy.ops.logs import configure
from proxy.ops.tracecontext import parse, start
from proxy.settings import load_config_text
from tests.dialect_server import DialectTestServer

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER = "00f067aa0ba902b7"
INCOMING = f"00-{TRACE}-{CALLER}-01"
HEADER = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]")
Client = TestClient[Any, Any]

CONFIG = """
server: {opentelemetry: OTEL}
upstreams:
  up: {url: "UPSTREAM", style: twilio}
routes:
  - name: things.fetch
    match: {method: GET, path: "/v1/Thing/{id}/"}
    auth: false
    upstream: up
    styles: {client: plivo, upstream: twilio}
    request:
      - {op: rewrite_path, to: "/Things/{$path.id}.json"}
  - name: things.create
    match: {method: POST, path: "/v1/Thing/"}
    auth: false
    upstream: up
    styles: {client: plivo, upstream: twilio}
    request:
      - {op: fan_out, at: To, sep: "<"}
      - {op: rewrite_path, to: "/Things.json"}
    response:
      - {op: gather, collect: sid, into: sids}
"""


class Recorder:
    """An upstream that answers every request and keeps each one's headers."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(dict(request.headers))
        if request.method == "POST":
            return web.json_response({"sid": f"SM{len(self.seen):032d}"}, status=201)
        return web.json_response({"sid": "SM" + "1" * 32, "status": "sent"})

    def app(self) -> web.Application:
        application = web.Application()
        application.router.add_route("*", "/{tail:.*}", self.handle)
        return application


Start = Callable[..., Awaitable[tuple[Client, Recorder]]]


@pytest.fixture
def proxy(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    aiohttp_client: Callable[..., Awaitable[Client]],
) -> Start:
    async def started(otel: bool = False) -> tuple[Client, Recorder]:
        recorder = Recorder()
        upstream = await aiohttp_server(recorder.app())
        url = str(upstream.make_url("")).rstrip("/")
        text = CONFIG.replace("UPSTREAM", url).replace("OTEL", "true" if otel else "false")
        client = await aiohttp_client(DialectTestServer(load_config_text(text)))
        return client, recorder

    return started


# -- the header ---------------------------------------------------------------------------------


def test_a_valid_traceparent_is_read_and_a_bad_one_is_not() -> None:
    assert parse(INCOMING) == (TRACE, CALLER, "01")
    assert parse(f" {INCOMING} ") == (TRACE, CALLER, "01")
    # A later version: its first four fields, whatever follows.
    assert parse(f"01-{TRACE}-{CALLER}-01-later-fields") == (TRACE, CALLER, "01")
    for bad in (
        None,
        "",
        f"ff-{TRACE}-{CALLER}-01",  # the version that is never valid
        f"00-{TRACE}-{CALLER}-01-extra",  # version 00 has exactly four fields
        f"00-{'0' * 32}-{CALLER}-01",  # all-zero trace id
        f"00-{TRACE}-{'0' * 16}-01",  # all-zero parent id
        f"00-{TRACE.upper()}-{CALLER}-01",  # upper case
        f"00-{TRACE[:-1]}g-{CALLER}-01",
        f"00_{TRACE}_{CALLER}_01",
    ):
        assert parse(bad) is None, bad


def test_a_trace_is_continued_or_started() -> None:
    continued = start(INCOMING)
    assert continued.trace_id == TRACE and continued.parent_id == CALLER
    assert continued.span_id != CALLER and continued.header == f"00-{TRACE}-{continued.span_id}-01"
    unsampled = start(f"00-{TRACE}-{CALLER}-00")
    assert unsampled.header.endswith("-00")
    fresh = [start(None), start("garbage")]
    for trace in fresh:
        assert HEADER.fullmatch(trace.header) and trace.parent_id is None
    assert fresh[0].trace_id != fresh[1].trace_id


# -- through the proxy --------------------------------------------------------------------------


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    out = io.StringIO()
    configure("json", "info", stream=out)
    try:
        yield out
    finally:
        configure("console", "info")


def request_lines(out: io.StringIO) -> list[dict[str, Any]]:
    lines = [orjson.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == "request"]


async def test_the_callers_trace_goes_upstream_with_dialect_as_the_parent(
    proxy: Start, log_lines: io.StringIO
) -> None:
    client, upstream = await proxy()
    answer = await client.get("/v1/Thing/7/", headers={"traceparent": INCOMING})
    assert answer.status == 200
    (sent,) = upstream.seen
    found = HEADER.fullmatch(sent["traceparent"])
    assert found is not None
    assert found.group(1) == TRACE and found.group(2) != CALLER
    assert sent.get("traceparent") != INCOMING
    (line,) = request_lines(log_lines)
    assert line["trace_id"] == TRACE and line["route"] == "things.fetch"


async def test_a_request_without_one_starts_a_trace_of_its_own(
    proxy: Start, log_lines: io.StringIO
) -> None:
    client, upstream = await proxy()
    for header in ({}, {"traceparent": "not-a-traceparent"}):
        assert (await client.get("/v1/Thing/7/", headers=header)).status == 200
    ids = [HEADER.fullmatch(sent["traceparent"]) for sent in upstream.seen]
    assert all(ids) and ids[0].group(1) != ids[1].group(1)  # type: ignore[union-attr]
    lines = request_lines(log_lines)
    assert [line["trace_id"] for line in lines] == [m.group(1) for m in ids]  # type: ignore[union-attr]


async def test_every_call_of_a_fan_out_carries_the_trace(proxy: Start) -> None:
    client, upstream = await proxy()
    answer = await client.post(
        "/v1/Thing/",
        json={"To": "+14155550111<+14155550112<+14155550113"},
        headers={"traceparent": INCOMING},
    )
    assert answer.status == 201
    found = [HEADER.fullmatch(sent["traceparent"]) for sent in upstream.seen]
    assert len(found) == 3 and all(m and m.group(1) == TRACE for m in found)


# -- OpenTelemetry -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exporter() -> Any:
    """The SDK with an in-memory exporter as the process's tracer provider (set once)."""
    sdk = pytest.importorskip("opentelemetry.sdk.trace", reason="the otel extra is not installed")
    api = pytest.importorskip("opentelemetry.trace")
    export = pytest.importorskip("opentelemetry.sdk.trace.export")
    memory = pytest.importorskip("opentelemetry.sdk.trace.export.in_memory_span_exporter")
    spans = memory.InMemorySpanExporter()
    provider = sdk.TracerProvider()
    provider.add_span_processor(export.SimpleSpanProcessor(spans))
    api.set_tracer_provider(provider)
    return spans


async def test_opentelemetry_exports_a_span_per_request_and_per_upstream_call(
    proxy: Start, exporter: Any
) -> None:
    exporter.clear()
    client, upstream = await proxy(otel=True)
    answer = await client.post(
        "/v1/Thing/", json={"To": "+14155550111<+14155550112"}, headers={"traceparent": INCOMING}
    )
    assert answer.status == 201
    spans = exporter.get_finished_spans()
    server = [s for s in spans if s.kind.name == "SERVER"]
    calls = [s for s in spans if s.kind.name == "CLIENT"]
    assert len(server) == 1 and len(calls) == 2
    (request,) = server
    assert f"{request.context.trace_id:032x}" == TRACE
    assert f"{request.parent.span_id:016x}" == CALLER and request.parent.is_remote
    assert request.name == "POST things.create"
    assert request.attributes["http.response.status_code"] == 201
    assert request.attributes["dialect.route"] == "things.create"
    for call in calls:
        assert call.parent.span_id == request.context.span_id
        assert call.attributes["http.response.status_code"] == 201
        assert call.attributes["url.full"].endswith("/Things.json")
    # Each upstream request names its own span as the parent.
    sent = {HEADER.fullmatch(s["traceparent"]).group(2) for s in upstream.seen}  # type: ignore[union-attr]
    assert sent == {f"{call.context.span_id:016x}" for call in calls}


async def test_opentelemetry_starts_a_trace_when_the_request_has_none(
    proxy: Start, exporter: Any, log_lines: io.StringIO
) -> None:
    exporter.clear()
    client, upstream = await proxy(otel=True)
    assert (await client.get("/v1/Thing/7/")).status == 200
    (request,) = [s for s in exporter.get_finished_spans() if s.kind.name == "SERVER"]
    assert request.parent is None
    trace_id = f"{request.context.trace_id:032x}"
    assert HEADER.fullmatch(upstream.seen[0]["traceparent"]).group(1) == trace_id  # type: ignore[union-attr]
    (line,) = request_lines(log_lines)
    assert line["trace_id"] == trace_id
