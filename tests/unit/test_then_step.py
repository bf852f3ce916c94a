"""``then`` (a second upstream call after the route's own) and the converters the number,
recording and balance routes are written with, on plain data as the engine hands it over."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from proxy.engine.errors import StepError
from proxy.engine.exchange import Exchange, UpstreamCall, UpstreamReply
from proxy.pipeline.converters import ConversionError, build_converter
from proxy.pipeline.runner import run_steps
from proxy.steps.registry import StepCompiler
from proxy.steps.then import Then


def then(**raw: Any) -> Then:
    compiler = StepCompiler({})
    steps = compiler.compile([{"op": "then", **raw}], "response", "steps")
    assert compiler.problems == []
    step = steps[0]
    assert isinstance(step, Then)
    return step


def lookup_exchange(body: Any, status: int = 200) -> Exchange:
    first = UpstreamCall("GET", "/2010-04-01/Accounts/AC1/IncomingPhoneNumbers.json")
    return Exchange(
        route_name="numbers.update",
        original={"alias": "Support", "app_id": None},
        replies=[UpstreamReply(status, {}, body, first)],
    )


def answer(ex: Exchange, call: UpstreamCall, status: int, body: Any) -> None:
    ex.replies = [*ex.replies, UpstreamReply(status, {}, body, call)]


def test_the_answer_of_the_second_call_replaces_the_first() -> None:
    step = then(
        method="POST", path="/Numbers/{found[0].sid}.json", params={"Name": "$request.alias"}
    )
    ex = lookup_exchange({"found": [{"sid": "PN/../x y"}]})
    [call] = step.follow(ex)
    # One segment per value, whatever it holds; only parameters that are there.
    assert call.method == "POST" and call.path == "/Numbers/PN%2F..%2Fx%20y.json"
    assert call.params == {"Name": "Support"}
    answer(ex, call, 204, None)
    assert step.follow(ex) == []  # once
    assert run_steps([step], ex, {"found": []}, phase="response") is None
    assert ex.status == 204


def test_into_keeps_the_first_answer_and_adds_the_second() -> None:
    step = then(path="/Balance.json", into="balance")
    ex = lookup_exchange({"friendly_name": "Demo"})
    [call] = step.follow(ex)
    assert call.method == "GET" and call.params == {}
    answer(ex, call, 200, {"balance": "1.5"})
    doc = run_steps([step], ex, {"friendly_name": "Demo"}, phase="response")
    assert doc == {"friendly_name": "Demo", "balance": {"balance": "1.5"}}
    assert ex.status == 200


def test_without_a_path_the_second_call_goes_where_the_first_went() -> None:
    step = then()
    ex = lookup_exchange({"message": "changed"}, status=202)
    [call] = step.follow(ex)
    assert call.path == ex.replies[0].call.path and call.method == "GET"


def test_nothing_follows_a_failed_first_call_or_a_lookup_that_found_nothing() -> None:
    step = then(path="/N/{found[0].sid}.json", error={"status": 404, "message": "not found"})
    assert step.follow(lookup_exchange({"error": "x"}, status=401)) == []
    ex = lookup_exchange({"found": []})
    assert step.follow(ex) == []
    with pytest.raises(StepError) as info:
        run_steps([step], ex, {"found": []}, phase="response")
    assert info.value.status == 404 and info.value.message == "not found"


def test_then_is_a_response_step_with_a_rooted_path() -> None:
    compiler = StepCompiler({})
    compiler.compile([{"op": "then"}], "request", "steps")
    compiler.compile([{"op": "then", "path": "Balance.json"}], "response", "steps")
    compiler.compile([{"op": "then", "method": "OPTIONS"}], "response", "steps")
    assert [where for where, _ in compiler.problems] == [
        "steps[0].op",
        "steps[0].path",
        "steps[0].method",
    ]


# -- converters -------------------------------------------------------------------------------


def test_a_number_is_a_sid_and_back_exactly() -> None:
    to_sid = build_converter("digits_sid", {"prefix": "PN"})
    back = build_converter("digits_from_sid", {"prefixes": ["PN"]})
    for number in ("+14155550100", "14155550100", "447700900123", "29986316244302815"):
        sid = to_sid(number)
        assert len(sid) == 34 and sid.startswith("PN") and sid[2:].isdigit()
        assert back(sid) == number.lstrip("+")
    assert to_sid(None) is None


@pytest.mark.parametrize(
    "value", ["", "+", "0123", "sip:alice@example.com", "1" * 33, "+1 415 555 0100"]
)
def test_what_does_not_fit_a_sid_is_refused(value: str) -> None:
    with pytest.raises(ConversionError):
        build_converter("digits_sid", {"prefix": "PN"})(value)


@pytest.mark.parametrize(
    "sid",
    [
        "PN" + "ab" * 16,
        "AP" + "14155550100".rjust(32, "0"),
        "PN" + "0" * 32,
        "PN123",
        "pn" + "1" * 32,
    ],
)
def test_a_sid_not_made_of_a_number_is_refused(sid: str) -> None:
    with pytest.raises(ConversionError):
        build_converter("digits_from_sid", {"prefixes": ["PN"]})(sid)


def test_scale_turns_milliseconds_into_seconds_and_back() -> None:
    to_seconds = build_converter("scale", {"by": "0.001"})
    assert to_seconds("345100.00000") == "345" and to_seconds("345500") == "346"
    assert build_converter("scale", {"by": 1000, "places": 5})("4") == "4000.00000"
    for bad in ("abc", "NaN", True):
        with pytest.raises(ConversionError):
            to_seconds(bad)
    assert to_seconds("") is None


def test_epoch_milliseconds_round_trip() -> None:
    instant = build_converter("epoch_ms", None)("1407235163907.00000")
    assert instant == datetime(2014, 8, 5, 10, 39, 23, 907000, tzinfo=UTC)
    assert build_converter("rfc2822_gmt", None)(instant) == "Tue, 05 Aug 2014 10:39:23 +0000"
    assert build_converter("to_epoch_ms", None)(instant) == 1407235163907
    assert build_converter("to_epoch_ms", None)("Tue, 31 Aug 2010 20:36:29 +0000") == (
        1283286989000
    )
    for bad in ("soon", "1e400", False):
        with pytest.raises(ConversionError):
            build_converter("epoch_ms", None)(bad)
