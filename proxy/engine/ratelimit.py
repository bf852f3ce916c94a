"""Failed-authentication limiting per client address.

Credential guessing is cheap for an attacker and each guess costs an upstream-facing proxy
nothing to refuse, but a burst of failures from one address is the signature of guessing: after
``max_failures`` within ``window`` seconds that address gets 429 (with ``Retry-After``) until the
window has passed. Successful requests are never counted. The table is bounded so that a flood
of addresses cannot exhaust memory (the oldest entries go first).
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
        self.max_addresses = max_addresses
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, address: str, now: float) -> deque[float]:
        times = self._failures.get(address)
        if times is None:
            return deque()
        while times and now - times[0] >= self.window:
            times.popleft()
        if not times:
            del self._failures[address]
        return times

    def check(self, address: str) -> None:
        if address not in self._failures:  # the common case: no recent failure at all
            return
        now = self.clock()
        times = self._recent(address, now)
        if len(times) >= self.max_failures:
            raise TooManyRequests(retry_after=max(1, math.ceil(self.window - (now - times[0]))))

    def record_failure(self, address: str) -> None:
        now = self.clock()
        times = self._recent(address, now)
        times.append(now)
        self._failures[address] = times
        self._failures.move_to_end(address)
        while len(self._failures) > self.max_addresses:
            self._failures.popitem(last=False)
