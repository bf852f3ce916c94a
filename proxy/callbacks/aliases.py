"""The relay's half of aliases: as verified callbacks pass, record which id the app was given
for what the carrier knows under another id (a Plivo ``RequestUUID`` for its ``CallUUID``).

A kind says so in its ``alias`` setting: the two carrier parameters and the converter that
makes both the client's ids (``CA`` + hex for a call), so that the REST routes that resolve
(``proxy.engine.aliases``) find the SID a client holds. Nothing is recorded when a parameter is
missing or unreadable, or when both ids are the same.

A callback never waits for the store and never fails because of it: the write runs beside the
relay, bounded in time and in number, and a store that fails is logged and counted
(``dialect_alias_records_total{outcome="failed"}``); the callback goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from prometheus_client import Counter

from proxy.engine.aliases import AliasStore, alias_key, record
from proxy.ops.logs import get_logger
from proxy.ops.metrics import Metrics

if TYPE_CHECKING:  # types only: ``proxy.settings`` loads this module while it loads itself
    from proxy.pipeline.converters import Converter
    from proxy.settings.models import Account

# Seconds a write may take; a store slower than that counts as failed.
WRITE_TIMEOUT = 2.0
# Writes in flight at once; past it a callback's pair is dropped (and counted), not queued:
# a store that has stopped answering must not grow the process.
MAX_PENDING = 256
# Seconds ``close`` gives the writes still in flight.
CLOSE_GRACE = 1.0


class CompiledAlias:
    """A kind's ``alias`` setting, its converter built: ``source`` is the parameter with the
    id the app was given, ``target`` the one with the id the carrier knows."""

    def __init__(self, name: str, source: str, target: str, convert: Converter | None) -> None:
        self.name = name
        self.source = source
        self.target = target
        self.convert = convert

    def pair(self, params: Mapping[str, str]) -> tuple[str, str] | None:
        """(the client's id, the id the carrier knows), both in client terms; None when there
        is nothing to record."""
        given, known = params.get(self.source), params.get(self.target)
        if not given or not known or given == known:
            return None
        if self.convert is not None:
            try:
                given, known = str(self.convert(given)), str(self.convert(known))
            except ValueError:
                return None
        return (given, known) if given != known else None


class AliasRecorder:
    """Records the pairs of one relay's callbacks in the generation's store."""

    def __init__(self, store: AliasStore | None, upstream: str, metrics: Metrics) -> None:
        self.store = store
        self.upstream = upstream
        self.log = get_logger()
        self.pending: set[asyncio.Task[None]] = set()
        self.records = Counter(
            "dialect_alias_records",
            "Id pairs recorded from callbacks (request id → call id), by alias and outcome.",
            ["alias", "outcome"],
            registry=metrics.registry,
        )

    def note(
        self,
        alias: CompiledAlias,
        pairs: Sequence[tuple[str, str]],
        account: Account,
        request_id: str,
    ) -> None:
        """Start recording the callback's pair, if it has one; returns at once, and never
        raises: the callback goes on whatever happens here."""
        store = self.store
        if store is None:
            return
        try:
            found = alias.pair(dict(pairs))  # a repeated name keeps its last value
            if found is None:
                return
            if len(self.pending) >= MAX_PENDING:
                self.records.labels(alias.name, "dropped").inc()
                return
            key = alias_key(alias.name, self.upstream, account.upstream.user, found[0])
            task = asyncio.get_running_loop().create_task(
                self._write(store, alias.name, key, found[1], request_id)
            )
        except Exception as exc:
            self._failed(alias.name, request_id, exc)
            return
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _write(
        self, store: AliasStore, name: str, key: str, value: str, request_id: str
    ) -> None:
        try:
            async with asyncio.timeout(WRITE_TIMEOUT):
                recorded = await record(store, key, value)
        except Exception as exc:  # never the callback's problem: logged, counted, gone on
            self._failed(name, request_id, exc)
            return
        self.records.labels(name, "recorded" if recorded else "known").inc()

    def _failed(self, name: str, request_id: str, exc: Exception) -> None:
        self.log.warning(
            "alias not recorded; the callback goes on",
            request_id=request_id,
            alias=name,
            error=type(exc).__name__,
        )
        self.records.labels(name, "failed").inc()

    async def settle(self) -> None:
        """Wait for the writes in flight (at most ``CLOSE_GRACE``), then cancel what is left."""
        if not self.pending:
            return
        _, late = await asyncio.wait(set(self.pending), timeout=CLOSE_GRACE)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
