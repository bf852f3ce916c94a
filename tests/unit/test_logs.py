"""Log lines: written whole and in order, scrubbed, with a UTC timestamp, buffered or not."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta

import orjson

from proxy.ops.logs import configure, get_logger, log_request, set_secrets


def lines(out: io.StringIO) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in out.getvalue().splitlines()]


def test_a_line_outside_the_event_loop_is_written_at_once() -> None:
    out = io.StringIO()
    configure("json", "info", stream=out, buffered=True)
    get_logger().info("started", port=8080)
    assert [(e["event"], e["port"]) for e in lines(out)] == [("started", 8080)]


async def test_lines_of_one_loop_turn_are_written_together_and_in_order() -> None:
    out = io.StringIO()
    configure("json", "info", stream=out, buffered=True)
    log = get_logger()
    for n in range(3):
        log.info("request", n=n)
    assert out.getvalue() == ""  # held until the end of this turn of the loop
    await asyncio.sleep(0)
    assert [e["n"] for e in lines(out)] == [0, 1, 2]
    log.info("request", n=3)
    await asyncio.sleep(0)
    assert [e["n"] for e in lines(out)] == [0, 1, 2, 3]


async def test_buffered_lines_are_scrubbed_of_secrets() -> None:
    out = io.StringIO()
    set_secrets(["hunter2-secret-token"])
    try:
        configure("json", "info", stream=out, buffered=True)
        get_logger().info("request", error="upstream said hunter2-secret-token", token="abc")
        await asyncio.sleep(0)
    finally:
        set_secrets([])
    text = out.getvalue()
    assert "hunter2-secret-token" not in text and "abc" not in text
    assert lines(out)[0]["error"] == "upstream said [secret]"


def test_timestamp_is_iso_utc_with_microseconds_and_current() -> None:
    out = io.StringIO()
    configure("json", "info", stream=out)
    get_logger().info("x")
    get_logger().info("y")
    stamps = [str(e["timestamp"]) for e in lines(out)]
    for stamp in stamps:
        assert stamp.endswith("Z") and len(stamp) == len("2026-01-01T00:00:00.000000Z")
        moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        assert abs(datetime.now(UTC) - moment) < timedelta(seconds=5)
    assert stamps[0] <= stamps[1]


def test_the_request_line_is_the_line_a_logger_would_write() -> None:
    # log_request applies the JSON chain's processors inline: same keys in the same order,
    # the same scrubbing, as get_logger().info() through structlog.
    set_secrets(["hunter2-secret-token"])
    try:
        fields = {
            "request_id": "r1",
            "route": "messages.fetch",
            "status": 502,
            "upstream_status": [401],
            "error": "upstream said hunter2-secret-token",
            "password": "abc",
        }
        via_logger, inline = io.StringIO(), io.StringIO()
        configure("json", "info", stream=via_logger)
        get_logger().info("request", **fields)
        configure("json", "info", stream=inline)
        log_request({**fields, "event": "request"})
    finally:
        set_secrets([])
    a, b = lines(via_logger)[0], lines(inline)[0]
    a.pop("timestamp"), b.pop("timestamp")
    assert list(a.items()) == list(b.items())
    assert b["error"] == "upstream said [secret]" and b["password"] == "[secret]"


def test_the_request_line_is_dropped_below_its_level() -> None:
    out = io.StringIO()
    configure("json", "warning", stream=out)
    log_request({"request_id": "r1", "event": "request"})
    assert out.getvalue() == ""
