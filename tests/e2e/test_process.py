"""``dialect serve`` as a real process: graceful shutdown on SIGTERM, hot reload on SIGHUP.

Events are ordered by what can be observed (the upstream saw the request, the port refuses, a
log line was written), each awaited up to a deadline, never by sleeping.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import orjson
import pytest
import requests
from aiohttp import web

from tests.conftest import ROOT
from tests.e2e.test_cli import free_port
from tests.integration.conftest import PLIVO_TOKEN, SID, TOKEN, facade_env
from tests.servers import ServerThread

pytestmark = pytest.mark.e2e
MISSING = f"/2010-04-01/Accounts/{SID}/Messages/SM{'0' * 32}.json"
HELD = f"/2010-04-01/Accounts/{SID}/Messages/SM{'5' * 32}.json"
DEADLINE = 20.0  # seconds any awaited event may take before the test fails


@dataclass
class Upstream:
    url: str
    # Set when the held message's fetch reaches the upstream; the answer waits for release.
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


def holding_plivo(upstream: Upstream) -> Callable[[], web.Application]:
    """A Plivo-style upstream with one message whose fetch is answered only once the test
    releases it; all else 404."""

    async def held(request: web.Request) -> web.Response:
        upstream.arrived.set()
        released = await asyncio.to_thread(upstream.release.wait, DEADLINE)
        if not released:
            return web.json_response({"api_id": "z", "error": "never released"}, status=500)
        body = {
            "api_id": "x",
            "message_uuid": "55555555-5555-5555-5555-555555555555",
            "message_time": "2025-05-01 10:00:00+00:00",
            "message_state": "sent",
            "message_direction": "outbound",
            "from_number": "14155550100",
            "to_number": "14155550111",
            "units": 1,
        }
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    async def missing(request: web.Request) -> web.Response:
        return web.json_response({"api_id": "y", "error": "not found"}, status=404)

    def build() -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/Account/{auth}/Message/55555555-5555-5555-5555-555555555555/", held)
        app.router.add_route("*", "/{tail:.*}", missing)
        return app

    return build


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    servers = ServerThread()
    found = Upstream("")
    try:
        found.url = servers.serve(holding_plivo(found))
        yield found
    finally:
        found.release.set()
        servers.close()


class Output:
    """A process's output, read as it comes by a thread, so a test can wait for a line."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self.changed = threading.Condition()
        assert proc.stdout is not None
        self.reader = threading.Thread(target=self._read, args=(proc.stdout,), daemon=True)
        self.reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()

    def wait_for(self, text: str) -> None:
        with self.changed:
            found = self.changed.wait_for(
                lambda: any(text in line for line in self.lines), timeout=DEADLINE
            )
        assert found, f"no line with {text!r} within {DEADLINE}s:\n{self.text()[-2000:]}"

    def text(self) -> str:
        with self.changed:
            return "".join(self.lines)


def start(
    config: Path, upstream: str, port: int, *extra: str
) -> tuple[subprocess.Popen[str], Output]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "PLIVO_"))}
    env.update(facade_env(upstream))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "proxy",
            "serve",
            "--config",
            str(config),
            "--port",
            str(port),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )
    output = Output(proc)
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, output
        except OSError:
            time.sleep(0.05)  # polling the port: the next attempt, not an ordering
    proc.kill()
    proc.wait(timeout=DEADLINE)
    pytest.fail(f"dialect serve did not start: {output.text()[-2000:]}")


def refuses_connections(port: int) -> bool:
    """Whether the port refuses a connection, polled until it does or the deadline passes."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            return True
        time.sleep(0.05)
    return False


def get(port: int, path: str) -> requests.Response:
    return requests.get(f"http://127.0.0.1:{port}{path}", auth=(SID, TOKEN), timeout=DEADLINE)


def test_sigterm_finishes_in_flight_requests_then_exits_0(upstream: Upstream) -> None:
    port = free_port()
    proc, _ = start(ROOT / "config" / "twilio-over-plivo.yaml", upstream.url, port)
    result: dict[str, requests.Response] = {}
    worker = threading.Thread(target=lambda: result.update(r=get(port, HELD)))
    try:
        worker.start()
        assert upstream.arrived.wait(DEADLINE), "the request never reached the upstream"
        proc.send_signal(signal.SIGTERM)
        # The listener closes at once, while the request it accepted is still in flight.
        assert refuses_connections(port)
        assert worker.is_alive() and proc.poll() is None
        upstream.release.set()
        worker.join(timeout=DEADLINE)
        assert proc.wait(timeout=DEADLINE) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert result["r"].status_code == 200
    assert result["r"].json()["sid"] == "SM" + "5" * 32


def test_sighup_reloads_a_sound_config_and_refuses_a_broken_one(
    upstream: Upstream, tmp_path: Path
) -> None:
    config = tmp_path / "dialect.yaml"
    original = (ROOT / "config" / "twilio-over-plivo.yaml").read_text()
    config.write_text(original)
    port = free_port()
    proc, output = start(config, upstream.url, port)
    try:
        assert get(port, MISSING).json()["message"] == "not found"
        config.write_text(
            original.replace(
                "- {status: 404, code: 20404}",
                '- {status: 404, code: 20404, message: "reloaded: not here"}',
            )
        )
        proc.send_signal(signal.SIGHUP)
        output.wait_for("config reloaded")
        assert get(port, MISSING).json()["message"] == "reloaded: not here"
        config.write_text(original + "\nroutes: oops\n")
        proc.send_signal(signal.SIGHUP)
        output.wait_for("reload refused")
        assert get(port, MISSING).json()["message"] == "reloaded: not here"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=DEADLINE)
        output.reader.join(timeout=DEADLINE)
    text = output.text()
    assert "reload refused" in text and "routes" in text
    assert TOKEN not in text and PLIVO_TOKEN not in text


def test_workers_share_the_port_and_stop_together(upstream: Upstream) -> None:
    port = free_port()
    proc, _ = start(
        ROOT / "config" / "twilio-over-plivo.yaml", upstream.url, port, "--workers", "2"
    )
    try:
        # The port answers as soon as the first worker listens; the second may still start.
        deadline = time.monotonic() + DEADLINE
        children: list[str] = []
        while time.monotonic() < deadline and len(children) < 2:
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
            time.sleep(0.05)  # polling the process table
        assert len(children) == 2
        answers = {get(port, MISSING).status_code for _ in range(20)}
        assert answers == {404}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=DEADLINE) == 0
        assert not any(Path(f"/proc/{pid}").exists() for pid in children)
    finally:
        if proc.poll() is None:
            proc.kill()
