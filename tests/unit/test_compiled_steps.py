"""The compiled form of every step (what the runner calls) behaves exactly like ``apply``.

Steps on the hot path are specialised into closures when the config loads; this checks, for
every step of every shipped config, on generated documents (present, absent, null and
wrongly-typed fields), that the closure and the plain ``applies``/``apply`` give the same
document or fail the same way. It also holds the hand-written RFC 2822 formatter and the
fast timestamp parser to the standard library's answers.
"""

from __future__ import annotations

import copy
import email.utils
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxy.engine.exchange import Exchange
from proxy.pipeline.step import Step
from proxy.providers.twilio import rest as twilio
from proxy.settings.loader import load_config
from proxy.steps.each import NestedSteps
from tests.conftest import ROOT

CONFIGS = sorted((ROOT / "config").glob("*.yaml"))


def all_steps(steps: tuple[Step, ...] | list[Step], seen: set[int]) -> list[Step]:
    out: list[Step] = []
    for step in steps:
        if id(step) in seen:
            continue
        seen.add(id(step))
        out.append(step)
        if isinstance(step, NestedSteps):
            out.extend(all_steps(list(step._steps), seen))
    return out


def shipped_steps() -> list[tuple[str, Step, Any]]:
    found: list[tuple[str, Step, Any]] = []
    for path in CONFIGS:
        config = load_config(path, offline=True)
        account = config.model.active_accounts[0] if config.model.active_accounts else None
        seen: set[int] = set()
        for route in config.router.routes:
            for step in all_steps(route.request_steps + route.response_steps, seen):
                found.append((f"{Path(path).stem}:{route.name}:{step.op}", step, account))
    return found


STEPS = shipped_steps()
KEYS = sorted(
    {
        key
        for _, step, _ in STEPS
        for key in (
            [
                getattr(step, "at", "") or "",
                *list(getattr(step, "keys", []) or []),
                *list((getattr(step, "map", None) or {}).keys()),
            ]
        )
        if isinstance(key, str) and key and "." not in key and "[" not in key
    }
)
VALUES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "",
            "delivered",
            "inbound",
            "outbound",
            "mms",
            "sms",
            "0936ec98-7c4c-11e7-9891-06ad4ba32f2b",
            "SM0936ec987c4c11e7989106ad4ba32f2b",
            "2017-05-22 21:36:14+05:30",
            "Mon, 22 May 2017 16:06:14 +0000",
            "14155550100",
            "+14155550100",
            "0.00250",
            "000",
            "30",
            "not a value",
            "..",
            "a/b",
            "x%2Fy",
        ]
    ),
    st.integers(-5, 5),
    st.lists(st.sampled_from(["a", "14155550100"]), max_size=2),
    st.dictionaries(st.sampled_from(["media", "x"]), st.sampled_from(["u", None]), max_size=2),
)
DOCS = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=12)


def exchange(account: Any) -> Exchange:
    return Exchange(
        route_name="r",
        request_id="rid",
        method="GET",
        path="/2010-04-01/Accounts/AC1/Messages/SM1.json",
        query=[],
        path_params={"Sid": "SM" + "0" * 32, "AccountSid": "AC" + "0" * 32},
        fmt="json",
        params={},
        original={"To": "+14155550111", "Body": "hi"},
        account=account,
        started=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


def outcome(fn: Any, ex: Exchange, doc: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(ex, doc)
    except Exception as exc:  # the kind and text of a failure must match too
        return type(exc).__name__, str(exc)


def reference(step: Step) -> Any:
    def run(ex: Exchange, doc: Any) -> Any:
        return step.apply(ex, doc) if step.applies(ex, doc) else doc

    return run


@pytest.mark.parametrize(("name", "step", "account"), STEPS, ids=[s[0] for s in STEPS])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=DOCS)
def test_compiled_step_matches_apply(name: str, step: Step, account: Any, doc: Any) -> None:
    if step.op == "rewrite_path":
        # Compiled (proxy.pipeline.kernels) for plain values, apply for the rest: the upstream
        # path, alternatives, method and any refusal must be the same either way.
        results = []
        for run in (reference(step), step.run):
            ex = exchange(account)
            results.append(
                (
                    outcome(run, ex, copy.deepcopy(doc)),
                    ex.upstream_path,
                    ex.upstream_alternatives,
                    ex.upstream_method,
                )
            )
        assert results[1] == results[0], name
        return
    if step.op in ("paginate", "fan_out", "gather"):
        # These read or plan upstream calls; their compiled form is apply itself. (``each`` and
        # ``use`` run a fused pipeline: compared here, and record by record with the failing
        # step's index in test_fused_pipelines.py.)
        assert step.fast_apply().__func__ is type(step).apply  # type: ignore[attr-defined]
        return
    expected = outcome(reference(step), exchange(account), copy.deepcopy(doc))
    actual = outcome(step.run, exchange(account), copy.deepcopy(doc))
    assert actual == expected, name


def test_every_shipped_config_contributes_steps() -> None:
    assert len(CONFIGS) >= 3 and len(STEPS) > 50


@settings(max_examples=500, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1900, 1, 2),
        max_value=datetime(9998, 12, 30),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
        ),
    )
)
def test_rfc2822_matches_the_standard_library(dt: datetime) -> None:
    expected = email.utils.format_datetime(dt.astimezone(UTC)).replace("-0000", "+0000")
    assert twilio.rfc2822(dt) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2017-05-22 21:36:14+05:30", datetime(2017, 5, 22, 16, 6, 14, tzinfo=UTC)),
        ("2017-05-22T21:36:14Z", datetime(2017, 5, 22, 21, 36, 14, tzinfo=UTC)),
        ("2017-05-22 21:36:14", datetime(2017, 5, 22, 21, 36, 14, tzinfo=UTC)),
        ("2017-05-22 21:36:14.1234567+00:00", datetime(2017, 5, 22, 21, 36, 14, 123456, UTC)),
        ("2017-05-22 21:36", datetime(2017, 5, 22, 21, 36, tzinfo=UTC)),
        ("Mon, 22 May 2017 16:06:14 +0000", datetime(2017, 5, 22, 16, 6, 14, tzinfo=UTC)),
    ],
)
def test_timestamps_parse_to_the_same_instant(text: str, expected: datetime) -> None:
    assert twilio.parse_datetime(text) == expected


def test_a_timestamp_that_is_not_one_is_refused() -> None:
    with pytest.raises(ValueError):
        twilio.parse_datetime("2017-13-45 99:99:99")
