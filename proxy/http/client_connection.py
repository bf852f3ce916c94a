"""One upstream connection and the answer it reads: the response side of the client.

Why a module of its own: reading an answer is where the client must be strict, and that is
easier to check in one place. A connection is an ``asyncio.Protocol`` and httptools' callback
target at once. It frames the answer (Content-Length, chunked, until the end of the
connection, none for HEAD or a 204/304), bounds the headers and the body, inflates gzip or
deflate, takes the body's bytes from the process-wide ``budget.ANSWER_BYTES`` before keeping
them, and marks itself unusable as soon as the stream is out of step (a byte nobody asked for,
a second answer). The pool that owns it (:mod:`proxy.http.client`) decides what is sent, on
which connection, and whether a failed exchange may be tried again.

The errors and :class:`Response` are defined here, where they are raised and made; callers
import them from :mod:`proxy.http.client`, which re-exports them.

Why the cut is here: everything one answer costs (the parser's callbacks, the budget, the
decoding) is methods of this one class, so the pool calls in once per request (``exchange``)
and hears back once per connection (``Pool._forget`` when it closes).
"""

from __future__ import annotations

import asyncio
import zlib
from typing import TYPE_CHECKING

import httptools
from multidict import CIMultiDict, CIMultiDictProxy

from proxy.http import budget

if TYPE_CHECKING:
    from proxy.http.client import Pool

MAX_HEADER_BYTES = 64 * 1024
MAX_HEADERS = 200


class HTTPClientError(Exception):
    """Every failure of an exchange; the subclasses say which kind."""


class ConnectFailed(HTTPClientError):
    """No connection could be made (refused, unreachable, DNS): nothing was sent."""


class ConnectTimeout(HTTPClientError):
    """The connection was not established in time: nothing was sent."""


class ResponseTimeout(HTTPClientError):
    """The whole answer did not arrive before the deadline."""


class Disconnected(HTTPClientError):
    """The server closed the connection without a byte of an answer."""


class IncompleteBody(HTTPClientError):
    """The connection ended inside the answer (a truncated body, a reset)."""


class MalformedResponse(HTTPClientError):
    """Not HTTP/1.x as the parser knows it, or headers beyond the limits."""


class BodyTooLarge(HTTPClientError):
    """The body (declared or received, after decompression) exceeds the limit."""


class Overloaded(HTTPClientError):
    """The process already holds its budget of answer bytes: this body was not read."""


class Response:
    # A plain class, not a dataclass: compiled, a dataclass's generated __init__ stays
    # interpreted Python, and one is made per exchange.
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: CIMultiDictProxy[str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class ClientConnection(asyncio.Protocol):
    """One TCP (or TLS) connection and the answer it is reading."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.counted = True  # still counted against the pool's limit
        self.idle_since = 0.0
        self.waiter: asyncio.Future[Response] | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.reserved = 0  # bytes of budget.ANSWER_BYTES taken for the body being read
        self._reset(0, False)

    def _reset(self, max_body: int, head: bool) -> None:
        self.max_body = max_body
        self.head = head
        self.raw_headers: list[tuple[str, str]] = []
        self.header_bytes = 0
        self.chunks: list[bytes] = []
        self.size = 0
        self.received = False
        self.headers_done = False
        self.until_eof = False
        self.done = False
        self.reusable = True
        self.error: HTTPClientError | None = None

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            # Bytes nobody asked for (after a complete answer, or on an idle connection):
            # the stream is out of step, so the connection cannot be trusted again.
            self.reusable = False
            self.abort()
            return
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(MalformedResponse("the upstream switched protocols"))
        except httptools.HttpParserError as exc:
            self._fail(self.error or MalformedResponse(f"malformed HTTP: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            if self.headers_done and self.until_eof and exc is None:
                self._finish()  # a body delimited by the end of the connection
            elif not self.received:
                self._fail(Disconnected("the upstream closed the connection before answering"))
            else:
                self._fail(IncompleteBody("the connection ended inside the answer"))
        self.pool._forget(self)

    # -- httptools callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.done:  # a second answer to one request: out of step
            self.reusable = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_bytes += len(name) + len(value)
        if self.header_bytes > MAX_HEADER_BYTES or len(self.raw_headers) >= MAX_HEADERS:
            self.error = MalformedResponse("the upstream's headers exceed the limits")
            raise self.error
        self.raw_headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            return  # an interim answer (100 Continue): the real one follows
        self.headers_done = True
        if self.head:
            # The answer to HEAD ends here (RFC 9110 §9.3.2); llhttp cannot be told so, so the
            # parser is replaced after the exchange and any byte it still reports is stray.
            if not self.parser.should_keep_alive():
                self.reusable = False
            self._finish()
            return
        length = chunked = None
        for key, value in self.raw_headers:
            low = key.lower()
            if low == "content-length":
                length = value
            elif low == "transfer-encoding":
                chunked = value
        if length is not None and length.strip().isdigit():
            declared = int(length)
            if declared > self.max_body:
                self.error = BodyTooLarge(f"Content-Length {length.strip()} > {self.max_body}")
                raise self.error
            self._reserve(declared)
        self.until_eof = length is None and chunked is None and status not in (204, 304)

    def on_body(self, body: bytes) -> None:
        if self.head:
            self.reusable = False  # bytes after the answer to a HEAD: out of step
            return
        size = self.size = self.size + len(body)
        if size > self.max_body:
            self.error = BodyTooLarge(f"body over {self.max_body} bytes")
            raise self.error
        if size > self.reserved:
            # A body of unknown length (chunked, or until the end): reserved as it arrives.
            self._reserve(max(size - self.reserved, budget.SMALL))
        self.chunks.append(body)

    def _reserve(self, amount: int) -> None:
        total = self.reserved + amount
        if not budget.ANSWER_BYTES.take(amount, small=total <= budget.SMALL):
            self.error = Overloaded(f"{total} bytes would exceed max_buffered_bytes")
            raise self.error
        self.reserved = total

    def release(self) -> None:
        budget.ANSWER_BYTES.give(self.reserved)
        self.reserved = 0

    def on_message_complete(self) -> None:
        if not self.headers_done:  # the end of an interim answer
            self.raw_headers, self.header_bytes = [], 0
            return
        if self.done:
            return
        if not self.parser.should_keep_alive():
            self.reusable = False
        self._finish()

    # -- the exchange ----------------------------------------------------------------------

    def _finish(self) -> None:
        self.done = True
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        headers = CIMultiDict(self.raw_headers)
        body = b"".join(self.chunks)
        try:
            body = _decoded(body, headers.get("Content-Encoding"), self.max_body)
        except HTTPClientError as exc:
            waiter.set_exception(exc)
            return
        waiter.set_result(Response(self.parser.get_status_code(), CIMultiDictProxy(headers), body))

    def _fail(self, exc: HTTPClientError) -> None:
        self.reusable = False
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.abort()

    def _expire(self) -> None:
        self._fail(ResponseTimeout("no complete answer before the deadline"))

    def abort(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()

    async def exchange(
        self, data: bytes, max_body: int, deadline: float, head: bool = False
    ) -> Response:
        loop = self.pool.loop
        self._reset(max_body, head)
        waiter: asyncio.Future[Response] = loop.create_future()
        self.waiter = waiter
        assert self.transport is not None
        self.transport.write(data)
        timer = loop.call_at(deadline, self._expire)
        try:
            return await waiter
        finally:
            timer.cancel()
            self.waiter = None
            self.release()
            if head:
                self.parser = httptools.HttpResponseParser(self)


def _decoded(body: bytes, encoding: str | None, limit: int) -> bytes:
    if not encoding or not body:
        return body
    name = encoding.strip().lower()
    if name in ("identity", ""):
        return body
    candidates: tuple[int, ...]
    if name in ("gzip", "x-gzip"):
        candidates = (16 + zlib.MAX_WBITS,)
    elif name == "deflate":
        # "deflate" is zlib-wrapped by the RFC, raw in some servers: accept both.
        candidates = (zlib.MAX_WBITS, -zlib.MAX_WBITS)
    else:
        raise MalformedResponse(f"unsupported Content-Encoding {encoding!r}")
    for wbits in candidates:
        inflater = zlib.decompressobj(wbits)
        try:
            out = inflater.decompress(body, limit + 1)
        except zlib.error:
            continue
        if len(out) > limit:
            raise BodyTooLarge(f"body over {limit} bytes once decompressed")
        if not inflater.eof:
            raise IncompleteBody(f"the {name} stream is truncated")
        return out
    raise MalformedResponse(f"the body is not valid {name}")
