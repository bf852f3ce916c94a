"""Golden files for ``dialect translate``: the real command, run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

GOLDEN = ROOT / "tests" / "golden"
CASES: list[dict[str, Any]] = yaml.safe_load((GOLDEN / "cases.yaml").read_text())
# Offline runs must not depend on the caller's credentials.
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "PLIVO_"))}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_translate_matches_golden_file(case: dict[str, Any]) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "proxy",
            "translate",
            *case["args"],
            "--input",
            str(GOLDEN / case["input"]),
        ],
        capture_output=True,
        cwd=ROOT,
        env=CLEAN_ENV,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr.decode()
    actual = result.stderr.decode().strip().splitlines()[-1].encode() + b"\n" + result.stdout
    expected_path: Path = GOLDEN / case["expected"]
    if os.environ.get("DIALECT_UPDATE_GOLDEN") == "1":
        expected_path.write_bytes(actual)
    assert expected_path.exists(), (
        f"no golden file {expected_path.name}: run with DIALECT_UPDATE_GOLDEN=1"
    )
    assert actual == expected_path.read_bytes()


def test_unknown_route_is_a_clear_usage_error() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "proxy",
            "translate",
            "--config",
            "config/twilio-over-plivo.yaml",
            "--route",
            "nope",
            "--input",
            str(GOLDEN / "plivo_message.json"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=CLEAN_ENV,
        timeout=60,
    )
    assert result.returncode == 2
    assert "no route named 'nope'" in result.stderr and "Traceback" not in result.stderr
