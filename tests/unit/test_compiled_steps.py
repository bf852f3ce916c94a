"""Every step of every shipped config does, as the runner runs it, what its reference says.

A step's function is generated from its template when the config loads (``proxy.pipeline``);
here each shipped step runs on generated documents (present, absent, null and wrongly-typed
fields) and its answer is held to what the op's documentation promises, written out below
as plain expectations: ``set`` writes its value (copied, never shared), keeps a non-null one
with ``if_missing``; ``convert`` passes a present value through its converter and fails with
the converter's words; ``map_values`` looks a value up by its text; ``rename``, ``drop`` and
``select`` reshape the object; ``require`` asks that something be present; ``rewrite_path``
keeps every value inside one path segment; and a ``when`` that does not hold leaves the
document as it was. The generated code is also where a reader can find it. It also holds the
hand-written RFC 2822 formatter and the fast timestamp parser to the standard library.
"""

from __future__ import annotations

import copy
import email.utils
import inspect
import linecache
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxy.engine.exchange import Exchange
from proxy.pipeline.failure import StepFailure
from proxy.pipeline.paths import MISSING, render_path
from proxy.pipeline.step import Ref, Step, Template
from proxy.providers.twilio import rest as twilio
from proxy.settings.loader import load_config
from tests.conftest import ROOT
from tests.unit.pipeline_records import exchange

CONFIGS = sorted((ROOT / "config").glob("*.yaml"))


def all_steps(steps: Any, seen: set[int]) -> list[Step]:
    out: list[Step] = []
    for step in steps:
        if id(step) in seen:
            continue
        seen.add(id(step))
        out.append(step)
        out.extend(all_steps(step.nested(), seen))
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
# Ops whose work is upstream calls and replies (paging, fan-out, callback URLs) or the nested
# pipelines: the integration tests and test_fused_pipelines.py hold those to their behaviour.
SPECIFIED = {"set", "convert", "map_values", "rename", "drop", "select", "require"}
SPECIFIED_STEPS = [s for s in STEPS if s[1].op in SPECIFIED]
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
    st.booleans(),
    st.lists(st.sampled_from(["a", "14155550100"]), max_size=2),
    st.dictionaries(st.sampled_from(["media", "x"]), st.sampled_from(["u", None]), max_size=2),
)
DOCS = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=12)


def own_keys(step: Any) -> list[str]:
    """The top-level keys a step reads or writes: where its behaviour shows."""
    keys = {getattr(step, "at", "") or "", *(getattr(step, "keys", None) or [])}
    keys |= set(getattr(step, "map", None) or {}) if step.op == "rename" else set()
    keys |= set(getattr(step, "any_of", None) or [])
    for text in (getattr(step, "from_", None), step.when.path if step.when else None):
        keys.add(text or "")
    for part in getattr(getattr(step, "_template", None), "parts", []):
        keys.add(getattr(part, "text", ""))
    return sorted({k.split(".")[0].split("[")[0] for k in keys if k and k[0] != "$"})


def documents(step: Any) -> st.SearchStrategy[dict[str, Any]]:
    """Documents with the step's own keys (each present or not) and a few others."""
    own = own_keys(step)
    mine = st.fixed_dictionaries({}, optional={k: VALUES for k in own}) if own else st.just({})
    return st.tuples(mine, DOCS.map(lambda d: dict(list(d.items())[:3]))).map(
        lambda pair: {**pair[1], **pair[0]}
    )


def run(step: Step, ex: Exchange, doc: Any) -> tuple[str, Any]:
    try:
        return "ok", step.run(ex, doc)
    except StepFailure as failure:
        return "failed", (failure.reason, failure.path, failure.status, failure.code)


def value_of(ref: Ref, ex: Exchange, doc: Any) -> Any:
    return ref.get(ex, doc, None)


def render(template: Template, ex: Exchange, doc: Any) -> str | None:
    """The template's text, each reference as ``str`` writes its value; None where one has
    none."""
    out = ""
    for part in template.parts:
        if isinstance(part, str):
            out += part
            continue
        value = value_of(part, ex, doc)
        if value is None:
            return None
        out += str(value)
    return out


def lookup_text(value: Any) -> str:
    return value if isinstance(value, str) else ("null" if value is None else str(value))


def present(value: Any) -> bool:
    return value is not MISSING and value is not None and value != "" and value != []


def check_set(step: Any, ex: Exchange, before: dict[str, Any], result: tuple[str, Any]) -> None:
    at = step._at.segments
    if len(at) != 1 and not (len(at) == 2 and isinstance(before.get(at[0]), dict | None)):
        return  # a nested place below a value that is not an object: set leaves it
    parent = before if len(at) == 1 else (before.get(at[0]) or {})
    if step.if_missing and parent.get(at[-1]) is not None:
        assert result == ("ok", before)
        return
    if step.template is not None:
        text = render(step._template, ex, before)
        if text is None:
            assert result[0] == "failed" and "which is missing" in result[1][0]
            return
        expected: Any = text
    elif step.from_ is not None:
        expected = value_of(step._from, ex, before)
    else:
        expected = step.value
    assert result[0] == "ok"
    out = result[1]
    written = out[at[0]] if len(at) == 1 else out[at[0]][at[1]]
    assert written == expected
    source = value_of(step._from, ex, out) if step.from_ is not None else step.value
    if isinstance(written, dict | list):  # copied: a later edit cannot reach the source
        assert written is not source


def check_convert(step: Any, before: dict[str, Any], result: tuple[str, Any]) -> None:
    key = step._at.top_key
    if key is None:
        return
    if key not in before:
        assert result == ("ok", before)
        return
    try:
        expected = step._fn(copy.deepcopy(before[key]))
    except ValueError as exc:
        assert result[0] == "failed"
        assert result[1][0] == str(exc) and result[1][1] == render_path((key,))
        if step.error is not None:
            assert result[1][2:] == (step.error.status, step.error.code)
        return
    assert result == ("ok", {**before, key: expected})


def check_map_values(step: Any, before: dict[str, Any], result: tuple[str, Any]) -> None:
    key = step._at.top_key
    if key is None or key not in before:
        assert key is None or result == ("ok", before)
        return
    text = lookup_text(before[key])
    if text in step.map:
        assert result == ("ok", {**before, key: step.map[text]})
    elif step.fallback == "keep":
        assert result == ("ok", before)
    elif step.fallback == "default":
        assert result == ("ok", {**before, key: step.default})
    else:
        reason = f"value {text!r} is not in the map"
        assert result == ("failed", (reason, render_path((key,)), None, None))


def check_reshape(step: Any, before: dict[str, Any], result: tuple[str, Any]) -> None:
    if step._at.segments:
        return
    assert result[0] == "ok"
    out = result[1]
    if step.op == "drop":
        assert out == {k: v for k, v in before.items() if k not in step.keys}
    elif step.op == "select" and step.skip_missing:
        assert list(out.items()) == [(k, before[k]) for k in step.keys if k in before]
    elif step.op == "select":
        assert list(out.items()) == [(k, before.get(k, step.default)) for k in step.keys]
    elif any(old in before for old in step.map):  # rename
        renamed: dict[str, Any] = {}
        for k, v in before.items():
            renamed[step.map.get(k, k)] = v
        assert list(out.items()) == list(renamed.items())
    else:
        assert out == before


def check_require(step: Any, ex: Exchange, before: dict[str, Any], result: Any) -> None:
    if any(present(ref.get(ex, before)) for ref in step._refs):
        assert result == ("ok", before)
    else:
        assert result[0] == "failed" and result[1][2:] == (step.error.status, step.error.code)


@pytest.mark.parametrize(
    ("name", "step", "account"), SPECIFIED_STEPS, ids=[s[0] for s in SPECIFIED_STEPS]
)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_each_step_does_what_its_reference_says(
    name: str, step: Step, account: Any, data: st.DataObject
) -> None:
    doc = data.draw(documents(step))
    ex = exchange(account)
    before = copy.deepcopy(doc)
    result = run(step, ex, doc)
    if step.when is not None and not step.when.holds(ex, before):
        assert result == ("ok", before), "a condition that does not hold changes nothing"
        return
    if step.op == "set":
        check_set(step, ex, before, result)
    elif step.op == "convert":
        check_convert(step, before, result)
    elif step.op == "map_values":
        check_map_values(step, before, result)
    elif step.op == "require":
        check_require(step, ex, before, result)
    else:
        check_reshape(step, before, result)


REWRITES = [s for s in STEPS if s[1].op == "rewrite_path"]
SEGMENT_VALUES = st.one_of(
    st.sampled_from(["SM" + "0" * 32, "..", ".", "", "a/b", "x%2Fy", "../../admin", "é", "a b"]),
    st.text(max_size=6),
    st.integers(0, 99),
)


@pytest.mark.parametrize(("name", "step", "account"), REWRITES, ids=[s[0] for s in REWRITES])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=SEGMENT_VALUES, doc=DOCS)
def test_rewrite_path_keeps_each_value_inside_one_segment(
    name: str, step: Any, account: Any, value: Any, doc: dict[str, Any]
) -> None:
    """Whatever the client sends, the upstream path has the template's segments: a value is
    percent-encoded as one segment, and one that is missing or would climb (``.``, ``..``)
    is refused rather than sent."""
    if step.when is not None:  # the path it writes when its condition holds
        step = type(step).model_validate(step.model_dump(by_alias=True, exclude={"when"}))
    ex = exchange(account)
    if isinstance(value, str):
        ex.path_params = {**ex.path_params, "Sid": value}
    doc = {**doc, **{k: value for k in ("uuid", "Sid", "call_uuid")}}
    templates = [step._template, *step._alternatives]
    values = [p.get(ex, doc) for t in templates for p in t.parts if not isinstance(p, str)]
    result = run(step, ex, doc)
    if any(v is MISSING or v is None or v == "" for v in values):
        assert result[0] == "failed"
        return
    if any(str(v) in (".", "..") for v in values):
        assert result[0] == "failed" and result[1][2] == 404
        return
    assert result[0] == "ok"
    for template, path in zip(
        templates, [ex.upstream_path, *ex.upstream_alternatives], strict=True
    ):
        literal = "".join(p for p in template.parts if isinstance(p, str))
        assert path.count("/") == literal.count("/")
        texts = iter(str(p.get(ex, doc)) for p in template.parts if not isinstance(p, str))
        written = "".join(p if isinstance(p, str) else next(texts) for p in template.parts)
        assert unquote(path) == written


def test_every_shipped_config_contributes_steps() -> None:
    assert len(CONFIGS) >= 3 and len(SPECIFIED_STEPS) > 50
    assert {step.op for _, step, _ in SPECIFIED_STEPS} == SPECIFIED


@pytest.mark.parametrize(("name", "step", "account"), STEPS[:40], ids=[s[0] for s in STEPS[:40]])
def test_generated_steps_show_their_source(name: str, step: Step, account: Any) -> None:
    """A step with generated code can be read where a debugger looks: ``inspect`` and the
    line cache give the text the step runs, under a name saying where the step stands."""
    for code in step.code():
        assert inspect.getsource(code.fn) == code.text[code.text.index("\ndef ") + 1 :]
        assert "".join(linecache.getlines(code.filename)) == code.text
        assert code.filename.startswith("<dialect ")


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
