"""The engine stays a house one can live in: small modules, each importable on its own."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.parametrize("module", ["proxy.engine.handler", "proxy.engine.translate"])
def test_the_request_flow_imports_first_without_an_import_cycle(module: str) -> None:
    # Imported first in a fresh interpreter, as a tool or a test might: an order-dependent
    # import cycle shows here and nowhere else.
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_no_engine_module_is_over_400_lines() -> None:
    sizes = {
        path.name: len(path.read_text().splitlines())
        for path in (ROOT / "proxy" / "engine").glob("*.py")
    }
    assert {name: n for name, n in sizes.items() if n > 400} == {}
