"""What one client connection may cost the server: how many are open, how long each may wait,
and how many answer bytes a client that does not read may hold.

Why a module of its own: these are the rules a hostile or merely slow client meets, each
covered by ``tests/integration/test_hostile_clients.py`` (nginx is the yardstick), and they are
easier to check side by side than spread through the protocol that triggers them:

* At most ``max_connections`` client connections (:class:`ConnectionRegistry`). A new one
  beyond it closes the connection that has been idle longest (nginx reuses its oldest
  keep-alive connections the same way); with none idle, the new one gets a 503 at once
  instead of waiting in the accept queue. Idle means nothing asked, nothing being answered
  and no answer stuck in the write buffer.
* One deadline per connection (:func:`arm`): ``keepalive_timeout`` while idle,
  ``request_timeout`` while a request arrives (slowloris), a short linger after the server
  closed its side.
* A client that reads nothing of its answer for ``send_timeout`` is dropped (nginx:
  ``send_timeout``), and the bytes it was owed are freed. Progress is sampled from the write
  buffer when the timer fires, so the timer costs nothing while answers flow.
* Answers larger than ``budget.SMALL`` count against the process-wide ``budget.ANSWER_BYTES``
  while they wait in a write buffer (:func:`hold`); :mod:`proxy.http.server_answers` takes
  them from it.

Why the cut is here: the functions act on a :class:`~proxy.http.server_connection.ServerConnection`
and read its state, but none of them is part of reading or answering a request. The ones a
request passes through (``arm`` and ``ConnectionRegistry.mark_idle``, once each per answer)
are plain functions and methods of compiled classes, which a compiled build calls directly,
as it would a method of the connection; the rest run only when a client is slow or
connections run out.
"""

from __future__ import annotations

import asyncio
import resource
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from proxy.engine.errors import ProxyError
from proxy.http import budget

if TYPE_CHECKING:
    from proxy.http.server_connection import ServerConnection

# The default max_connections leaves this share of the descriptors (at least RESERVED_FDS)
# to upstream connections, the store, logs and the event loop...
RESERVED_SHARE = 4
RESERVED_FDS = 64
# ...and stays below this many, whatever the descriptor limit: past it, memory is the limit.
# An idle keep-alive connection measured about 7 KiB of the process's memory (the protocol
# object, the parser, the transport), so this many take about 28 MiB of the 256 MiB the
# shipped pod gets, beside max_buffered_bytes and the translation of one large answer.
MAX_DEFAULT_CONNECTIONS = 4096

BUSY = ProxyError("The server is at its connection limit; retry shortly.", status=503)
# A request body that would take the process past max_buffered_bytes (proxy.http.budget).
BODIES_HELD = ProxyError(
    "The proxy is holding too many large request bodies; retry shortly.", status=503
)

# What a connection's one timer is waiting for.
IDLE, RECEIVING, LINGERING = 0, 1, 2
# A timer may fire up to the loop's clock resolution early; closer than this is on time.
_TIMER_SLACK = 0.001


class ConnectionRegistry:
    """A server's open client connections, and the idle ones among them, longest idle first."""

    def __init__(self, max_connections: int, log: Any) -> None:
        self.max_connections = max_connections
        self._log = log
        self.open: set[ServerConnection] = set()
        # Connections with nothing asked or owed, the longest idle first (see make_room).
        self.idle: OrderedDict[ServerConnection, None] = OrderedDict()

    def has_room(self) -> bool:
        """Whether the connection just counted may stay: it may while the server is within
        max_connections, or once the connection idle longest has been closed for it."""
        if len(self.open) > self.max_connections and not self.make_room():
            self._log.warning("connection refused: at max_connections", limit=self.max_connections)
            return False
        return True

    def make_room(self) -> bool:
        """Close the connection idle longest, for a new one; False if none is idle."""
        idle = self.idle
        while idle:
            conn, _ = idle.popitem(last=False)
            if conn.closed or conn.transport is None:
                continue
            conn.input_done = True  # whatever it sends now is not read
            conn.close_gracefully()
            return True
        return False

    def mark_idle(self, conn: ServerConnection) -> None:
        """Nothing asked, nothing owed: the newest candidate for make_room."""
        if (
            conn.closed
            or conn.write_paused
            or conn.receiving
            or conn.handling
            or conn.queue
            or conn.input_done
        ):
            return
        idle = self.idle
        if conn in idle:
            idle.move_to_end(conn)
        else:
            idle[conn] = None

    def forget(self, conn: ServerConnection) -> None:
        self.open.discard(conn)
        self.idle.pop(conn, None)


def default_max_connections() -> int:
    """What ``max_connections`` is when the config leaves it unset: the descriptors left once
    a quarter (at least RESERVED_FDS) is kept for everything else, at most
    MAX_DEFAULT_CONNECTIONS. Read when the server is made, after proxy.runtime.serve has
    raised the soft limit to the hard one."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return MAX_DEFAULT_CONNECTIONS
    reserved = max(RESERVED_FDS, soft // RESERVED_SHARE)
    return max(1, min(MAX_DEFAULT_CONNECTIONS, soft - reserved))


# -- the connection's deadline ---------------------------------------------------------------


def arm(conn: ServerConnection, kind: int, timeout: float) -> None:
    """Set the connection's one deadline. The timer is scheduled at most ``timer_step``
    ahead and re-arms itself when it fires early, so moving the deadline later (every
    request does) costs no timer handle; only an earlier deadline replaces the timer."""
    now = conn.loop.time()
    deadline = now + timeout
    conn.timer_kind = kind
    conn.deadline = deadline
    timer = conn.timer
    if timer is None or timer.when() > deadline:
        if timer is not None:
            timer.cancel()
        step = min(deadline, now + conn.server._timer_step)
        conn.timer = conn.loop.call_at(step, _on_timer, conn)


def _on_timer(conn: ServerConnection) -> None:
    conn.timer = None
    deadline = conn.deadline
    if deadline is None or conn.closed:
        return
    now = conn.loop.time()
    if deadline - now > _TIMER_SLACK:
        step = min(deadline, now + conn.server._timer_step)
        conn.timer = conn.loop.call_at(step, _on_timer, conn)
        return
    conn.deadline = None
    kind = conn.timer_kind
    if kind == RECEIVING and (conn.read_paused or conn.backlog):
        # The rest of the request is held back by this server's own backpressure, not by
        # a slow client: that time does not count against it.
        arm(conn, RECEIVING, conn.server.request_timeout)
    elif kind == LINGERING:
        conn.abort()
    elif kind == IDLE and conn.write_paused:
        # Still delivering the last answer (send_timeout watches that): keep-alive time
        # starts once it is sent, as nginx's does.
        arm(conn, IDLE, conn.server.keepalive_timeout)
    else:
        conn.close_gracefully()


# -- slow readers ----------------------------------------------------------------------------


def hold(conn: ServerConnection, transport: asyncio.Transport, size: int) -> None:
    """Keep counting, of the ``size`` bytes just written, those still in the buffer."""
    kept = min(size, transport.get_write_buffer_size()) if conn.write_paused else 0
    budget.ANSWER_BYTES.give(size - kept)
    conn.held += kept


def watch_sending(conn: ServerConnection) -> None:
    if conn.send_timer is None and conn.transport is not None and not conn.closed:
        conn.send_mark = conn.transport.get_write_buffer_size()
        conn.send_timer = conn.loop.call_later(conn.server.send_timeout, _on_send_timer, conn)


def stop_watching(conn: ServerConnection) -> None:
    if conn.send_timer is not None:
        conn.send_timer.cancel()
        conn.send_timer = None


def _on_send_timer(conn: ServerConnection) -> None:
    conn.send_timer = None
    transport = conn.transport
    if transport is None or conn.closed:
        return
    size = transport.get_write_buffer_size()
    if size and size >= conn.send_mark:
        # Not a byte read in send_timeout: the answer, and the connection, are dropped.
        conn.server._log.info("slow client dropped", unsent=size, timeout=conn.server.send_timeout)
        conn.abort()
        return
    if size < conn.held:
        budget.ANSWER_BYTES.give(conn.held - size)
        conn.held = size
    if size and (conn.write_paused or transport.is_closing()):
        watch_sending(conn)
