"""The inspector page in a real browser, as a newcomer meets it after ``make run``.

``dialect demo`` runs as a real process; its banner names the inspector's URL and a ``curl``
line. Headless Chromium (Debian's ``chromium`` and ``chromium-driver``, which ``make test``
installs) opens the page; the test runs the banner's curl line, watches the exchange appear
without a reload, opens it, reads the trace rows of the ``twilio_message`` pipeline, copies a
request as curl, replays it, filters the list, and finds no secret anywhere in the page or
the data behind it. A screenshot is saved for a person to look at (its path is printed).

The browser is driven over the W3C WebDriver protocol directly (a few JSON calls to
chromedriver), so nothing (no Selenium Manager) tries to download a driver or a browser, and
Chromium is started with every background network feature off: this machine has no network.
Every wait is a bounded poll of the page.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.e2e.test_cli import free_port

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
DEADLINE = 30.0
SECRETS = ["demo-twilio-auth-token", "demo-plivo-auth-token", "demo-callback-secret"]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1500,1000",
]

needs_chromium = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="Debian's chromium and chromium-driver are not installed (make test installs them)",
)


class Browser:
    """A WebDriver session on chromedriver, spoken to in JSON."""

    def __init__(self, port: int, profile: Path) -> None:
        self.base = f"http://127.0.0.1:{port}"
        options = {
            "binary": str(CHROMIUM),
            "args": [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"],
        }
        caps = {"capabilities": {"alwaysMatch": {"goog:chromeOptions": options}}}
        self.session = self._call("POST", "/session", caps)["sessionId"]

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=60) as answer:
            return json.loads(answer.read())["value"]

    def command(self, method: str, path: str, body: Any = None) -> Any:
        return self._call(method, f"/session/{self.session}{path}", body)

    def go(self, url: str) -> None:
        self.command("POST", "/url", {"url": url})

    def js(self, script: str, *args: Any) -> Any:
        return self.command("POST", "/execute/sync", {"script": script, "args": list(args)})

    def js_async(self, script: str, *args: Any) -> Any:
        """``script`` ends by calling its last argument with the result."""
        return self.command("POST", "/execute/async", {"script": script, "args": list(args)})

    def wait_for(self, script: str, *args: Any, what: str) -> Any:
        """Until ``script`` returns something truthy (a bounded poll of the page)."""
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            found = self.js(script, *args)
            if found:
                return found
            time.sleep(0.1)
        pytest.fail(f"the page never showed {what} within {DEADLINE}s")

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self.command("GET", "/screenshot")))

    def quit(self) -> None:
        self.command("DELETE", "")


def _listening(port: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the process ended early: {proc.args}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"nothing listened on {port} within {DEADLINE}s")


@pytest.fixture
def demo() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``dialect demo`` as ``make run`` starts it; yields the banner."""
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
        _listening(port, proc)
        banner = ""
        assert proc.stdout is not None
        for _ in range(200):  # the banner is printed before the socket opens
            line = proc.stdout.readline()
            banner += line
            if "curl -u" in line:
                break
        yield banner, proc
    finally:
        proc.terminate()
        proc.communicate(timeout=15)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    port = free_port()
    driver = subprocess.Popen(
        [str(CHROMEDRIVER), f"--port={port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "SE_OFFLINE": "true"},
    )
    try:
        _listening(port, driver)  # type: ignore[arg-type]
        session = Browser(port, tmp_path / "profile")
        try:
            yield session
        finally:
            session.quit()
    finally:
        driver.terminate()
        driver.wait(timeout=15)


def _run_curl(line: str) -> int:
    """The banner's curl line, as a person would paste it; its HTTP status."""
    args = shlex.split(line.strip())
    assert args[0] == "curl"
    if shutil.which("curl") is None:  # the same request without curl
        user, _, secret = args[args.index("-u") + 1].partition(":")
        request = urllib.request.Request(args[-1])
        auth = base64.b64encode(f"{user}:{secret}".encode()).decode()
        request.add_header("Authorization", f"Basic {auth}")
        with urllib.request.urlopen(request, timeout=30) as answer:
            return int(answer.status)
    done = subprocess.run(
        [*args, "-s", "-o", "/dev/null", "-w", "%{http_code}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return int(done.stdout)


ROWS = "return [...document.querySelectorAll('#exchanges tbody tr')].map(r => r.innerText)"


@needs_chromium
def test_a_newcomer_watches_an_exchange_and_its_translation_appear(
    demo: tuple[str, subprocess.Popen[str]], browser: Browser, tmp_path: Path
) -> None:
    banner, _ = demo
    url = re.search(r"Inspector\s*:\s*(\S+)", banner)
    curl_line = next(line for line in banner.splitlines() if line.strip().startswith("curl -u"))
    assert url is not None, banner
    inspector = url.group(1)
    assert inspector.endswith("/_dialect/inspector")

    browser.go(inspector)
    browser.wait_for("return document.getElementById('state').textContent === 'live'", what="live")
    assert browser.js(ROWS) == []
    loaded = browser.js("return performance.timeOrigin")

    # The banner's curl line: the exchange appears without a reload.
    assert _run_curl(curl_line) == 200
    rows = browser.wait_for(
        "const r = [...document.querySelectorAll('#exchanges tbody tr')];"
        "return r.length ? r.map(x => x.innerText) : null",
        what="the exchange in the list",
    )
    assert browser.js("return performance.timeOrigin") == loaded  # the same page, not reloaded
    assert len(rows) == 1
    assert "messages.list" in rows[0] and "GET" in rows[0] and "200" in rows[0]

    # Opened: the client's request, the upstream call, the answer, and the trace.
    browser.js("document.querySelector('#exchanges tbody tr').click()")
    browser.wait_for("return document.querySelector('table.trace')", what="the trace")
    sections = browser.js(
        "return [...document.querySelectorAll('#detail summary')].map(s => s.textContent)"
    )
    assert sections == [
        "The client's request",
        "Upstream calls (1)",
        "The answer the client got",
        sections[3],
    ]
    assert sections[3].startswith("Translation trace (")
    trace = browser.js(
        "return [...document.querySelectorAll('table.trace tbody tr')]"
        ".map(r => [...r.cells].map(c => c.textContent))"
    )
    steps = [row[0] for row in trace if row[0]]
    assert steps[0].startswith("request[")  # the list's paging, planned by the request steps
    pipeline = [s for s in steps if "/twilio_message[" in s]
    assert pipeline and all(s.startswith("response[") for s in pipeline)
    # The first record's rename, then its SID converted: rows of the named pipeline.
    renamed = [row for row in trace if row[2] == "messages[0].message_uuid → messages[0].sid"]
    assert len(renamed) == 1
    converted = [row for row in trace if row[2] == "messages[0].sid" and row[4].startswith('"SM')]
    assert len(converted) == 1 and re.fullmatch(r'"[0-9a-f-]{36}"', converted[0][3])

    # Copy as curl: the client's request, its credentials redacted.
    browser.js("document.querySelector('.copy-curl').click()")
    shown = browser.wait_for(
        "const p = document.querySelector('pre[data-curl=client]');"
        "return p && !p.hidden && p.textContent",
        what="the curl command",
    )
    assert shown.startswith("curl ") and ":[secret]" in shown and "Messages.json" in shown

    browser.js("document.querySelector('#detail details:last-of-type').scrollIntoView()")
    browser.screenshot(tmp_path / "inspector.png")
    print(f"\nscreenshot: {tmp_path / 'inspector.png'}")

    # No secret in the page, nor in anything the page reads.
    data = browser.js_async(
        "const done = arguments[arguments.length - 1];"
        "Promise.all(['/_dialect/inspector/events?after=0&wait=0',"
        " '/_dialect/inspector/exchanges/1'].map(u => fetch(u).then(r => r.text())))"
        ".then(done)"
    )
    page = browser.js("return document.documentElement.outerHTML")
    basic = base64.b64encode(b"ACdededededededededededededededede:demo-twilio-auth-token")
    for text in [page, *data]:
        for secret in [*SECRETS, basic.decode()]:
            assert secret not in text

    # Replay: a second exchange, marked as the first one's replay, opened.
    browser.js("document.getElementById('replay').click()")
    browser.wait_for(
        "return document.querySelectorAll('#exchanges tbody tr').length === 2",
        what="the replayed exchange",
    )
    browser.wait_for(
        "return document.querySelector('#detail h2').textContent.startsWith('#2 ')",
        what="the replay opened",
    )
    assert "replay of #1" in browser.js(
        "return document.querySelector('#detail .facts').textContent"
    )

    # Filters: a 4xx only shows under 4xx.
    status = _run_curl(curl_line.replace("demo-twilio-auth-token", "wrong-token"))
    assert status == 401
    browser.wait_for(
        "return document.querySelectorAll('#exchanges tbody tr').length === 3",
        what="the refused exchange",
    )
    browser.js(
        "const s = document.getElementById('status-filter'); s.value = '4';"
        "s.dispatchEvent(new Event('change'))"
    )
    only = browser.js(ROWS)
    assert len(only) == 1 and "401" in only[0]
    browser.js(
        "const s = document.getElementById('status-filter'); s.value = '';"
        "s.dispatchEvent(new Event('change'));"
        "const r = document.getElementById('route-filter'); r.value = 'messages.list';"
        "r.dispatchEvent(new Event('change'))"
    )
    assert len(browser.js(ROWS)) == 3  # the refused one matched the route before refusing
