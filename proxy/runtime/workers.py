"""``dialect serve --workers N``: N processes sharing one port, under one supervisor.

Each worker is a whole ``dialect serve`` bound with ``SO_REUSEPORT``, so the kernel spreads
connections across cores with no proxying between processes. The supervisor forwards SIGTERM
and SIGINT (graceful stop) and SIGHUP (reload) to every worker, replaces a worker that dies
unexpectedly (at most once a second), and exits 0 once all workers stopped cleanly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType

from proxy.ops.logs import get_logger
from proxy.settings.loader import Config


def cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def resolve(setting: int | str, config: Config) -> tuple[int, str | None]:
    """How many workers ``setting`` means for this config, and why when it is fewer than asked.

    ``auto`` is one per core, unless idempotent routes keep their outcomes in the memory store:
    a retry landing on another worker would then be sent upstream a second time (and a route
    that resolves ids would miss the aliases another worker's callbacks recorded); or unless
    the inspector is on: its page would see one worker's exchanges only.
    """
    if setting != "auto":
        return int(setting), None
    wanted = cores()
    idempotent = [
        r.name
        for r in config.router.routes
        if r.settings.idempotency is not None or r.settings.resolve is not None
    ]
    if wanted > 1 and idempotent and config.model.store.backend == "memory":
        return 1, (
            f"one worker, not {wanted}: {', '.join(idempotent)} keep idempotent outcomes or "
            "id aliases in the memory store, which workers do not share (store: {backend: "
            "redis} lifts this)"
        )
    if wanted > 1 and config.model.server.inspector.enabled:
        return 1, f"one worker, not {wanted}: the inspector shows one process's exchanges"
    return wanted, None


def _spawn(config: str, host: str, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "proxy",
            "serve",
            "--config",
            config,
            "--host",
            host,
            "--port",
            str(port),
            "--workers",
            "1",
            "--reuse-port",
        ]
    )


def supervise(config: str, host: str, port: int, workers: int) -> int:
    log = get_logger()
    procs = [_spawn(config, host, port) for _ in range(workers)]
    log.info("workers started", workers=workers, pids=[p.pid for p in procs], port=port)
    stopping = False

    def forward(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        if signum in (signal.SIGTERM, signal.SIGINT):
            stopping = True
            signum = signal.SIGTERM
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    last_restart = 0.0
    while True:
        for i, proc in enumerate(procs):
            code = proc.poll()
            if code is None or stopping:
                continue
            log.error("worker died; starting another", pid=proc.pid, exit_code=code)
            time.sleep(max(0.0, 1.0 - (time.monotonic() - last_restart)))
            last_restart = time.monotonic()
            procs[i] = _spawn(config, host, port)
        if stopping and all(p.poll() is not None for p in procs):
            break
        time.sleep(0.1)
    codes = [p.returncode for p in procs]
    log.info("workers stopped", exit_codes=codes)
    # A worker that was still starting when SIGTERM came ends by the signal itself: it had not
    # begun listening (a worker installs its handlers before it binds), so nothing was lost.
    return 0 if all(c in (0, -signal.SIGTERM) for c in codes) else 1
