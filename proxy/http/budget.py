"""The process-wide budget of answer bytes held in memory while they travel.

Why: a 10 MB answer costs memory from the moment its upstream body starts arriving until a
client has read it. A client that asks and never reads keeps that memory for as long as the
connection lives, and fifty of them held about 1.8 GB in one process (the shipped pod limit is
256 MiB). Per-connection limits cannot bound that; one count for the whole process can.

Three places take from it and give back:

* the upstream client (``proxy.http.client``), for an upstream body from its headers (the
  declared ``Content-Length``, or as chunks arrive) until it is handed to the engine;
* the server (``proxy.http.server``), for an answer still waiting in a client's write buffer,
  until that client has read it or the connection is gone;
* the server again, for a request body as it arrives, until it is complete (a client that
  sends most of a 1 MiB body and stalls holds that memory until the request deadline; a few
  hundred such connections would hold more than the pod has).

An amount that does not fit is refused, and the caller answers 503 in the client's style
rather than buffer it (for a request body, then closes the connection). Refusing (not
streaming) is deliberate: the engine translates whole bodies, so by the time an answer could
be streamed its memory is already spent; what a budget can still decide is whether to start,
and how long to hold.

Small amounts always pass (``SMALL``): refusing a 2 KB answer saves nothing, and would turn a
budget full of stalled large answers into an outage for everyone. So does anything while
nothing else is held, so that an answer larger than the whole budget is served one at a time
instead of never.
"""

from __future__ import annotations

# Amounts up to this pass even when the budget is spent (see the module docstring). Also the
# size of the steps in which a body of unknown length is reserved as it arrives.
SMALL = 64 * 1024
DEFAULT_LIMIT = 32 * 1024 * 1024


class Budget:
    """A count of bytes held, against a limit."""

    __slots__ = ("limit", "refused", "used")

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self.used = 0
        self.refused = 0  # how many amounts were refused (metrics, tests)

    def take(self, amount: int, *, small: bool = False) -> bool:
        """Count ``amount`` as held if it fits (or is small, or nothing else is held)."""
        used = self.used
        if small or used == 0 or used + amount <= self.limit:
            self.used = used + amount
            return True
        self.refused += 1
        return False

    def give(self, amount: int) -> None:
        if amount > 0:
            self.used = max(0, self.used - amount)


# The one budget of this process: the server sets its limit from ``server.limits``.
ANSWER_BYTES = Budget()
