"""Generated code can be seen and debugged, and its fallbacks are never silent.

Steps and fused pipelines are Python written when the config loads. Their text is kept where
``inspect``, tracebacks and ``dialect translate --show-code`` find it, under a name that says
where in the config the code comes from; every time a fused pipeline hands a record to its
steps one by one, or could not be generated at all, the metrics count it and the log says so
once per pipeline.
"""

from __future__ import annotations

import inspect
import traceback
from typing import Any

import pytest
from structlog.testing import capture_logs

from proxy.cli import main
from proxy.engine.errors import StepError
from proxy.ops.metrics import PIPELINE_FALLBACKS, Metrics
from proxy.pipeline import fused
from proxy.pipeline.failure import StepFailure
from proxy.pipeline.runner import run_steps
from proxy.pipeline.step import Step
from proxy.steps.registry import StepCompiler
from tests.conftest import ROOT
from tests.unit.pipeline_records import exchange

RECORD = [
    {"op": "rename", "map": {"n": "number"}},
    {"op": "convert", "at": "number", "with": "integer"},
    {"op": "set", "at": "uri", "template": "/x/{number}.json"},
    {"op": "select", "keys": ["number", "uri"]},
]


def compiled(name: str, steps: list[dict[str, Any]] | None = None) -> Step:
    """An ``each`` over ``items`` running the pipeline ``name``."""
    compiler = StepCompiler({name: steps or RECORD})
    (each,) = compiler.compile([{"op": "each", "at": "items", "use": name}], "response", "r")
    assert compiler.problems == []
    return each


def code_text(text: str) -> str:
    """The function's own lines: what ``inspect.getsource`` gives (the comments above it
    describe the constants)."""
    return text[text.index("\ndef ") + 1 :]


def test_a_fused_pipeline_shows_its_source() -> None:
    fusion = compiled("visible").fusion()
    assert fusion is not None and fusion.code is not None
    code = fusion.code
    assert inspect.getsource(code.fn) == code_text(code.text)
    assert code.filename.startswith("<dialect pipeline visible #")
    # The same config gives the same text under the same name, so a name in a log line can
    # be looked up again.
    again = compiled("visible").fusion()
    assert again is not None and again.code is not None
    assert again.code.filename == code.filename and again.code.text == code.text


def test_a_traceback_shows_the_generated_line_that_failed() -> None:
    (step,) = StepCompiler({}).compile(
        [{"op": "set", "at": "uri", "template": "/x/{sid}.json"}], "response", "routes[4].response"
    )
    with pytest.raises(StepFailure) as info:
        step.run(exchange(), {})
    text = "".join(traceback.format_exception(info.value))
    assert "<dialect routes[4].response[0] set #" in text
    assert "raise _StepFailure(" in text  # the line itself, from the registered source


def fallbacks(name: str, reason: str = "record") -> int:
    return PIPELINE_FALLBACKS.counts.get((name, reason), 0)


def test_every_record_handed_over_is_counted_and_the_first_logged() -> None:
    each = compiled("counted")
    page = {"items": [{"n": "7"}, {"n": "x"}, {"n": "y"}]}
    with capture_logs() as logs, pytest.raises(StepError) as info:
        run_steps([each], exchange(), page, phase="response")
    # The fused code handed the second record over; the steps one by one failed it, with the
    # error the step itself raises.
    assert (info.value.index, info.value.path) == ("0.1", "items[1].number")
    assert fallbacks("counted") == 1
    # A rename onto a key that is there: which value wins depends on the record's key order,
    # which only the steps one by one keep.
    page = {"items": [{"n": "1"}, {"n": "2", "number": 5}, {"number": 3}]}
    with capture_logs() as more:
        out = run_steps([each], exchange(), page, phase="response")
    assert out["items"] == [
        {"number": 1, "uri": "/x/1.json"},
        {"number": 5, "uri": "/x/5.json"},
        {"number": 3, "uri": "/x/3.json"},
    ]
    assert fallbacks("counted") == 3
    lines = [line for line in logs + more if line["event"] == "pipeline_fallback"]
    assert len(lines) == 1
    assert lines[0]["pipeline"] == "counted" and lines[0]["reason"] == "record"
    assert "x" not in str(lines[0].get("error"))  # a record's values stay out of the log
    scraped = Metrics().render().decode()
    assert 'dialect_pipeline_fallbacks_total{pipeline="counted",reason="record"} 3.0' in scraped


def test_realistic_records_are_not_counted() -> None:
    each = compiled("quiet")
    page = {"items": [{"n": str(i)} for i in range(5)]}
    run_steps([each], exchange(), page, phase="response")
    assert fallbacks("quiet") == 0


def test_a_pipeline_that_cannot_be_generated_runs_step_by_step_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        raise SyntaxError("a generator bug")

    monkeypatch.setattr(fused, "build", broken)
    with capture_logs() as logs:
        each = compiled("ungenerated")
    fusion = each.fusion()
    assert fusion is not None and fusion.code is None
    assert "generation failed" in fusion.reason
    assert fallbacks("ungenerated", "generation") == 1
    assert [(line["event"], line["log_level"]) for line in logs] == [
        ("pipeline_fallback", "warning")
    ]
    page = {"items": [{"n": "7"}]}
    out = run_steps([each], exchange(), page, phase="response")
    assert out == {"items": [{"number": 7, "uri": "/x/7.json"}]}


def test_the_switch_runs_pipelines_step_by_step(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALECT_FUSE", "0")
    each = compiled("switched")
    fusion = each.fusion()
    assert fusion is not None and fusion.code is None and fusion.reason == "DIALECT_FUSE=0"
    page = {"items": [{"n": "7"}, {"n": "x"}]}
    with pytest.raises(StepError) as info:
        run_steps([each], exchange(), page, phase="response")
    assert info.value.path == "items[1].number"
    assert fallbacks("switched") == 0  # nothing fused, nothing handed over


def test_translate_show_code_prints_a_routes_generated_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = str(ROOT / "config" / "twilio-over-plivo.yaml")
    assert main(["translate", "--config", config, "--route", "messages.list", "--show-code"]) == 0
    out = capsys.readouterr().out
    assert "## response[1] each: pipeline twilio_message, fused: <dialect pipeline" in out
    assert "def fused_record(ex, doc, where, index):" in out
    assert "## request[0] set: <dialect routes[" in out
    assert "## request runs step by step (" in out  # a rename of two keys onto one
    assert "rewrite_path: <dialect routes[" in out
    assert out.count("def step(ex, doc):") > 20  # each step's own function, the definition
    fetch = ["translate", "--config", config, "--route", "messages.fetch", "--show-code"]
    assert main(fetch) == 0
    out = capsys.readouterr().out
    assert out.startswith("## request: fused: <dialect pipeline routes[")
    assert "ex.upstream_path = f" in out  # rewrite_path, inside the fused function
    code = main(["translate", "--config", config, "--route", "nope", "--show-code"])
    assert code == 2
    assert "no route named 'nope'" in capsys.readouterr().err
