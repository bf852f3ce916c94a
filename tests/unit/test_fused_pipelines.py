"""A fused record pipeline behaves exactly like its steps' plain ``apply``, one by one.

``each`` and ``use`` run a named pipeline as one generated function (``proxy.pipeline.fused``)
that falls back to the per-step runner for anything unusual. This runs every named pipeline of
every shipped config, through ``use`` and through ``each``, on generated records: realistic
ones (the golden files' shapes) with fields dropped, nulled or replaced by empty strings, wrong
types, odd timestamps and numbers, plus documents that are not objects at all. The reference is
the straightforward path: each step's ``when.holds`` and ``apply``, with failures named the way
``run_steps``/``run_nested`` name them. Both must give the same document (key order and value
types included) or the same error: the StepError's reason, index, op, path, status, code and
message, or the same exception type and text.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxy.engine.errors import StepError
from proxy.engine.exchange import Exchange
from proxy.pipeline import fused as fused_forms
from proxy.pipeline.fused import fuse
from proxy.pipeline.registry import StepCompiler
from proxy.pipeline.runner import run_steps
from proxy.pipeline.step import Step, StepFailure
from proxy.settings.loader import load_config
from proxy.steps.each import Each, NestedSteps, Use
from tests.conftest import ROOT

CONFIGS = sorted((ROOT / "config").glob("*.yaml"))


def _join(outer: str, inner: str) -> str:
    if not inner:
        return outer
    if not outer:
        return inner
    return outer + inner if inner.startswith("[") else f"{outer}.{inner}"


# -- the straightforward path ------------------------------------------------------------------


class RefFailure(Exception):
    def __init__(self, inner: StepFailure, index: str, op: str, path: str) -> None:
        super().__init__(inner.reason)
        self.inner, self.index, self.op, self.path = inner, index, op, path


def ref_nested(steps: Sequence[Step], ex: Exchange, doc: Any, where: str) -> Any:
    """``run_nested`` with every step's plain ``holds``/``apply`` instead of its compiled run."""
    for i, step in enumerate(steps):
        try:
            if step.when is None or step.when.holds(ex, doc):
                doc = ref_apply(step, ex, doc)
        except RefFailure as exc:
            raise RefFailure(
                exc.inner, f"{i}.{exc.index}", exc.op, _join(where, exc.path)
            ) from None
        except StepFailure as exc:
            raise RefFailure(exc, str(i), step.op, _join(where, exc.path)) from None
    return doc


def ref_apply(step: Step, ex: Exchange, doc: Any) -> Any:
    if isinstance(step, Use):
        return ref_nested(step._steps, ex, doc, "")
    if isinstance(step, Each):
        for value, where in step._at.find(doc):
            if value is None:
                continue
            if not isinstance(value, list):
                raise StepFailure(f"expected a list, found {type(value).__name__}", where)
            for i, item in enumerate(value):
                value[i] = ref_nested(step._steps, ex, item, f"{where}[{i}]")
        return doc
    assert not isinstance(step, NestedSteps)
    return step.apply(ex, doc)


def shape(doc: Any) -> str:
    """The document's text, and which of its parts are one shared object (a ``set … from``
    must copy, so that a later edit of one place cannot change another)."""
    seen: dict[int, str] = {}
    shared: list[str] = []
    stack: list[tuple[Any, str]] = [(doc, "")]
    while stack:
        value, where = stack.pop()
        if not isinstance(value, dict | list):
            continue
        if id(value) in seen:
            shared.append(f"{where}={seen[id(value)]}")
            continue
        seen[id(value)] = where
        items = value.items() if isinstance(value, dict) else enumerate(value)
        stack.extend((v, f"{where}/{k}") for k, v in items)
    return repr(doc) + " shared:" + ",".join(sorted(shared))


def fields(error: StepError) -> tuple[Any, ...]:
    """Everything a StepError tells the client and the log."""
    return (
        "StepError",
        error.reason,
        error.route,
        error.phase,
        error.index,
        error.op,
        error.path,
        error.status,
        error.code,
        error.message,
        str(error),
    )


def reference(step: Step, ex: Exchange, doc: Any) -> tuple[Any, ...]:
    """What ``run_steps([step], …)`` reports, computed the straightforward way."""
    where: dict[str, Any] = {"route": ex.route_name, "phase": "response"}
    try:
        return ("ok", shape(ref_apply(step, ex, doc)))
    except RefFailure as exc:
        f = exc.inner
        error = StepError(
            f.reason, **where, index=f"0.{exc.index}", op=f"{step.op}/{exc.op}", path=exc.path,
            status=f.status, code=f.code, message=f.message,
        )  # fmt: skip
        return fields(error)
    except StepFailure as f:
        error = StepError(
            f.reason, **where, index=0, op=step.op, path=f.path,
            status=f.status, code=f.code, message=f.message,
        )  # fmt: skip
        return fields(error)
    except Exception as exc:
        return (type(exc).__name__, str(exc))


def optimized(step: Step, ex: Exchange, doc: Any) -> tuple[Any, ...]:
    try:
        return ("ok", shape(run_steps([step], ex, doc, phase="response")))
    except StepError as error:
        return fields(error)
    except Exception as exc:
        return (type(exc).__name__, str(exc))


# -- the pipelines -----------------------------------------------------------------------------


# Pipelines the shipped configs do not have, for the record form's other branches: conditions
# on presence and on the context, conditional renames, drops and sets, a chain of renames and a
# rename onto itself, nested sets into an existing object, a failing map, defaults, and a final
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
}


def compiled_pair(raw: dict[str, Any], name: str) -> tuple[Step, Step]:
    compiler = StepCompiler(raw)
    use, each = compiler.compile(
        [{"op": "use", "pipeline": name}, {"op": "each", "at": "items", "use": name}],
        "response",
        "test",
    )
    assert compiler.problems == []
    return use, each


def pipelines() -> list[tuple[str, str, Step, Step, Any]]:
    """(id, the form it must take, a ``use`` of it, an ``each`` of it, the account): every
    named pipeline of every shipped config, the same without its final select and with a step
    the fused forms have no template for in the middle, and the extra pipelines."""
    found = []
    account = None
    for path in CONFIGS:
        config = load_config(path, offline=True)
        account = config.model.active_accounts[0] if config.model.active_accounts else account
        for name, steps in config.model.pipelines.items():
            half = len(steps) // 2
            variants = {
                name: ("fused_record", steps),
                f"{name}/no-select": ("fused_document", steps[:-1]),
                f"{name}/recase-inside": (
                    "fused_document",
                    [*steps[:half], {"op": "recase", "to": "snake", "deep": False}, *steps[half:]],
                ),
            }
            for key, (form, raw) in variants.items():
                use, each = compiled_pair({key: raw}, key)
                found.append((f"{path.stem}:{key}", form, use, each, account))
    for key, raw in EXTRA.items():
        for variant, form, steps in [
            (key, "fused_record", raw),
            (f"{key}/no-select", "fused_document", raw[:-1]),
        ]:
            use, each = compiled_pair({variant: steps}, variant)
            found.append((f"extra:{variant}", form, use, each, account))
    return found


PIPELINES = pipelines()
IDS = [p[0] for p in PIPELINES]


def test_every_record_pipeline_is_covered() -> None:
    names = {name.split(":")[1] for name, *_ in PIPELINES}
    assert {"twilio_message", "twilio_call", "plivo_message", "plivo_call"} <= names


@pytest.mark.parametrize(("name", "form", "use", "each", "account"), PIPELINES, ids=IDS)
def test_each_pipeline_takes_the_expected_form(
    name: str, form: str, use: Step, each: Step, account: Any
) -> None:
    assert isinstance(use, Use)
    assert fuse(use._steps).__name__ == form


# -- generated records -------------------------------------------------------------------------

PLIVO_MESSAGE = {
    "api_id": "97a6b3e5-7c4c-11e7-9891-06ad4ba32f2b",
    "error_code": "000",
    "error_message": "",
    "from_number": "18552828641",
    "message_direction": "outbound",
    "message_state": "delivered",
    "message_time": "2017-05-22 21:36:14+05:30",
    "message_type": "sms",
    "message_uuid": "0936ec98-7c4c-11e7-9891-06ad4ba32f2b",
    "message_sent_time": "2017-05-22 21:36:15.12345+05:30",
    "message_updated_time": "2017-05-22 21:36:20+05:30",
    "powerpack_id": "",
    "resource_uri": "/v1/Account/MAXXXXXXXXXXXXXXXXXX/Message/0936ec98/",
    "to_number": "911231231230",
    "total_amount": "0.00250",
    "total_rate": "0.00250",
    "units": 1,
    "text": "hello",
}
PLIVO_CALL = {
    "answer_time": "2017-05-22 13:17:54+05:30",
    "bill_duration": 924,
    "call_direction": "outbound",
    "call_duration": 924,
    "call_state": "ANSWER",
    "call_uuid": "eba53b9e-8fbd-45c1-9444-696d2172fbc8",
    "caller_name": "",
    "end_time": "2017-05-22 13:33:18+05:30",
    "from_number": "+919879879876",
    "initiation_time": "2017-05-22 13:17:49+05:30",
    "parent_call_uuid": None,
    "to_number": "919879879876",
    "total_amount": "0.13600",
}
TWILIO_MESSAGE = {
    "account_sid": "AC" + "a" * 32,
    "body": "testing",
    "date_created": "Fri, 24 May 2019 17:44:46 +0000",
    "date_sent": "Fri, 24 May 2019 17:44:50 +0000",
    "date_updated": "Fri, 24 May 2019 17:44:50 +0000",
    "direction": "outbound-api",
    "error_code": 30003,
    "error_message": "Unreachable destination handset",
    "from": "+12019235161",
    "messaging_service_sid": None,
    "num_media": "0",
    "num_segments": "2",
    "price": "-0.00750",
    "sid": "SMc26223853f8c46b4ab7dfaa6abba0a26",
    "status": "undelivered",
    "subresource_uris": {"media": "/x/Media.json"},
    "to": "+18182008801",
}
TWILIO_CALL = {
    "date_created": "Mon, 22 May 2017 07:47:49 +0000",
    "date_updated": "Mon, 22 May 2017 08:03:18 +0000",
    "direction": "outbound-api",
    "duration": "924",
    "end_time": "Mon, 22 May 2017 08:03:18 +0000",
    "from": "+14155550100",
    "parent_call_sid": None,
    "price": "-0.20020",
    "sid": "CAeba53b9e8fbd45c19444696d2172fbc8",
    "start_time": "Mon, 22 May 2017 07:47:49 +0000",
    "status": "completed",
    "subresource_uris": {},
    "to": "+14155550111",
}
BASES = [PLIVO_MESSAGE, PLIVO_CALL, TWILIO_MESSAGE, TWILIO_CALL]
FIELDS = sorted({key for base in BASES for key in base} | {"sid", "status", "uri", "num_media"})

ODD_VALUES: list[Any] = [
    # absent-ish and empty
    None,
    "",
    " ",
    "null",
    "0",
    "000",
    # timestamps: Plivo's, Twilio's, and near misses
    "2017-05-22 21:36:14+05:30",
    "2017-05-22 21:36:14.1234567-08:00",
    "2017-05-22T21:36:14Z",
    "2017-05-22 21:36:14",
    "2017-05-22 21:36",
    "2017-05-22",
    " 2017-05-22 21:36:14+00:00 ",
    "2017-02-30 10:00:00+00:00",
    "2017-05-22 24:00:00+00:00",
    "2017-05-22 21:36:60+05:30",
    "0999-01-01 00:10:00+05:30",
    "0001-01-01 00:00:00+05:30",
    "9999-12-31 23:59:59-05:00",
    "2017-05-22 21:36:14+0530",
    "2017-05-22 21:36:14 +05:30",
    "2017-05-22 21:36:14+05:30:10",
    "0001-01-01 00:00:00+05:30",
    "0001-01-01 00:00:00+00:00",
    "Mon, 22 May 2017 16:06:14 +0000",
    "Mon, 22 May 2017 16:06:14 -0000",
    "Mon, 22 May 2017 16:06:14 +0530",
    "Mon, 22 May 2017 16:06:14 +2400",
    "Mon, 22 may 2017 16:06:14 +0000",
    "Mon, 22 May 2017 16:06:14 GMT",
    "Tue, 30 Feb 2017 10:00:00 +0000",
    "Wed, 29 Feb 2016 10:00:00 +0000",
    "Mon, 22 May 2017 24:00:00 +0000",
    "Mon, 22 May 2017 23:59:60 +0000",
    "Mon, 01 Jan 0099 00:00:00 +0000",
    "Mon, 01 Jan 0999 00:00:00 +0000",
    "Mon, 01 Jan 0001 00:00:00 +0100",
    "Fri, 31 Dec 9999 23:59:59 -0100",
    "Mon, 22 May 2017 16:06:14 +0000 ",
    "22 May 2017 16:06:14 GMT",
    "not a date",
    # identifiers
    "0936ec98-7c4c-11e7-9891-06ad4ba32f2b",
    "0936EC98-7C4C-11E7-9891-06AD4BA32F2B",
    "0936ec987c4c11e7989106ad4ba32f2b",
    "SM0936ec987c4c11e7989106ad4ba32f2b",
    "MM0936ec987c4c11e7989106ad4ba32f2b",
    "CA0936ec987c4c11e7989106ad4ba32f2b",
    "SM0936",
    # numbers and phone numbers
    "14155550100",
    "+14155550100",
    "+1 (415) 555-0100",
    "911231231230",
    "12345",
    "sip:alice@example.com",
    "MyBrand",
    "0.00250",
    "-0.1",
    "1e3",
    "NaN",
    "inf",
    "abc",
    "30003",
    " 42 ",
    # vocabularies
    "delivered",
    "inbound",
    "outbound",
    "outbound-api",
    "mms",
    "sms",
    "ANSWER",
    "NO_ANSWER",
    "completed",
    "no-answer",
    "weird",
]
ODD = st.sampled_from(ODD_VALUES)
VALUES = st.one_of(
    ODD,
    st.integers(-3, 3),
    st.sampled_from([0, 1, 924, 30003, 10**20]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=8),
    st.lists(st.sampled_from(["a", "14155550100", None]), max_size=2),
    st.dictionaries(st.sampled_from(["media", "x"]), st.sampled_from(["u", None]), max_size=2),
)


@st.composite
def records(draw: st.DrawFn) -> Any:
    """A realistic record, edited: fields dropped, nulled, replaced or added; sometimes not an
    object at all."""
    if draw(st.integers(0, 19)) == 0:
        return draw(st.one_of(st.none(), st.lists(st.integers(), max_size=2), VALUES))
    doc = copy.deepcopy(draw(st.sampled_from(BASES)))
    for key in draw(st.lists(st.sampled_from(FIELDS), max_size=6, unique=True)):
        action = draw(st.integers(0, 3))
        if action == 0:
            doc.pop(key, None)
        elif action == 1:
            doc[key] = None
        else:
            doc[key] = draw(VALUES)
    return doc


ITEMS = st.one_of(
    st.lists(records(), max_size=4),
    st.sampled_from([None, "x", 3, {"a": 1}]),
)


def exchange(account: Any) -> Exchange:
    return Exchange(
        route_name="r",
        request_id="rid",
        method="GET",
        path="/2010-04-01/Accounts/AC1/Messages/SM1.json",
        query=[],
        path_params={"Sid": "SM" + "0" * 32},
        fmt="json",
        params={},
        original={"To": "+14155550111", "Body": "hi"},
        account=account,
        started=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


def tree(value: Any) -> Any:
    """A copy of a JSON-like document (``copy.deepcopy`` was most of this module's time)."""
    if isinstance(value, dict):
        return {k: tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [tree(v) for v in value]
    return value


def compare(step: Step, account: Any, doc: Any) -> None:
    expected = reference(step, exchange(account), tree(doc))
    actual = optimized(step, exchange(account), tree(doc))
    assert actual == expected


def test_a_nested_object_shared_by_records_is_edited_as_before() -> None:
    """Decoded JSON never shares objects, but a page whose records share one nested object
    sees it edited in place, once per record, exactly as step by step."""
    _, _, _, each, account = next(p for p in PIPELINES if p[0].endswith(":twilio_message"))
    shared = {"media": None}
    items = [{**PLIVO_MESSAGE, "subresource_uris": shared} for _ in range(3)]
    expected = reference(each, exchange(account), copy.deepcopy({"items": items}))
    assert optimized(each, exchange(account), copy.deepcopy({"items": items})) == expected
    assert "/items/1/subresource_uris=/items/2/subresource_uris" in expected[1]


PARAMS = ("name", "form", "use", "each", "account")


RECORD_FORM = [p for p in PIPELINES if p[1] == "fused_record"]
DOCUMENT_FORM = [p for p in PIPELINES if p[1] != "fused_record"]
RANDOM = given(doc=records(), items=ITEMS, with_account=st.booleans())
HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large]


def random_records(
    form: str, use: Step, each: Step, account: Any, doc: Any, items: Any, with_account: bool
) -> None:
    account = account if with_account or account is None else None
    compare(use, account, doc)
    page = {"items": items} if items is not None or doc is None else {"other": 1}
    compare(each, account, page)


@pytest.mark.parametrize(PARAMS, RECORD_FORM, ids=[p[0] for p in RECORD_FORM])
@settings(max_examples=120, deadline=None, suppress_health_check=HEALTH)
@RANDOM
def test_record_form_matches_plain_apply(
    name: str, form: str, use: Step, each: Step, account: Any, **drawn: Any
) -> None:
    random_records(form, use, each, account, **drawn)


@pytest.mark.parametrize(PARAMS, DOCUMENT_FORM, ids=[p[0] for p in DOCUMENT_FORM])
@settings(max_examples=40, deadline=None, suppress_health_check=HEALTH)
@RANDOM
def test_document_form_matches_plain_apply(
    name: str, form: str, use: Step, each: Step, account: Any, **drawn: Any
) -> None:
    random_records(form, use, each, account, **drawn)


SWEEP = [*ODD_VALUES, 0, 1.5, -1, True, 10**20, ["a"], {"media": "u"}]


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


SWEPT = [p for p in PIPELINES if not p[0].endswith("/recase-inside")]  # random covers those


@pytest.mark.parametrize(PARAMS, SWEPT, ids=[p[0] for p in SWEPT])
def test_every_field_with_every_odd_value(
    name: str, form: str, use: Step, each: Step, account: Any
) -> None:
    """Deterministic: each field the pipeline reads, in each realistic record, missing or set
    to each odd value, one at a time; so that every step meets every odd value even where
    random records would fail at an earlier step."""
    assert isinstance(use, Use)
    keys = read_keys(use._steps)
    # The records this pipeline is for (its keys), and every third odd value for the variants
    # that take the document form (their steps are the same; the random records cover more).
    style = name.split(":")[1].split("_")[0]  # twilio_* pipelines read Plivo records
    bases = {"twilio": [PLIVO_MESSAGE, PLIVO_CALL], "plivo": [TWILIO_MESSAGE, TWILIO_CALL]}.get(
        style, [base for base in BASES if len(keys & base.keys()) >= 4]
    )
    values = SWEEP if form == "fused_record" else [*SWEEP[::3], ["a"], {"media": "u"}]
    for base in bases:
        for key in sorted(keys):
            compare(use, account, {k: v for k, v in base.items() if k != key})
            page = []
            for value in values:
                doc = {**base, key: copy.deepcopy(value)}
                compare(use, account, doc)
                page.append(doc)
            compare(each, account, {"items": page})


@pytest.mark.parametrize(PARAMS, PIPELINES, ids=IDS)
def test_realistic_records_translate(
    name: str, form: str, use: Step, each: Step, account: Any
) -> None:
    """Some shipped records translate in full, so the examples also run the whole fused path."""
    outcomes = [optimized(use, exchange(account), copy.deepcopy(b))[0] for b in BASES]
    assert "ok" in outcomes
    for base in BASES:
        compare(use, account, base)
        compare(each, account, {"items": [copy.deepcopy(base), None, base]})


# The realistic records each pipeline is for (the extras': ones that reach their last step).
INPUTS = {
    "twilio_message": [PLIVO_MESSAGE],
    "twilio_call": [PLIVO_CALL],
    "plivo_message": [TWILIO_MESSAGE],
    "plivo_call": [TWILIO_CALL],
    "conditional": [
        {**PLIVO_MESSAGE, "dst": "x"},
        {k: v for k, v in PLIVO_MESSAGE.items() if k not in ("message_type", "units")},
    ],
    "skipping": [TWILIO_MESSAGE, {k: v for k, v in TWILIO_MESSAGE.items() if k != "to"}],
}
SHIPPED = [p for p in PIPELINES if p[0].split(":")[1] in INPUTS]


@pytest.mark.parametrize(PARAMS, SHIPPED, ids=[p[0] for p in SHIPPED])
def test_realistic_records_need_no_fallback(
    name: str, form: str, use: Step, each: Step, account: Any
) -> None:
    """The fast path is the path real records take: no step handed over to the runner."""
    assert isinstance(use, Use) and form == "fused_record"

    def refuse(*_: Any) -> Any:
        raise AssertionError("fell back to the per-step path")

    fused = fused_forms._record_form(tuple(use._steps), refuse)
    for record in INPUTS[name.split(":")[1]]:
        ex = exchange(account)
        assert ("ok", shape(fused(ex, tree(record), "", None))) == reference(use, ex, tree(record))


@pytest.mark.parametrize(PARAMS, RECORD_FORM, ids=[p[0] for p in RECORD_FORM])
def test_the_record_form_leaves_its_input_as_it_was(
    name: str, form: str, use: Step, each: Step, account: Any
) -> None:
    """What makes its fallback exact: the whole pipeline runs again on the input, so the
    record form must not have changed it, whether it then hands over or finishes."""
    assert isinstance(use, Use)
    before: list[str] = []

    def probe(_start: int, _ex: Exchange, doc: Any, *_: Any) -> Any:
        assert shape(doc) == before[0], "the input was changed before the fallback"
        return None

    fused = fused_forms._record_form(tuple(use._steps), probe)
    for base in BASES:
        for key in sorted(read_keys(use._steps)):
            for value in [*SWEEP, {}, {"x": 1}]:
                doc = {**tree(base), key: tree(value)}
                before[:] = [shape(doc)]
                fused(exchange(account), doc, "", None)
                assert shape(doc) == before[0], "the input was changed"
