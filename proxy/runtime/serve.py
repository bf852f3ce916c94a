"""The listening side of ``dialect serve`` and ``dialect demo``.

``proxy.http.server`` parses requests and writes answers; every request is handed to the
generation currently serving (``proxy.runtime.generation.Live``), and every refusal the server
makes itself (malformed HTTP, limits) is rendered by that generation in the client's style. Signals:
SIGTERM/SIGINT stop gracefully, SIGHUP reloads the config.
"""

from __future__ import annotations

import asyncio
import gc
import resource
import signal
from typing import Any

from proxy.engine.errors import ConfigError
from proxy.http.server import HTTPServer, server_tls_context
from proxy.ops.logs import configure, get_logger, set_secrets
from proxy.runtime import build_info
from proxy.runtime.generation import Live
from proxy.settings.loader import Config, load_config


async def serve(
    config: Config,
    *,
    host: str,
    port: int,
    config_path: str | None,
    reuse_port: bool = False,
    shutdown_timeout: float = 30.0,
    on_ready: Any = None,
) -> None:
    """Serve until SIGTERM or SIGINT; then stop accepting, let in-flight requests finish (up
    to ``shutdown_timeout``) and close the upstream pools. SIGHUP reloads ``config_path``."""
    server_settings = config.model.server
    configure(server_settings.log_format, server_settings.log_level, buffered=True)
    set_secrets(config.secrets)
    log = get_logger()
    if build_info.STALE:
        log.warning(
            "compiled build is stale; serving from source", reason=build_info.STALE_REASON[0]
        )
    soft_before, soft, hard = raise_descriptor_limit()
    live = Live(config, configure_logging=True)
    await live.start()
    loop = asyncio.get_running_loop()
    server = HTTPServer(live.serve, reject=live.reject, limits=server_settings.limits)
    log.info(
        "descriptor limit",
        soft_at_start=_count(soft_before),
        soft=_count(soft),
        hard=_count(hard),
        max_connections=server.max_connections,
    )
    tls = server_settings.tls
    ssl_context = server_tls_context(tls.cert_file, tls.key_file) if tls is not None else None
    stop = asyncio.Event()
    pending: set[asyncio.Task[None]] = set()

    async def reload() -> None:
        assert config_path is not None
        try:
            fresh = load_config(config_path)
        except ConfigError as exc:
            log.error(
                "reload refused; the previous config keeps serving",
                config=config_path,
                problems=[f"{loc}: {msg}" for loc, msg in exc.problems],
            )
            return
        try:
            await live.reload(fresh)
        except OSError as exc:  # a certificate or key that does not load (ssl.SSLError too)
            log.error(
                "reload refused; the previous config keeps serving",
                config=config_path,
                problems=[f"upstreams: tls: {exc.__class__.__name__}"],
            )
            return
        log.info("config reloaded", config=config_path, routes=len(fresh.router.routes))

    def on_hup() -> None:
        task = loop.create_task(reload())
        pending.add(task)
        task.add_done_callback(pending.discard)

    # Everything loaded so far (modules, the config, phone-number metadata) lives as long as
    # the process: moved out of the collector's generations, a full collection no longer walks
    # it while requests wait.
    gc.collect()
    gc.freeze()
    # A request allocates a few hundred containers and frees nearly all of them by reference
    # counting; the default threshold (700) ran a young-generation collection every few
    # requests for the few cycles there are. Ten thousand still collects them within
    # milliseconds under load.
    gc.set_threshold(10_000, 10, 10)
    try:
        # Handlers before the socket: a SIGTERM that arrives once requests can come in always
        # takes the graceful path.
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if config_path is not None:
            loop.add_signal_handler(signal.SIGHUP, on_hup)
        addresses = await server.start(host, port, reuse_port=reuse_port, ssl_context=ssl_context)
        if on_ready is not None:
            on_ready(addresses)
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        live.stopping()  # an inspector page's waiting poll is answered, not waited for
        await server.shutdown(shutdown_timeout)
        await asyncio.gather(*pending, return_exceptions=True)
        await live.close()


def raise_descriptor_limit() -> tuple[int, int, int]:
    """Raise the soft RLIMIT_NOFILE to the hard one: (soft before, soft now, hard).

    Every client and upstream connection is a descriptor, and the usual soft limit (1,024) is
    a leftover of select(): a few hundred idle keep-alive connections were enough to leave new
    clients unanswered. The hard limit is what the administrator allows (systemd's
    ``LimitNOFILE``, a container runtime's ``nofile``); raising the soft one up to it needs no
    privilege. ``max_connections`` is derived from the result (proxy.http.server).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    before = soft
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):  # a platform that caps it lower (macOS: OPEN_MAX)
            pass
    return before, soft, hard


def _count(limit: int) -> int | str:
    return "unlimited" if limit == resource.RLIM_INFINITY else limit
