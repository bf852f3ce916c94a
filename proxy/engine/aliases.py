"""Aliases: an id a client holds for something the upstream knows under another id.

Plivo answers a call create with a ``request_uuid``; the call it places gets its own
``call_uuid``, and Plivo knows the call only by that one afterwards (its record, its hang-up, its
transfer). A Twilio client keeps the SID its create returned (``CA`` + the request id) and uses
it for the life of the call and long after. Every voice callback carries both ids, so the relay
records *request → call* in the shared store as the callbacks pass (``record``, driven by a
callback kind's ``alias`` setting), and a route that declares ``resolve`` looks the client's id
up before its request steps run (``Resolver``).

Both sides key by the ids in the *client's* terms (the SIDs the app and the REST client see),
so the route looks up exactly what the client sent and nothing converts ids twice: the relay
turns the carrier's raw parameters into client ids with the converter the kind's ``alias``
names (the one definition of sid ↔ uuid, ``proxy.pipeline.converters``). A key also names the
alias, the upstream and the upstream account, so that two accounts never see each other's calls.

What a miss means: an id with no recorded alias is used as it is (it may be the call's own id,
from a list or an incoming call), and so is every id while the store is down or slow: a lookup
never fails a request, it is logged and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Protocol

from prometheus_client import Counter

from proxy.engine.exchange import Exchange
from proxy.engine.store import PENDING
from proxy.ops.logs import get_logger
from proxy.ops.metrics import Metrics

if TYPE_CHECKING:
    # Only for types: the settings package loads the callbacks, which import this module.
    from proxy.settings.models import Resolve

# 90 days. A Twilio client may keep a call's SID for as long as it likes, but Plivo keeps call
# records (CDRs) for 90 days: past that neither SID leads anywhere, so a longer alias buys
# nothing, and a shorter one would break fetches Plivo could still answer. Redis keeps each
# alias that long; the memory store is bounded by count first (``MemoryStore``: 50,000 entries
# shared with idempotent outcomes, the oldest finished go first).
ALIAS_TTL = 90 * 86400.0
# The claim that precedes the write: short, so that a write that failed after its claim leaves
# the key free again within a minute.
CLAIM_TTL = 60.0
# A store that has not answered by then is treated as down: the id is used as it is.
LOOKUP_TIMEOUT = 1.0
# Longer ids are never recorded (a SID is 34 characters): such a lookup is not worth a trip.
MAX_ID = 128


class AliasStore(Protocol):
    """The part of the shared store (``proxy.engine.store``) aliases use."""

    async def claim(self, key: str, ttl: float) -> bool: ...

    async def get(self, key: str) -> bytes | None: ...

    async def put(self, key: str, value: bytes, ttl: float) -> None: ...

    async def release(self, key: str) -> None: ...


def alias_key(alias: str, upstream: str, account: str, ident: str) -> str:
    """The store key of ``ident`` (a client's id) under ``alias``, for one upstream account."""
    return f"alias:{alias}:{upstream}:{account}:{ident}"


async def record(store: AliasStore, key: str, value: str) -> bool:
    """Keep ``value`` at ``key`` for ``ALIAS_TTL``; False when the key was already there.

    A claim first: in memory it is what keeps the store within its bound (the oldest finished
    entries make room), and a key already recorded (every callback of a call carries the same
    pair) costs one round trip and no write."""
    if not await store.claim(key, CLAIM_TTL):
        return False
    try:
        await store.put(key, value.encode(), ALIAS_TTL)
    except Exception:
        with contextlib.suppress(Exception):  # down: the claim expires by itself
            await store.release(key)
        raise
    return True


class Resolver:
    """Resolves the client's id of routes that declare ``resolve``, one store lookup each."""

    def __init__(self, store: AliasStore, metrics: Metrics) -> None:
        self.store = store
        self.log = get_logger()
        self.lookups = Counter(
            "dialect_alias_lookups",
            "Ids looked up for routes with 'resolve', by alias and outcome.",
            ["alias", "outcome"],
            registry=metrics.registry,
        )

    async def resolve(self, ex: Exchange, spec: Resolve, upstream: str) -> None:
        """Put the id the upstream knows in ``spec.into``: the alias recorded for the client's
        id, or the client's id itself. A request without the parameter is left as it is."""
        found = ex.path_params if spec.path is not None else ex.params
        ident = found.get(spec.source) if isinstance(found, dict) else None
        if not isinstance(ident, str) or not ident:
            return
        found[spec.target] = ident
        account = ex.account
        if account is None or len(ident) > MAX_ID:
            return
        key = alias_key(spec.alias, upstream, account.upstream.user, ident)
        try:
            async with asyncio.timeout(LOOKUP_TIMEOUT):
                value = await self.store.get(key)
        except Exception as exc:  # down or slow: the id is used as it is
            self.log.warning(
                "alias lookup failed; the id is used as it is",
                request_id=ex.request_id,
                alias=spec.alias,
                error=type(exc).__name__,
            )
            self.lookups.labels(spec.alias, "failed").inc()
            return
        if value is None or value == PENDING:
            self.lookups.labels(spec.alias, "unknown").inc()
            return
        try:
            found[spec.target] = value.decode()
        except UnicodeDecodeError:
            self.lookups.labels(spec.alias, "failed").inc()
            return
        self.lookups.labels(spec.alias, "resolved").inc()


def resolve_as_is(spec: Resolve | None, path_params: dict[str, str], params: object) -> None:
    """What ``Resolver.resolve`` does without a store (``dialect translate``): the client's id
    is used as it is."""
    if spec is None:
        return
    found = path_params if spec.path is not None else params
    if isinstance(found, dict) and spec.source in found:
        found[spec.target] = found[spec.source]
