"""The ``dialect`` command as a user runs it: check, and the demo that ``make run`` starts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from twilio.rest import Client

from tests.conftest import ROOT

DEMO_SID = "AC" + "de" * 16
DEMO_TOKEN = "demo-twilio-auth-token"


def run_dialect(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "proxy", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )


def test_check_accepts_the_shipped_config() -> None:
    env = {
        "TWILIO_ACCOUNT_SID": DEMO_SID,
        "TWILIO_AUTH_TOKEN": "t",
        "PLIVO_AUTH_ID": "MA" + "A" * 18,
        "PLIVO_AUTH_TOKEN": "p",
    }
    result = run_dialect("check", "config/twilio-over-plivo.yaml", env=env)
    assert result.returncode == 0, result.stderr
    assert "messages.create" in result.stdout


def test_check_reports_every_problem_with_its_location(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "upstreams: {u: {url: 'http://127.0.0.1:1', style: plivo}}\n"
        "accounts: [{client: {user: a, secret: '${NOPE_SECRET_VAR}'}, upstream: {user: b, secret: c}}]\n"
        "routes:\n"
        "  - {name: r, match: {method: GET, path: /x}, upstream: u,\n"
        "     styles: {client: twilio, upstream: plivo}, response: [{op: nope}, {op: rename}]}\n"
    )
    result = run_dialect("check", str(bad), env={"NOPE_SECRET_VAR": ""})
    assert result.returncode == 1
    assert (
        "accounts[0].client.secret: environment variable NOPE_SECRET_VAR is not set"
        in result.stderr
    )
    assert "routes[0].response[0].op: unknown op 'nope'" in result.stderr
    assert "routes[0].response[1].map" in result.stderr
    assert "Traceback" not in result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.e2e
def test_demo_serves_the_twilio_facade_to_the_sdk() -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "PLIVO_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "proxy", "demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the demo did not start listening within 30 s")
        client = Client(DEMO_SID, DEMO_TOKEN, environment={"DIALECT_TEST": "1"})
        client.api.base_url = f"http://127.0.0.1:{port}"
        messages = client.messages.list(limit=5)
        assert len(messages) == 5 and all(m.sid.startswith(("SM", "MM")) for m in messages)
        sent = client.messages.create(to="+14155550111", from_="+14155550100", body="demo")
        assert client.messages(sent.sid).fetch().sid == sent.sid
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=10)
    assert f"curl -u {DEMO_SID}:{DEMO_TOKEN}" in output
    assert "client.api.base_url" in output
