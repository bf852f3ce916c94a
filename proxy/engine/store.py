"""Shared state behind a small interface: in memory for one process, Redis for replicas.

The proxy keeps only what replicas must agree on (today: the outcomes of create requests, for
idempotent retries). Each backend offers the same four operations with the same meaning, so a
deployment switches by config alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

PENDING = b"\x00pending"


class Store(Protocol):
    async def claim(self, key: str, ttl: float) -> bool:
        """Mark ``key`` as in progress unless it exists; True when this caller now owns it."""
        ...

    async def get(self, key: str) -> bytes | None: ...

    async def put(self, key: str, value: bytes, ttl: float) -> None: ...

    async def release(self, key: str) -> None: ...

    async def close(self) -> None: ...


class MemoryStore:
    """One process's store. Expired keys are dropped as they are met and when it is full.

    It holds at most ``max_keys`` outcomes: a flood of creates within the window (or keyed
    ones, kept a day) must not grow the process without bound. When it is full of live keys
    the oldest finished outcomes go first (their retries would run again); outcomes still
    pending are kept, so two attempts in flight never both send.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 50_000) -> None:
        self._data: dict[str, tuple[float, bytes]] = {}
        self._clock = clock
        self._max_keys = max_keys

    def _live(self, key: str) -> bytes | None:
        item = self._data.get(key)
        if item is None:
            return None
        if item[0] <= self._clock():
            del self._data[key]
            return None
        return item[1]

    async def claim(self, key: str, ttl: float) -> bool:
        if self._live(key) is not None:
            return False
        if len(self._data) >= self._max_keys:
            self._make_room()
        self._data[key] = (self._clock() + ttl, PENDING)
        return True

    def _make_room(self) -> None:
        now = self._clock()
        live = {k: v for k, v in self._data.items() if v[0] > now}
        excess = len(live) - self._max_keys * 9 // 10
        if excess > 0:
            # Dicts keep insertion order: the first finished entries are the oldest claims.
            oldest = [k for k, v in live.items() if v[1] != PENDING][:excess]
            for k in oldest:
                del live[k]
        self._data = live

    async def get(self, key: str) -> bytes | None:
        return self._live(key)

    async def put(self, key: str, value: bytes, ttl: float) -> None:
        self._data[key] = (self._clock() + ttl, value)

    async def release(self, key: str) -> None:
        self._data.pop(key, None)

    async def close(self) -> None:
        self._data.clear()


class RedisStore:
    """Redis for replicas: ``SET NX PX`` claims, so two replicas never both own a key."""

    def __init__(self, url: str, prefix: str = "dialect:") -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.Redis.from_url(url)
        self._prefix = prefix

    async def claim(self, key: str, ttl: float) -> bool:
        done = await self._redis.set(self._prefix + key, PENDING, nx=True, px=int(ttl * 1000))
        return bool(done)

    async def get(self, key: str) -> bytes | None:
        value = await self._redis.get(self._prefix + key)
        return value if isinstance(value, bytes) else None

    async def put(self, key: str, value: bytes, ttl: float) -> None:
        await self._redis.set(self._prefix + key, value, px=int(ttl * 1000))

    async def release(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)

    async def close(self) -> None:
        await self._redis.aclose()
