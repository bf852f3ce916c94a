"""A circuit breaker per upstream: an upstream that keeps failing is given a rest.

Why: when an upstream is down or overloaded, every request still waits for its connect timeout
(or adds to the overload) before it fails, holding a connection, a client and memory the whole
time. After ``failures`` consecutive failures the circuit *opens*: requests are answered 503
at once, with ``Retry-After`` saying when the next attempt will be let through, and nothing is
sent. After ``cooldown`` seconds the circuit is *half-open*: one request (the probe) goes
through while the others are still refused; its success closes the circuit, its failure opens
it for another ``cooldown``.

What counts: a failure is an upstream that did not answer (refused, reset, timed out, malformed
HTTP) or answered 500, 502, 503 or 504. Any other answer, a 4xx included, is a success: the
upstream is alive and answering. A 429 is the upstream limiting one account, not the upstream
failing: it counts as a success, so one noisy account never opens the circuit for the others.
What never reached the upstream (the proxy's own byte budget, an exchange whose time was
already up) counts as neither.

One breaker per upstream and per process (each worker and each replica decides for itself: a
shared circuit would need the store on every request). A reload starts fresh breakers with
the new upstreams.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"
# Answers that say the upstream itself is failing, as opposed to refusing one request.
FAILING_STATUS = frozenset({500, 502, 503, 504})


class Breaker:
    """The state of one upstream's circuit. ``failures`` 0 turns the breaker off."""

    __slots__ = (
        "_clock",
        "_opened_at",
        "_probing",
        "cooldown",
        "failures",
        "opened",
        "refused",
        "state",
        "streak",
    )

    def __init__(
        self, failures: int, cooldown: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failures = failures
        self.cooldown = cooldown
        self._clock = clock
        self.state = CLOSED
        self.streak = 0  # consecutive failures while closed
        self._opened_at = 0.0
        self._probing = False
        # For the metrics: how often the circuit opened, and how many requests it refused.
        self.opened = 0
        self.refused = 0

    def admit(self) -> int | None:
        """None when a request may go upstream now; otherwise the seconds to wait (the
        ``Retry-After`` of the refusal). A request admitted must end in ``succeeded``,
        ``failed`` or ``abandoned``."""
        if self.failures == 0 or self.state == CLOSED:
            return None
        left = self._opened_at + self.cooldown - self._clock()
        if self.state == OPEN and left <= 0:
            self.state = HALF_OPEN
        if self.state == HALF_OPEN and not self._probing:
            self._probing = True
            return None
        self.refused += 1
        # While a probe is out the answer may come any moment: one second.
        return max(1, math.ceil(left)) if self.state == OPEN else 1

    def succeeded(self) -> None:
        self.streak = 0
        if self.state != CLOSED:
            self.state = CLOSED
            self._probing = False

    def failed(self) -> None:
        if self.failures == 0:
            return
        if self.state == HALF_OPEN:
            self._open()
            return
        self.streak += 1
        if self.state == CLOSED and self.streak >= self.failures:
            self._open()

    def abandoned(self) -> None:
        """An admitted request that ended without an answer either way (cancelled, or never
        sent): a probe's place goes to the next request."""
        if self.state == HALF_OPEN:
            self._probing = False

    def observe(self, status: int) -> None:
        """An upstream answer's status, as a success or a failure."""
        if status in FAILING_STATUS:
            self.failed()
        else:
            self.succeeded()

    def _open(self) -> None:
        self.state = OPEN
        self.streak = 0
        self._probing = False
        self._opened_at = self._clock()
        self.opened += 1
