"""How many workers ``auto`` means: one per core, unless that would break idempotent retries."""

from __future__ import annotations

import pytest

from proxy.runtime import workers
from proxy.settings.loader import load_config
from tests.conftest import ROOT

ENV = {
    "TWILIO_ACCOUNT_SID": "AC" + "ab" * 16,
    "TWILIO_AUTH_TOKEN": "t" * 12,
    "PLIVO_AUTH_ID": "MA" + "B" * 18,
    "PLIVO_AUTH_TOKEN": "p" * 12,
    "PLIVO_API_URL": "http://127.0.0.1:9",
}


@pytest.fixture
def four_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "cores", lambda: 4)


def test_idempotent_routes_on_the_memory_store_get_one_worker(four_cores: None) -> None:
    config = load_config(ROOT / "config" / "twilio-over-plivo.yaml", env=ENV)
    count, why = workers.resolve("auto", config)
    assert count == 1
    assert why is not None and "messages.create" in why and "redis" in why


def test_a_shared_store_gets_one_worker_per_core(four_cores: None) -> None:
    env = {**ENV, "DIALECT_STORE": "redis", "DIALECT_REDIS_URL": "redis://127.0.0.1:6379/0"}
    config = load_config(ROOT / "config" / "twilio-over-plivo.yaml", env=env)
    assert workers.resolve("auto", config) == (4, None)


def test_a_config_without_idempotent_routes_gets_one_worker_per_core(four_cores: None) -> None:
    env = {"LEGACY_URL": "http://127.0.0.1:9"}
    config = load_config(ROOT / "config" / "sidecar-plivo-to-twilio.yaml", env=env, offline=True)
    assert workers.resolve("auto", config) == (4, None)


def test_an_explicit_count_is_kept(four_cores: None) -> None:
    config = load_config(ROOT / "config" / "twilio-over-plivo.yaml", env=ENV)
    assert workers.resolve(3, config) == (3, None)


def test_cores_is_what_this_process_may_use() -> None:
    assert 1 <= workers.cores() <= (__import__("os").cpu_count() or 1)
