"""``dialect serve | check | demo``: the command-line entry points."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any

from proxy.engine.errors import ConfigError
from proxy.ops.logs import configure, get_logger
from proxy.runtime import build_info
from proxy.settings.loader import Config, load_config

PRESETS = Path(__file__).resolve().parent.parent / "config"
DEMO_CONFIG = PRESETS / "twilio-over-plivo.yaml"

DEMO_ENV = {
    "TWILIO_ACCOUNT_SID": "AC" + "de" * 16,
    "TWILIO_AUTH_TOKEN": "demo-twilio-auth-token",
    "PLIVO_AUTH_ID": "MADEMO00000000000001",
    "PLIVO_AUTH_TOKEN": "demo-plivo-auth-token",
    # The built-in Plivo mock's account zone (Asia/Kolkata, which keeps one offset all year).
    "PLIVO_TIMEZONE": "+05:30",
}


def _load(
    path: str, env: Mapping[str, str] | None = None, *, offline: bool = False
) -> Config | None:
    try:
        return load_config(path, env=env, offline=offline)
    except ConfigError as exc:
        print(f"{path}: the config has {len(exc.problems)} problem(s):", file=sys.stderr)
        for loc, msg in exc.problems:
            print(f"  {loc or '<root>'}: {msg}", file=sys.stderr)
        return None


def cmd_check(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return 1
    routes = config.router.routes
    print(f"{args.config}: OK ({len(routes)} routes, {len(config.model.upstreams)} upstreams)")
    for r in routes:
        m = r.settings.match
        print(f"  {r.name:<20} {m.method:<6} {m.path}  ->  {r.settings.upstream}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return 1

    server = config.model.server
    host = args.host or server.host
    port = args.port if args.port is not None else server.port
    from proxy.runtime.workers import resolve, supervise

    workers, why = resolve(args.workers if args.workers is not None else server.workers, config)
    if why:
        get_logger().info("workers", workers=workers, reason=why)
    if workers > 1:
        return supervise(args.config, host, port, workers)
    from proxy.runtime.serve import serve

    log = get_logger()
    log.info("serving", host=host, port=port, config=args.config, routes=len(config.router.routes))
    # SIGTERM/SIGINT: stop accepting, let in-flight requests finish (up to shutdown_timeout),
    # close the upstream pools, exit 0. SIGHUP: reload the config if it is sound.
    _run(
        serve(
            config,
            host=host,
            port=port,
            config_path=args.config,
            reuse_port=args.reuse_port,
            shutdown_timeout=server.shutdown_timeout,
        )
    )
    log.info("stopped")
    return 0


def _run(main: Coroutine[Any, Any, None]) -> None:
    loop = _fast_loop()
    try:
        loop.run_until_complete(main)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def _workers_arg(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("'auto' or a number from 1 to 64") from None
    if not 1 <= n <= 64:
        raise argparse.ArgumentTypeError("'auto' or a number from 1 to 64")
    return n


def _fast_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop (libuv): a quarter to a third less CPU per proxied request."""
    import uvloop

    return uvloop.new_event_loop()


def cmd_demo(args: argparse.Namespace) -> int:
    path = args.config or str(DEMO_CONFIG)
    env = dict(os.environ)
    for key, value in DEMO_ENV.items():
        env.setdefault(key, value)
    env.setdefault("PLIVO_API_URL", "demo")
    host = args.host
    port = args.port
    base = f"http://{host}:{port}"
    # The built-in carrier calls back through the demo itself.
    env.setdefault("DIALECT_PUBLIC_URL", base)
    env.setdefault("DIALECT_CALLBACK_SECRET", "demo-callback-secret")
    config = _load(path, env=env)
    if config is None:
        return 1
    _with_inspector(config)
    sid, token = env["TWILIO_ACCOUNT_SID"], env["TWILIO_AUTH_TOKEN"]
    upstream = config.model.upstreams["plivo"].url if "plivo" in config.model.upstreams else "?"
    behind = "the built-in Plivo-style mock" if upstream == "demo" else upstream
    from proxy.ops.inspector import INSPECTOR_PREFIX

    print(
        f"""
Dialect demo: a Twilio-style API at {base}, in front of {behind}.

  Account SID : {sid}
  Auth token  : {token}
  Inspector   : {base}{INSPECTOR_PREFIX}  (open it, then run the curl line: every
                exchange appears there live, with its translation step by step)

  curl -u {sid}:{token} {base}/2010-04-01/Accounts/{sid}/Messages.json?PageSize=5

  from twilio.rest import Client
  client = Client("{sid}", "{token}")
  client.api.base_url = "{base}"
  print(client.messages.create(to="+14155550111", from_="+14155550100", body="Hello").sid)
  for m in client.messages.list(limit=5): print(m.sid, m.status, m.date_created)

Callbacks: the built-in carrier reports delivery and runs calls through Dialect, signed
for your app with the auth token above. Run an app on 127.0.0.1:5000 (README: "A callback
app in ten lines"), then:

  client.messages.create(to="+14155550111", from_="+14155550100", body="Hi",
                         status_callback="http://127.0.0.1:5000/status")
  client.calls.create(to="+14155550111", from_="+14155550100",
                      url="http://127.0.0.1:5000/voice", status_callback="http://127.0.0.1:5000/status")

(Keep TWILIO_EDGE and TWILIO_REGION unset. Ctrl-C stops the demo.)
""",
        flush=True,
    )
    from proxy.runtime.serve import serve

    _run(serve(config, host=host, port=port, config_path=None))
    return 0


def _with_inspector(config: Config) -> None:
    """The demo is a local development gateway: the inspector is on (the shipped configs
    leave it off), for loopback clients unless the config already says otherwise."""
    server = config.model.server
    if not server.inspector.enabled:
        on = server.inspector.model_copy(update={"enabled": True})
        config.model = config.model.model_copy(
            update={"server": server.model_copy(update={"inspector": on})}
        )


def _pairs(values: list[str] | None, flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"dialect translate: {flag} takes NAME=VALUE, not {item!r}")
        out[key] = value
    return out


def _translate_callback(config: Config, args: argparse.Namespace, raw: bytes) -> int:
    """stdout: what the app receives (the form, or for GET the URL); stderr: the request line
    and the signature headers Dialect adds."""
    from proxy import codecs
    from proxy.callbacks.offline import OfflineError, translate_callback

    try:
        form = codecs.decode_form(raw.strip())
        pairs = [
            (k, str(v)) for k, vs in form.items() for v in (vs if isinstance(vs, list) else [vs])
        ]
        url, body, headers = translate_callback(config, args.callback, pairs, args.url, args.method)
    except (OfflineError, codecs.DecodeError, ValueError) as exc:
        print(f"dialect translate: {exc}", file=sys.stderr)
        return 2
    print(f"{args.method.upper()} {url}", file=sys.stderr)
    for name, value in headers.items():
        print(f"{name}: {value}", file=sys.stderr)
    sys.stdout.buffer.write((body or url.encode()) + b"\n")
    return 0


def _translate_document(config: Config, args: argparse.Namespace, raw: bytes) -> int:
    """stdout: the document in the carrier's language; stderr: each approximation made."""
    from proxy.callbacks.offline import OfflineError, translate_document
    from proxy.providers.documents.translate import DocumentError

    try:
        result = translate_document(config, raw, args.url, _pairs(args.param, "--param"))
    except (OfflineError, DocumentError) as exc:
        reason = exc.reason if isinstance(exc, DocumentError) else str(exc)
        print(f"dialect translate: the document cannot be translated: {reason}", file=sys.stderr)
        return 2
    for note in result.notes:
        where = f"{note.element}.{note.attribute}" if note.attribute else note.element
        print(f"note: {where}: {note.action} ({note.detail})", file=sys.stderr)
    sys.stdout.buffer.write(result.body + (b"" if result.body.endswith(b"\n") else b"\n"))
    return 0


def cmd_translate(args: argparse.Namespace) -> int:
    from datetime import datetime

    from proxy import codecs
    from proxy.engine.translate import TranslateError, generated_code, translate
    from proxy.pipeline.trace import StepTrace
    from proxy.pipeline.trace import text as trace_text

    configure("console", "info", stream=sys.stderr)  # stdout is the translation alone
    config = _load(args.config, offline=True)
    if config is None:
        return 1
    if args.show_code:
        try:
            print(generated_code(config, args.route))
        except TranslateError as exc:
            print(f"dialect translate: {exc}", file=sys.stderr)
            return 2
        return 0
    raw = sys.stdin.buffer.read() if args.input == "-" else Path(args.input).read_bytes()
    if args.callback:
        return _translate_callback(config, args, raw)
    if args.document:
        return _translate_document(config, args, raw)
    try:
        body: object = codecs.decode_json(raw) if raw.strip() else None
    except codecs.DecodeError:
        if args.phase != "request":
            print("dialect translate: the input is not valid JSON", file=sys.stderr)
            return 2
        body = codecs.decode_form(raw)
    trace = StepTrace() if args.trace else None
    try:
        result = translate(
            config,
            args.route,
            body,
            phase=args.phase,
            fmt=args.format,
            status=args.status,
            request_params=_pairs(args.param, "--param"),
            path=args.path,
            path_fields=_pairs(args.field, "--field"),
            now=datetime.fromisoformat(args.now) if args.now else None,
            trace=trace,
        )
    except (TranslateError, ValueError) as exc:
        print(f"dialect translate: {exc}", file=sys.stderr)
        return 2
    if trace is not None:  # stderr, like the status line: stdout stays the body alone
        sys.stderr.write(trace_text(trace))
    print(f"HTTP {result.status} {result.content_type}", file=sys.stderr)
    sys.stdout.buffer.write(result.body + (b"" if result.body.endswith(b"\n") else b"\n"))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dialect", description=__doc__)
    parser.add_argument("--version", action="version", version=build_info.describe())
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve a config")
    serve.add_argument("--config", required=True, help="YAML config file")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument(
        "--workers",
        type=_workers_arg,
        default=None,
        help="processes sharing the port, or 'auto' (default: server.workers, auto): one per "
        "core, or one when idempotent routes use the memory store (workers do not share it)",
    )
    serve.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    serve.set_defaults(func=cmd_serve)

    check = sub.add_parser("check", help="validate a config and print every problem")
    check.add_argument("config")
    check.set_defaults(func=cmd_check)

    tr = sub.add_parser(
        "translate",
        help="run one route's pipeline offline on a body (stdout: the body a client would get)",
    )
    tr.add_argument("--config", required=True)
    what = tr.add_mutually_exclusive_group(required=True)
    what.add_argument("--route", help="the route's name, e.g. messages.fetch")
    what.add_argument(
        "--callback",
        metavar="KIND",
        help="a carrier callback of this kind (e.g. message-status): the input is the "
        "carrier's form; stdout the app's, stderr the signature headers",
    )
    what.add_argument(
        "--document",
        action="store_true",
        help="an app's TwiML or Plivo XML (by the config's app style), as the carrier gets it; "
        "--param NAME=VALUE gives the incoming request's parameters (messaging replies)",
    )
    tr.add_argument(
        "--url",
        default="https://app.example.com/callback",
        help="--callback: the app URL; --document: the URL the document came from",
    )
    tr.add_argument("--method", default="POST", choices=("GET", "POST", "get", "post"))
    tr.add_argument("--input", default="-", help="a file, or - for stdin (default)")
    tr.add_argument(
        "--phase",
        choices=("request", "response"),
        default="response",
        help="response: the input is the upstream's body; request: the client's",
    )
    tr.add_argument("--format", choices=("json", "xml", "csv"), default=None)
    tr.add_argument("--status", type=int, default=200, help="the upstream status to pretend")
    tr.add_argument(
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="a parameter the client sent (read by $request.NAME)",
    )
    tr.add_argument("--field", action="append", metavar="NAME=VALUE", help="a path field")
    tr.add_argument("--path", default=None, help="the client's path (default: from the route)")
    tr.add_argument("--now", default=None, help="ISO time to use as $now (for repeatable output)")
    tr.add_argument(
        "--trace",
        action="store_true",
        help="print on stderr each step that changed something, and what it changed "
        "(the trace the inspector shows)",
    )
    tr.add_argument(
        "--show-code",
        action="store_true",
        help="print the code the route's steps run (generated when the config loads) instead",
    )
    tr.set_defaults(func=cmd_translate)

    demo = sub.add_parser("demo", help="the Twilio façade in front of the built-in Plivo mock")
    demo.add_argument("--config", default=None, help=f"default: {DEMO_CONFIG.name}")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8080)
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
