"""One client connection: bytes in, parsed by httptools and checked as they arrive, into
:class:`~proxy.http.messages.Request` objects queued for the connection's worker.

What it guarantees, each covered by ``tests/unit/test_http_server.py``:

* HTTP/1.1 keep-alive (HTTP/1.0 only with ``Connection: keep-alive``), ``Connection: close``
  honoured; pipelined requests queued in order, for one handler call at a time.
* Bounded memory per connection: the target, the header count and size, and the body are
  checked while they are parsed; a connection stops being read while requests queue up or
  while the client does not read its answers (transport flow control).
* A request without ``Host`` (HTTP/1.1), with two, or with one that is not a host[:port] is
  refused 400 (RFC 9112 §3.2). Upgrades, CONNECT and an ``Expect`` other than 100-continue
  are refused too. After a refusal nothing more is read from the connection.

Answering the queue is :mod:`proxy.http.server_answers`; the limits a connection is held to
(how many, how long, how many bytes owed) are :mod:`proxy.http.server_limits`.

Why this module is over 400 lines: :class:`ServerConnection` is one object to two callers at
once, asyncio (``data_received``, ``pause_writing``…) and the parser (``on_url``,
``on_header``…), and both sets of callbacks read and change the same state: whether a message
is being received, how much of it, whether reading is paused. Cut in two, every callback
would reach across into the other half's fields. It is also the per-request read path, which
stays in one compiled class: a request's bytes go from ``data_received`` to the queue without
leaving it.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from typing import TYPE_CHECKING, NoReturn

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
from proxy.http.messages import Request
from proxy.http.server_answers import CONTINUE, log_failure, serve, write_refusal
from proxy.http.server_limits import (
    BODIES_HELD,
    BUSY,
    IDLE,
    RECEIVING,
    arm,
    stop_watching,
    watch_sending,
)

if TYPE_CHECKING:
    from proxy.http.server import HTTPServer

# Requests a connection may have queued or in its handler before the server stops reading it.
# Pipelining clients are rare; a handful is enough to keep them busy, and it bounds memory.
MAX_PENDING = 8
# Large reads are parsed in slices so that reading can stop between them once MAX_PENDING is
# reached: one read (up to 256 KiB) of tiny pipelined requests would otherwise queue thousands.
FEED_SLICE = 8 * 1024
# The name of every connection's task (tests and debuggers tell them from other work by it).
CONNECTION_TASK = "dialect-connection"
# RFC 9110 §7.2: a host (reg-name, IPv4 or an IP literal in brackets) and an optional port.
_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(?::[0-9]*)?")
# llhttp knows a fixed set of methods, so this cache stays small.
_METHODS: dict[bytes, str] = {}


class ServerConnection(asyncio.Protocol):
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
        self.timer_kind = IDLE
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
        # Body bytes past the first budget.SMALL, counted against budget.ANSWER_BYTES until the
        # body is complete: a client that sends a large body slowly holds that memory.
        self.body_held = 0
        self.error: ProxyError | None = None

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.remote = peer[0] if isinstance(peer, tuple) else None
        server = self.server
        registry = server.registry
        registry.open.add(self)
        if server._stopping:
            transport.close()  # accepted in the instant the listener was closing
            return
        if not registry.has_room():
            self._refuse(BUSY)
            return
        arm(self, IDLE, server.keepalive_timeout)
        registry.mark_idle(self)

    def data_received(self, data: bytes) -> None:
        if self.input_done:
            if self.lingering:
                self.linger_left -= len(data)
                if self.linger_left < 0:
                    self.abort()
            return
        if self.backlog or self.blocked():
            # A transport may deliver a read it had in hand when reading was paused.
            self.backlog += data
            self.update_reading()
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
        stop_watching(self)
        budget.ANSWER_BYTES.give(self.held + self.body_held)
        self.held = self.body_held = 0
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
        self.server.registry.idle.pop(self, None)  # an answer is on its way: not idle
        watch_sending(self)
        self.update_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        budget.ANSWER_BYTES.give(self.held)  # what is left is below the low-water mark
        self.held = 0
        transport = self.transport
        if transport is None or not transport.is_closing():
            stop_watching(self)  # a closing one stays watched until its buffer is empty
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)
        self.server.registry.mark_idle(self)
        if self.backlog:
            # Parsed on the next turn, not inside the transport's write machinery.
            self.loop.call_soon(self.drain_backlog)
        else:
            self.update_reading()

    # -- httptools callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.server.registry.idle.pop(self, None)
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
        if size > budget.SMALL:  # as for answers, the first SMALL bytes always pass
            more = size - budget.SMALL - self.body_held
            if not budget.ANSWER_BYTES.take(more):
                self.server._log.warning(
                    "request body refused: max_buffered_bytes is held", bytes=size
                )
                self._fail(BODIES_HELD)
            self.body_held += more
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
        # Complete, the body is the engine's, as an upstream body is once it has arrived.
        budget.ANSWER_BYTES.give(self.body_held)
        self.body_held = 0
        request = Request(
            self.method, self.target, CIMultiDictProxy(headers), body, self.remote, self.scheme
        )
        keep_alive = self.parser.should_keep_alive()
        self.queue.append((request, keep_alive, self.http10))
        if not keep_alive:
            self.input_done = True  # whatever follows is not read
            self.update_reading()
        elif len(self.queue) + self.handling >= MAX_PENDING:
            self.update_reading()
        if self.task is None:
            task = self.task = self.loop.create_task(serve(self), name=CONNECTION_TASK)
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
                    log_failure(self.server._log, "request parsing failed", exc.__context__)
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
            arm(self, RECEIVING, self.server.request_timeout)
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
            if self.blocked():
                self.backlog = bytes(view[start:])
                self.update_reading()
                return
            self._parse(view[start : start + FEED_SLICE])
            start += FEED_SLICE

    def drain_backlog(self) -> None:
        data, self.backlog = self.backlog, b""
        if data and not self.input_done and not self.closed:
            self._feed(data)
        self.update_reading()

    def _expect(self, value: str) -> None:
        if value.strip().lower() != "100-continue":
            # A fixed message: the client's value is not echoed back into a rendered error.
            self._fail(ClientRequestError("Only Expect: 100-continue is supported.", status=417))
        if self.http10:
            return  # RFC 9110 §10.1.1: an HTTP/1.0 client's 100-continue is ignored
        if self.queue or self.handling:
            self.send_continue = True  # after the answers already owed, to keep the order
        elif self.transport is not None:
            self.transport.write(CONTINUE)

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
        self.body.clear()  # a body half read is not wanted any more
        budget.ANSWER_BYTES.give(self.body_held)
        self.body_held = 0
        self.send_continue = False
        self.backlog = b""
        self.deadline = None
        self.update_reading()
        if not self.handling and not self.queue:
            write_refusal(self)  # nothing is owed before it

    # -- flow control ----------------------------------------------------------------------

    def blocked(self) -> bool:
        return self.write_paused or len(self.queue) + self.handling >= MAX_PENDING

    def update_reading(self) -> None:
        transport = self.transport
        if transport is None or self.closed or transport.is_closing():
            return
        pause = not self.lingering and (self.input_done or bool(self.backlog) or self.blocked())
        if pause is self.read_paused:
            return
        self.read_paused = pause
        if pause:
            transport.pause_reading()
        else:
            transport.resume_reading()

    # -- answering -------------------------------------------------------------------------

    def _wake(self) -> None:
        wakeup = self.wakeup
        if wakeup is not None:
            self.wakeup = None
            if not wakeup.done():
                wakeup.set_result(None)

    # -- shutdown --------------------------------------------------------------------------

    def stop(self) -> None:
        """Close now if nothing is being asked or answered; otherwise the next answer closes."""
        if self.closed or self.transport is None:
            return
        if not self.handling and not self.queue and (not self.receiving or self.lingering):
            self.close_gracefully()

    def abort(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.abort()

    def close_gracefully(self) -> None:
        """Close once what is written has been sent, but only as long as the client reads it:
        a client that reads nothing would keep a closing connection, and its buffer, forever."""
        transport = self.transport
        if transport is None or self.closed:
            return
        self.server.registry.idle.pop(self, None)
        transport.close()
        if transport.get_write_buffer_size():
            watch_sending(self)


def _malformed(exc: httptools.HttpParserError) -> str:
    """A short message for the client: llhttp's reason is a fixed English phrase."""
    reason = str(exc.args[0]) if exc.args else ""
    if reason and len(reason) <= 80 and reason.isascii() and reason.isprintable():
        return f"Malformed HTTP request: {reason}."
    return "Malformed HTTP request."
