"""Shared fixtures: the shipped config's environment and the repository root."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy.logs import configure

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _plain_logging() -> None:
    """Every test starts with info-level console logs, whatever an earlier test configured."""
    configure("console", "info")
