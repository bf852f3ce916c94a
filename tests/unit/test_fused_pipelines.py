"""A fused record pipeline gives exactly the answer of its steps run one by one.

The definition of a pipeline is its steps run one by one, each as its own generated function
(``proxy.pipeline.one_step``: what the runner runs, and what a fused pipeline hands a record to);
the fast form is the pipeline fused into one function (``proxy.pipeline.fused``). Both are
written from the same step templates; what differs is how the record is held (a dict, or a
local per key), and that is what this holds to account. Every named pipeline of every shipped
config, and pipelines written for the record form's other branches, are compiled twice, with
``DIALECT_FUSE=0`` (the definition) and without (the fast form), and run through ``use`` and
``each`` on realistic records, on every field set to every odd value, and on hypothesis-edited
records and pages. Both must give the same document (key order, value types and which parts are
shared included) or the same error: the StepError's reason, index, op, path, status, code and
message, or the same exception type and text.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxy.engine.errors import StepError
from proxy.engine.exchange import Exchange
from proxy.ops.metrics import PIPELINE_FALLBACKS
from proxy.pipeline import fused
from proxy.pipeline.runner import run_steps
from proxy.pipeline.step import Step
from proxy.settings.loader import load_config
from proxy.steps.registry import StepCompiler
from tests.conftest import ROOT
from tests.unit.pipeline_records import (
    BASES,
    ITEMS,
    PLIVO_CALL,
    PLIVO_MESSAGE,
    SWEEP,
    TWILIO_CALL,
    TWILIO_MESSAGE,
    exchange,
    records,
    shape,
    tree,
)
from tests.unit.resource_records import (
    PLIVO_MEDIA,
    PLIVO_NUMBER,
    PLIVO_RECORDING,
    TWILIO_AVAILABLE_NUMBER,
    TWILIO_NUMBER,
)

CONFIGS = sorted((ROOT / "config").glob("*.yaml"))


@contextmanager
def fusion(on: bool) -> Iterator[None]:
    """Pipelines compiled inside are fused (or not: the switch users have)."""
    before = os.environ.get(fused.SWITCH)
    os.environ[fused.SWITCH] = "1" if on else "0"
    try:
        yield
    finally:
        if before is None:
            del os.environ[fused.SWITCH]
        else:
            os.environ[fused.SWITCH] = before


def compile_pipeline(raw: dict[str, Any], name: str, *, fuse: bool) -> tuple[Step, Step]:
    """A ``use`` of the pipeline ``name`` and an ``each`` of it over ``items``."""
    with fusion(fuse):
        compiler = StepCompiler(raw)
        use, each = compiler.compile(
            [{"op": "use", "pipeline": name}, {"op": "each", "at": "items", "use": name}],
            "response",
            "test",
        )
    assert compiler.problems == []
    return use, each


class Pipeline:
    """One pipeline compiled both ways."""

    def __init__(self, ident: str, raw: dict[str, Any], name: str, account: Any) -> None:
        self.ident, self.name, self.account = ident, name, account
        self.use, self.each = compile_pipeline(raw, name, fuse=True)
        self.plain_use, self.plain_each = compile_pipeline(raw, name, fuse=False)
        self.steps = self.use.nested()


# Pipelines the shipped configs do not have, for the record form's other branches: conditions
# on presence and on the context, conditional renames, drops and sets, a chain of renames and a
# rename onto itself, nested sets into an existing object, a failing map, defaults, a rename
# onto a key that is there, a value that is surely there after ``if_missing``, and a final
# select that skips missing keys.
EXTRA: dict[str, list[dict[str, Any]]] = {
    "conditional": [
        {"op": "set", "at": "snapshot", "from": "subresource_uris"},
        {"op": "set", "at": "flag", "value": [1], "when": {"path": "message_type", "exists": True}},
        {"op": "drop", "keys": ["text", "api_id"], "when": {"path": "$request.To", "exists": True}},
        {"op": "set", "at": "units", "value": 7, "when": {"path": "units", "exists": False}},
        {
            "op": "rename",
            "map": {"to_number": "dst", "dst": "to2", "units": "units"},
            "when": {"path": "message_state", "in": ["delivered", "sent"]},
        },
        {"op": "set", "at": "subresource_uris.media", "value": {"a": 1}, "if_missing": True},
        {
            "op": "set",
            "at": "subresource_uris.x",
            "from": "to2",
            "when": {"path": "units", "not_in": [1]},
        },
        {
            "op": "convert",
            "at": "message_time",
            "with": "rfc2822_gmt",
            "when": {"path": "$route.method", "equals": "GET"},
        },
        {
            "op": "map_values",
            "at": "message_direction",
            "map": {"outbound": "out"},
            "fallback": "error",
        },
        {"op": "drop", "keys": ["from_number"], "when": {"path": "error_code", "equals": "000"}},
        {"op": "drop", "keys": ["units"], "when": {"path": "units", "same_as": "to2"}},
        {"op": "set", "at": "same", "value": 1, "when": {"path": "dst", "same_as": "$path.Sid"}},
        {
            "op": "set",
            "at": "from_number",
            "template": "{$path.Sid}/{to2}",
            "when": {"path": "units", "equals": 1},
        },
        {
            "op": "select",
            "default": "",
            "keys": [
                "flag",
                "same",
                "dst",
                "to2",
                "units",
                "subresource_uris",
                "message_time",
                "message_direction",
                "from_number",
                "text",
                "to_number",
                "snapshot",
                "error_message",
                "total_rate",
                "nothing",
            ],
        },
    ],
    "nothing_to_do": [
        {"op": "drop", "keys": [], "when": {"path": "units", "exists": True}},
        {"op": "rename", "map": {"units": "units"}, "when": {"path": "units", "exists": True}},
        {"op": "rename", "map": {}},
        {"op": "select", "keys": []},
    ],
    "skipping": [
        {"op": "set", "at": "message_type", "from": "subresource_uris", "if_missing": True},
        {"op": "rename", "map": {"sid": "message_uuid", "status": "message_state"}},
        {"op": "set", "at": "links.feedback", "template": "{$status}:{message_uuid}"},
        {"op": "set", "at": "x", "from": "$now"},
        {"op": "set", "at": "y", "from": "$request"},
        {"op": "convert", "at": "message_uuid", "with": "uuid_from_sid"},
        {
            "op": "select",
            "skip_missing": True,
            "keys": [
                "message_uuid",
                "message_state",
                "message_type",
                "subresource_uris",
                "x",
                "y",
                "num_media",
                "to",
            ],
        },
    ],
    "settling": [
        {"op": "set", "at": "num_media", "value": "0", "if_missing": True},
        {"op": "convert", "at": "num_media", "with": "string"},
        {"op": "set", "at": "copied", "from": "subresource_uris"},
        {"op": "set", "at": "body_copy", "from": "body"},
        {"op": "set", "at": "subresource_uris.media", "template": "/m/{num_media}.json"},
        {"op": "map_values", "at": "status", "map": {"sent": "x"}, "fallback": "default",
         "default": [1]},
        {"op": "rename", "map": {"to": "from"}},
        {"op": "set", "at": "from_copy", "from": "from"},
        {"op": "select", "keys": ["num_media", "copied", "subresource_uris", "status", "from",
                                  "from_copy", "to", "sid", "body", "body_copy"]},
    ],
}  # fmt: skip


def pipelines() -> list[Pipeline]:
    """Every named pipeline of every shipped config, and the extra ones."""
    found = []
    account = None
    for path in CONFIGS:
        config = load_config(path, offline=True)
        account = config.model.active_accounts[0] if config.model.active_accounts else account
        for name in config.model.pipelines:
            found.append(Pipeline(f"{path.stem}:{name}", config.model.pipelines, name, account))
    for name, steps in EXTRA.items():
        found.append(Pipeline(f"extra:{name}", {name: steps}, name, account))
    return found


ALL = pipelines()
# What the fast form covers: the others run step by step both ways (nothing to compare).
FUSED = [p for p in ALL if p.use.fusion() is not None and p.use.fusion().code is not None]  # type: ignore[union-attr]
IDS = [p.ident for p in FUSED]
RECORD_PIPELINES = {"twilio_message", "twilio_call", "plivo_message", "plivo_call"}


def test_every_record_pipeline_is_fused() -> None:
    """Without a fast form this file would compare the steps with themselves."""
    fused_names = {p.name for p in FUSED}
    assert RECORD_PIPELINES | set(EXTRA) <= fused_names
    for p in ALL:
        if p.name not in fused_names:
            reason = p.use.fusion().reason  # type: ignore[union-attr]
            assert reason, p.ident  # a pipeline that runs step by step says why


def test_the_switch_turns_fusion_off() -> None:
    for p in FUSED:
        assert p.plain_use.fusion().code is None  # type: ignore[union-attr]
        assert p.plain_use.fusion().reason == "DIALECT_FUSE=0"  # type: ignore[union-attr]


# -- comparing the two -------------------------------------------------------------------------


def fields(error: StepError) -> tuple[Any, ...]:
    """Everything a StepError tells the client and the log."""
    return (
        "StepError", error.reason, error.route, error.phase, error.index, error.op, error.path,
        error.status, error.code, error.message, str(error),
    )  # fmt: skip


def outcome(step: Step, account: Any, doc: Any) -> tuple[Any, ...]:
    try:
        return ("ok", shape(run_steps([step], exchange(account), doc, phase="response")))
    except StepError as error:
        return fields(error)
    except Exception as exc:
        return (type(exc).__name__, str(exc))


def compare_use(p: Pipeline, doc: Any, account: Any = None) -> tuple[Any, ...]:
    account = p.account if account is None else account
    expected = outcome(p.plain_use, account, tree(doc))
    assert outcome(p.use, account, tree(doc)) == expected
    return expected


def compare_each(p: Pipeline, page: Any, account: Any = None) -> tuple[Any, ...]:
    account = p.account if account is None else account
    expected = outcome(p.plain_each, account, tree(page))
    assert outcome(p.each, account, tree(page)) == expected
    return expected


@pytest.mark.parametrize("p", FUSED, ids=IDS)
def test_realistic_records(p: Pipeline) -> None:
    outcomes = [compare_use(p, base)[0] for base in [*BASES, *INPUTS.get(p.name, [])]]
    assert "ok" in outcomes  # some records translate in full: the whole fused path runs
    for base in BASES:
        compare_each(p, {"items": [copy.deepcopy(base), None, base]})


HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large]


@pytest.mark.parametrize("p", FUSED, ids=IDS)
@settings(max_examples=120, deadline=None, suppress_health_check=HEALTH)
@given(doc=records(), items=ITEMS, with_account=st.booleans())
def test_generated_records(p: Pipeline, doc: Any, items: Any, with_account: bool) -> None:
    account = p.account if with_account else None
    compare_use(p, doc, account)
    compare_each(p, {"items": items} if items is not None or doc is None else {"other": 1}, account)


def read_keys(steps: Sequence[Step]) -> set[str]:
    """The top-level keys a pipeline's steps read or write."""
    keys: set[str] = set()
    for step in steps:
        for attr in ("at", "from_"):
            text = getattr(step, attr, None)
            if isinstance(text, str) and text and not text.startswith("$"):
                keys.add(text.split(".")[0].split("[")[0])
        keys.update(getattr(step, "keys", None) or [])
        keys.update((getattr(step, "map", None) or {}) if step.op == "rename" else {})
        if step.when is not None:
            keys.add(step.when.path.split(".")[0])
        template = getattr(step, "template", None) or ""
        keys.update(part.strip() for part in template.replace("}", "{").split("{")[1::2])
    return {k for k in keys if k and not k.startswith("$")}


@pytest.mark.parametrize("p", FUSED, ids=IDS)
def test_every_field_with_every_odd_value(p: Pipeline) -> None:
    """Deterministic: each field the pipeline reads, in each realistic record, missing or set
    to each odd value, one at a time; so that every step meets every odd value even where
    random records would fail at an earlier step."""
    keys = read_keys(p.steps)
    style = p.name.split("_")[0]  # twilio_* pipelines read Plivo records
    bases = {"twilio": [PLIVO_MESSAGE, PLIVO_CALL], "plivo": [TWILIO_MESSAGE, TWILIO_CALL]}.get(
        style, [base for base in BASES if len(keys & base.keys()) >= 4]
    )
    for base in bases:
        for key in sorted(keys):
            compare_use(p, {k: v for k, v in base.items() if k != key})
            page = [{**base, key: copy.deepcopy(value)} for value in SWEEP]
            for doc in page:
                compare_use(p, doc)
            compare_each(p, {"items": page})


def test_a_nested_object_shared_by_records_is_edited_as_the_steps_do() -> None:
    """Decoded JSON never shares objects, but a page whose records share one nested object
    sees it edited in place, once per record, exactly as step by step."""
    p = next(p for p in FUSED if p.name == "twilio_message")
    shared = {"media": None}
    page = {"items": [{**PLIVO_MESSAGE, "subresource_uris": shared} for _ in range(3)]}
    expected = outcome(p.plain_each, p.account, copy.deepcopy(page))
    assert outcome(p.each, p.account, copy.deepcopy(page)) == expected
    assert "/items/1/subresource_uris=/items/2/subresource_uris" in expected[1]


class Tagged(str):
    """A ``str`` subclass with state of its own: ``set … from`` must copy it."""

    note: list[str]


def test_set_copies_what_is_not_immutable_in_both_forms() -> None:
    """The rule that once drifted: exact ``str``/``int``/``float``/``bool``/null values are
    shared, anything else copied, a ``str`` subclass included."""
    p = next(p for p in FUSED if p.name == "settling")
    for value in (Tagged("x"), True, "x", 1.5, {"media": "u"}, ["u"]):
        results = []
        for use in (p.plain_use, p.use):
            source = copy.deepcopy(value)  # the steps edit a dict or list in place
            record = {**tree(TWILIO_MESSAGE), "body": source}
            out = run_steps([use], exchange(p.account), record, phase="response")
            results.append(shape(out, source))
            assert (out["body_copy"] is source) == (type(value) in (str, bool, float))
        assert results[0] == results[1]


# -- what the fast form may and may not do ----------------------------------------------------

# The realistic records each pipeline is for (the extras': ones that reach their last step).
INPUTS = {
    "twilio_message": [PLIVO_MESSAGE],
    "twilio_call": [PLIVO_CALL],
    "plivo_message": [TWILIO_MESSAGE],
    "plivo_call": [TWILIO_CALL],
    "twilio_recording": [PLIVO_RECORDING],
    "twilio_media": [PLIVO_MEDIA],
    "twilio_incoming_number": [PLIVO_NUMBER],
    "plivo_number": [TWILIO_NUMBER],
    "plivo_phone_number": [TWILIO_AVAILABLE_NUMBER],
    "conditional": [
        {**PLIVO_MESSAGE, "dst": "x"},
        # Both same_as conditions hold: units equals what becomes to2, to_number the path's Sid.
        {**PLIVO_MESSAGE, "dst": PLIVO_MESSAGE["units"], "to_number": "SM" + "0" * 32},
        {k: v for k, v in PLIVO_MESSAGE.items() if k not in ("message_type", "units")},
    ],
    "skipping": [TWILIO_MESSAGE, {k: v for k, v in TWILIO_MESSAGE.items() if k != "to"}],
    "settling": [
        {k: v for k, v in TWILIO_MESSAGE.items() if k not in ("from", "subresource_uris")}
    ],
}
WITH_INPUTS = [p for p in FUSED if p.name in INPUTS]


def fallbacks(name: str) -> int:
    return PIPELINE_FALLBACKS.counts.get((name, "record"), 0)


@pytest.mark.parametrize("p", WITH_INPUTS, ids=[p.ident for p in WITH_INPUTS])
def test_realistic_records_need_no_fallback(p: Pipeline) -> None:
    """The fast path is the path real records take: none is handed to the steps one by one."""
    before = fallbacks(p.name)
    for record in INPUTS[p.name]:
        assert compare_use(p, record)[0] == "ok"
        compare_each(p, {"items": [record] * 3})
    assert fallbacks(p.name) == before


@pytest.mark.parametrize("p", FUSED, ids=IDS)
def test_the_fast_form_leaves_its_input_as_it_was(p: Pipeline) -> None:
    """What makes its fallback exact: the steps run again on the input, so the fused code must
    not have changed it, whether it then hands over or finishes."""
    before: list[str] = []

    def probe(_ex: Exchange, doc: Any, *_: Any) -> Any:
        assert shape(doc) == before[0], "the input was changed before the fallback"
        return None

    fast = fused._record_form(tuple(p.steps), p.name, probe).fn
    for base in BASES:
        for key in sorted(read_keys(p.steps)):
            for value in [*SWEEP, {}, {"x": 1}]:
                doc = {**tree(base), key: tree(value)}
                before[:] = [shape(doc)]
                fast(exchange(p.account), doc, "", None)
                assert shape(doc) == before[0], "the input was changed"
