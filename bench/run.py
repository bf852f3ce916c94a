"""``make bench``: what a translating proxy costs, measured against the alternatives.

Everything runs on loopback. The upstream is nginx serving a fixed Plivo message (and list
pages of distinct records by offset, and a send acknowledgement); each case's server is pinned
to core 0 and wrk to core 1
where ``taskset`` exists. Cases are interleaved in rounds so that slow drifts of the machine
hit them all alike; a run during which CPU steal exceeded the threshold (read from
``/proc/stat``) is discarded and repeated. Every load loop is bounded in time by wrk's
``-d`` and the whole run by ``--budget``.

Printed per case: requests/s, p50 and p99 latency, CPU microseconds per request of the server
process(es), their peak RSS, and the ratio of requests/s to the plain aiohttp pass-through and
to nginx ``proxy_pass``. Then two lines: the memory soak (the translated fetch under load,
resident memory after a warm-up against the end), and the latency line: a fetch and a Twilio
page of 1000, one request at a time, through a Dialect in front of ``bench/slow_origin.py``,
an upstream that answers after ``--delay-ms`` as a real provider's round trip does, which
shows whether the page's 50 Plivo requests cost one round trip or fifty.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AUTH_ID, TOKEN_P = "MABENCHAUTHID0000001", "bench-plivo-token"
SID, TOKEN_T = "AC" + "be" * 16, "bench-twilio-token"
UUID = "0936ec98-7c4c-11e7-9891-06ad4ba32f2b"
MESSAGE = (
    '{"api_id":"97a6b3e5-7c4c-11e7-9891-06ad4ba32f2b","error_code":"000","from_number":"18552828641",'
    '"message_direction":"outbound","message_state":"delivered","message_time":"2017-05-22 21:36:14+05:30",'
    '"message_type":"sms","message_uuid":"'
    + UUID
    + '","resource_uri":"/v1/Account/'
    + AUTH_ID
    + "/Message/"
    + UUID
    + '/","to_number":"911231231230","total_amount":"0.00250",'
    '"total_rate":"0.00250","units":1,"message_sent_time":"2017-05-22 21:36:15+05:30",'
    '"message_updated_time":"2017-05-22 21:36:20+05:30","error_message":""}'
)


BASE_TIME = datetime(2017, 5, 22, 16, 6, 14, tzinfo=UTC)
IST = timezone(timedelta(hours=5, minutes=30))


def _plivo_time(t: datetime, fraction: bool) -> str:
    """Plivo's ``2017-05-22 21:36:14+05:30``; sent and updated times carry a fraction of up to
    six digits (``2024-08-21 18:28:51.94772+05:30``)."""
    local = t.astimezone(IST)
    text = local.isoformat(" ", "seconds")
    if fraction and local.microsecond:
        digits = f"{local.microsecond:06d}".rstrip("0")
        text = f"{text[:19]}.{digits}{text[19:]}"
    return text


def _mdr(i: int) -> str:
    """The ``i``-th newest message of the account: its own UUID and times (seven seconds
    apart, as a list sorted by time gives them), so that nothing per record repeats that a
    real page would not repeat."""
    uuid = f"{i:08x}-7c4c-11e7-9891-06ad4ba32f2b"
    sent = BASE_TIME - timedelta(seconds=7 * i)
    return (
        MESSAGE.replace(UUID, uuid)
        .replace("2017-05-22 21:36:14+05:30", _plivo_time(sent - timedelta(seconds=1), False))
        .replace(
            "2017-05-22 21:36:15+05:30",
            _plivo_time(sent + timedelta(microseconds=(i * 7919) % 10**6), True),
        )
        .replace(
            "2017-05-22 21:36:20+05:30",
            _plivo_time(sent + timedelta(seconds=5, microseconds=(i * 104729) % 10**6), True),
        )
    )


PAGES = 50  # a Twilio page of 1000 is 50 Plivo pages of 20


def list_page(offset: int) -> str:
    """The Plivo list page at ``offset`` (20 records, Plivo's largest), with its next page:
    what a Twilio page of 50 (3 upstream requests) or of 1000 (50) is assembled from. Each
    offset has its own file, so the 50 pages of a Twilio page of 1000 are 1000 records."""
    return (
        '{"api_id":"97a6b3e5-7c4c-11e7-9891-06ad4ba32f2b","meta":{"limit":20,"next":"/v1/Account/'
        + AUTH_ID
        + f'/Message/?limit=20&offset={offset + 20}","offset":{offset},"previous":null,'
        '"total_count":100000},"objects":['
        + ",".join(_mdr(i) for i in range(offset, offset + 20))
        + "]}"
    )


SEND_ACK = (
    '{"api_id":"97a6b3e5-7c4c-11e7-9891-06ad4ba32f2b","message":"message(s) queued",'
    '"message_uuid":["' + UUID + '"]}'
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def steal_jiffies() -> tuple[int, int]:
    fields = open("/proc/stat").readline().split()[1:]
    values = [int(v) for v in fields]
    return values[7] if len(values) > 7 else 0, sum(values)


def cpu_jiffies(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            parts = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            total += int(parts[11]) + int(parts[12])  # utime + stime
        except OSError:
            pass
    return total


def peak_rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in open(f"/proc/{pid}/status"):
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def children(pid: int) -> list[int]:
    out = [pid]
    try:
        for child in open(f"/proc/{pid}/task/{pid}/children").read().split():
            out += children(int(child))
    except OSError:
        pass
    return out


@dataclass
class Case:
    name: str
    port: int
    path: str
    method: str = "GET"
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    # A body per request with a counter in it (creates must differ, or they are replayed).
    numbered_body: str = ""
    connections: int | None = None
    proc: subprocess.Popen[bytes] | None = None
    pids: list[int] = field(default_factory=list)
    runs: list[dict[str, float]] = field(default_factory=list)


def pin(core: int) -> list[str]:
    cores = os.cpu_count() or 1
    return ["taskset", "-c", str(core)] if shutil.which("taskset") and cores >= 2 else []


def wrk(case: Case, seconds: int, connections: int, workdir: Path) -> dict[str, float]:
    script = workdir / f"{case.name.replace(' ', '_')}.lua"
    lines = [f'wrk.method = "{case.method}"']
    if case.body:
        lines.append(f'wrk.body = "{case.body}"')
    for k, v in case.headers.items():
        lines.append(f'wrk.headers["{k}"] = "{v}"')
    if case.numbered_body:
        template = case.numbered_body.replace("%", "%%").replace("{n}", "%d")
        lines.append(
            "counter = 0\n"
            "request = function()\n"
            "  counter = counter + 1\n"
            f'  return wrk.format(nil, nil, nil, string.format("{template}", counter))\n'
            "end"
        )
    connections = case.connections or connections
    lines.append("""done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.timeout))
end""")
    script.write_text("\n".join(lines))
    cpu0, (steal0, total0) = cpu_jiffies(case.pids), steal_jiffies()
    out = subprocess.run(
        [
            *pin(1),
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "-s",
            str(script),
            f"http://127.0.0.1:{case.port}{case.path}",
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
    ).stdout
    cpu1, (steal1, total1) = cpu_jiffies(case.pids), steal_jiffies()
    m = re.search(r"RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)", out)
    if not m:
        raise RuntimeError(f"wrk gave no result for {case.name}: {out[-500:]}")
    requests, duration_us, p50, p99, status, connect, read, timeout = (int(x) for x in m.groups())
    hz = os.sysconf("SC_CLK_TCK")
    return {
        "rps": requests / (duration_us / 1e6),
        "p50_ms": p50 / 1000,
        "p99_ms": p99 / 1000,
        "cpu_us": (cpu1 - cpu0) / hz * 1e6 / max(requests, 1),
        "steal": (steal1 - steal0) / max(total1 - total0, 1),
        # wrk's kinds: non-2xx answers, failed connects and reads, and answers slower than
        # its 2 s timeout (a load the server queues, not a failure it answers).
        "status_errors": status,
        "socket_errors": connect + read,
        "timeouts": timeout,
    }


def status_callback_case(
    env: dict[str, str], port: int, origin: int, proc: subprocess.Popen[bytes]
) -> Case:
    """A Plivo delivery report to a Twilio app: token opened, V2 signature verified, parameters
    translated, re-signed for the app, relayed (nginx stands for the app), 204 to the carrier."""
    from proxy.callbacks import signatures
    from proxy.settings import load_config

    config = load_config(ROOT / "config" / "twilio-over-plivo.yaml", env=env)
    assert config.callbacks is not None
    app = f"http://127.0.0.1:{origin}/app/sms/status"
    url = config.callbacks.issuer.issue("message-status", app, "POST", SID)
    nonce = "12345678901234567890"
    form = (
        f"MessageUUID={UUID}&Status=delivered&From=14155550100&To=14155550199&Units=1"
        "&TotalRate=0.0035&TotalAmount=0.0035&MCC=310&MNC=260&ErrorCode="
    )
    return Case(
        "Dialect status callback (verified, translated, relayed)",
        port,
        url.removeprefix(env["DIALECT_PUBLIC_URL"]),
        method="POST",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            signatures.PLIVO_V2: signatures.plivo_v2_signature(TOKEN_P, url, nonce),
            signatures.PLIVO_V2_NONCE: nonce,
        },
        proc=proc,
    )


def check_answers(case: Case) -> None:
    """One request before the load: a case that fails would measure its error path."""
    conn = http.client.HTTPConnection("127.0.0.1", case.port, timeout=10)
    body = case.body or case.numbered_body.replace("{n}", "0")
    conn.request(case.method, case.path, body=body or None, headers=case.headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    if not 200 <= response.status < 300:
        raise SystemExit(f"bench: {case.name} answers {response.status}, not 2xx; nothing measured")


NGINX_CONF = """
worker_processes 1;
daemon off;
error_log {dir}/error.log;
pid {dir}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir}/tmp; proxy_temp_path {dir}/tmp; fastcgi_temp_path {dir}/tmp;
  uwsgi_temp_path {dir}/tmp; scgi_temp_path {dir}/tmp;
  upstream origin {{ server 127.0.0.1:{origin}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{origin};
    default_type application/json;
    location / {{ return 200 '{message}'; }}
    location = /v1/Account/{auth_id}/Message/ {{
      if ($request_method = POST) {{ return 202 '{ack}'; }}
      default_type application/json;
      root {dir};
      try_files /page-$arg_offset.json =500;
    }}
  }}
  server {{
    listen 127.0.0.1:{proxy};
    location / {{ proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; }}
  }}
}}
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="per run (wrk -d)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--max-steal", type=float, default=0.05)
    parser.add_argument("--budget", type=int, default=900, help="seconds for the whole run")
    parser.add_argument("--soak", type=int, default=60, help="seconds of the memory soak (0: none)")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="TEXT",
        help="run only the cases whose name contains TEXT (repeatable; ratios need the "
        "pass-through and nginx cases, the soak the translated fetch)",
    )
    parser.add_argument(
        "--delay-ms",
        type=float,
        default=50,
        help="the slow upstream's delay for the latency line (0: no latency line)",
    )
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            print(f"bench: {tool} is missing (make bench installs it from Debian packages)")
            return 2
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="dialect-bench-"))
    # nginx's workers run as an unprivileged user and must read the list page in here.
    workdir.chmod(0o755)
    (workdir / "tmp").mkdir()
    origin, nginx_proxy = free_port(), free_port()
    for n in range(PAGES):
        (workdir / f"page-{20 * n}.json").write_text(list_page(20 * n))
    (workdir / "nginx.conf").write_text(
        NGINX_CONF.format(
            dir=workdir,
            origin=origin,
            proxy=nginx_proxy,
            message=MESSAGE,
            auth_id=AUTH_ID,
            ack=SEND_ACK,
        )
    )
    procs: list[subprocess.Popen[bytes]] = []
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    procs.append(subprocess.Popen([nginx, "-c", str(workdir / "nginx.conf"), "-p", str(workdir)]))
    wait_port(origin)
    path = f"/2010-04-01/Accounts/{SID}/Messages/SM{UUID.replace('-', '')}.json"
    auth = "Basic " + __import__("base64").b64encode(f"{SID}:{TOKEN_T}".encode()).decode()
    env = {
        **os.environ,
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_AUTH_TOKEN": TOKEN_T,
        "PLIVO_AUTH_ID": AUTH_ID,
        "PLIVO_AUTH_TOKEN": TOKEN_P,
        "PLIVO_API_URL": f"http://127.0.0.1:{origin}",
        "DIALECT_LOG_FORMAT": "json",
        "DIALECT_CALLBACK_SECRET": "bench-callback-secret",
    }
    cases = [
        Case("direct upstream (nginx)", origin, f"/v1/Account/{AUTH_ID}/Message/{UUID}/"),
        Case("nginx proxy_pass", nginx_proxy, f"/v1/Account/{AUTH_ID}/Message/{UUID}/"),
    ]
    passthrough_port = free_port()
    p = subprocess.Popen(
        [
            *pin(0),
            sys.executable,
            str(ROOT / "bench" / "passthrough.py"),
            str(passthrough_port),
            f"http://127.0.0.1:{origin}",
        ]
    )
    procs.append(p)
    cases.append(
        Case(
            "aiohttp pass-through",
            passthrough_port,
            f"/v1/Account/{AUTH_ID}/Message/{UUID}/",
            proc=p,
        )
    )
    dialect_port = free_port()
    env["DIALECT_PUBLIC_URL"] = f"http://127.0.0.1:{dialect_port}"
    p = subprocess.Popen(
        [
            *pin(0),
            sys.executable,
            "-m",
            "proxy",
            "serve",
            "--config",
            str(ROOT / "config" / "twilio-over-plivo.yaml"),
            "--port",
            str(dialect_port),
            "--workers",
            "1",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        cwd=ROOT,
    )
    procs.append(p)
    cases.append(
        Case(
            "Dialect fetch (translating)",
            dialect_port,
            path,
            headers={"Authorization": auth},
            proc=p,
        )
    )
    messages = f"/2010-04-01/Accounts/{SID}/Messages.json"
    cases.append(
        Case(
            "Dialect list page of 50 (3 upstream calls)",
            dialect_port,
            messages + "?PageSize=50",
            headers={"Authorization": auth},
            proc=p,
        )
    )
    cases.append(
        Case(
            "Dialect list page of 1000 (50 upstream calls)",
            dialect_port,
            messages + "?PageSize=1000",
            headers={"Authorization": auth},
            connections=10,
            proc=p,
        )
    )
    cases.append(
        Case(
            "Dialect create (POST, form body)",
            dialect_port,
            messages,
            method="POST",
            headers={
                "Authorization": auth,
                "Content-Type": "application/x-www-form-urlencoded",
            },
            numbered_body="To=%2B14155550111&From=%2B14155550100&Body=bench+{n}",
            proc=p,
        )
    )
    cases.append(status_callback_case(env, dialect_port, origin, p))
    workers = os.cpu_count() or 1
    workers_port = free_port()
    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "proxy",
            "serve",
            "--config",
            str(ROOT / "config" / "twilio-over-plivo.yaml"),
            "--port",
            str(workers_port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        cwd=ROOT,
    )
    procs.append(p)
    cases.append(
        Case(
            f"Dialect fetch, {workers} workers (unpinned)",
            workers_port,
            path,
            headers={"Authorization": auth},
            proc=p,
        )
    )
    if args.only:
        cases = [c for c in cases if any(text in c.name for text in args.only)]
    try:
        for case in cases:
            wait_port(case.port)
            case.pids = children(case.proc.pid) if case.proc else [procs[0].pid]
        nginx_pids = children(procs[0].pid)
        for case in cases:
            if case.proc is None:  # served by nginx itself
                case.pids = nginx_pids
        for case in cases:
            check_answers(case)
        for _ in range(args.rounds):
            for case in cases:
                for _attempt in range(3):
                    if time.monotonic() - started > args.budget:
                        break
                    result = wrk(case, args.seconds, args.connections, workdir)
                    if result["steal"] <= args.max_steal:
                        case.runs.append(result)
                        break
        rss = {c.name: peak_rss_kib(c.pids) / 1024 for c in cases}
        fetch = next((c for c in cases if c.name.startswith("Dialect fetch (transl")), None)
        soak = memory_soak(fetch, args, workdir, started) if fetch else None
        slow = latency_over_slow_upstream(args, env, path, auth) if args.delay_ms > 0 else None
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    base = {c.name: statistics.median(r["rps"] for r in c.runs) for c in cases if c.runs}
    plain = base.get("aiohttp pass-through")
    ngx = base.get("nginx proxy_pass")
    build = subprocess.run(
        [sys.executable, "-m", "proxy", "--version"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    print(
        f"\nDialect benchmark, {date.today().isoformat()}, {os.cpu_count()} cores, "
        f"wrk -t1 -c{args.connections} -d{args.seconds}s, {args.rounds} rounds (medians); "
        f"{build or 'dialect --version failed'}\n"
    )
    print(
        "| case | req/s | p50 ms | p99 ms | CPU µs/req | peak RSS MiB | vs pass-through "
        "| vs nginx | errors |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    cpu: dict[str, float] = {}
    for c in cases:
        if not c.runs:
            print(f"| {c.name} | (every run discarded: CPU steal) | | | | | | | |")
            continue
        med = {k: statistics.median(r[k] for r in c.runs) for k in c.runs[0]}
        cpu[c.name] = med["cpu_us"]
        versus = (
            f"{med['rps'] / plain:.2f}x | {med['rps'] / ngx:.2f}x" if plain and ngx else "- | -"
        )
        print(
            f"| {c.name} | {med['rps']:.0f} | {med['p50_ms']:.2f} | {med['p99_ms']:.2f} | "
            f"{med['cpu_us']:.0f} | {rss[c.name]:.1f} | {versus} | {_errors(c.runs)} |"
        )
    one = cpu.get("Dialect fetch (translating)")
    passing = cpu.get("aiohttp pass-through")
    if one and passing:
        print(
            f"\nSame run, CPU per request: a translated fetch costs {one / passing:.2f}x the "
            "plain aiohttp pass-through (the ratio to compare across runs and machines)."
        )
    relayed = cpu.get("Dialect status callback (verified, translated, relayed)")
    if one and relayed:
        print(f"A translated status callback costs {relayed / one:.2f}x a translated fetch.")
    page = cpu.get("Dialect list page of 1000 (50 upstream calls)")
    if one and page:
        print(
            f"\nA Twilio page of 1000 (50 Plivo requests) costs {page:.0f} µs of CPU, "
            f"{page / one:.1f}x one translated fetch (50 fetches: 50x)."
        )
    if slow:
        print(
            f"Over an upstream answering in {args.delay_ms:.0f} ms (bench/slow_origin.py), one "
            f"request at a time: a fetch takes {slow['fetch_ms']:.1f} ms, a page of 1000 "
            f"{slow['page_ms']:.1f} ms ({slow['page_ms'] / slow['fetch_ms']:.1f} fetches; its 50 "
            "Plivo requests go out at once)."
        )
    if not args.only:
        # The record pipelines alone, no server: the per-record cost a list page multiplies.
        records = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "pipeline.py")],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
        )
        print("\nCPU per record of the shipped record pipelines (bench/pipeline.py):\n")
        print(records.stdout.strip() or f"bench/pipeline.py failed: {records.stderr[-400:]}")
    if soak:
        print(
            f"Memory soak: {soak['requests']:,} fetches in {soak['seconds']:.0f} s; RSS "
            f"{soak['start_mib']:.1f} -> {soak['end_mib']:.1f} MiB after warm-up "
            f"({soak['per_100k_kib']:+.0f} KiB per 100,000 requests)."
        )
    return 0


def _errors(runs: list[dict[str, float]]) -> str:
    kinds = [
        (sum(r[key] for r in runs), label)
        for key, label in (
            ("status_errors", "non-2xx"),
            ("socket_errors", "socket"),
            ("timeouts", "timeouts"),
        )
    ]
    said = [f"{n:.0f} {label}" for n, label in kinds if n]
    return ", ".join(said) if said else "0"


def latency_over_slow_upstream(
    args: argparse.Namespace, env: dict[str, str], fetch_path: str, auth: str
) -> dict[str, float] | None:
    """Median wall time of a translated fetch and of a Twilio page of 1000, one request at a
    time, through a Dialect of its own in front of ``bench/slow_origin.py``: what the 50
    concurrent upstream requests of a page cost in time when each is a real round trip."""
    origin, port = free_port(), free_port()
    slow = [sys.executable, str(ROOT / "bench" / "slow_origin.py"), str(origin), str(args.delay_ms)]
    procs = [subprocess.Popen([*pin(1), *slow])]
    try:
        wait_port(origin)
        serve = ["--config", str(ROOT / "config" / "twilio-over-plivo.yaml"), "--port", str(port)]
        procs.append(
            subprocess.Popen(
                [*pin(0), sys.executable, "-m", "proxy", "serve", "--workers", "1", *serve],
                env={**env, "PLIVO_API_URL": f"http://127.0.0.1:{origin}"},
                stdout=subprocess.DEVNULL,
                cwd=ROOT,
            )
        )
        wait_port(port)
        page_path = f"/2010-04-01/Accounts/{SID}/Messages.json?PageSize=1000"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

        def timed(path: str) -> float:
            begin = time.perf_counter()
            conn.request("GET", path, headers={"Authorization": auth})
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit(f"bench: the slow-upstream case answers {response.status}")
            return (time.perf_counter() - begin) * 1000

        timed(fetch_path)  # warm-up: the connections, the caches
        timed(page_path)
        fetches = [timed(fetch_path) for _ in range(20)]
        pages = [timed(page_path) for _ in range(7)]
        conn.close()
        return {"fetch_ms": statistics.median(fetches), "page_ms": statistics.median(pages)}
    finally:
        for proc in reversed(procs):
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in open(f"/proc/{pid}/status"):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def memory_soak(
    case: Case, args: argparse.Namespace, workdir: Path, started: float
) -> dict[str, float] | None:
    """The translated fetch under load for ``--soak`` seconds, in bounded slices: resident
    memory after a warm-up slice against the end. A leak per request shows as growth in
    proportion to the requests served; a flat line is what the issue asks for."""
    left = min(args.soak, args.budget - (time.monotonic() - started))
    if left < 20:
        return None
    slice_s = 10
    wrk(case, slice_s, args.connections, workdir)  # warm-up: caches, pools, allocator arenas
    start = rss_kib(case.pids)
    requests = 0
    seconds = 0
    while seconds + slice_s <= left - slice_s:
        result = wrk(case, slice_s, args.connections, workdir)
        requests += int(result["rps"] * slice_s)
        seconds += slice_s
    end = rss_kib(case.pids)
    if not requests:
        return None
    return {
        "requests": requests,
        "seconds": seconds,
        "start_mib": start / 1024,
        "end_mib": end / 1024,
        "per_100k_kib": (end - start) / requests * 100_000,
    }


if __name__ == "__main__":
    sys.exit(main())
