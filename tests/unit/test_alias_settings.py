"""``resolve`` on a route and ``alias`` on a callback kind: a config that could never find an
alias, or would write where it must not, is refused at load with the place to fix."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from proxy.engine.errors import ConfigError
from proxy.settings import load_config_text
from tests.conftest import ROOT

ENV = {
    "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
    "TWILIO_AUTH_TOKEN": "tok",
    "PLIVO_AUTH_ID": "MA" + "B" * 18,
    "PLIVO_AUTH_TOKEN": "ptok",
    "PLIVO_API_URL": "http://127.0.0.1:9",
}


def shipped() -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load((ROOT / "config" / "twilio-over-plivo.yaml").read_text())
    return raw


def route(raw: dict[str, Any], name: str) -> tuple[int, dict[str, Any]]:
    return next((i, r) for i, r in enumerate(raw["routes"]) if r["name"] == name)


def problems_of(raw: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        load_config_text(yaml.safe_dump(raw), env=ENV)
    return info.value.problems


def test_the_shipped_config_resolves_call_sids_recorded_by_its_voice_callbacks() -> None:
    config = load_config_text(yaml.safe_dump(shipped()), env=ENV)
    resolving = {r.name: r.settings.resolve for r in config.router.routes if r.settings.resolve}
    assert set(resolving) == {
        "calls.fetch",
        "calls.update",
        "recordings.list",
        "calls.recordings.list",
    }
    assert {spec.alias for spec in resolving.values()} == {"call"}
    assert config.callbacks is not None
    recording = {name for name, k in config.callbacks.kinds.items() if k.alias is not None}
    assert {"call-answer", "call-status", "call-ring", "action", "redirect"} <= recording
    assert "message-status" not in recording
    answer = config.callbacks.kinds["call-answer"].alias
    assert answer is not None
    pair = answer.pair(
        {
            "RequestUUID": "0936ec98-7c4c-11e7-9891-06ad4ba32f2b",
            "CallUUID": "eba53b9e-8fbd-45c1-9444-696d2172fbc8",
        }
    )
    assert pair == ("CA0936ec987c4c11e7989106ad4ba32f2b", "CAeba53b9e8fbd45c19444696d2172fbc8")


def test_a_path_field_that_does_not_exist_is_refused() -> None:
    raw = shipped()
    i, fetch = route(raw, "calls.fetch")
    fetch["resolve"]["path"] = "CallSid"
    assert (
        f"routes[{i}].resolve.path",
        "'CallSid' is not a path field (AccountSid, Sid)",
    ) in problems_of(raw)


def test_into_may_not_overwrite_another_path_field() -> None:
    raw = shipped()
    i, fetch = route(raw, "calls.fetch")
    fetch["resolve"]["into"] = "AccountSid"
    assert (
        f"routes[{i}].resolve.into",
        "would overwrite the path field 'AccountSid'",
    ) in problems_of(raw)


def test_an_alias_no_callback_kind_records_is_refused() -> None:
    raw = shipped()
    i, fetch = route(raw, "calls.fetch")
    fetch["resolve"]["alias"] = "conference"
    where, text = next(p for p in problems_of(raw) if p[0].startswith(f"routes[{i}]"))
    assert where == f"routes[{i}].resolve.alias" and "'conference'" in text


def test_without_a_callbacks_block_nothing_records_aliases() -> None:
    raw = shipped()
    del raw["callbacks"]
    for r in raw["routes"]:  # the callback steps need the block too; only resolve is tested
        r["request"] = [s for s in r.get("request", []) if s.get("op") != "callback"]
    problems = problems_of(raw)
    refused = {where for where, _ in problems}
    for name in ("calls.fetch", "calls.update", "calls.recordings.list"):
        assert f"routes[{route(raw, name)[0]}].resolve.alias" in refused
    assert all("resolve" in where for where, _ in problems)


def test_a_route_that_resolves_must_authenticate() -> None:
    raw = shipped()
    i, fetch = route(raw, "calls.fetch")
    fetch["auth"] = False
    assert (
        f"routes[{i}].resolve",
        "needs 'auth: true': aliases are kept per upstream account",
    ) in problems_of(raw)


def test_a_route_to_another_upstream_would_never_find_the_carriers_aliases() -> None:
    raw = shipped()
    raw["upstreams"]["other"] = {"url": "http://127.0.0.1:9", "style": "plivo"}
    i, fetch = route(raw, "calls.fetch")
    fetch["upstream"] = "other"
    assert (
        f"routes[{i}].resolve",
        "aliases are recorded for upstream 'plivo' (callbacks.upstream), not 'other'",
    ) in problems_of(raw)


def test_resolve_takes_exactly_one_source() -> None:
    raw = shipped()
    i, fetch = route(raw, "calls.fetch")
    fetch["resolve"]["param"] = "Sid"
    where, text = next(p for p in problems_of(raw) if p[0].startswith(f"routes[{i}]"))
    assert where == f"routes[{i}].resolve" and "exactly one of 'path' and 'param'" in text


def test_a_kinds_alias_needs_two_parameters_and_a_known_converter() -> None:
    raw = shipped()
    kinds = raw["callbacks"]["kinds"]
    kinds["call-answer"]["alias"] = {"name": "call", "from": "CallUUID", "to": "CallUUID"}
    kinds["call-status"]["alias"] = {
        "name": "call",
        "from": "RequestUUID",
        "to": "CallUUID",
        "with": {"twilio_sid": {}},
    }
    problems = problems_of(raw)
    assert (
        "callbacks.kinds.call-answer.alias",
        "'from' and 'to' must name two parameters",
    ) in problems
    where, text = next(p for p in problems if p[0].startswith("callbacks.kinds.call-status"))
    assert where == "callbacks.kinds.call-status.alias.with" and "twilio_sid" in text
