"""How a client connection answers: its queue of requests in order, through the handler, into
bytes written whole; the refusals the server makes itself; and the close after an answer.

Why a module of its own: this is the write half of :class:`~proxy.http.server_connection.
ServerConnection`, which reads and checks requests and queues them. Each connection runs one
task, :func:`serve`, started by its first request: it calls the handler for one request at a
time, renders the answer in one buffer (:func:`render`), counts a large one against
``budget.ANSWER_BYTES``, writes it, and waits for the next. Refusals (malformed HTTP, limits,
a handler failure) go through the server's ``reject`` callback, so they look like the client's
provider; after one the connection is closed. A handler failure is logged (its type, never
request contents) and answered 500. No Python text, let alone a traceback, ever reaches a
client.

Why the cut is here: the per-request write path (the handler call, ``render``, the budget,
``transport.write``) is whole in this module, and the read path is whole in the connection's;
a request crosses between them once, through the queue. What the write path calls on the
connection (``update_reading``, ``drain_backlog``) are methods of a compiled class and the
calls into :mod:`proxy.http.server_limits` plain functions, which a compiled build calls
directly, without a Python attribute lookup.
"""

from __future__ import annotations

import time
import traceback
from email.utils import formatdate
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from multidict import CIMultiDict, CIMultiDictProxy

from proxy.engine.errors import ProxyError
from proxy.http import budget
from proxy.http.messages import Request, Response
from proxy.http.server_limits import IDLE, LINGERING, arm, hold

if TYPE_CHECKING:
    from proxy.http.server_connection import ServerConnection

# How long and how much a connection the server ends is still read (and dropped) for, so
# that the client's unread input does not turn the close into a reset.
LINGER_SECONDS = 2.0  # see _close_after_answer
LINGER_BYTES = 16 * 1024 * 1024

_BUDGET_SPENT = ProxyError(
    "The proxy is holding too many large answers for slow clients; retry shortly.", status=503
)

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
# Framing headers are the server's: a handler's copy could contradict the bytes written.
_OWNED = frozenset({"content-length", "transfer-encoding", "connection", "date"})
_STATUS_LINES = {s.value: f"HTTP/1.1 {s.value} {s.phrase}\r\n" for s in HTTPStatus}
_NO_BODY = frozenset({204, 304})
# Written when even the reject callback fails: a last answer that needs no rendering at all.
_FALLBACK = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
# What serve's locals hold between requests, instead of the last request and answer.
_NO_REQUEST = Request("GET", "/", CIMultiDictProxy(CIMultiDict()))
_NO_RESPONSE = Response()


async def _writable(conn: ServerConnection) -> None:
    conn.drained = conn.loop.create_future()
    await conn.drained


async def serve(conn: ServerConnection) -> None:
    """Answer the queue in order, one handler call at a time, until the connection ends."""
    handler = conn.server.handler
    queue = conn.queue
    try:
        while not conn.closed:
            if not queue:
                if not _served(conn):
                    return
                conn.wakeup = conn.loop.create_future()
                await conn.wakeup
                continue
            if conn.write_paused:
                await _writable(conn)
                continue
            request, keep_alive, http10 = queue.popleft()
            conn.handling = True
            try:
                response = await handler(request)
                close = _must_close(conn, keep_alive)
                data = render(response, request.method == "HEAD", close, http10)
            except Exception as exc:  # CancelledError is not an Exception: it propagates
                data, close = _failed(conn, request, keep_alive, exc)
            # Not kept while the connection waits for its next request: a large answer
            # would otherwise stay in memory for as long as the client keeps it open.
            response = _NO_RESPONSE
            conn.handling = False
            transport = conn.transport
            if conn.closed or transport is None:
                return  # the client left: the answer is dropped
            size = len(data)
            if size > budget.SMALL and not budget.ANSWER_BYTES.take(size):
                conn.server._log.warning("answer refused: max_buffered_bytes is held", bytes=size)
                head = request.method == "HEAD"
                refusal = _render_refusal(conn, request.target, _BUDGET_SPENT, head, close)
                data = refusal if refusal is not None else _FALLBACK
                close = close or refusal is None
                size = 0
            request = _NO_REQUEST
            transport.write(data)
            data = b""
            if size > budget.SMALL:
                hold(conn, transport, size)
            if close:
                _close_after_answer(conn)
                return
            if conn.send_continue and not queue:
                conn.send_continue = False
                transport.write(CONTINUE)
            if conn.backlog and not conn.blocked():
                conn.drain_backlog()
            elif conn.read_paused:
                conn.update_reading()
    except BaseException:
        # Cancelled by shutdown, or a handler let a cancellation (or another exception
        # that is not an Exception) out: the answers cannot stay in order any more, so the
        # connection ends here rather than leaving its client waiting.
        conn.abort()
        raise
    finally:
        conn.handling = False
        conn.wakeup = None
        if conn.task is not None:
            conn.server._task_done(conn.task)
            conn.task = None


def _served(conn: ServerConnection) -> bool:
    """Nothing is queued: refuse what was refused, or close, or (True) wait for more."""
    transport = conn.transport
    if conn.closed or transport is None:
        return False
    if conn.refusal is not None:
        if not conn.refused:
            write_refusal(conn)
        return False
    if conn.eof or conn.input_done or conn.server._stopping:
        conn.close_gracefully()
        return False
    if not conn.receiving:
        arm(conn, IDLE, conn.server.keepalive_timeout)
        conn.server.registry.mark_idle(conn)
    return True


def _failed(
    conn: ServerConnection, request: Request, keep_alive: bool, exc: Exception
) -> tuple[bytes, bool]:
    """The answer when the handler failed (or its response cannot be written): a 500."""
    log_failure(conn.server._log, "request handler failed", exc)
    close = _must_close(conn, keep_alive)
    data = _render_refusal(conn, request.target, ProxyError(), request.method == "HEAD", close)
    return (data, close) if data is not None else (_FALLBACK, True)


def _must_close(conn: ServerConnection, keep_alive: bool) -> bool:
    return (
        not keep_alive
        or conn.server._stopping
        or (conn.eof and not conn.queue and conn.refusal is None)
    )


def _render_refusal(
    conn: ServerConnection, target: str | None, error: ProxyError, head: bool, close: bool
) -> bytes | None:
    try:
        response = conn.server.reject(target, error)
        if error.status == 503:
            response.headers.setdefault("Retry-After", "1")
        return render(response, head, close, False)
    except Exception as exc:
        log_failure(conn.server._log, "reject callback failed", exc)
        return None


def write_refusal(conn: ServerConnection) -> None:
    assert conn.refusal is not None
    target, error, head = conn.refusal
    transport = conn.transport
    if transport is None or conn.closed or conn.refused:
        return
    conn.refused = True
    transport.write(_render_refusal(conn, target, error, head, True) or _FALLBACK)
    _close_after_answer(conn)


def _close_after_answer(conn: ServerConnection) -> None:
    """End the connection without destroying the answer just written.

    Closing a socket that still has unread input (the rest of a refused body, requests
    pipelined after ``Connection: close``) makes the kernel send a reset, and a reset can
    destroy the answer before the client has read it. So the server half-closes instead:
    the client reads the answer and an end of stream, and what it still sends is read
    and dropped, within bounds (LINGER_BYTES, LINGER_SECONDS), until it closes its side.
    """
    transport = conn.transport
    if transport is None or conn.closed:
        return
    if conn.eof or not transport.can_write_eof():
        conn.close_gracefully()  # nothing more will come (or TLS, which cannot half-close)
        return
    transport.write_eof()
    conn.input_done = True
    conn.lingering = True
    conn.linger_left = LINGER_BYTES
    arm(conn, LINGERING, LINGER_SECONDS)
    conn.update_reading()


def render(response: Response, head: bool, close: bool, http10: bool) -> bytes:
    """The whole answer in one buffer. Raises on anything that cannot be written safely."""
    status = response.status
    if not isinstance(status, int) or not 200 <= status <= 599:
        # 1xx are interim answers: one cannot end an exchange without desynchronising it.
        raise ValueError("the status is not a final HTTP status")
    lines = [_STATUS_LINES.get(status) or f"HTTP/1.1 {status} Unknown\r\n", _date()]
    for name, value in response.headers.items():
        if name.lower() not in _OWNED:
            lines.append(f"{name}: {value}\r\n")
    body = response.body
    if status in _NO_BODY:
        body = b""
    elif head:
        # The length a GET would get (RFC 9110 §8.6), or none: an empty body here means the
        # handler does not know it (a HEAD forwarded upstream), and 0 could be false.
        if body:
            lines.append(f"Content-Length: {len(body)}\r\n")
        body = b""
    else:
        lines.append(f"Content-Length: {len(body)}\r\n")
    if close:
        lines.append("Connection: close\r\n")
    elif http10:
        lines.append("Connection: keep-alive\r\n")
    lines.append("\r\n")
    text = "".join(lines)
    # One search over the whole head: a CR, LF or NUL inside a name or value would let a
    # header smuggle another one, or a second answer (each line's CRLF is its only break).
    count = len(lines)
    if text.count("\n") != count or text.count("\r") != count or "\0" in text:
        raise ValueError("a header has a line break or NUL")
    data = text.encode("latin-1")
    return data + body if body else data


_date_second = -1
_date_field = ""


def _date() -> str:
    """The Date field (RFC 9110 IMF-fixdate), formatted at most once a second."""
    global _date_second, _date_field
    now = int(time.time())
    if now != _date_second:
        _date_field = f"Date: {formatdate(now, usegmt=True)}\r\n"
        _date_second = now
    return _date_field


def log_failure(log: Any, event: str, exc: BaseException | None) -> None:
    """Log the failure's type and where it happened: its message may quote the request."""
    frames = traceback.extract_tb(exc.__traceback__) if exc is not None else []
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    log.error(event, error=type(exc).__name__, where=where)
