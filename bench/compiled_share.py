"""Which modules a translated request spends its interpreted CPU in: does each compiled module
earn its build time?

mypyc speeds up the Python a module runs; a module a request barely passes through gains
nothing from compiling and still costs every ``make install`` its share of the build (and
binds its code to mypyc's rules). This runs the Twilio-over-Plivo façade **as pure Python**
(``DIALECT_PURE=1``, whatever is installed), in this process, under ``cProfile`` on CPU
time, sends a bounded number of
translated fetches and Twilio list pages (20 records each) one at a time over keep-alive (a
warm-up first, unprofiled), and prints each ``proxy`` module's share of the server's own CPU (the time
spent in that module's functions, not in what they call), marking the modules setup.py
compiles. The upstream is ``bench/slow_origin.py`` with no delay, in its own process.

    .venv/bin/python bench/compiled_share.py [--requests N]

Read it as a ranking, not a measurement: the profiler's own overhead inflates small functions.
A compiled module near the bottom is a candidate to leave interpreted; an interpreted one near
the top, a candidate to compile.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import cProfile
import http.client
import os
import pstats
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.run import AUTH_ID, SID, TOKEN_P, TOKEN_T, UUID, free_port, wait_port

ROOT = Path(__file__).resolve().parents[1]


def compiled_set() -> set[str]:
    """The modules setup.py compiles, as dotted names."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "COMPILED":
            paths = ast.literal_eval(node.value)
            return {str(p).removesuffix(".py").replace("/", ".") for p in paths}
    raise SystemExit("setup.py has no COMPILED list")


def module_of(filename: str) -> str:
    """``proxy.engine.intake`` for a file of the package, else what kind of code it is."""
    if filename == "~":
        return "(built-in functions: C code the Python calls)"
    if filename.startswith("<"):
        return "(generated record pipelines)" if "pipeline" in filename else "(other)"
    try:
        relative = Path(filename).resolve().relative_to(ROOT / "proxy")
    except ValueError:
        return "(libraries and the standard library)"
    return ".".join(("proxy", *relative.with_suffix("").parts))


def drive(port: int, requests: int, auth: str) -> int:
    """Alternating fetches and list pages, one at a time; the number answered 200."""
    fetch = f"/2010-04-01/Accounts/{SID}/Messages/SM{UUID.replace('-', '')}.json"
    page = f"/2010-04-01/Accounts/{SID}/Messages.json?PageSize=20"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    ok = 0
    try:
        for i in range(requests):
            conn.request("GET", page if i % 4 == 3 else fetch, headers={"Authorization": auth})
            response = conn.getresponse()
            response.read()
            ok += response.status == 200
    finally:
        conn.close()
    return ok


async def serve_and_drive(port: int, requests: int, profiler: cProfile.Profile) -> int:
    """Dialect's server and generation, as ``dialect serve`` runs them, in this thread; the
    client in another, so that only the server's side is profiled, and only while serving."""
    os.environ["DIALECT_PURE"] = "1"  # before ``import proxy``: every module from its source
    from proxy.http.server import HTTPServer
    from proxy.ops.logs import set_secrets
    from proxy.runtime import build_info
    from proxy.runtime.generation import Live
    from proxy.settings.loader import load_config

    if build_info.compiled_modules():
        raise SystemExit("compiled modules are in use: the profile would not see inside them")
    config = load_config(ROOT / "config" / "twilio-over-plivo.yaml")
    set_secrets(config.secrets)
    live = Live(config, configure_logging=False)
    await live.start()
    server = HTTPServer(live.serve, reject=live.reject, limits=config.model.server.limits)
    await server.start("127.0.0.1", port)
    auth = "Basic " + __import__("base64").b64encode(f"{SID}:{TOKEN_T}".encode()).decode()
    # A warm-up, unprofiled: first-use costs are not per-request costs.
    await asyncio.to_thread(drive, port, 50, auth)
    profiler.enable()
    try:
        return await asyncio.to_thread(drive, port, requests, auth)
    finally:
        profiler.disable()
        await server.shutdown(0)
        await live.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--top", type=int, default=30, help="rows printed")
    args = parser.parse_args()
    origin, port = free_port(), free_port()
    os.environ.update(
        {
            "TWILIO_ACCOUNT_SID": SID,
            "TWILIO_AUTH_TOKEN": TOKEN_T,
            "PLIVO_AUTH_ID": AUTH_ID,
            "PLIVO_AUTH_TOKEN": TOKEN_P,
            "PLIVO_API_URL": f"http://127.0.0.1:{origin}",
            "DIALECT_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "DIALECT_CALLBACK_SECRET": "bench-callback-secret",
        }
    )
    upstream = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "slow_origin.py"), str(origin), "0"], cwd=ROOT
    )
    # CPU time, not wall time: a wait for the client costs the server nothing.
    profiler = cProfile.Profile(time.process_time)
    try:
        wait_port(origin)
        started = time.monotonic()
        ok = asyncio.run(serve_and_drive(port, args.requests, profiler))
        took = time.monotonic() - started
    finally:
        upstream.terminate()
        upstream.wait(timeout=10)
    if ok != args.requests:
        print(f"only {ok} of {args.requests} requests answered 200: the figures are not valid")
        return 1
    report(pstats.Stats(profiler), ok, took, args.top)
    return 0


def report(stats: pstats.Stats, ok: int, took: float, top: int) -> None:
    by_module: dict[str, float] = {}
    raw = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        module = module_of(filename)
        by_module[module] = by_module.get(module, 0.0) + tottime
    total = sum(by_module.values())
    compiled = compiled_set()
    print(f"{ok} requests in {took:.1f} s, pure Python under cProfile; server CPU {total:.2f} s")
    print(f"{'module':52} {'share':>7} {'µs/req':>8}  compiled")
    shown = sorted(by_module.items(), key=lambda kv: -kv[1])
    listed = {m for m, _ in shown[:top]}
    rows = shown[:top] + [(m, by_module[m]) for m in sorted((compiled & set(by_module)) - listed)]
    for module, seconds in rows:
        mark = "yes" if module in compiled else ""
        print(f"{module:52} {seconds / total:7.1%} {seconds / ok * 1e6:8.1f}  {mark}")
    for module in sorted(compiled - set(by_module)):
        print(f"{module:52} {'—':>7} {'—':>8}  yes (not on this path)")


if __name__ == "__main__":
    raise SystemExit(main())
