"""The listening side: a small HTTP/1.1 server on asyncio and a C parser.

Why not ``aiohttp.web``: on the bench, aiohttp's server spent several times the CPU of a plain
``asyncio.Protocol`` parsing with httptools (llhttp, the parser Node.js uses) on a trivial
request, in what the proxy does not use: its request object, stream reader, payload machinery,
per-request tasks and timers. The proxy needs little of what aiohttp offers: bodies are read
whole and bounded, answers are written whole, and there are no websockets, no streaming, no
middlewares. Everything between the two ends works on :mod:`proxy.http.messages` only. The
figures, and what this server costs with all of the below, are in ``docs/performance.md``.

This module is the server object: the settings its connections share, ``start`` (listening,
optionally HTTPS: ``start(..., ssl_context=...)``, and requests then carry
``scheme="https"``) and ``shutdown``, which stops accepting at once and lets requests in
flight finish, within a bound. The rest, in the order a request meets it:

* :mod:`proxy.http.server_connection`: one connection, bytes in to requests queued;
* :mod:`proxy.http.server_answers`: the queue answered in order, refusals, the close;
* :mod:`proxy.http.server_limits`: max_connections, timeouts, slow readers, the answer budget;
* :mod:`proxy.http.tls`: the context for HTTPS (:func:`server_tls_context`, re-exported here).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from proxy.engine.errors import ProxyError
from proxy.http import budget
from proxy.http.messages import Request, Response
from proxy.http.server_connection import CONNECTION_TASK, ServerConnection
from proxy.http.server_limits import ConnectionRegistry, default_max_connections
from proxy.http.tls import server_tls_context
from proxy.ops.logs import get_logger
from proxy.settings.models import Limits

# What callers import from here (each defined in the module the docstring names).
__all__ = [
    "CONNECTION_TASK",
    "HTTPServer",
    "Handler",
    "Reject",
    "default_max_connections",
    "server_tls_context",
]

Handler = Callable[[Request], Awaitable[Response]]
# Renders a refusal the server itself makes (malformed request, limits) in the client's style.
# Gets the raw request target when it was read (else None) and the ProxyError.
Reject = Callable[[str | None, ProxyError], Response]

# Connections the kernel may hold before they are accepted (a burst of clients at once).
BACKLOG = 1024
# Seconds a TLS client has to complete its handshake: until it has, the connection is not
# counted against max_connections (asyncio reports it only once the handshake is done).
TLS_HANDSHAKE_SECONDS = 10.0


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
        max_connections = limits.max_connections or default_max_connections()
        budget.ANSWER_BYTES.limit = limits.max_buffered_bytes
        # See server_limits.arm: no deadline is ever set closer than this.
        self._timer_step = min(keepalive_timeout, request_timeout)
        self._log = get_logger()
        self._servers: list[asyncio.Server] = []
        self._addresses: list[tuple[str, int]] = []
        self.registry = ConnectionRegistry(max_connections, self._log)
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
            lambda: ServerConnection(self, loop, scheme),
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
    def max_connections(self) -> int:
        return self.registry.max_connections

    @property
    def connections(self) -> int:
        """Open client connections."""
        return len(self.registry.open)

    # The API (proxy.runtime.serve calls it) takes the bound as an argument, not as a scope.
    async def shutdown(self, timeout: float) -> None:  # noqa: ASYNC109
        """Stop accepting at once; close idle keep-alive connections; let requests in flight
        finish (at most `timeout` s) and answer them with Connection: close; then close all."""
        self._stopping = True
        for server in self._servers:
            server.close()
        for conn in list(self.registry.open):
            conn.stop()
        if self.registry.open or self._tasks:
            self._idle = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(max(timeout, 0.0)):
                    await self._idle
            except TimeoutError:
                pass
        for conn in list(self.registry.open):
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

    def _forget(self, conn: ServerConnection) -> None:
        self.registry.forget(conn)
        self._check_idle()

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._check_idle()

    def _check_idle(self) -> None:
        idle = self._idle
        if idle is not None and not idle.done() and not self.registry.open and not self._tasks:
            idle.set_result(None)


def _sockets(server: asyncio.AbstractServer) -> list[Any]:
    # The stubs say a tuple; uvloop hands a list. Compiled code checks what it is told.
    return list(getattr(server, "sockets", ()))
