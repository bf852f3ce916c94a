"""Id aliases in the store: recorded from callbacks (``proxy.callbacks.aliases``), resolved for
routes (``proxy.engine.aliases``). A store that fails never fails a request or a callback."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from proxy.callbacks.aliases import AliasRecorder, CompiledAlias
from proxy.engine import aliases
from proxy.engine.aliases import ALIAS_TTL, Resolver, alias_key, record
from proxy.engine.exchange import Exchange
from proxy.engine.store import MemoryStore
from proxy.ops.metrics import Metrics
from proxy.pipeline.converters import build_converter
from proxy.settings.models import Account, ClientCredentials, Credentials, Resolve

REQUEST = "CA0936ec987c4c11e7989106ad4ba32f2b"  # Plivo's request_uuid, as the create's SID
CALL = "CAeba53b9e8fbd45c19444696d2172fbc8"  # the call's own call_uuid, as a SID
CARRIER = {
    "RequestUUID": "0936ec98-7c4c-11e7-9891-06ad4ba32f2b",
    "CallUUID": "eba53b9e-8fbd-45c1-9444-696d2172fbc8",
}
FETCH = Resolve(path="Sid", alias="call", into="UpstreamSid")


def account(upstream_user: str = "MAFIRSTACCOUNT000001") -> Account:
    return Account(
        client=ClientCredentials(user="AC" + "1" * 32, secret=SecretStr("t")),
        upstream=Credentials(user=upstream_user, secret=SecretStr("p")),
    )


def exchange(path: dict[str, str], params: dict[str, Any] | None = None) -> Exchange:
    return Exchange(request_id="r1", path_params=dict(path), params=params, account=account())


class Spy(MemoryStore):
    """A memory store that counts every call, and fails them all when told to."""

    def __init__(self, *, down: bool = False, slow: bool = False) -> None:
        super().__init__()
        self.calls: list[str] = []
        self.down, self.slow = down, slow

    async def _touch(self, op: str) -> None:
        self.calls.append(op)
        if self.slow:
            await asyncio.Event().wait()  # never answers: the caller's timeout ends it
        if self.down:
            raise ConnectionError("store unreachable")

    async def claim(self, key: str, ttl: float) -> bool:
        await self._touch("claim")
        return await super().claim(key, ttl)

    async def get(self, key: str) -> bytes | None:
        await self._touch("get")
        return await super().get(key)

    async def put(self, key: str, value: bytes, ttl: float) -> None:
        await self._touch("put")
        await super().put(key, value, ttl)


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


# -- recording -------------------------------------------------------------------------------


async def test_a_pair_is_kept_for_ninety_days_and_recorded_once() -> None:
    now = [0.0]
    store = MemoryStore(clock=lambda: now[0])
    key = alias_key("call", "plivo", "MAFIRSTACCOUNT000001", REQUEST)
    assert await record(store, key, CALL) is True
    assert await record(store, key, CALL) is False  # the next callback of the same call
    now[0] = ALIAS_TTL - 60
    assert await store.get(key) == CALL.encode()
    now[0] = ALIAS_TTL + 1
    assert await store.get(key) is None


async def test_a_write_that_fails_after_its_claim_frees_the_key() -> None:
    class PutFails(MemoryStore):
        async def put(self, key: str, value: bytes, ttl: float) -> None:
            raise ConnectionError("lost")

    store = PutFails()
    with pytest.raises(ConnectionError):
        await record(store, "k", CALL)
    assert await store.claim("k", 1.0)  # free again: a later callback records it


def call_alias() -> CompiledAlias:
    return CompiledAlias(
        "call", "RequestUUID", "CallUUID", build_converter("twilio_sid", {"prefix": "CA"})
    )


async def test_both_ids_are_recorded_as_the_clients_sids_for_the_upstream_account() -> None:
    store, metrics = MemoryStore(), Metrics()
    recorder = AliasRecorder(store, "plivo", metrics)
    recorder.note(call_alias(), list(CARRIER.items()), account(), "r1")
    await recorder.settle()
    key = alias_key("call", "plivo", "MAFIRSTACCOUNT000001", REQUEST)
    assert await store.get(key) == CALL.encode()
    recorder.note(call_alias(), list(CARRIER.items()), account(), "r2")
    await recorder.settle()
    assert sample(metrics, "dialect_alias_records_total", alias="call", outcome="recorded") == 1
    assert sample(metrics, "dialect_alias_records_total", alias="call", outcome="known") == 1


@pytest.mark.parametrize(
    "params",
    [
        {"RequestUUID": CARRIER["CallUUID"], "CallUUID": CARRIER["CallUUID"]},  # one id
        {"CallUUID": CARRIER["CallUUID"]},  # an incoming call: no request id
        {"RequestUUID": "not-a-uuid", "CallUUID": CARRIER["CallUUID"]},  # unreadable
    ],
)
async def test_nothing_is_written_without_two_readable_ids(params: dict[str, str]) -> None:
    store = Spy()
    recorder = AliasRecorder(store, "plivo", Metrics())
    recorder.note(call_alias(), list(params.items()), account(), "r1")
    await recorder.settle()
    assert store.calls == []


async def test_a_store_that_fails_is_logged_and_counted_and_the_callback_goes_on() -> None:
    metrics = Metrics()
    with capture_logs() as logs:
        recorder = AliasRecorder(Spy(down=True), "plivo", metrics)
        recorder.note(call_alias(), list(CARRIER.items()), account(), "r1")  # does not raise
        await recorder.settle()
    assert [e["event"] for e in logs] == ["alias not recorded; the callback goes on"]
    assert logs[0]["request_id"] == "r1" and logs[0]["error"] == "ConnectionError"
    assert sample(metrics, "dialect_alias_records_total", alias="call", outcome="failed") == 1


# -- resolving -------------------------------------------------------------------------------


async def test_a_recorded_id_is_resolved_into_its_field_and_the_clients_id_kept() -> None:
    store = MemoryStore()
    await record(store, alias_key("call", "plivo", "MAFIRSTACCOUNT000001", REQUEST), CALL)
    ex = exchange({"AccountSid": "AC" + "1" * 32, "Sid": REQUEST})
    await Resolver(store, Metrics()).resolve(ex, FETCH, "plivo")
    assert ex.path_params == {"AccountSid": "AC" + "1" * 32, "Sid": REQUEST, "UpstreamSid": CALL}


async def test_an_id_with_no_alias_is_used_as_it_is() -> None:
    metrics = Metrics()
    ex = exchange({"Sid": CALL})  # a call's own SID, from a list or an incoming call
    await Resolver(MemoryStore(), metrics).resolve(ex, FETCH, "plivo")
    assert ex.path_params["UpstreamSid"] == CALL
    assert sample(metrics, "dialect_alias_lookups_total", alias="call", outcome="unknown") == 1


async def test_another_upstream_account_does_not_see_the_alias() -> None:
    store = MemoryStore()
    await record(store, alias_key("call", "plivo", "MAOTHERACCOUNT000002", REQUEST), CALL)
    ex = exchange({"Sid": REQUEST})
    await Resolver(store, Metrics()).resolve(ex, FETCH, "plivo")
    assert ex.path_params["UpstreamSid"] == REQUEST


async def test_a_parameter_is_resolved_in_place_and_an_absent_one_left_alone() -> None:
    store = MemoryStore()
    await record(store, alias_key("call", "plivo", "MAFIRSTACCOUNT000001", REQUEST), CALL)
    spec = Resolve(param="CallSid", alias="call")
    resolver = Resolver(store, Metrics())
    ex = exchange({}, {"CallSid": REQUEST, "PageSize": "5"})
    await resolver.resolve(ex, spec, "plivo")
    assert ex.params == {"CallSid": CALL, "PageSize": "5"}
    untouched = exchange({}, {"PageSize": "5"})
    await resolver.resolve(untouched, spec, "plivo")
    assert untouched.params == {"PageSize": "5"}


async def test_a_store_that_is_down_leaves_the_id_as_it_is_and_says_so() -> None:
    metrics = Metrics()
    ex = exchange({"Sid": REQUEST})
    with capture_logs() as logs:
        await Resolver(Spy(down=True), metrics).resolve(ex, FETCH, "plivo")
    assert ex.path_params["UpstreamSid"] == REQUEST
    assert [(e["event"], e["error"]) for e in logs] == [
        ("alias lookup failed; the id is used as it is", "ConnectionError")
    ]
    assert sample(metrics, "dialect_alias_lookups_total", alias="call", outcome="failed") == 1


async def test_a_store_that_does_not_answer_is_given_up_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(aliases, "LOOKUP_TIMEOUT", 0.01)
    ex = exchange({"Sid": REQUEST})
    with capture_logs() as logs:
        await Resolver(Spy(slow=True), Metrics()).resolve(ex, FETCH, "plivo")
    assert ex.path_params["UpstreamSid"] == REQUEST
    assert logs[0]["error"] == "TimeoutError"
