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

This module is the pool: what a request is written as (target, headers, ``traceparent``),
which connection it goes on, and whether it may be sent again. Reading the answer on one
connection, and the errors an exchange raises, are :mod:`proxy.http.client_connection`; the
TLS context is :mod:`proxy.http.tls`. Callers import all of it from here.
"""

from __future__ import annotations

import asyncio
import base64
import re
import ssl
from collections import deque
from collections.abc import Iterable
from urllib.parse import quote, unquote, urlencode, urlsplit

from proxy.http.client_connection import (
    BodyTooLarge,
    ClientConnection,
    ConnectFailed,
    ConnectTimeout,
    Disconnected,
    HTTPClientError,
    IncompleteBody,
    MalformedResponse,
    Overloaded,
    Response,
    ResponseTimeout,
)
from proxy.http.tls import client_tls_context
from proxy.ops.tracecontext import CURRENT, CallObservation

# What callers import from here: the pool, what an exchange returns or raises, and the TLS
# context a pool connects with (each defined in the module named in the docstring).
__all__ = [
    "IDEMPOTENT",
    "BodyTooLarge",
    "ConnectFailed",
    "ConnectTimeout",
    "Disconnected",
    "HTTPClientError",
    "IncompleteBody",
    "MalformedResponse",
    "Overloaded",
    "Pool",
    "Response",
    "ResponseTimeout",
    "client_tls_context",
]

# Methods a client may repeat without changing anything (RFC 9110 §9.2.2): only these are sent
# again after a pooled connection turned out to be closed.
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
_SAFE_TARGET = re.compile(r"[A-Za-z0-9/._~!$&'()*+,;=:@%-]*")
_OWN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
# Inside a served request the request's own traceparent replaces any a caller passed on.
_OWN_AND_TRACE = _OWN_HEADERS | {"traceparent"}


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
        self._idle: list[ClientConnection] = []
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

    async def _acquire(self, deadline: float) -> tuple[ClientConnection, bool]:
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

    async def _connect(self, deadline: float) -> ClientConnection:
        loop = self.loop
        budget = min(self.connect_timeout, deadline - loop.time())
        try:
            async with asyncio.timeout(budget):
                _, conn = await loop.create_connection(
                    lambda: ClientConnection(self),
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

    def _release(self, conn: ClientConnection) -> None:
        conn.idle_since = self.loop.time()
        self._idle.append(conn)
        self._wake()

    def _discard(self, conn: ClientConnection) -> None:
        conn.abort()
        self._forget(conn)

    def _forget(self, conn: ClientConnection) -> None:
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
