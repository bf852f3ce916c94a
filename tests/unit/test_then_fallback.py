"""``then`` with ``on_status``: a second call only when the first failed so, in its place.

Plivo serves a call's record once the call has ended and a call in progress at the same path
with ``?status=live``; the engine sets the first reply aside once the second was made in its
place (``completion.standing``), so that whatever the second answers is the answer.
"""

from __future__ import annotations

from typing import Any

import pytest

from proxy.engine.completion import standing
from proxy.engine.exchange import Exchange, UpstreamCall, UpstreamReply
from proxy.pipeline.runner import run_steps
from proxy.steps.registry import StepCompiler
from proxy.steps.then import Then

RECORD = "/v1/Account/MA1/Call/abc/"


def fallback(**raw: Any) -> Then:
    compiler = StepCompiler({})
    steps = compiler.compile(
        [{"op": "then", "on_status": [404], "query": {"status": "live"}, **raw}],
        "response",
        "steps",
    )
    assert compiler.problems == []
    step = steps[0]
    assert isinstance(step, Then)
    return step


def first_answer(status: int, body: Any) -> Exchange:
    return Exchange(
        route_name="calls.fetch",
        replies=[UpstreamReply(status, {}, body, UpstreamCall("GET", RECORD))],
    )


def problems(raw: dict[str, Any]) -> list[tuple[str, str]]:
    compiler = StepCompiler({})
    compiler.compile([{"op": "then", **raw}], "response", "steps")
    return compiler.problems


def test_a_404_asks_again_in_its_place_with_the_query() -> None:
    step = fallback()
    ex = first_answer(404, {"error": "not found"})
    first = ex.replies[0]
    [call] = step.follow(ex)
    assert (call.method, call.path, call.query, call.params) == (
        "GET",
        RECORD,
        [("status", "live")],
        {},
    )
    assert call.replaces is first
    live = UpstreamReply(200, {}, {"call_status": "in-progress"}, call)
    ex.replies = [first, live]
    assert step.follow(ex) == []  # once
    # The engine sets the 404 aside: the live answer is the one the client gets.
    assert standing(ex.replies) == [live]
    assert run_steps([step], ex, {"call_status": "in-progress"}, phase="response") == {
        "call_status": "in-progress"
    }
    assert ex.status == 200


def test_when_both_are_404_the_second_404_is_the_answer() -> None:
    step = fallback()
    ex = first_answer(404, {"error": "not found"})
    [call] = step.follow(ex)
    second = UpstreamReply(404, {}, {"error": "not found"}, call)
    ex.replies = [ex.replies[0], second]
    assert standing(ex.replies) == [second]


@pytest.mark.parametrize("status", [200, 204, 401, 500])
def test_a_success_or_another_failure_stands_and_nothing_more_is_asked(status: int) -> None:
    step = fallback()
    ex = first_answer(status, {"call_state": "ANSWER"})
    assert step.follow(ex) == []
    assert standing(ex.replies) == ex.replies
    if status < 300:  # the response steps run on the first answer only when it succeeded
        doc = {"call_state": "ANSWER"}
        assert run_steps([step], ex, doc, phase="response") == doc


def test_without_on_status_nothing_replaces_the_first_answer() -> None:
    compiler = StepCompiler({})
    [step] = compiler.compile([{"op": "then", "query": {"a": "b"}}], "response", "steps")
    assert isinstance(step, Then)
    ex = first_answer(200, {})
    [call] = step.follow(ex)
    assert call.replaces is None and call.query == [("a", "b")]
    assert step.follow(first_answer(404, {})) == []


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        ({"on_status": []}, "steps[0].on_status"),
        ({"on_status": [200]}, "steps[0].on_status"),
        ({"on_status": [404, 99]}, "steps[0].on_status"),
        ({"on_status": [404], "into": "live"}, "steps[0]"),
        ({"on_status": [404], "error": {"status": 404}}, "steps[0]"),
        ({"query": {"": "live"}}, "steps[0].query"),
    ],
)
def test_what_a_fallback_cannot_be_is_a_config_problem(raw: dict[str, Any], where: str) -> None:
    assert [w for w, _ in problems(raw)] == [where]


def test_statuses_are_kept_once_in_order() -> None:
    assert fallback(on_status=[410, 404, 404]).on_status == [404, 410]
