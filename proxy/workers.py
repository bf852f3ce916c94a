"""``dialect serve --workers N``: N processes sharing one port, under one supervisor.

Each worker is a whole ``dialect serve`` bound with ``SO_REUSEPORT``, so the kernel spreads
connections across cores with no proxying between processes. The supervisor forwards SIGTERM
and SIGINT (graceful stop) and SIGHUP (reload) to every worker, replaces a worker that dies
unexpectedly (at most once a second), and exits 0 once all workers stopped cleanly.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from types import FrameType

from proxy.logs import get_logger


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
    return 0 if all(c == 0 for c in codes) else 1
