"""Counting failures per key (a client address, a claimed account) within a sliding window.

A burst of failed authentications is the signature of guessing or of a misconfigured client:
after ``max_failures`` within ``window`` seconds a key is limited until the oldest of them has
left the window. What a limited key's failures get (429, never a refused valid credential) is
``proxy.engine.auth.Gate``'s policy. The table is bounded so that a flood of keys cannot exhaust
memory (the oldest entries go first).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from proxy.engine.errors import TooManyRequests


class FailureLimiter:
    def __init__(
        self,
        max_failures: int,
        window: float,
        *,
        max_addresses: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures, self.window = max_failures, window
        self.max_addresses = max_addresses  # keys kept at most
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and now - times[0] >= self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def wait(self, key: str) -> float:
        """Seconds until ``key`` may fail again without being limited; 0 when it may now."""
        if key not in self._failures:  # the common case: no recent failure at all
            return 0.0
        now = self.clock()
        times = self._recent(key, now)
        if len(times) >= self.max_failures:
            return self.window - (now - times[0])
        return 0.0

    def check(self, key: str) -> None:
        """Raise :class:`TooManyRequests` while ``key`` is limited."""
        wait = self.wait(key)
        if wait > 0:
            raise TooManyRequests(retry_after=max(1, math.ceil(wait)))

    def record_failure(self, key: str) -> None:
        now = self.clock()
        times = self._recent(key, now)
        times.append(now)
        self._failures[key] = times
        self._failures.move_to_end(key)
        while len(self._failures) > self.max_addresses:
            self._failures.popitem(last=False)
