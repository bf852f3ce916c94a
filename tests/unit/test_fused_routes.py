"""A route's fused steps do exactly what its steps do one by one.

A fetch's request steps (``set`` the id from the path, ``convert`` it, ``rewrite_path``,
``select`` nothing) form a record pipeline over the client's parameters, and its response steps
(``use`` of a record pipeline) one over the upstream's answer; the route runs each phase fused
into one function (``proxy.pipeline.fused.fuse_phase``, a ``use`` written in place). The
definition is the same steps run one by one by ``run_steps``. For every route of every shipped
config whose request steps fuse, both run on the same exchanges (every path field set to real
ids and to hostile ones, with and without an account) and on realistic and hypothesis-made
parameters; both must give the same parameters, the same upstream path, alternatives and
method, or the same StepError. For every route whose response steps fuse, both run on every
realistic upstream record, on each of its fields set to each odd value, and on
hypothesis-made records.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxy.engine.aliases import resolve_as_is
from proxy.engine.errors import StepError
from proxy.engine.exchange import Exchange
from proxy.engine.routing import CompiledRoute
from proxy.ops.metrics import PIPELINE_FALLBACKS
from proxy.pipeline.runner import run_steps
from proxy.settings.loader import load_config
from tests.conftest import ROOT
from tests.unit.pipeline_records import BASES, SWEEP, records, shape, tree
from tests.unit.resource_records import (
    PLIVO_MEDIA,
    PLIVO_NUMBER,
    PLIVO_RECORDING,
    TWILIO_AVAILABLE_NUMBER,
    TWILIO_NUMBER,
)

CONFIGS = sorted((ROOT / "config").glob("*.yaml"))
HEX = "0936ec987c4c11e7989106ad4ba32f2b"
UUID = "0936ec98-7c4c-11e7-9891-06ad4ba32f2b"
# Real ids of both styles, then what a hostile or careless client may put in a path field.
# (A Twilio number's SID, as the façade makes one: PN + its digits, zero-padded to 32.)
IDS = [
    f"SM{HEX}",
    f"CA{HEX}",
    f"MM{HEX}",
    f"ME{HEX}",
    f"RE{HEX}",
    "PN" + "14155550111".zfill(32),
    UUID,
]
HOSTILE = ["..", ".", "", "a/b", "x%2Fy", "../../admin", "é", "SMzz", "a b", "+14155550111"]
PARAMS: list[dict[str, Any]] = [
    {},
    {"To": "+14155550111", "From": "+14155550100", "Body": "hi", "Status": "completed"},
    {"Sid": f"SM{HEX}", "uuid": UUID, "PageSize": "2", "extra": ["a", {"b": 1}]},
]


class Route:
    def __init__(self, ident: str, route: CompiledRoute, account: Any) -> None:
        self.ident, self.route, self.account = ident, route, account
        names = re.findall(r"\{(\w+)\}", route.settings.match.path)
        self.fields = [n for n in names if n != "ext"]


def routes() -> list[Route]:
    found = []
    for path in CONFIGS:
        config = load_config(path, offline=True)
        accounts = config.model.active_accounts
        for route in config.router.routes:
            found.append(
                Route(f"{path.stem}:{route.name}", route, accounts[0] if accounts else None)
            )
    return found


ALL = routes()
FUSED = [r for r in ALL if r.route.request.code is not None]
ANSWERS = [r for r in ALL if r.route.response.code is not None]
# What upstreams answer, as the façades' routes read it.
UPSTREAM_RECORDS = [
    *BASES,
    PLIVO_RECORDING,
    PLIVO_MEDIA,
    PLIVO_NUMBER,
    TWILIO_NUMBER,
    TWILIO_AVAILABLE_NUMBER,
]


def exchange(
    r: Route, path_params: dict[str, str], params: dict[str, Any], account: Any
) -> Exchange:
    path = r.route.settings.match.path
    path_params = dict(path_params)
    params = tree(params)
    resolve_as_is(r.route.settings.resolve, path_params, params)  # as with no alias known
    return Exchange(
        route_name=r.route.name,
        request_id="rid",
        method=r.route.settings.match.method,
        path=path,
        query=[],
        path_params=path_params,
        fmt="json",
        params=params,
        original=tree(params),
        account=account,
        upstream_method=r.route.settings.match.method,
        upstream_path=path,
    )


def outcome(ex: Exchange, run: Any) -> tuple[Any, ...]:
    try:
        doc = run(ex, tree(ex.params))
    except StepError as e:
        return ("StepError", e.reason, e.route, e.phase, e.index, e.op, e.path, e.status, e.code,
                e.message, str(e))  # fmt: skip
    except Exception as exc:
        return (type(exc).__name__, str(exc))
    return ("ok", shape(doc), ex.upstream_path, list(ex.upstream_alternatives), ex.upstream_method)


def compare(r: Route, path_params: dict[str, str], params: dict[str, Any], account: Any) -> str:
    expected = outcome(
        exchange(r, path_params, params, account),
        lambda ex, doc: run_steps(r.route.request_steps, ex, doc, phase="request"),
    )
    fused = outcome(
        exchange(r, path_params, params, account),
        lambda ex, doc: r.route.request.run(ex, doc, "", None),
    )
    assert fused == expected
    return str(expected[0])


def compare_answer(r: Route, body: Any, account: Any) -> str:
    """The response steps on ``body`` (what the upstream answered), both ways."""
    results = []
    for run in (
        lambda ex, doc: run_steps(r.route.response_steps, ex, doc, phase="response"),
        lambda ex, doc: r.route.response.run(ex, doc, "", None),
    ):
        ex = exchange(r, {name: IDS[0] for name in r.fields}, {}, account)
        ex.params = body  # ``outcome`` runs on a copy of ``ex.params``
        results.append(outcome(ex, run))
    assert results[1] == results[0]
    return str(results[0][0])


def test_the_fetches_are_fused() -> None:
    """The case the benchmark measures, in both directions, runs the fused form."""
    fused = {r.ident for r in FUSED}
    for ident in (
        "twilio-over-plivo:messages.fetch",
        "twilio-over-plivo:calls.fetch",
        "plivo-over-twilio:messages.get",
        "plivo-over-twilio:calls.get",
    ):
        assert ident in fused
    for r in ALL:  # a route whose request steps run one by one says why
        assert r.route.request.code is not None or r.route.request.reason, r.ident


@pytest.mark.parametrize("r", FUSED, ids=[r.ident for r in FUSED])
def test_every_path_field_with_real_and_hostile_ids(r: Route) -> None:
    """Every combination of real ids in the path fields, then each field in turn set to each
    hostile value in a path that is otherwise one the route accepts."""
    outcomes, accepted = set(), None
    for values in itertools.product(IDS, repeat=len(r.fields)):
        path_params = dict(zip(r.fields, values, strict=True))
        for params, account in itertools.product(PARAMS, (r.account, None)):
            result = compare(r, path_params, params, account)
            outcomes.add(result)
            if result == "ok" and accepted is None:
                accepted = path_params
    assert accepted is not None, "no real id reached the end of the fused code"
    for field, value in itertools.product(r.fields, HOSTILE):
        for params, account in itertools.product(PARAMS, (r.account, None)):
            outcomes.add(compare(r, accepted | {field: value}, params, account))
    assert "StepError" in outcomes or not r.fields


@pytest.mark.parametrize("r", FUSED, ids=[r.ident for r in FUSED])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=records(), value=st.one_of(st.sampled_from(IDS + HOSTILE), st.text(max_size=8)))
def test_generated_parameters(r: Route, doc: Any, value: str) -> None:
    params = doc if isinstance(doc, dict) else {"value": doc}
    compare(r, {name: value for name in r.fields}, params, r.account)


def test_a_real_fetch_needs_no_fallback() -> None:
    """The fast path is the path a fetch of a real id takes; a malformed id is handed to the
    steps one by one (which answer it), and that is counted."""
    for r in FUSED:
        name = r.route.request.name
        before = PIPELINE_FALLBACKS.counts.get((name, "record"), 0)
        ok = [
            compare(r, dict(zip(r.fields, values, strict=True)), {}, r.account)
            for values in itertools.product(IDS, repeat=len(r.fields))
        ]
        assert "ok" in ok, r.ident
        assert PIPELINE_FALLBACKS.counts.get((name, "record"), 0) == before + ok.count("StepError")


def test_the_answers_of_fetches_are_fused() -> None:
    fused = {r.ident for r in ANSWERS}
    for ident in ("twilio-over-plivo:messages.fetch", "plivo-over-twilio:messages.get"):
        assert ident in fused
    for r in ALL:
        assert r.route.response.code is not None or r.route.response.reason, r.ident


@pytest.mark.parametrize("r", ANSWERS, ids=[r.ident for r in ANSWERS])
def test_every_upstream_record_and_every_odd_field(r: Route) -> None:
    outcomes = set()
    for record in UPSTREAM_RECORDS:
        for account in (r.account, None):
            outcomes.add(compare_answer(r, record, account))
        for key in record:
            outcomes.add(
                compare_answer(r, {k: v for k, v in record.items() if k != key}, r.account)
            )
            for value in SWEEP:
                outcomes.add(compare_answer(r, {**record, key: value}, r.account))
    for odd in (None, [], "text", 7, [dict(UPSTREAM_RECORDS[0])]):
        outcomes.add(compare_answer(r, odd, r.account))
    assert "ok" in outcomes, r.ident  # some record went through the whole fused function


@pytest.mark.parametrize("r", ANSWERS, ids=[r.ident for r in ANSWERS])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=records(), with_account=st.booleans())
def test_generated_answers(r: Route, doc: Any, with_account: bool) -> None:
    compare_answer(r, doc, r.account if with_account else None)
