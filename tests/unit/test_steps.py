"""Each step kind on plain dicts, as a config author would use it."""

from __future__ import annotations

from typing import Any

import pytest

from proxy.engine.errors import StepError
from proxy.engine.exchange import Exchange
from proxy.pipeline.runner import run_steps
from proxy.pipeline.step import Step
from proxy.steps.registry import StepCompiler


def compile_steps(
    raw: list[dict[str, Any]], phase: str = "response", pipelines: dict[str, Any] | None = None
) -> list[Step]:
    compiler = StepCompiler(pipelines or {})
    steps = compiler.compile(raw, phase, "steps")
    assert compiler.problems == []
    return steps


def exchange(**kw: Any) -> Exchange:
    base: dict[str, Any] = {
        "route_name": "r",
        "request_id": "rid",
        "method": "GET",
        "path": "/2010-04-01/Accounts/AC1/Messages.json",
        "query": [],
        "path_params": {"Sid": "SM" + "0" * 32},
        "fmt": "json",
        "params": {},
        "original": {"To": "+14155550111", "MediaUrl": ["a", "b"]},
    }
    base.update(kw)
    return Exchange(**base)


def run(raw: list[dict[str, Any]], doc: Any, phase: str = "response", **kw: Any) -> Any:
    ex = exchange(**kw)
    return run_steps(compile_steps(raw, phase), ex, doc, phase=phase)


def test_rename_keeps_order_and_skips_absent_keys() -> None:
    out = run([{"op": "rename", "map": {"a": "x", "missing": "y"}}], {"a": 1, "b": 2})
    assert list(out.items()) == [("x", 1), ("b", 2)]


def test_rename_at_wildcard_edits_every_item() -> None:
    out = run(
        [{"op": "rename", "at": "objects[*]", "map": {"u": "sid"}}],
        {"objects": [{"u": 1}, {"u": 2}]},
    )
    assert out == {"objects": [{"sid": 1}, {"sid": 2}]}


def test_select_produces_exactly_the_listed_keys() -> None:
    out = run([{"op": "select", "keys": ["b", "c"]}], {"a": 1, "b": 2, "api_id": "x"})
    assert out == {"b": 2, "c": None}
    out = run([{"op": "select", "keys": ["b", "c"], "skip_missing": True}], {"a": 1, "b": 2})
    assert out == {"b": 2}


def test_set_value_reference_and_template() -> None:
    steps = [
        {"op": "set", "at": "api_version", "value": "2010-04-01"},
        {"op": "set", "at": "to", "from": "$request.To"},
        {"op": "set", "at": "first", "from": "ids[0]"},
        {"op": "set", "at": "links.self", "template": "/x/{first}.json"},
        {"op": "set", "at": "keep", "value": "new", "if_missing": True},
    ]
    out = run(steps, {"ids": ["u1"], "keep": "old"})
    assert out["api_version"] == "2010-04-01"
    assert out["to"] == "+14155550111"
    assert out["links"] == {"self": "/x/u1.json"}
    assert out["keep"] == "old"


def test_template_with_missing_reference_names_route_step_and_op() -> None:
    with pytest.raises(StepError) as info:
        run([{"op": "drop", "keys": []}, {"op": "set", "at": "uri", "template": "/x/{sid}"}], {})
    err = info.value
    assert err.status == 502
    assert "route 'r', response step 1 (set)" in err.message


def test_map_values_fallbacks() -> None:
    table = {"sent": "sent", "delivered": "delivered"}
    assert run([{"op": "map_values", "at": "s", "map": table}], {"s": "odd"}) == {"s": "odd"}
    out = run(
        [{"op": "map_values", "at": "s", "map": table, "fallback": "default", "default": "failed"}],
        {"s": "odd"},
    )
    assert out == {"s": "failed"}
    with pytest.raises(StepError) as info:
        run(
            [{"op": "map_values", "at": "objects[*].s", "map": table, "fallback": "error"}],
            {"objects": [{"s": "sent"}, {"s": "odd"}]},
        )
    assert info.value.path == "objects[1].s"


def test_map_values_looks_a_value_up_by_its_text() -> None:
    table = {"null": "none", "1": "one", "True": "yes"}
    step = [{"op": "map_values", "at": "s", "map": table, "fallback": "default"}]
    assert run(step, {"s": None}) == {"s": "none"}
    assert run(step, {"s": 1}) == {"s": "one"}
    assert run(step, {"s": True}) == {"s": "yes"}
    assert run(step, {"s": 2}) == {"s": None}
    assert run(step, {}) == {}


def test_select_fills_absent_keys_with_its_default() -> None:
    out = run([{"op": "select", "keys": ["a", "b"], "default": ""}], {"a": 1, "c": 3})
    assert list(out.items()) == [("a", 1), ("b", "")]


def test_set_if_missing_keeps_a_list_item_that_is_there() -> None:
    step = [{"op": "set", "at": "items[0]", "value": "x", "if_missing": True}]
    assert run(step, {"items": ["a"]}) == {"items": ["a"]}
    assert run(step, {"items": [None]}) == {"items": ["x"]}
    with pytest.raises(StepError, match="cannot set a value here"):
        run(step, {"items": []})


def test_set_copies_a_mutable_value_so_later_edits_stay_apart() -> None:
    steps = [
        {"op": "set", "at": "copy", "from": "original"},
        {"op": "set", "at": "original.changed", "value": True},
    ]
    out = run(steps, {"original": {"a": 1}})
    assert out == {"original": {"a": 1, "changed": True}, "copy": {"a": 1}}


def test_convert_failure_can_become_a_chosen_client_error() -> None:
    step = {
        "op": "convert",
        "at": "Sid",
        "with": {"uuid_from_sid": {"prefixes": ["SM"]}},
        "error": {
            "status": 404,
            "code": 20404,
            "message": "The requested resource {$route.path} was not found",
        },
    }
    with pytest.raises(StepError) as info:
        run([step], {"Sid": "nope"}, phase="request")
    assert (info.value.status, info.value.code) == (404, 20404)
    assert (
        info.value.message
        == "The requested resource /2010-04-01/Accounts/AC1/Messages.json was not found"
    )


def test_request_phase_failure_defaults_to_400() -> None:
    with pytest.raises(StepError) as info:
        run([{"op": "convert", "at": "n", "with": "integer"}], {"n": "abc"}, phase="request")
    assert info.value.status == 400
    assert "request step 0 (convert) at 'n'" in info.value.message


def test_require_answers_with_the_configured_error() -> None:
    step = {
        "op": "require",
        "any_of": ["Body", "MediaUrl"],
        "error": {"status": 400, "code": 21602, "message": "Message body is required."},
    }
    assert run([step], {"Body": "hi"}, phase="request") == {"Body": "hi"}
    with pytest.raises(StepError) as info:
        run([step], {"Body": ""}, phase="request")
    assert (info.value.status, info.value.code, info.value.message) == (
        400,
        21602,
        "Message body is required.",
    )


def test_when_conditions() -> None:
    steps = [
        {"op": "set", "at": "a", "value": 1, "when": {"path": "t", "equals": "mms"}},
        {"op": "set", "at": "b", "value": 1, "when": {"path": "t", "not_in": ["mms"]}},
        {"op": "set", "at": "c", "value": 1, "when": {"path": "$request.MediaUrl", "exists": True}},
        {"op": "set", "at": "d", "value": 1, "when": {"path": "t", "in": ["sms", "mms"]}},
    ]
    assert run(steps, {"t": "mms"}) == {"t": "mms", "a": 1, "c": 1, "d": 1}
    assert run(steps, {}) == {"b": 1, "c": 1}


def test_same_as_compares_two_references() -> None:
    """An A leg Plivo names its own parent loses the parent; a child leg keeps it; a value
    compared with nothing, or nothing with nothing, is not the same."""
    steps = [
        {"op": "drop", "keys": ["ALeg"], "when": {"path": "ALeg", "same_as": "Call"}},
        {
            "op": "set",
            "at": "to_given",
            "value": 1,
            "when": {"path": "n", "same_as": "$request.To"},
        },
    ]
    assert run(steps, {"ALeg": "u1", "Call": "u1"}) == {"Call": "u1"}
    assert run(steps, {"ALeg": "u1", "Call": "u2"}) == {"ALeg": "u1", "Call": "u2"}
    assert run(steps, {"ALeg": "u1"}) == {"ALeg": "u1"}
    assert run(steps, {"n": "+14155550111"}) == {"n": "+14155550111", "to_given": 1}
    assert run(steps, {"n": None}, original={}) == {"n": None}
    assert run(steps, {}) == {}
    compiler = StepCompiler({})
    both = {"path": "a", "same_as": "b", "exists": True}
    compiler.compile([{"op": "drop", "keys": ["a"], "when": both}], "response", "steps")
    assert any("exactly one of" in problem for _, problem in compiler.problems)


def test_status_and_to_header_change_what_the_client_sees() -> None:
    ex = exchange()
    ex.status = 202
    steps = compile_steps(
        [
            {"op": "status", "map": {202: 201}},
            {"op": "to_header", "at": "api_id", "header": "X-Api-Id"},
        ]
    )
    out = run_steps(steps, ex, {"api_id": "abc", "x": 1}, phase="response")
    assert ex.status == 201
    assert ex.headers["X-Api-Id"] == "abc"
    assert out == {"x": 1}


def test_rewrite_path_encodes_fields_as_single_segments() -> None:
    ex = exchange(path_params={"Sid": "../../admin%2F"})
    steps = compile_steps([{"op": "rewrite_path", "to": "/v1/Message/{$path.Sid}/"}], "request")
    run_steps(steps, ex, {}, phase="request")
    assert ex.upstream_path == "/v1/Message/..%2F..%2Fadmin%252F/"
    ex = exchange(path_params={"Sid": ".."})
    with pytest.raises(StepError) as info:
        run_steps(steps, ex, {}, phase="request")
    assert info.value.status == 404


def test_wrap_unwrap_and_recase() -> None:
    assert run([{"op": "wrap", "key": "data"}], {"a": 1}) == {"data": {"a": 1}}
    assert run([{"op": "unwrap", "key": "data"}], {"data": {"a": 1}}) == {"a": 1}
    out = run([{"op": "recase", "to": "camel"}], {"num_segments": "1", "sub": {"date_sent": None}})
    assert out == {"numSegments": "1", "sub": {"dateSent": None}}
    out = run(
        [{"op": "recase", "to": "snake", "at": "objects[*]"}], {"objects": [{"NumMedia": "0"}]}
    )
    assert out == {"objects": [{"num_media": "0"}]}


def test_each_and_use_run_a_named_pipeline_and_name_the_inner_step() -> None:
    pipelines = {
        "item": [
            {"op": "rename", "map": {"u": "sid"}},
            {"op": "convert", "at": "n", "with": "integer"},
        ]
    }
    compiler = StepCompiler(pipelines)
    steps = compiler.compile([{"op": "each", "at": "objects", "use": "item"}], "response", "steps")
    ex = exchange()
    out = run_steps(steps, ex, {"objects": [{"u": 1, "n": "2"}]}, phase="response")
    assert out == {"objects": [{"sid": 1, "n": 2}]}
    with pytest.raises(StepError) as info:
        run_steps(steps, ex, {"objects": [{"n": "2"}, {"n": "x"}]}, phase="response")
    assert info.value.index == "0.1"
    assert info.value.path == "objects[1].n"
