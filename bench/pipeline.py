"""CPU per record of the shipped configs' record pipelines, without a server or a network.

``make bench`` measures whole requests; this isolates the part the proxy spends translating one
record, which a list page of 1000 pays 1000 times. For each record pipeline (``twilio_message``,
``twilio_call``, ``plivo_message``, ``plivo_call``) it loads the shipped config offline (the
placeholder credentials ``dialect translate`` uses), builds the Exchange the handler builds for
the route, runs the route's request steps (untimed: they fill the context the response steps
read, as in a real request), and then times:

- ``fetch``: the fetch route's response steps on one record per request (a fresh Exchange each);
- ``list``: the list route's ``each`` step over a page of ``PAGE`` records under one Exchange.

Records are realistic (the golden files' Plivo message, ``bench/run.py``'s ``MESSAGE``, a Plivo
call record and the Twilio mock's resources) and vary per record: distinct identifiers and
timestamps, numbers from a small pool, so that caches see what a real page gives them. Every
document is decoded before the clock starts; a run reports the minimum over ``--repeat``
repetitions of CPU time (``time.process_time``), in microseconds per record, and how many
records the fused pipeline handed to its steps one by one while timed (``fallbacks``: a number
above 0 means the table measured the slow path, see ``proxy.pipeline.fused``). Loops are
bounded. ``DIALECT_FUSE=0`` in the environment times the steps one by one instead.

    .venv/bin/python bench/pipeline.py [--repeat 7] [--records 2000] [--profile twilio_message]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import BASE_TIME as BASE  # noqa: E402
from bench.run import IST, MESSAGE  # noqa: E402
from proxy.engine.aliases import resolve_as_is  # noqa: E402
from proxy.engine.exchange import Exchange  # noqa: E402
from proxy.ops.metrics import PIPELINE_FALLBACKS  # noqa: E402
from proxy.pipeline.fused import SWITCH, enabled  # noqa: E402
from proxy.pipeline.runner import run_steps  # noqa: E402
from proxy.settings.loader import Config, load_config  # noqa: E402
from proxy.steps.each import Each  # noqa: E402

if TYPE_CHECKING:
    from proxy.engine.routing import CompiledRoute

PAGE = 1000
NUMBERS = ["14155550100", "14155550101", "919876543210", "447700900123", "18552828641"]

PLIVO_CALL = {
    "answer_time": "2017-05-22 13:17:54+05:30",
    "api_id": "06ae0f8f-dc72-11e5-b56c-22000ae90795",
    "bill_duration": 924,
    "billed_duration": 960,
    "call_direction": "outbound",
    "call_duration": 924,
    "call_uuid": "eba53b9e-8fbd-45c1-9444-696d2172fbc8",
    "end_time": "2017-05-22 13:33:18+05:30",
    "from_number": "+919879879876",
    "initiation_time": "2017-05-22 13:17:49+05:30",
    "parent_call_uuid": None,
    "resource_uri": "/v1/Account/MAXXXXXXXXXXXXXXXXXX/Call/eba53b9e-8fbd-45c1-9444-696d2172fbc8/",
    "to_number": "919879879876",
    "total_amount": "0.13600",
    "total_rate": "0.00850",
    "call_state": "ANSWER",
}

TWILIO_CALL: dict[str, Any] = {
    "account_sid": "AC" + "a" * 32,
    "answered_by": None,
    "api_version": "2010-04-01",
    "caller_name": None,
    "date_created": "Mon, 22 May 2017 07:47:49 +0000",
    "date_updated": "Mon, 22 May 2017 08:03:18 +0000",
    "direction": "outbound-api",
    "duration": "924",
    "end_time": "Mon, 22 May 2017 08:03:18 +0000",
    "forwarded_from": None,
    "from": "+14155550100",
    "from_formatted": "+14155550100",
    "group_sid": None,
    "parent_call_sid": None,
    "phone_number_sid": None,
    "price": "-0.20020",
    "price_unit": "USD",
    "queue_time": "0",
    "sid": "CAeba53b9e8fbd45c19444696d2172fbc8",
    "start_time": "Mon, 22 May 2017 07:47:49 +0000",
    "status": "completed",
    "subresource_uris": {},
    "to": "+14155550111",
    "to_formatted": "+14155550111",
    "trunk_sid": None,
    "uri": "/2010-04-01/Accounts/ACaaaa/Calls/CAeba53b9e8fbd45c19444696d2172fbc8.json",
}


GOLDEN_MESSAGE = (ROOT / "tests" / "golden" / "plivo_message.json").read_bytes()
GOLDEN_TWILIO = (ROOT / "tests" / "golden" / "twilio_message.json").read_bytes()


def _plivo_time(i: int, extra: int = 0) -> str:
    """Plivo's ``2017-05-22 21:36:14+05:30``, a few seconds apart per record."""
    return (BASE + timedelta(seconds=7 * i + extra)).astimezone(IST).isoformat(" ")


def _rfc(i: int, extra: int = 0) -> str:
    from proxy.providers.twilio import rest as twilio

    return twilio.rfc2822(BASE + timedelta(seconds=7 * i + extra))


def _hex(i: int) -> str:
    return f"{i:08x}7c4c11e7989106ad4ba32f2b"


def _uuid(i: int) -> str:
    h = _hex(i)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def plivo_message(i: int) -> dict[str, Any]:
    # Alternate the two shipped message shapes: the golden file's and bench/run.py's.
    doc: dict[str, Any] = orjson.loads(GOLDEN_MESSAGE if i % 2 else MESSAGE)
    doc["message_uuid"] = _uuid(i)
    doc["message_time"] = _plivo_time(i)
    sent = _plivo_time(i, 1)
    doc["message_sent_time"] = sent.replace("+", ".12345+") if i % 2 else sent
    doc["message_updated_time"] = _plivo_time(i, 6)
    doc["to_number"] = NUMBERS[i % len(NUMBERS)]
    doc["from_number"] = NUMBERS[(i + 2) % len(NUMBERS)]
    doc["total_amount"] = f"0.00{250 + i % 500:03d}"
    return doc


def plivo_call(i: int) -> dict[str, Any]:
    doc = dict(PLIVO_CALL)
    doc["call_uuid"] = _uuid(i)
    doc["initiation_time"] = _plivo_time(i)
    doc["answer_time"] = _plivo_time(i, 5)
    doc["end_time"] = _plivo_time(i, 929)
    doc["to_number"] = NUMBERS[i % len(NUMBERS)]
    doc["from_number"] = "+" + NUMBERS[(i + 2) % len(NUMBERS)]
    return doc


def twilio_message(i: int) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(GOLDEN_TWILIO)
    doc["sid"] = "SM" + _hex(i)
    doc["date_created"] = _rfc(i)
    doc["date_sent"] = _rfc(i, 4)
    doc["date_updated"] = _rfc(i, 4)
    doc["to"] = "+" + NUMBERS[i % len(NUMBERS)]
    doc["from"] = "+" + NUMBERS[(i + 2) % len(NUMBERS)]
    return doc


def twilio_call(i: int) -> dict[str, Any]:
    doc = dict(TWILIO_CALL)
    doc["sid"] = "CA" + _hex(i)
    doc["date_created"] = doc["start_time"] = _rfc(i)
    doc["date_updated"] = doc["end_time"] = _rfc(i, 924)
    doc["to"] = "+" + NUMBERS[i % len(NUMBERS)]
    return doc


@dataclass(frozen=True)
class Case:
    pipeline: str
    config: str
    fetch_path: str
    list_path: str
    records_key: str
    record: Callable[[int], dict[str, Any]]


SID = "AC" + "0" * 32
CASES = [
    Case(
        "twilio_message",
        "twilio-over-plivo.yaml",
        f"/2010-04-01/Accounts/{SID}/Messages/SM0936ec987c4c11e7989106ad4ba32f2b.json",
        f"/2010-04-01/Accounts/{SID}/Messages.json",
        "messages",
        plivo_message,
    ),
    Case(
        "twilio_call",
        "twilio-over-plivo.yaml",
        f"/2010-04-01/Accounts/{SID}/Calls/CAeba53b9e8fbd45c19444696d2172fbc8.json",
        f"/2010-04-01/Accounts/{SID}/Calls.json",
        "calls",
        plivo_call,
    ),
    Case(
        "plivo_message",
        "plivo-over-twilio.yaml",
        "/v1/Account/<PLIVO_AUTH_ID>/Message/c2622385-3f8c-46b4-ab7d-faa6abba0a26/",
        "/v1/Account/<PLIVO_AUTH_ID>/Message/",
        "objects",
        twilio_message,
    ),
    Case(
        "plivo_call",
        "plivo-over-twilio.yaml",
        "/v1/Account/<PLIVO_AUTH_ID>/Call/eba53b9e-8fbd-45c1-9444-696d2172fbc8/",
        "/v1/Account/<PLIVO_AUTH_ID>/Call/",
        "objects",
        twilio_call,
    ),
]


def exchange(config: Config, path: str) -> tuple[CompiledRoute, Exchange]:
    """The route and the Exchange the handler builds for ``GET path``, request steps run."""
    matched, _ = config.router.match("GET", path)
    assert matched is not None, path
    route, params = matched.route, dict(matched.params)
    ext = params.pop("ext", None)
    accounts = config.model.active_accounts
    ex = Exchange(
        route_name=route.name,
        request_id="bench",
        method="GET",
        path=path,
        query=[],
        path_params=params,
        fmt=route.format_for(ext) or "json",
        params={},
        original={},
        account=accounts[0] if accounts else None,
        upstream_method="GET",
        upstream_path=path,
    )
    # The id used as it is, as a store with no alias recorded answers (proxy.engine.aliases).
    resolve_as_is(route.settings.resolve, ex.path_params, ex.params)
    ex.params = run_steps(route.request_steps, ex, ex.params, phase="request")
    return route, ex


def time_fetch(config: Config, case: Case, records: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        work = [exchange(config, case.fetch_path) for _ in range(records)]
        docs = [case.record(i) for i in range(records)]
        steps = work[0][0].response_steps
        start = time.process_time()
        for (_, ex), doc in zip(work, docs, strict=True):
            run_steps(steps, ex, doc, phase="response")
        best = min(best, time.process_time() - start)
    return best / records * 1e6


def time_list(config: Config, case: Case, repeat: int) -> float:
    route, ex = exchange(config, case.list_path)
    each = next(s for s in route.response_steps if isinstance(s, Each))
    best = float("inf")
    for _ in range(repeat):
        page = {case.records_key: [case.record(i) for i in range(PAGE)]}
        start = time.process_time()
        run_steps([each], ex, page, phase="response")
        best = min(best, time.process_time() - start)
    return best / PAGE * 1e6


def profile(config: Config, case: Case) -> None:
    """cProfile of five list pages: what dominates, when deciding what to cut next."""
    route, ex = exchange(config, case.list_path)
    each = next(s for s in route.response_steps if isinstance(s, Each))
    pages = [{case.records_key: [case.record(i) for i in range(PAGE)]} for _ in range(5)]
    prof = cProfile.Profile()
    prof.enable()
    for page in pages:
        run_steps([each], ex, page, phase="response")
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(25)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--records", type=int, default=2000, help="fetch requests per repetition")
    parser.add_argument("--profile", metavar="PIPELINE", help="cProfile one pipeline's list page")
    args = parser.parse_args()
    repeat, records = max(1, min(args.repeat, 50)), max(1, min(args.records, 100_000))
    configs: dict[str, Config] = {}
    for case in CASES:
        if case.config not in configs:
            configs[case.config] = load_config(ROOT / "config" / case.config, env={}, offline=True)
    if args.profile:
        case = next(c for c in CASES if c.pipeline == args.profile)
        profile(configs[case.config], case)
        return 0
    fused = "fused" if enabled() else f"step by step ({SWITCH}=0)"
    print(f"{'pipeline':<16} {'fetch µs/record':>16} {f'list({PAGE}) µs/record':>22}  {fused}")
    for case in CASES:
        config = configs[case.config]
        before = sum(
            n for (name, _), n in PIPELINE_FALLBACKS.counts.items() if name == case.pipeline
        )
        fetch = time_fetch(config, case, records, repeat)
        listed = time_list(config, case, repeat)
        after = sum(
            n for (name, _), n in PIPELINE_FALLBACKS.counts.items() if name == case.pipeline
        )
        note = f"  fallbacks: {after - before}" if after > before else ""
        print(f"{case.pipeline:<16} {fetch:>16.2f} {listed:>22.2f}{note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
