"""The inspector's history: a ring bounded by count and by bytes, in this process's memory.

Exchanges are numbered as they end, so "everything after N" is a stable question for a page
that polls (``since``); the oldest go first when either bound is passed, and a restart forgets
them all. A page waiting for the next exchange parks on ``wait``; each stored exchange wakes
every waiter, and ``close`` (shutdown) wakes them for good, so that no poll holds a stopping
server.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

from proxy.http.messages import Request

# Polls parked at once; more are answered at once (each holds a client connection).
MAX_WAITERS = 32


class Entry:
    __slots__ = ("detail", "request", "size", "summary")

    def __init__(self, summary: bytes, detail: bytes, request: Request) -> None:
        self.summary, self.detail, self.request = summary, detail, request
        # What the entry holds: both documents and the request kept for replay.
        self.size = len(summary) + len(detail) + len(request.body) + len(request.target)
        self.size += sum(len(k) + len(v) for k, v in request.headers.items())


class History:
    def __init__(self, max_count: int, max_bytes: int) -> None:
        self.max_count, self.max_bytes = max_count, max_bytes
        self._entries: OrderedDict[int, Entry] = OrderedDict()
        self.bytes = 0
        self.last = 0  # the number of the newest exchange stored (0: none yet)
        self._waiters: set[asyncio.Future[None]] = set()
        self.closed = False

    def add(self, ident: int, summary: bytes, detail: bytes, request: Request) -> None:
        entry = Entry(summary, detail, request)
        self._entries[ident] = entry
        self.bytes += entry.size
        self.last = max(self.last, ident)
        # The newest always stays, even alone over the byte bound.
        while len(self._entries) > 1 and (
            len(self._entries) > self.max_count or self.bytes > self.max_bytes
        ):
            _, old = self._entries.popitem(last=False)
            self.bytes -= old.size
        self._wake()

    def since(self, after: int, limit: int) -> list[bytes]:
        """The summaries of the exchanges numbered above ``after``, newest first."""
        out: list[bytes] = []
        for ident in reversed(self._entries):
            if ident <= after or len(out) >= limit:
                break
            out.append(self._entries[ident].summary)
        return out

    def detail(self, ident: int) -> bytes | None:
        entry = self._entries.get(ident)
        return entry.detail if entry is not None else None

    def request(self, ident: int) -> Request | None:
        entry = self._entries.get(ident)
        return entry.request if entry is not None else None

    def __len__(self) -> int:
        return len(self._entries)

    async def wait(self, after: int, within: float) -> None:
        """Until an exchange numbered above ``after`` is stored, ``within`` seconds pass, or
        the history closes; at once when too many already wait."""
        if self.last > after or self.closed or len(self._waiters) >= MAX_WAITERS:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            async with asyncio.timeout(within):
                await waiter
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(waiter)

    def close(self) -> None:
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
