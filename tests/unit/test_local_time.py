"""``local_time``: a time Plivo writes without an offset (a live call's ``session_start``) gets
the offset of the account's zone at that moment, so the converters read it as the instant it
is, summer time included."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from proxy.engine.errors import StepError
from proxy.engine.exchange import Exchange
from proxy.pipeline.converters import build_converter
from proxy.pipeline.runner import run_steps
from proxy.settings.models import Account
from proxy.steps.local_time import with_offset, zone_named
from proxy.steps.registry import StepCompiler


def account(zone: str | None) -> Account:
    upstream: dict[str, Any] = {"user": "MA1", "secret": "p"}
    if zone is not None:
        upstream["timezone"] = zone
    return Account.model_validate({"client": {"user": "AC1", "secret": "t"}, "upstream": upstream})


def run(raw: dict[str, Any], doc: Any, zone: str | None = "Asia/Kolkata") -> Any:
    compiler = StepCompiler({})
    steps = compiler.compile([{"op": "local_time", **raw}], "response", "steps")
    assert compiler.problems == []
    ex = Exchange(route_name="calls.fetch", account=account(zone) if zone else None)
    return run_steps(steps, ex, doc, phase="response")


def test_the_accounts_zone_gives_the_offset_and_the_instant_is_read_exactly() -> None:
    doc = run({"at": "session_start", "zone": "$upstream.timezone"},
              {"session_start": "2017-05-22 13:17:49.050872"})  # fmt: skip
    assert doc == {"session_start": "2017-05-22 13:17:49.050872+05:30"}
    assert build_converter("rfc2822_gmt", None)(doc["session_start"]) == (
        "Mon, 22 May 2017 07:47:49 +0000"
    )


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ("2025-01-15 09:00:00", "2025-01-15 09:00:00-05:00"),  # winter
        ("2025-07-15 09:00:00", "2025-07-15 09:00:00-04:00"),  # summer time
    ],
)
def test_summer_time_is_the_one_of_that_moment(local: str, expected: str) -> None:
    assert with_offset(local, zone_named("America/New_York")) == expected
    assert run({"at": "t", "zone": "America/New_York"}, {"t": local}, zone=None) == {"t": expected}


def test_a_time_with_an_offset_and_an_absent_or_empty_one_are_left_as_they_are() -> None:
    raw = {"at": "items[*].t", "zone": "$upstream.timezone"}
    doc = {"items": [{"t": "2017-05-22 13:17:49+00:00"}, {"t": None}, {"t": ""}, {}]}
    assert run(raw, doc) == {
        "items": [{"t": "2017-05-22 13:17:49+00:00"}, {"t": None}, {"t": ""}, {}]
    }


def test_without_an_account_the_time_is_read_as_utc_as_the_converters_would() -> None:
    doc = run({"at": "t", "zone": "$upstream.timezone"}, {"t": "2017-05-22 13:17"}, zone=None)
    assert doc == {"t": "2017-05-22 13:17+00:00"}


@pytest.mark.parametrize(
    ("name", "offset"), [("UTC", "+00:00"), ("+05:30", "+05:30"), ("-0330", "-03:30")]
)
def test_utc_and_fixed_offsets_need_no_zone_database(name: str, offset: str) -> None:
    assert with_offset("2025-05-01 12:00:00", zone_named(name)).endswith(offset)


@pytest.mark.parametrize("value", ["soon", "2025-05-01", "2025-13-01 10:00:00", 1700000000])
def test_what_is_not_a_time_fails_with_the_chosen_error(value: Any) -> None:
    raw = {"at": "t", "zone": "UTC", "error": {"status": 502, "code": 20500}}
    with pytest.raises(StepError) as info:
        run(raw, {"t": value})
    assert info.value.status == 502 and info.value.code == 20500


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "+25:00", "", "../etc/passwd"])
def test_a_zone_that_is_not_one_is_refused_where_it_is_written(name: str) -> None:
    compiler = StepCompiler({})
    compiler.compile([{"op": "local_time", "at": "t", "zone": name}], "response", "steps")
    assert [where for where, _ in compiler.problems] == ["steps[0].zone"]
    with pytest.raises(ValidationError, match="timezone"):
        account(name)
