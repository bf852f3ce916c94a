"""W3C Trace Context: the ``traceparent`` a request arrives with, or a new one, carried onward.

Dialect is one hop of a distributed trace: a request that arrives with a valid ``traceparent``
keeps its trace id, and every request Dialect makes on its behalf (each upstream call, each
callback relayed to an app) carries the same trace id with Dialect as the parent. A request
without one, or with one that does not parse, starts a trace here. The trace id is on the
request's log line, so one id finds the client's, Dialect's and the upstream's records.

Why a context variable: every outbound request goes through one seam, ``http.client.Pool``,
which knows nothing of exchanges or callbacks; the generation sets the request's context once
(``CURRENT``) and the pool reads it there, for upstream calls and callback relays alike,
fan-outs included (``asyncio.gather`` copies the context into its tasks).

``observer`` is None unless something watches the request: the inspector
(``proxy.ops.inspector``) or OpenTelemetry export (``proxy.ops.otel``); only then does the pool
report each call. ``steps`` is None unless the inspector records the request's step trace.

Imports nothing of the proxy, so that every layer may use it (like ``logs`` and ``metrics``).
"""

from __future__ import annotations

import random
import re
from contextvars import ContextVar
from typing import Any, Protocol

_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


class CallObservation(Protocol):
    """One outbound request being watched: the ``traceparent`` it carries, and its end."""

    traceparent: str

    def ended(self, sent: bytes, response: Any, error: BaseException | None) -> None:
        """``sent``: the request's bytes as written; ``response``: an ``http.client.Response``
        (None when ``error`` says why there is none)."""


class Observer(Protocol):
    """What watches one request: its outbound calls and its end."""

    def call(self, method: str, origin: str, target: str, traceparent: str) -> CallObservation:
        """An outbound request is about to be written to ``origin`` + ``target``."""

    def finished(self, trace: TraceContext, response: Any) -> None:
        """The request was answered (``response``: an ``http.messages.Response``)."""


class TraceContext:
    """The trace one request belongs to, Dialect's span in it, and who watches it.

    A plain class, not a dataclass: made once per request on the compiled path.
    """

    __slots__ = (
        "error",
        "flags",
        "header",
        "observer",
        "parent_id",
        "route",
        "span_id",
        "steps",
        "trace_id",
    )

    def __init__(
        self, trace_id: str, span_id: str, flags: str = "01", parent_id: str | None = None
    ) -> None:
        self.trace_id = trace_id
        # Dialect's own span: the parent of every request it makes for this one.
        self.span_id = span_id
        self.flags = flags
        # The caller's span, when the request arrived with a traceparent.
        self.parent_id = parent_id
        self.header = f"00-{trace_id}-{span_id}-{flags}"
        self.observer: Observer | None = None
        # A ``proxy.pipeline.trace.StepTrace`` while the inspector records this request.
        self.steps: Any = None
        # Filled by the handler for whoever watches: the route and the log line's error.
        self.route: str | None = None
        self.error: str | None = None

    def adopt(self, trace_id: str, span_id: str, sampled: bool) -> None:
        """Take the ids of Dialect's span as an exporter made it (``proxy.ops.otel``)."""
        self.trace_id, self.span_id = trace_id, span_id
        self.flags = "01" if sampled else "00"
        self.header = f"00-{trace_id}-{span_id}-{self.flags}"

    def __repr__(self) -> str:
        return f"TraceContext({self.header})"


# The context of the request being served; None outside one (tests, tools, start-up).
CURRENT: ContextVar[TraceContext | None] = ContextVar("dialect_trace", default=None)


# version-traceid-parentid-flags, lower-case hex; a later version may add fields after a "-".
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")


def parse(header: str | None) -> tuple[str, str, str] | None:
    """``(trace_id, parent_id, flags)`` of a valid ``traceparent``, else None.

    Version 00 is exactly 55 characters; a later version is read by its first four fields
    (the spec's forward compatibility), and ``ff`` is never valid. All-zero ids are invalid.
    """
    if not header:
        return None
    found = _TRACEPARENT.fullmatch(header.strip())
    if found is None:
        return None
    version, trace_id, parent_id, flags, rest = found.groups()
    if version == "ff" or (version == "00" and rest is not None):
        return None
    if trace_id == _ZERO_TRACE or parent_id == _ZERO_SPAN:
        return None
    return trace_id, parent_id, flags


def _random_hex(size: int) -> str:
    # The random module's generator, not os.urandom: no system call per request, and a trace
    # id is a correlation handle, never a secret. Workers are separate interpreters, each
    # seeded on its own. (All zeros, which the spec forbids, has odds of 2**-64 at most.)
    # getrandbits and a format: two C calls (randbytes is Python code around getrandbits).
    text = f"{random.getrandbits(size * 8):0{size * 2}x}"
    return text if text.strip("0") else "1".rjust(size * 2, "0")


def start(header: str | None) -> TraceContext:
    """The context of a request that arrived with ``header`` (a ``traceparent``, or None)."""
    parsed = parse(header)
    if parsed is None:
        ids = _random_hex(24)
        return TraceContext(ids[:32], ids[32:])
    trace_id, parent_id, flags = parsed
    # Only the sampled bit is defined (and kept); other bits are not passed on.
    sampled = "01" if flags[1] in "13579bdf" else "00"
    return TraceContext(trace_id, _random_hex(8), sampled, parent_id)


class Watchers:
    """Two observers of one request (the inspector and OpenTelemetry): the first decides the
    ``traceparent`` of each call (an OpenTelemetry span of its own), the second sees it."""

    __slots__ = ("first", "second")

    def __init__(self, first: Observer, second: Observer) -> None:
        self.first, self.second = first, second

    def call(self, method: str, origin: str, target: str, traceparent: str) -> CallObservation:
        a = self.first.call(method, origin, target, traceparent)
        b = self.second.call(method, origin, target, a.traceparent)
        return _BothCalls(a, b)

    def finished(self, trace: TraceContext, response: Any) -> None:
        self.first.finished(trace, response)
        self.second.finished(trace, response)


class _BothCalls:
    __slots__ = ("a", "b", "traceparent")

    def __init__(self, a: CallObservation, b: CallObservation) -> None:
        self.a, self.b, self.traceparent = a, b, b.traceparent

    def ended(self, sent: bytes, response: Any, error: BaseException | None) -> None:
        self.a.ended(sent, response, error)
        self.b.ended(sent, response, error)
