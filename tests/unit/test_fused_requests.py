"""A route's fused request steps do exactly what its steps do one by one.

A fetch's request steps (``set`` the id from the path, ``convert`` it, ``rewrite_path``,
``select`` nothing) form a record pipeline over the client's parameters, and the route runs them
fused into one function (``proxy.pipeline.fused.fuse_phase``). The definition is the same steps
run one by one by ``run_steps``. For every route of every shipped config whose request steps
fuse, both run on the same exchanges (every path field set to real ids and to hostile ones,
with and without an account) and on realistic and hypothesis-made parameters; both must give
the same parameters, the same upstream path, alternatives and method, or the same StepError.
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
from tests.unit.pipeline_records import records, shape, tree

CONFIGS = sorted((ROOT / "config").glob("*.yaml"))
HEX = "0936ec987c4c11e7989106ad4ba32f2b"
UUID = "0936ec98-7c4c-11e7-9891-06ad4ba32f2b"
# Real ids of both styles, then what a hostile or careless client may put in a path field.
IDS = [f"SM{HEX}", f"CA{HEX}", f"MM{HEX}", f"RE{HEX}", f"PN{HEX}", UUID]
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
        ids = {"twilio": [f"SM{HEX}", f"CA{HEX}"], "plivo": [UUID]}[r.route.client_style]
        ok = [compare(r, {n: i for n in r.fields}, {}, r.account) for i in ids]
        assert "ok" in ok, r.ident
        assert PIPELINE_FALLBACKS.counts.get((name, "record"), 0) == before + ok.count("StepError")
