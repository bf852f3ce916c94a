"""The step trace: what the inspector and ``dialect translate --trace`` show of a translation.

A row per step that changed something, in the order the steps ran, naming the fields it
changed before → after; a step that changes nothing has no row; and tracing never changes
what a client gets (the steps run one by one, their definition, instead of the fused form).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from proxy.cli import main
from proxy.engine.errors import StepError
from proxy.engine.exchange import Exchange
from proxy.engine.translate import translate
from proxy.pipeline.runner import run_steps
from proxy.pipeline.step import Step
from proxy.pipeline.trace import StepTrace, text
from proxy.settings import load_config
from proxy.steps.registry import StepCompiler
from tests.conftest import ROOT
from tests.unit.pipeline_records import PLIVO_CALL, PLIVO_MESSAGE

RECORD = {"id": "7", "n": 3, "kind": "sms", "note": "", "extra": True}
PIPELINES: dict[str, Any] = {
    "record": [
        {"op": "rename", "map": {"id": "sid"}},
        {"op": "convert", "at": "n", "with": "string"},
        {"op": "set", "at": "kind", "value": "mms", "when": {"path": "kind", "equals": "mms"}},
        {"op": "map_values", "at": "note", "map": {"": None}},
        {"op": "set", "at": "uri", "template": "/Things/{sid}.json"},
        {"op": "select", "keys": ["sid", "n", "kind", "note", "uri"]},
    ]
}


def compile_steps(raw: list[dict[str, Any]], phase: str = "response") -> list[Step]:
    compiler = StepCompiler(PIPELINES)
    steps = compiler.compile(raw, phase, "steps")
    assert compiler.problems == []
    return steps


def exchange(tracer: StepTrace | None) -> Exchange:
    ex = Exchange(route_name="things.list", method="GET", path="/Things.json")
    ex.tracer = tracer
    return ex


def traced(raw: list[dict[str, Any]], doc: Any, phase: str = "response") -> tuple[Any, StepTrace]:
    trace = StepTrace()
    out = run_steps(compile_steps(raw, phase), exchange(trace), doc, phase=phase)
    return out, trace


def test_a_step_that_changes_nothing_has_no_row() -> None:
    _, trace = traced(
        [
            {"op": "drop", "keys": ["absent"]},
            {"op": "rename", "map": {"nothing": "here"}},
            {"op": "set", "at": "a", "value": 1, "when": {"path": "a", "exists": False}},
        ],
        {"a": 1},
    )
    assert trace.rows == []
    assert text(trace) == "trace: no step changed anything\n"


def test_the_rows_of_a_record_pipeline_on_a_record_exactly() -> None:
    page = {"things": [dict(RECORD)], "api_id": "x"}
    out, trace = traced(
        [{"op": "drop", "keys": ["api_id"]}, {"op": "each", "at": "things", "use": "record"}],
        page,
    )
    assert out == {
        "things": [{"sid": "7", "n": "3", "kind": "sms", "note": None, "uri": "/Things/7.json"}]
    }
    assert trace.rows == [
        {
            "phase": "response",
            "step": "response[0]",
            "op": "drop",
            "changes": [{"path": "api_id", "before": "x"}],
        },
        {
            "phase": "response",
            "step": "response[1]/record[0]",
            "op": "rename",
            "changes": [{"path": "things[0].sid", "from": "things[0].id", "after": "7"}],
        },
        {
            "phase": "response",
            "step": "response[1]/record[1]",
            "op": "convert",
            "changes": [{"path": "things[0].n", "before": 3, "after": "3"}],
        },
        # record[2] (a condition that does not hold) changed nothing: no row.
        {
            "phase": "response",
            "step": "response[1]/record[3]",
            "op": "map_values",
            "changes": [{"path": "things[0].note", "before": "", "after": None}],
        },
        {
            "phase": "response",
            "step": "response[1]/record[4]",
            "op": "set",
            "changes": [{"path": "things[0].uri", "after": "/Things/7.json"}],
        },
        {
            "phase": "response",
            "step": "response[1]/record[5]",
            "op": "select",
            "changes": [{"path": "things[0].extra", "before": True}],
        },
    ]
    assert text(trace) == (
        "response[0]  drop\n"
        '    api_id: "x" → (absent)\n'
        "response[1]/record[0]  rename\n"
        '    things[0].id → things[0].sid: "7"\n'
        "response[1]/record[1]  convert\n"
        '    things[0].n: 3 → "3"\n'
        "response[1]/record[3]  map_values\n"
        '    things[0].note: "" → null\n'
        "response[1]/record[4]  set\n"
        '    things[0].uri: (absent) → "/Things/7.json"\n'
        "response[1]/record[5]  select\n"
        "    things[0].extra: true → (absent)\n"
    )


def test_a_row_records_the_value_then_not_what_later_steps_make_of_it() -> None:
    _, trace = traced(
        [
            {"op": "set", "at": "o", "value": {"a": 1}},
            {"op": "set", "at": "o.a", "value": 2},
        ],
        {},
    )
    assert [row["changes"] for row in trace.rows] == [
        [{"path": "o", "after": {"a": 1}}],
        [{"path": "o.a", "before": 1, "after": 2}],
    ]


def test_what_a_step_changes_of_the_exchange_is_a_row_too() -> None:
    config = load_config(ROOT / "config" / "twilio-over-plivo.yaml", offline=True)
    trace = StepTrace()
    sid = "SM0936ec987c4c11e7989106ad4ba32f2b"
    fields = {"Sid": sid}
    translate(
        config, "messages.fetch", None, phase="request", fmt="json", path_fields=fields, trace=trace
    )
    uuid = "0936ec98-7c4c-11e7-9891-06ad4ba32f2b"
    account = "AC" + "0" * 32
    assert trace.rows == [
        {
            "phase": "request",
            "step": "request[0]",
            "op": "set",
            "changes": [{"path": "uuid", "after": sid}],
        },
        {
            "phase": "request",
            "step": "request[1]",
            "op": "convert",
            "changes": [{"path": "uuid", "before": sid, "after": uuid}],
        },
        {
            "phase": "request",
            "step": "request[2]",
            "op": "rewrite_path",
            "changes": [
                {
                    "path": "$upstream.path",
                    "before": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
                    "after": f"/v1/Account/%3CPLIVO_AUTH_ID%3E/Message/{uuid}/",
                }
            ],
        },
        {
            "phase": "request",
            "step": "request[3]",
            "op": "select",
            "changes": [{"path": "uuid", "before": uuid}],
        },
    ]


@pytest.mark.parametrize(
    ("route", "body", "fields"),
    [
        ("messages.fetch", PLIVO_MESSAGE, {"Sid": "SM0936ec987c4c11e7989106ad4ba32f2b"}),
        ("calls.fetch", PLIVO_CALL, {"Sid": "CAeba53b9e8fbd45c19444696d2172fbc8"}),
        (
            "messages.list",
            {
                "api_id": "x",
                "meta": {"limit": 2, "offset": 0, "next": None, "previous": None},
                "objects": [PLIVO_MESSAGE, {**PLIVO_MESSAGE, "message_type": "mms"}],
            },
            {},
        ),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "xml", "csv"])
def test_a_traced_translation_is_byte_for_byte_the_untraced_one(
    route: str, body: dict[str, Any], fields: dict[str, str], fmt: str
) -> None:
    config = load_config(ROOT / "config" / "twilio-over-plivo.yaml", offline=True)
    trace = StepTrace()
    plain = translate(config, route, copy.deepcopy(body), fmt=fmt, path_fields=fields)
    seen = translate(config, route, copy.deepcopy(body), fmt=fmt, path_fields=fields, trace=trace)
    assert (seen.status, seen.body, seen.headers) == (plain.status, plain.body, plain.headers)
    assert any("/twilio_" in row["step"] for row in trace.rows)


def _failure(raw: list[dict[str, Any]], doc: Any, tracer: StepTrace | None) -> tuple[Any, ...]:
    with pytest.raises(StepError) as failed:
        run_steps(compile_steps(raw), exchange(tracer), copy.deepcopy(doc), phase="response")
    e = failed.value
    return (e.message, e.status, e.index, e.op, e.path, e.reason)


@pytest.mark.parametrize(
    "doc",
    [
        pytest.param({"things": [dict(RECORD)], "at": "x"}, id="a step of the route"),
        pytest.param({"things": [dict(RECORD), {**RECORD, "at": "x"}]}, id="a nested step"),
    ],
)
def test_a_failing_step_fails_alike_traced_or_not(doc: dict[str, Any]) -> None:
    raw: list[dict[str, Any]] = [
        {
            "op": "each",
            "at": "things",
            "steps": [{"op": "convert", "at": "at", "with": "rfc2822_gmt"}],
        },
        {"op": "convert", "at": "at", "with": "rfc2822_gmt"},
    ]
    plain, seen = _failure(raw, doc, None), _failure(raw, doc, StepTrace())
    assert seen == plain
    assert plain[2] == (1 if "at" in doc else "0.0")


def test_the_trace_stops_looking_past_its_bound_but_the_steps_still_run() -> None:
    trace = StepTrace(max_changes=3)
    page = {"things": [dict(RECORD, id=str(i)) for i in range(5)]}
    out = run_steps(
        compile_steps([{"op": "each", "at": "things", "use": "record"}]),
        exchange(trace),
        page,
        phase="response",
    )
    assert [t["sid"] for t in out["things"]] == ["0", "1", "2", "3", "4"]
    assert trace.changes == 3 and trace.unseen > 0
    assert "the trace stopped after 3 changes" in text(trace)


def test_dialect_translate_trace_prints_the_rows_and_keeps_stdout_the_body(
    capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    body = tmp_path / "message.json"
    body.write_bytes(
        b'{"message_uuid": "0936ec98-7c4c-11e7-9891-06ad4ba32f2b", "units": 1, '
        b'"message_time": "2017-05-22 21:36:14+05:30"}'
    )
    args = [
        "translate",
        "--config",
        str(ROOT / "config" / "twilio-over-plivo.yaml"),
        "--route",
        "messages.fetch",
        "--format",
        "json",
        "--field",
        "Sid=SM0936ec987c4c11e7989106ad4ba32f2b",
        "--input",
        str(body),
    ]
    assert main(args) == 0
    plain = capsys.readouterr()
    assert main([*args, "--trace"]) == 0
    seen = capsys.readouterr()
    assert seen.out == plain.out  # stdout is the body, with or without the trace
    lines = seen.err.splitlines()
    assert "response[0]/twilio_message[0]  rename" in lines
    assert '    message_uuid → sid: "0936ec98-7c4c-11e7-9891-06ad4ba32f2b"' in lines
    assert "response[0]/twilio_message[14]  convert" in lines
    assert '    num_segments: 1 → "1"' in lines
    assert lines[-1] == "HTTP 200 application/json"
