"""The measuring scripts still measure: each runs on a tiny load and prints its figures.

They are not part of the suite's assertions about speed (figures are never asserted), but a
script that crashes on today's config (a route that gained a setting, a module that moved)
would only be found on the day someone needs a number."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT


def _run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=240,
        env={**os.environ, "DIALECT_LOG_LEVEL": "warning"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_pipeline_bench_prints_every_shipped_record_pipeline() -> None:
    out = _run("bench/pipeline.py", "--repeat", "1", "--records", "20")
    for name in ("twilio_message", "twilio_call", "plivo_message", "plivo_call"):
        line = next(line for line in out.splitlines() if line.startswith(name))
        figures = line.split()[1:3]
        assert all(float(f) > 0 for f in figures), line


def test_the_compiled_share_ranks_modules_of_the_request_path() -> None:
    out = _run("bench/compiled_share.py", "--requests", "40", "--top", "60")
    assert "40 requests" in out
    rows = {line.split()[0] for line in out.splitlines()[2:] if line.strip()}
    # The request flow is on the path of every translated fetch.
    assert {"proxy.engine.handler", "proxy.engine.intake", "proxy.http.server"} <= rows
