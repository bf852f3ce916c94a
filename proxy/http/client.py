"""The upstream leg: a small HTTP/1.1 client with a keep-alive pool and a C parser.

Why not ``aiohttp.ClientSession``: on the bench, its request path (URL objects, request and
response objects, a stream reader, timer contexts, tracing hooks) cost more CPU per proxied
request than everything else Dialect does together (figures in ``docs/performance.md``). The
proxy needs little of it: one origin per pool, bodies read whole and bounded, no cookies, no
redirects. This client writes the request in one buffer and parses the answer with httptools
(llhttp, the parser Node.js uses, kept by the authors of uvloop).

What it must get right, each covered by ``tests/unit/test_http_client.py``: keep-alive reuse
and closing connections the server will not keep; Content-Length, chunked and close-delimited
bodies; gzip/deflate; a bounded body; connect and response timeouts; refused, reset and
truncated connections; a pool limit with waiters; and a request on a pooled connection the
server closed meanwhile, retried once on a new one only when repeating it is harmless.

HEAD is sent as HEAD: its answer ends with its headers, whatever Content-Length says. TLS
upstreams are verified against the system store or a private CA (:func:`client_tls_context`),
optionally with a client certificate and a server name other than the URL's host. Upstream
bodies count against the process-wide ``budget.ANSWER_BYTES`` while they arrive: one that
does not fit is refused (:class:`Overloaded`) before its body is read.
"""

from __future__ import annotations

import asyncio
import base64
import re
import ssl
import zlib
from collections import deque
from collections.abc import Iterable
from urllib.parse import quote, unquote, urlencode, urlsplit

import httptools
from multidict import CIMultiDict, CIMultiDictProxy

from proxy.http import budget
from proxy.ops.tracecontext import CURRENT, CallObservation

# Methods a client may repeat without changing anything (RFC 9110 §9.2.2): only these are sent
# again after a pooled connection turned out to be closed.
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
MAX_HEADER_BYTES = 64 * 1024
MAX_HEADERS = 200
_SAFE_TARGET = re.compile(r"[A-Za-z0-9/._~!$&'()*+,;=:@%-]*")
_OWN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
# Inside a served request the request's own traceparent replaces any a caller passed on.
_OWN_AND_TRACE = _OWN_HEADERS | {"traceparent"}


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


class _Connection(asyncio.Protocol):
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


class Pool:
    """Connections to one origin: reused while the server keeps them, at most ``limit`` open.

    ``idle_timeout`` drops connections that sat unused for longer, before the server's own
    keep-alive timer can close one under a request that may not be repeated (a POST).
    """

    def __init__(
        self,
        url: str,
        *,
        limit: int = 100,
        connect_timeout: float = 5.0,
        idle_timeout: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
        server_name: str | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.tls = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.tls else 80)
        default_port = self.port == (443 if self.tls else 80)
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.host_header = host if default_port else f"{host}:{self.port}"
        # What an observer shows before the target: ``http://host:port``.
        self.origin = f"{parts.scheme}://{self.host_header}"
        self.prefix = parts.path.rstrip("/")
        # Credentials in the URL (http://user:key@host) are sent as Basic auth, unless a
        # request carries its own Authorization.
        self.url_auth = (
            "Basic "
            + base64.b64encode(
                f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            ).decode()
            if parts.username
            else None
        )
        self.limit = limit
        self.connect_timeout = connect_timeout
        self.idle_timeout = idle_timeout
        self.ssl_context = ssl_context or (ssl.create_default_context() if self.tls else None)
        # The name sent (SNI) and verified in the certificate; the Host header keeps the URL's.
        self.server_name = server_name or self.host
        self._idle: list[_Connection] = []
        self._open = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    @property
    def open_connections(self) -> int:
        return self._open

    @property
    def idle_connections(self) -> int:
        return sum(1 for c in self._idle if not c.closed)

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: Iterable[tuple[str, str]] = (),
        raw_query: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes | None = None,
        budget: float = 30.0,
        max_body: int = 10 * 1024 * 1024,
    ) -> Response:
        """One exchange. Inside a served request (``tracecontext.CURRENT``) it carries the
        request's ``traceparent``, and a watched request's observer sees it go and return."""
        if self._closed:
            raise ConnectFailed("the pool is closed")
        target = self._target(path, query, raw_query)
        trace = CURRENT.get()
        call: CallObservation | None = None
        traceparent: str | None = None
        if trace is not None:
            traceparent = trace.header
            observer = trace.observer
            if observer is not None:
                call = observer.call(method, self.origin, target, traceparent)
                traceparent = call.traceparent
        data = b""
        try:
            data = self._encode(method, target, headers, body, traceparent)
            deadline = self.loop.time() + budget
            head = method == "HEAD"
            for attempt in (1, 2):
                conn, reused = await self._acquire(deadline)
                try:
                    response = await conn.exchange(data, max_body, deadline, head)
                except Disconnected:
                    self._discard(conn)
                    # A pooled connection the server had closed: nothing was answered, and for
                    # a request that may be repeated, a fresh connection is the fix.
                    if reused and attempt == 1 and method in IDEMPOTENT:
                        continue
                    raise
                except BaseException:
                    self._discard(conn)
                    raise
                if conn.reusable and not conn.closed and not self._closed:
                    self._release(conn)
                else:
                    self._discard(conn)
                break
            else:
                raise AssertionError("unreachable")  # pragma: no cover
        except BaseException as failure:
            if call is not None:
                call.ended(data, None, failure)
            raise
        if call is not None:
            call.ended(data, response, None)
        return response

    async def close(self) -> None:
        self._closed = True
        for conn in self._idle:
            conn.abort()
        self._idle.clear()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(ConnectFailed("the pool is closed"))

    # -- encoding --------------------------------------------------------------------------

    def _target(self, path: str, query: Iterable[tuple[str, str]], raw_query: str | None) -> str:
        path = self.prefix + path
        if not _SAFE_TARGET.fullmatch(path):
            path = quote(path, safe="/%:@!$&'()*+,;=-._~")
        pairs = urlencode(list(query)) if query else ""
        joined = "&".join(q for q in (pairs, raw_query) if q)
        return f"{path}?{joined}" if joined else path

    def _encode(
        self,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]],
        body: bytes | None,
        traceparent: str | None = None,
    ) -> bytes:
        lines = [f"{method} {target} HTTP/1.1\r\nHost: {self.host_header}\r\n"]
        has_encoding = has_auth = False
        own = _OWN_HEADERS if traceparent is None else _OWN_AND_TRACE
        for key, value in headers:
            low = key.lower()
            if low in own:
                continue  # this client writes those itself
            has_encoding = has_encoding or low == "accept-encoding"
            has_auth = has_auth or low == "authorization"
            lines.append(f"{key}: {value}\r\n")
        # One search over every header line: a CR, LF or NUL inside a name or value would
        # let a header smuggle another one (each line's own CRLF is its only line break).
        text = "".join(lines[1:])
        if (
            text.count("\r") != len(lines) - 1
            or text.count("\n") != len(lines) - 1
            or ("\0" in text)
        ):
            raise ValueError("a header has a line break or NUL")
        if not has_encoding:
            lines.append("Accept-Encoding: gzip, deflate\r\n")
        if not has_auth and self.url_auth:
            lines.append(f"Authorization: {self.url_auth}\r\n")
        if traceparent is not None:
            lines.append(f"traceparent: {traceparent}\r\n")
        if body is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body or b'')}\r\n")
        lines.append("\r\n")
        head = "".join(lines).encode("latin-1")
        return head + body if body else head

    # -- the pool --------------------------------------------------------------------------

    async def _acquire(self, deadline: float) -> tuple[_Connection, bool]:
        loop = self.loop
        while True:
            now = loop.time()
            while self._idle:
                conn = self._idle.pop()
                if conn.closed:
                    continue
                if now - conn.idle_since > self.idle_timeout:
                    self._discard(conn)
                    continue
                return conn, True
            if self._open < self.limit:
                self._open += 1
                try:
                    return await self._connect(deadline), False
                except BaseException:
                    self._open -= 1
                    self._wake()
                    raise
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            timer = loop.call_at(deadline, _expire_waiter, waiter)
            try:
                await waiter
            except BaseException:
                # A wake-up this waiter can no longer use goes to the next one.
                self._wake()
                raise
            finally:
                timer.cancel()
                # A waiter _wake() woke was taken off the queue already; searching the queue
                # for it cost a scan per wake-up (quadratic for a 1000-record page's burst).
                woken = waiter.done() and not waiter.cancelled() and waiter.exception() is None
                if not woken and waiter in self._waiters:
                    self._waiters.remove(waiter)

    async def _connect(self, deadline: float) -> _Connection:
        loop = self.loop
        budget = min(self.connect_timeout, deadline - loop.time())
        try:
            async with asyncio.timeout(budget):
                _, conn = await loop.create_connection(
                    lambda: _Connection(self),
                    self.host,
                    self.port,
                    ssl=self.ssl_context,
                    server_hostname=self.server_name if self.tls else None,
                )
        except TimeoutError:
            raise ConnectTimeout(f"no connection within {budget:.3g} s") from None
        except (OSError, ssl.SSLError) as exc:
            raise ConnectFailed(_connect_failure(exc)) from None
        if conn.closed:
            raise Disconnected("the connection closed as it opened")
        return conn

    async def probe(self, within: float) -> None:
        """Open a connection as a request would (TLS handshake and certificate check
        included) and close it; raises ConnectFailed or ConnectTimeout saying why not."""
        loop = self.loop
        try:
            async with asyncio.timeout(within):
                transport, _ = await loop.create_connection(
                    asyncio.Protocol,
                    self.host,
                    self.port,
                    ssl=self.ssl_context,
                    server_hostname=self.server_name if self.tls else None,
                )
        except TimeoutError:
            raise ConnectTimeout(f"no connection within {within:.3g} s") from None
        except (OSError, ssl.SSLError) as failure:
            raise ConnectFailed(_connect_failure(failure)) from None
        transport.close()

    def _release(self, conn: _Connection) -> None:
        conn.idle_since = self.loop.time()
        self._idle.append(conn)
        self._wake()

    def _discard(self, conn: _Connection) -> None:
        conn.abort()
        self._forget(conn)

    def _forget(self, conn: _Connection) -> None:
        if conn.counted:
            conn.counted = False
            self._open -= 1
            self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


def client_tls_context(
    ca_file: str | None = None, cert_file: str | None = None, key_file: str | None = None
) -> ssl.SSLContext:
    """Verification against ``ca_file`` only when given (a private CA), else the system
    store; with ``cert_file`` (and ``key_file``), a client certificate for mTLS upstreams."""
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert_file is not None:
        context.load_cert_chain(cert_file, key_file)
    return context


def _connect_failure(exc: BaseException) -> str:
    """Why a connection failed, for the log: the class, and OpenSSL's reason for TLS."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not accepted: {exc.verify_message or exc.reason}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed: {exc.reason or exc.__class__.__name__}"
    return exc.__class__.__name__


def _expire_waiter(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(ResponseTimeout("no free connection before the deadline"))


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
