"""The ``dialect`` command as a user runs it: check, and the demo that ``make run`` starts."""

from __future__ import annotations

import contextlib
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from twilio.request_validator import RequestValidator
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


@contextlib.contextmanager
def callback_app(token: str) -> Iterator[tuple[str, list[tuple[dict[str, str], bool]]]]:
    """A status-callback app on loopback that checks each request with twilio's validator."""
    received: list[tuple[dict[str, str], bool]] = []
    validator = RequestValidator(token)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            params = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            url = f"http://127.0.0.1:{self.server.server_address[1]}{self.path}"
            signature = self.headers.get("X-Twilio-Signature", "")
            received.append((params, bool(validator.validate(url, params, signature))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/status", received
    finally:
        server.shutdown()
        server.server_close()


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
        with callback_app(DEMO_TOKEN) as (app_url, received):
            sent = client.messages.create(
                to="+14155550111", from_="+14155550100", body="demo", status_callback=app_url
            )
            assert client.messages(sent.sid).fetch().sid == sent.sid
            # The built-in carrier reports delivery through the demo, signed for the app.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and len(received) < 3:
                time.sleep(0.05)
        assert [p["MessageStatus"] for p, _ in received] == ["queued", "sent", "delivered"]
        assert all(valid for _, valid in received)
        assert all(p["MessageSid"] == sent.sid for p, _ in received)
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=10)
    assert f"curl -u {DEMO_SID}:{DEMO_TOKEN}" in output
    assert "client.api.base_url" in output


def test_translate_a_callback_offline_signs_it_for_the_app() -> None:
    """``--callback``: the carrier's form in, the app's form and a signature it accepts out."""
    env = {"TWILIO_AUTH_TOKEN": "app-token", "TWILIO_ACCOUNT_SID": DEMO_SID}
    form = "MessageUUID=0936ec98-7c4c-11e7-9891-06ad4ba32f2b&Status=rejected&From=14155550100&To=14155550199&TotalAmount=0.0035"
    url = "https://app.example.com/sms/status"
    result = subprocess.run(
        [sys.executable, "-m", "proxy", "translate", "--config", "config/twilio-over-plivo.yaml",
         "--callback", "message-status", "--url", url],
        input=form, capture_output=True, text=True, timeout=60, cwd=ROOT,
        env={**os.environ, **env},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    params = dict(urllib.parse.parse_qsl(result.stdout.strip()))
    assert params["MessageSid"] == "SM0936ec987c4c11e7989106ad4ba32f2b"
    assert params["MessageStatus"] == "failed" and params["AccountSid"] == DEMO_SID
    assert "TotalAmount" not in params
    signature = next(
        line.split(": ", 1)[1]
        for line in result.stderr.splitlines()
        if line.startswith("X-Twilio-Signature: ")
    )
    assert RequestValidator("app-token").validate(url, params, signature)


def test_translate_a_document_offline_from_twiml_to_plivo_xml() -> None:
    twiml = '<Response><Say voice="man">Hi</Say><Pause length="2"/><Hangup/></Response>'
    result = subprocess.run(
        [sys.executable, "-m", "proxy", "translate", "--config", "config/twilio-over-plivo.yaml",
         "--document", "--url", "https://app.example.com/voice"],
        input=twiml, capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    expected = '<Response><Speak voice="MAN">Hi</Speak><Wait length="2" /><Hangup /></Response>'
    assert expected in result.stdout
    refused = subprocess.run(
        [sys.executable, "-m", "proxy", "translate", "--config", "config/twilio-over-plivo.yaml",
         "--document"],
        input="<Response><Pay/></Response>", capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert refused.returncode == 2
    assert "cannot be translated" in refused.stderr and "Pay" in refused.stderr
    assert "Traceback" not in refused.stderr


@pytest.mark.e2e
def test_the_readme_callback_app_takes_a_call_through_the_demo() -> None:
    """``docs/examples/callback_app.py``, the app the README shows, answers a call placed
    through ``dialect demo``: the built-in carrier fetches its TwiML through Dialect, presses
    digits at the Gather, and reports the end of the call."""
    demo_port, app_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "PLIVO_"))}
    demo = subprocess.Popen(
        [sys.executable, "-m", "proxy", "demo", "--port", str(demo_port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT,
    )  # fmt: skip
    app = subprocess.Popen(
        [sys.executable, "docs/examples/callback_app.py"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**env, "PORT": str(app_port)}, cwd=ROOT,
    )  # fmt: skip
    try:
        for port in (demo_port, app_port):
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                pytest.fail(f"nothing listened on {port} within 30 s")
        client = Client(DEMO_SID, DEMO_TOKEN, environment={"DIALECT_TEST": "1"})
        client.api.base_url = f"http://127.0.0.1:{demo_port}"
        base = f"http://127.0.0.1:{app_port}"
        call = client.calls.create(
            to="+14155550111",
            from_="+14155550100",
            url=base + "/voice",
            status_callback=base + "/status",
        )
        lines: list[str] = []
        out = app.stdout
        assert out is not None
        reader = threading.Thread(target=lambda: lines.extend(iter(out.readline, "")))
        reader.start()  # a reader thread: readline alone could block past any deadline
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not any(x.startswith("/status") for x in lines):
            time.sleep(0.05)
    finally:
        demo.terminate()
        app.terminate()
        demo.wait(timeout=10)
        app.wait(timeout=10)
    paths = [line.split(" ", 1)[0] for line in lines if line.startswith("/")]
    assert paths == ["/voice", "/voice/digits", "/status"]
    status = next(line for line in lines if line.startswith("/status"))
    assert f"'CallSid': '{call.sid}'" in status and "'CallStatus': 'completed'" in status
    assert "'Digits': '1234'" in next(line for line in lines if line.startswith("/voice/digits"))
