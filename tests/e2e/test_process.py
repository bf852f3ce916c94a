"""``dialect serve`` as a real process: graceful shutdown on SIGTERM, hot reload on SIGHUP."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

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
SLOW = f"/2010-04-01/Accounts/{SID}/Messages/SM{'5' * 32}.json"


def slow_plivo() -> web.Application:
    """A Plivo-style upstream with one message that takes a second to fetch; all else 404."""

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1.0)
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

    app = web.Application()
    app.router.add_get("/v1/Account/{auth}/Message/55555555-5555-5555-5555-555555555555/", slow)
    app.router.add_route("*", "/{tail:.*}", missing)
    return app


@pytest.fixture
def upstream() -> Iterator[str]:
    servers = ServerThread()
    try:
        yield servers.serve(slow_plivo)
    finally:
        servers.close()


def start(config: Path, upstream: str, port: int, *extra: str) -> subprocess.Popen[str]:
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
    pytest.fail(f"dialect serve did not start: {proc.communicate()[0][-2000:]}")


def get(port: int, path: str) -> requests.Response:
    return requests.get(f"http://127.0.0.1:{port}{path}", auth=(SID, TOKEN), timeout=10)


def test_sigterm_finishes_in_flight_requests_then_exits_0(upstream: str) -> None:
    port = free_port()
    proc = start(ROOT / "config" / "twilio-over-plivo.yaml", upstream, port)
    result: dict[str, requests.Response] = {}
    worker = threading.Thread(target=lambda: result.update(r=get(port, SLOW)))
    try:
        worker.start()
        time.sleep(0.4)  # the request is now waiting on the slow upstream
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        worker.join(timeout=10)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert result["r"].status_code == 200
    assert result["r"].json()["sid"] == "SM" + "5" * 32


def test_sighup_reloads_a_sound_config_and_refuses_a_broken_one(
    upstream: str, tmp_path: Path
) -> None:
    config = tmp_path / "dialect.yaml"
    original = (ROOT / "config" / "twilio-over-plivo.yaml").read_text()
    config.write_text(original)
    port = free_port()
    proc = start(config, upstream, port)
    try:
        assert get(port, MISSING).json()["message"] == "not found"
        config.write_text(
            original.replace(
                "- {status: 404, code: 20404}",
                '- {status: 404, code: 20404, message: "reloaded: not here"}',
            )
        )
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while get(port, MISSING).json()["message"] != "reloaded: not here":
            assert time.monotonic() < deadline, "the reload never took effect"
            time.sleep(0.1)
        config.write_text(original + "\nroutes: oops\n")
        proc.send_signal(signal.SIGHUP)
        time.sleep(1.0)
        assert get(port, MISSING).json()["message"] == "reloaded: not here"
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=15)[0]
    assert "config reloaded" in output
    assert "reload refused" in output and "routes" in output
    assert TOKEN not in output and PLIVO_TOKEN not in output


def test_workers_share_the_port_and_stop_together(upstream: str) -> None:
    port = free_port()
    proc = start(ROOT / "config" / "twilio-over-plivo.yaml", upstream, port, "--workers", "2")
    try:
        # The port answers as soon as the first worker listens; the second may still start.
        deadline = time.monotonic() + 10
        children: list[str] = []
        while time.monotonic() < deadline and len(children) < 2:
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
            time.sleep(0.05)
        assert len(children) == 2
        answers = {get(port, MISSING).status_code for _ in range(20)}
        assert answers == {404}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert not any(Path(f"/proc/{pid}").exists() for pid in children)
    finally:
        if proc.poll() is None:
            proc.kill()
