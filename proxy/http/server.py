"""The listening side: a small HTTP/1.1 server on asyncio and a C parser.

Why not ``aiohttp.web``: on the bench, aiohttp's server spent several times the CPU of a plain
``asyncio.Protocol`` parsing with httptools (llhttp, the parser Node.js uses) on a trivial
request, in what the proxy does not use: its request object, stream reader, payload machinery,
per-request tasks and timers. The proxy needs little of what aiohttp offers: bodies are read
whole and bounded, answers are written whole, and there are no websockets, no streaming, no
middlewares. Everything between the two ends works on :mod:`proxy.http.messages` only. The
figures, and what this server costs with all of the below, are in ``docs/performance.md``.

What it guarantees, each covered by ``tests/unit/test_http_server.py``:

* HTTP/1.1 keep-alive (HTTP/1.0 only with ``Connection: keep-alive``), ``Connection: close``
  honoured; pipelined requests answered in order, one handler call at a time per connection.
* Bounded memory per connection: the target, the header count and size, and the body are
  checked while they are parsed; a connection stops being read while requests queue up or
  while the client does not read its answers (transport flow control).
* Refusals the server makes itself (malformed HTTP, upgrades, limits, ``Expect``) go through
  the ``reject`` callback, so they look like the client's provider; after one the connection
  is closed. A handler failure is logged (its type, never request contents) and answered 500.
  No Python text, let alone a traceback, ever reaches a client.
* Idle keep-alive connections and requests that arrive too slowly (slowloris) are closed.
* ``shutdown`` stops accepting at once and lets requests in flight finish, within a bound.

What it does when clients are hostile or merely many, each covered by
``tests/integration/test_hostile_clients.py`` (nginx is the yardstick):

* At most ``max_connections`` client connections. A new one beyond it closes the connection
  that has been idle longest (nginx reuses its oldest keep-alive connections the same way);
  with none idle, the new one gets a 503 at once instead of waiting in the accept queue.
  Idle means nothing asked, nothing being answered and no answer stuck in the write buffer.
* A client that reads nothing of its answer for ``send_timeout`` is dropped (nginx:
  ``send_timeout``), and the bytes it was owed are freed. Progress is sampled from the write
  buffer when the timer fires, so the timer costs nothing while answers flow.
* Answers larger than ``budget.SMALL`` are counted against the process-wide
  ``budget.ANSWER_BYTES`` while they wait in a write buffer; one that does not fit is replaced
  by a 503 in the client's style.
* A request without ``Host`` (HTTP/1.1), with two, or with one that is not a host[:port] is
  refused 400 (RFC 9112 §3.2).
* Optionally HTTPS: ``start(..., ssl_context=...)``; requests then carry ``scheme="https"``.
"""

from __future__ import annotations

import asyncio
import re
import resource
import ssl
import time
import traceback
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from http import HTTPStatus
from typing import Any, NoReturn

import httptools
from multidict import CIMultiDict, CIMultiDictProxy

from proxy.engine.errors import (
    ClientRequestError,
    HeadersTooLarge,
    PayloadTooLarge,
    ProxyError,
    URITooLong,
)
from proxy.http import budget
from proxy.http.messages import Request, Response
from proxy.ops.logs import get_logger
from proxy.settings.models import Limits

Handler = Callable[[Request], Awaitable[Response]]
# Renders a refusal the server itself makes (malformed request, limits) in the client's style.
# Gets the raw request target when it was read (else None) and the ProxyError.
Reject = Callable[[str | None, ProxyError], Response]

# Requests a connection may have queued or in its handler before the server stops reading it.
# Pipelining clients are rare; a handful is enough to keep them busy, and it bounds memory.
MAX_PENDING = 8
# Large reads are parsed in slices so that reading can stop between them once MAX_PENDING is
# reached: one read (up to 256 KiB) of tiny pipelined requests would otherwise queue thousands.
FEED_SLICE = 8 * 1024
# How long and how much a connection the server ends is still read (and dropped) for, so
# that the client's unread input does not turn the close into a reset.
LINGER_SECONDS = 2.0  # see _Connection._close_after_answer
LINGER_BYTES = 16 * 1024 * 1024
# Connections the kernel may hold before they are accepted (a burst of clients at once).
BACKLOG = 1024
# The name of every connection's task (tests and debuggers tell them from other work by it).
CONNECTION_TASK = "dialect-connection"
# Seconds a TLS client has to complete its handshake: until it has, the connection is not
# counted against max_connections (asyncio reports it only once the handshake is done).
TLS_HANDSHAKE_SECONDS = 10.0
# The default max_connections leaves this share of the descriptors (at least RESERVED_FDS)
# to upstream connections, the store, logs and the event loop...
RESERVED_SHARE = 4
RESERVED_FDS = 64
# ...and stays below this many, whatever the descriptor limit: past it, memory is the limit.
# An idle keep-alive connection measured about 7 KiB of the process's memory (the protocol
# object, the parser, the transport), so this many take about 28 MiB of the 256 MiB the
# shipped pod gets, beside max_buffered_bytes and the translation of one large answer.
MAX_DEFAULT_CONNECTIONS = 4096

_BUSY = ProxyError("The server is at its connection limit; retry shortly.", status=503)
_BUDGET_SPENT = ProxyError(
    "The proxy is holding too many large answers for slow clients; retry shortly.", status=503
)
# RFC 9110 §7.2: a host (reg-name, IPv4 or an IP literal in brackets) and an optional port.
_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(?::[0-9]*)?")

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
# Framing headers are the server's: a handler's copy could contradict the bytes written.
_OWNED = frozenset({"content-length", "transfer-encoding", "connection", "date"})
_STATUS_LINES = {s.value: f"HTTP/1.1 {s.value} {s.phrase}\r\n" for s in HTTPStatus}
_NO_BODY = frozenset({204, 304})
# Written when even the reject callback fails: a last answer that needs no rendering at all.
_FALLBACK = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
# llhttp knows a fixed set of methods, so this cache stays small.
_METHODS: dict[bytes, str] = {}
# What _serve's locals hold between requests, instead of the last request and answer.
_NO_REQUEST = Request("GET", "/", CIMultiDictProxy(CIMultiDict()))
_NO_RESPONSE = Response()

# What a connection's one timer is waiting for.
_IDLE, _RECEIVING, _LINGERING = 0, 1, 2
# A timer may fire up to the loop's clock resolution early; closer than this is on time.
_TIMER_SLACK = 0.001


class _Connection(asyncio.Protocol):
    """One client connection: the request being parsed, the ones waiting, and their answers."""

    def __init__(
        self, server: HTTPServer, loop: asyncio.AbstractEventLoop, scheme: str = "http"
    ) -> None:
        self.server = server
        self.loop = loop
        self.scheme = scheme
        limits = server.limits
        self.max_url = limits.max_url_bytes
        self.max_headers = limits.max_headers
        self.max_header_bytes = limits.max_header_bytes
        self.max_body = limits.max_body_bytes
        self.transport: asyncio.Transport | None = None
        self.remote: str | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.closed = False
        # Complete requests not yet handled: (request, keep-alive, HTTP/1.0).
        self.queue: deque[tuple[Request, bool, bool]] = deque()
        # The connection's worker: started by its first request, it answers the queue and
        # then waits on ``wakeup`` for the next one (cheaper than a task per request).
        self.task: asyncio.Task[None] | None = None
        self.wakeup: asyncio.Future[None] | None = None
        self.handling = False  # a request is in the handler
        self.read_paused = False
        self.write_paused = False
        self.drained: asyncio.Future[None] | None = None
        self.backlog = b""  # read but not yet parsed, while the queue is full
        self.input_done = False  # no further request will be read
        self.eof = False  # the client half-closed
        self.lingering = False
        self.linger_left = 0
        self.refusal: tuple[str | None, ProxyError, bool] | None = None
        self.refused = False  # the refusal has been written
        self.send_continue = False
        self.timer: asyncio.TimerHandle | None = None
        self.deadline: float | None = None
        self.timer_kind = _IDLE
        # Answer bytes counted against budget.ANSWER_BYTES while they wait in the write buffer.
        self.held = 0
        # While a client is owed bytes it does not read: the send_timeout timer, and the write
        # buffer's size when it was last armed (less at the next firing means progress).
        self.send_timer: asyncio.TimerHandle | None = None
        self.send_mark = 0
        # The message being parsed.
        self.receiving = False
        self.timed = False  # the deadline is this message's (set after the read that began it)
        self.url: list[bytes] = []
        self.url_size = 0
        self.url_done = False
        self.raw: list[tuple[str, str]] = []
        self.header_bytes = 0
        self.unseen = 0  # bytes inside a header httptools buffers and has not reported yet
        self.progress = False
        self.headers: CIMultiDict[str] | None = None
        self.method = ""
        self.target = ""
        self.http10 = False
        self.body: list[bytes] = []
        self.body_size = 0
        self.error: ProxyError | None = None

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.remote = peer[0] if isinstance(peer, tuple) else None
        server = self.server
        server._connections.add(self)
        if server._stopping:
            transport.close()  # accepted in the instant the listener was closing
            return
        if len(server._connections) > server.max_connections and not server._make_room():
            server._log.warning(
                "connection refused: at max_connections", limit=server.max_connections
            )
            self._refuse(_BUSY)
            return
        self._arm(_IDLE, server.keepalive_timeout)
        self._mark_idle()

    def data_received(self, data: bytes) -> None:
        if self.input_done:
            if self.lingering:
                self.linger_left -= len(data)
                if self.linger_left < 0:
                    self.abort()
            return
        if self.backlog or self._blocked():
            # A transport may deliver a read it had in hand when reading was paused.
            self.backlog += data
            self._update_reading()
        elif len(data) <= FEED_SLICE:
            self._parse(data)
        else:
            self._feed(data)

    def eof_received(self) -> bool | None:
        if self.lingering or self.closed:
            return None
        self.eof = True
        self.input_done = True
        if self.handling or self.queue:
            return True  # keep the connection half-open to answer what was asked
        return None  # nothing to answer (a request cut short cannot complete): close

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.deadline = None
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self._stop_watching()
        budget.ANSWER_BYTES.give(self.held)
        self.held = 0
        # Pipelined requests not yet started are dropped: nobody is left to read their
        # answers, and not running them is the safe side for a client that will retry.
        self.queue.clear()
        self.backlog = b""
        self._wake()
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)
        # The request in the handler, if any, is NOT cancelled: the proxy may already have
        # sent it upstream (a POST that sends a message), and cancelling would leave that
        # call half done, with no record of its outcome. It finishes; its answer is dropped.
        self.server._forget(self)

    def pause_writing(self) -> None:
        self.write_paused = True
        self.server._idle_conns.pop(self, None)  # an answer is on its way: not idle
        self._watch_sending()
        self._update_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        budget.ANSWER_BYTES.give(self.held)  # what is left is below the low-water mark
        self.held = 0
        transport = self.transport
        if transport is None or not transport.is_closing():
            self._stop_watching()  # a closing one stays watched until its buffer is empty
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)
        self._mark_idle()
        if self.backlog:
            # Parsed on the next turn, not inside the transport's write machinery.
            self.loop.call_soon(self._drain_backlog)
        else:
            self._update_reading()

    # -- httptools callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.server._idle_conns.pop(self, None)
        self.receiving = True
        self.url_done = False
        self.url_size = 0
        self.header_bytes = 0
        self.unseen = 0
        self.body_size = 0
        self.headers = None
        self.timed = False

    def on_url(self, fragment: bytes) -> None:
        self.progress = True
        self.url_size += len(fragment)
        if self.url_size > self.max_url:
            self._fail(URITooLong())
        self.url.append(fragment)

    def _url_complete(self) -> None:
        # llhttp reports the target in pieces, as they arrive; it is whole once a header
        # (or the end of the headers) follows it.
        self.url_done = True
        self.target = b"".join(self.url).decode("latin-1")
        self.url.clear()

    def on_header(self, name: bytes, value: bytes) -> None:
        self.progress = True
        self.unseen = 0
        if not self.url_done:
            self._url_complete()
        size = self.header_bytes + len(name) + len(value)
        self.header_bytes = size
        if size > self.max_header_bytes:
            self._fail(HeadersTooLarge())
        if self.headers is not None:
            return  # a trailer after a chunked body: counted against the limit, not kept
        if len(self.raw) >= self.max_headers:
            self._fail(HeadersTooLarge())
        # llhttp strips the whitespace before a value, not after it (RFC 9110 §5.5: neither
        # is part of the value).
        self.raw.append((name.decode("latin-1"), value.decode("latin-1").rstrip(" \t")))

    def on_headers_complete(self) -> None:
        self.progress = True
        if not self.url_done:
            self._url_complete()
        parser = self.parser
        raw_method = parser.get_method()
        method = _METHODS.get(raw_method)
        if method is None:
            method = _METHODS[raw_method] = raw_method.decode("ascii", "replace")
        self.method = method
        version = parser.get_http_version()
        if version != "1.1" and version != "1.0":
            self._fail(ClientRequestError("Only HTTP/1.0 and HTTP/1.1 are supported.", status=505))
        self.http10 = version == "1.0"
        headers = self.headers = CIMultiDict(self.raw)
        self.raw.clear()
        hosts = headers.getall("Host", None)
        if hosts is None:
            if not self.http10:
                self._fail(ClientRequestError("The request has no Host header."))
        elif len(hosts) != 1:
            self._fail(ClientRequestError("The request has more than one Host header."))
        elif not _HOST.fullmatch(hosts[0]):
            # A fixed message: the client's value is not echoed back into a rendered error.
            self._fail(ClientRequestError("The Host header is not a host name and port."))
        if method == "CONNECT":
            self._fail(ClientRequestError("The CONNECT method is not supported."))
        if "Upgrade" in headers or parser.should_upgrade():
            self._fail(ClientRequestError("Protocol upgrades are not supported."))
        length = headers.get("Content-Length")
        # llhttp has checked the digits (and refused a second, different Content-Length).
        if length is not None and int(length) > self.max_body:
            self._fail(PayloadTooLarge())
        expect = headers.get("Expect")
        if expect is not None:
            self._expect(expect)

    def on_body(self, data: bytes) -> None:
        self.progress = True
        self.unseen = 0
        size = self.body_size + len(data)
        if size > self.max_body:
            self._fail(PayloadTooLarge())
        self.body_size = size
        self.body.append(data)

    def on_message_complete(self) -> None:
        self.receiving = False
        self.send_continue = False
        self.deadline = None  # the handler is not timed here: it keeps its own budgets
        headers = self.headers
        assert headers is not None
        body = b"".join(self.body)
        self.body.clear()
        request = Request(
            self.method, self.target, CIMultiDictProxy(headers), body, self.remote, self.scheme
        )
        keep_alive = self.parser.should_keep_alive()
        self.queue.append((request, keep_alive, self.http10))
        if not keep_alive:
            self.input_done = True  # whatever follows is not read
            self._update_reading()
        elif len(self.queue) + self.handling >= MAX_PENDING:
            self._update_reading()
        if self.task is None:
            task = self.task = self.loop.create_task(self._serve(), name=CONNECTION_TASK)
            self.server._tasks.add(task)
        else:
            self._wake()

    # -- parsing ---------------------------------------------------------------------------

    def _fail(self, error: ProxyError) -> NoReturn:
        # httptools wraps what a callback raises; the original is kept here for _parse.
        self.error = error
        raise error

    def _parse(self, data: bytes | memoryview) -> None:
        self.progress = False
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse(ClientRequestError("Protocol upgrades are not supported."))
            return
        except httptools.HttpParserError as exc:
            error, self.error = self.error, None
            if error is None:
                if self.input_done:
                    return  # bytes after a request that ended the connection: ignored
                if isinstance(exc, httptools.HttpParserCallbackError):
                    # Not the client's doing: a callback here failed unexpectedly.
                    _log_failure(self.server._log, "request parsing failed", exc.__context__)
                    error = ClientRequestError("Malformed HTTP request.")
                else:
                    error = ClientRequestError(_malformed(exc))
            self._refuse(error)
            return
        if not self.receiving:
            return
        if not self.timed:
            # Most requests arrive whole in one read and never need their own deadline; the
            # ones that do not get it here, a moment after their first byte.
            self.timed = True
            self._arm(_RECEIVING, self.server.request_timeout)
        if not self.progress:
            # httptools reports a header (or trailer) only once its value is complete and
            # buffers it until then: a read that reported nothing went, whole, into such a
            # header, or into chunk framing. Either way it counts against the header limit.
            self.unseen += len(data)
            if self.header_bytes + self.unseen > self.max_header_bytes:
                self._refuse(HeadersTooLarge())

    def _feed(self, data: bytes) -> None:
        view = memoryview(data)
        size = len(data)
        start = 0
        while start < size:
            if self.input_done or self.closed:
                return
            if self._blocked():
                self.backlog = bytes(view[start:])
                self._update_reading()
                return
            self._parse(view[start : start + FEED_SLICE])
            start += FEED_SLICE

    def _drain_backlog(self) -> None:
        data, self.backlog = self.backlog, b""
        if data and not self.input_done and not self.closed:
            self._feed(data)
        self._update_reading()

    def _expect(self, value: str) -> None:
        if value.strip().lower() != "100-continue":
            # A fixed message: the client's value is not echoed back into a rendered error.
            self._fail(ClientRequestError("Only Expect: 100-continue is supported.", status=417))
        if self.http10:
            return  # RFC 9110 §10.1.1: an HTTP/1.0 client's 100-continue is ignored
        if self.queue or self.handling:
            self.send_continue = True  # after the answers already owed, to keep the order
        elif self.transport is not None:
            self.transport.write(_CONTINUE)

    def _refuse(self, error: ProxyError) -> None:
        """Answer ``error`` after the requests already queued, then close: the stream can
        no longer be trusted (or the rest of the body is not wanted)."""
        if self.refusal is not None or self.closed:
            return
        target = None
        head = False
        if self.url_done:
            target = self.target
            head = self.parser.get_method() == b"HEAD"
        self.refusal = (target, error, head)
        self.input_done = True
        self.receiving = False
        self.send_continue = False
        self.backlog = b""
        self.deadline = None
        self._update_reading()
        if not self.handling and not self.queue:
            self._write_refusal()  # nothing is owed before it

    # -- flow control ----------------------------------------------------------------------

    def _blocked(self) -> bool:
        return self.write_paused or len(self.queue) + self.handling >= MAX_PENDING

    def _update_reading(self) -> None:
        transport = self.transport
        if transport is None or self.closed or transport.is_closing():
            return
        pause = not self.lingering and (self.input_done or bool(self.backlog) or self._blocked())
        if pause is self.read_paused:
            return
        self.read_paused = pause
        if pause:
            transport.pause_reading()
        else:
            transport.resume_reading()

    async def _writable(self) -> None:
        self.drained = self.loop.create_future()
        await self.drained

    # -- answering -------------------------------------------------------------------------

    def _wake(self) -> None:
        wakeup = self.wakeup
        if wakeup is not None:
            self.wakeup = None
            if not wakeup.done():
                wakeup.set_result(None)

    async def _serve(self) -> None:
        """Answer the queue in order, one handler call at a time, until the connection ends."""
        handler = self.server.handler
        queue = self.queue
        try:
            while not self.closed:
                if not queue:
                    if not self._served():
                        return
                    self.wakeup = self.loop.create_future()
                    await self.wakeup
                    continue
                if self.write_paused:
                    await self._writable()
                    continue
                request, keep_alive, http10 = queue.popleft()
                self.handling = True
                try:
                    response = await handler(request)
                    close = self._must_close(keep_alive)
                    data = _render(response, request.method == "HEAD", close, http10)
                except Exception as exc:  # CancelledError is not an Exception: it propagates
                    data, close = self._failed(request, keep_alive, exc)
                # Not kept while the connection waits for its next request: a large answer
                # would otherwise stay in memory for as long as the client keeps it open.
                response = _NO_RESPONSE
                self.handling = False
                transport = self.transport
                if self.closed or transport is None:
                    return  # the client left: the answer is dropped
                size = len(data)
                if size > budget.SMALL and not budget.ANSWER_BYTES.take(size):
                    self.server._log.warning(
                        "answer refused: max_buffered_bytes is held", bytes=size
                    )
                    head = request.method == "HEAD"
                    refusal = self._render_refusal(request.target, _BUDGET_SPENT, head, close)
                    data = refusal if refusal is not None else _FALLBACK
                    close = close or refusal is None
                    size = 0
                request = _NO_REQUEST
                transport.write(data)
                data = b""
                if size > budget.SMALL:
                    self._hold(transport, size)
                if close:
                    self._close_after_answer()
                    return
                if self.send_continue and not queue:
                    self.send_continue = False
                    transport.write(_CONTINUE)
                if self.backlog and not self._blocked():
                    self._drain_backlog()
                elif self.read_paused:
                    self._update_reading()
        except BaseException:
            # Cancelled by shutdown, or a handler let a cancellation (or another exception
            # that is not an Exception) out: the answers cannot stay in order any more, so the
            # connection ends here rather than leaving its client waiting.
            self.abort()
            raise
        finally:
            self.handling = False
            self.wakeup = None
            if self.task is not None:
                self.server._task_done(self.task)
                self.task = None

    def _served(self) -> bool:
        """Nothing is queued: refuse what was refused, or close, or (True) wait for more."""
        transport = self.transport
        if self.closed or transport is None:
            return False
        if self.refusal is not None:
            if not self.refused:
                self._write_refusal()
            return False
        if self.eof or self.input_done or self.server._stopping:
            self._close_gracefully()
            return False
        if not self.receiving:
            self._arm(_IDLE, self.server.keepalive_timeout)
            self._mark_idle()
        return True

    def _failed(self, request: Request, keep_alive: bool, exc: Exception) -> tuple[bytes, bool]:
        """The answer when the handler failed (or its response cannot be written): a 500."""
        _log_failure(self.server._log, "request handler failed", exc)
        close = self._must_close(keep_alive)
        data = self._render_refusal(request.target, ProxyError(), request.method == "HEAD", close)
        return (data, close) if data is not None else (_FALLBACK, True)

    def _must_close(self, keep_alive: bool) -> bool:
        return (
            not keep_alive
            or self.server._stopping
            or (self.eof and not self.queue and self.refusal is None)
        )

    def _render_refusal(
        self, target: str | None, error: ProxyError, head: bool, close: bool
    ) -> bytes | None:
        try:
            response = self.server.reject(target, error)
            if error.status == 503:
                response.headers.setdefault("Retry-After", "1")
            return _render(response, head, close, False)
        except Exception as exc:
            _log_failure(self.server._log, "reject callback failed", exc)
            return None

    def _write_refusal(self) -> None:
        assert self.refusal is not None
        target, error, head = self.refusal
        transport = self.transport
        if transport is None or self.closed or self.refused:
            return
        self.refused = True
        transport.write(self._render_refusal(target, error, head, True) or _FALLBACK)
        self._close_after_answer()

    def _close_after_answer(self) -> None:
        """End the connection without destroying the answer just written.

        Closing a socket that still has unread input (the rest of a refused body, requests
        pipelined after ``Connection: close``) makes the kernel send a reset, and a reset can
        destroy the answer before the client has read it. So the server half-closes instead:
        the client reads the answer and an end of stream, and what it still sends is read
        and dropped, within bounds (LINGER_BYTES, LINGER_SECONDS), until it closes its side.
        """
        transport = self.transport
        if transport is None or self.closed:
            return
        if self.eof or not transport.can_write_eof():
            self._close_gracefully()  # nothing more will come (or TLS, which cannot half-close)
            return
        transport.write_eof()
        self.input_done = True
        self.lingering = True
        self.linger_left = LINGER_BYTES
        self._arm(_LINGERING, LINGER_SECONDS)
        self._update_reading()

    # -- timers ----------------------------------------------------------------------------

    def _arm(self, kind: int, timeout: float) -> None:
        """Set the connection's one deadline. The timer is scheduled at most ``timer_step``
        ahead and re-arms itself when it fires early, so moving the deadline later (every
        request does) costs no timer handle; only an earlier deadline replaces the timer."""
        now = self.loop.time()
        deadline = now + timeout
        self.timer_kind = kind
        self.deadline = deadline
        timer = self.timer
        if timer is None or timer.when() > deadline:
            if timer is not None:
                timer.cancel()
            step = min(deadline, now + self.server._timer_step)
            self.timer = self.loop.call_at(step, self._on_timer)

    def _on_timer(self) -> None:
        self.timer = None
        deadline = self.deadline
        if deadline is None or self.closed:
            return
        now = self.loop.time()
        if deadline - now > _TIMER_SLACK:
            step = min(deadline, now + self.server._timer_step)
            self.timer = self.loop.call_at(step, self._on_timer)
            return
        self.deadline = None
        kind = self.timer_kind
        if kind == _RECEIVING and (self.read_paused or self.backlog):
            # The rest of the request is held back by this server's own backpressure, not by
            # a slow client: that time does not count against it.
            self._arm(_RECEIVING, self.server.request_timeout)
        elif kind == _LINGERING:
            self.abort()
        elif kind == _IDLE and self.write_paused:
            # Still delivering the last answer (send_timeout watches that): keep-alive time
            # starts once it is sent, as nginx's does.
            self._arm(_IDLE, self.server.keepalive_timeout)
        else:
            self._close_gracefully()

    # -- shutdown --------------------------------------------------------------------------

    def stop(self) -> None:
        """Close now if nothing is being asked or answered; otherwise the next answer closes."""
        if self.closed or self.transport is None:
            return
        if not self.handling and not self.queue and (not self.receiving or self.lingering):
            self._close_gracefully()

    def abort(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.abort()

    def _close_gracefully(self) -> None:
        """Close once what is written has been sent, but only as long as the client reads it:
        a client that reads nothing would keep a closing connection, and its buffer, forever."""
        transport = self.transport
        if transport is None or self.closed:
            return
        self.server._idle_conns.pop(self, None)
        transport.close()
        if transport.get_write_buffer_size():
            self._watch_sending()

    # -- idle connections and slow readers -------------------------------------------------

    def _mark_idle(self) -> None:
        """Nothing asked, nothing owed: the newest candidate for HTTPServer._make_room."""
        if (
            self.closed
            or self.write_paused
            or self.receiving
            or self.handling
            or self.queue
            or self.input_done
        ):
            return
        idle = self.server._idle_conns
        if self in idle:
            idle.move_to_end(self)
        else:
            idle[self] = None

    def _hold(self, transport: asyncio.Transport, size: int) -> None:
        """Keep counting, of the ``size`` bytes just written, those still in the buffer."""
        kept = min(size, transport.get_write_buffer_size()) if self.write_paused else 0
        budget.ANSWER_BYTES.give(size - kept)
        self.held += kept

    def _watch_sending(self) -> None:
        if self.send_timer is None and self.transport is not None and not self.closed:
            self.send_mark = self.transport.get_write_buffer_size()
            self.send_timer = self.loop.call_later(self.server.send_timeout, self._on_send_timer)

    def _stop_watching(self) -> None:
        if self.send_timer is not None:
            self.send_timer.cancel()
            self.send_timer = None

    def _on_send_timer(self) -> None:
        self.send_timer = None
        transport = self.transport
        if transport is None or self.closed:
            return
        size = transport.get_write_buffer_size()
        if size and size >= self.send_mark:
            # Not a byte read in send_timeout: the answer, and the connection, are dropped.
            self.server._log.info(
                "slow client dropped", unsent=size, timeout=self.server.send_timeout
            )
            self.abort()
            return
        if size < self.held:
            budget.ANSWER_BYTES.give(self.held - size)
            self.held = size
        if size and (self.write_paused or transport.is_closing()):
            self._watch_sending()


class HTTPServer:
    """Serves ``handler`` over HTTP/1.1 on one or more listening sockets.

    ``keepalive_timeout`` and ``send_timeout`` default to the ``limits``' ones, and
    ``max_connections`` to :func:`default_max_connections` when the limits leave it unset.
    ``limits.max_buffered_bytes`` becomes the process-wide ``budget.ANSWER_BYTES`` limit.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        reject: Reject,
        limits: Limits,
        keepalive_timeout: float | None = None,
        request_timeout: float = 60.0,
        send_timeout: float | None = None,
    ) -> None:
        if keepalive_timeout is None:
            keepalive_timeout = limits.keepalive_timeout
        if send_timeout is None:
            send_timeout = limits.send_timeout
        if keepalive_timeout <= 0 or request_timeout <= 0 or send_timeout <= 0:
            raise ValueError("timeouts must be positive")
        self.handler = handler
        self.reject = reject
        self.limits = limits
        self.keepalive_timeout = keepalive_timeout
        self.request_timeout = request_timeout
        self.send_timeout = send_timeout
        self.max_connections = limits.max_connections or default_max_connections()
        budget.ANSWER_BYTES.limit = limits.max_buffered_bytes
        # See _Connection._arm: no deadline is ever set closer than this.
        self._timer_step = min(keepalive_timeout, request_timeout)
        self._log = get_logger()
        self._servers: list[asyncio.Server] = []
        self._addresses: list[tuple[str, int]] = []
        self._connections: set[_Connection] = set()
        # Connections with nothing asked or owed, the longest idle first (see _make_room).
        self._idle_conns: OrderedDict[_Connection, None] = OrderedDict()
        # Handler tasks, also those whose client left: shutdown waits for them too.
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._idle: asyncio.Future[None] | None = None

    async def start(
        self,
        host: str,
        port: int,
        *,
        reuse_port: bool = False,
        ssl_context: ssl.SSLContext | None = None,
    ) -> list[tuple[str, int]]:
        """Bind and listen; returns the bound (host, port) addresses (port 0 picks a free one).
        With ``ssl_context`` (see :func:`server_tls_context`) the socket speaks HTTPS."""
        if self._stopping:
            raise RuntimeError("the server is shut down")
        loop = asyncio.get_running_loop()
        scheme = "https" if ssl_context is not None else "http"
        server = await loop.create_server(
            lambda: _Connection(self, loop, scheme),
            host,
            port,
            reuse_port=reuse_port or None,
            backlog=BACKLOG,
            ssl=ssl_context,
            ssl_handshake_timeout=TLS_HANDSHAKE_SECONDS if ssl_context is not None else None,
        )
        self._servers.append(server)
        bound = [(str(s.getsockname()[0]), int(s.getsockname()[1])) for s in _sockets(server)]
        self._addresses.extend(bound)
        return bound

    @property
    def addresses(self) -> list[tuple[str, int]]:
        return list(self._addresses)

    @property
    def connections(self) -> int:
        """Open client connections."""
        return len(self._connections)

    # The API (proxy.runtime.serve calls it) takes the bound as an argument, not as a scope.
    async def shutdown(self, timeout: float) -> None:  # noqa: ASYNC109
        """Stop accepting at once; close idle keep-alive connections; let requests in flight
        finish (at most `timeout` s) and answer them with Connection: close; then close all."""
        self._stopping = True
        for server in self._servers:
            server.close()
        for conn in list(self._connections):
            conn.stop()
        if self._connections or self._tasks:
            self._idle = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(max(timeout, 0.0)):
                    await self._idle
            except TimeoutError:
                pass
        for conn in list(self._connections):
            conn.abort()
        tasks = [t for t in self._tasks if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=1.0)
        for server in self._servers:
            try:
                async with asyncio.timeout(1.0):
                    await server.wait_closed()
            except TimeoutError:
                pass

    def _make_room(self) -> bool:
        """Close the connection idle longest, for a new one; False if none is idle."""
        idle = self._idle_conns
        while idle:
            conn, _ = idle.popitem(last=False)
            if conn.closed or conn.transport is None:
                continue
            conn.input_done = True  # whatever it sends now is not read
            conn._close_gracefully()
            return True
        return False

    def _forget(self, conn: _Connection) -> None:
        self._connections.discard(conn)
        self._idle_conns.pop(conn, None)
        self._check_idle()

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._check_idle()

    def _check_idle(self) -> None:
        idle = self._idle
        if idle is not None and not idle.done() and not self._connections and not self._tasks:
            idle.set_result(None)


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


def server_tls_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """The context for serving HTTPS with this certificate chain and key: TLS 1.2 or later,
    Python's default ciphers, HTTP/1.1 offered by ALPN (the only protocol spoken here)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    context.set_alpn_protocols(["http/1.1"])
    return context


def _render(response: Response, head: bool, close: bool, http10: bool) -> bytes:
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


def _malformed(exc: httptools.HttpParserError) -> str:
    """A short message for the client: llhttp's reason is a fixed English phrase."""
    reason = str(exc.args[0]) if exc.args else ""
    if reason and len(reason) <= 80 and reason.isascii() and reason.isprintable():
        return f"Malformed HTTP request: {reason}."
    return "Malformed HTTP request."


def _log_failure(log: Any, event: str, exc: BaseException | None) -> None:
    """Log the failure's type and where it happened: its message may quote the request."""
    frames = traceback.extract_tb(exc.__traceback__) if exc is not None else []
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    log.error(event, error=type(exc).__name__, where=where)


def _sockets(server: asyncio.AbstractServer) -> list[Any]:
    # The stubs say a tuple; uvloop hands a list. Compiled code checks what it is told.
    return list(getattr(server, "sockets", ()))
