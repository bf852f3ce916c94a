"""``dialect serve | check | demo``: the command-line entry points."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from proxy.errors import ConfigError
from proxy.settings.loader import Config, load_config

PRESETS = Path(__file__).resolve().parent.parent / "config"
DEMO_CONFIG = PRESETS / "twilio-over-plivo.yaml"

DEMO_ENV = {
    "TWILIO_ACCOUNT_SID": "AC" + "de" * 16,
    "TWILIO_AUTH_TOKEN": "demo-twilio-auth-token",
    "PLIVO_AUTH_ID": "MADEMO00000000000001",
    "PLIVO_AUTH_TOKEN": "demo-plivo-auth-token",
}


def _load(path: str, env: dict[str, str] | None = None) -> Config | None:
    try:
        return load_config(path, env=env)
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
    from proxy.app import build_app

    server = config.model.server
    host = args.host or server.host
    port = args.port if args.port is not None else server.port
    web.run_app(build_app(config), host=host, port=port, access_log=None, print=None)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    path = args.config or str(DEMO_CONFIG)
    env = dict(os.environ)
    for key, value in DEMO_ENV.items():
        env.setdefault(key, value)
    env.setdefault("PLIVO_API_URL", "demo")
    config = _load(path, env=env)
    if config is None:
        return 1
    from proxy.app import build_app

    host = args.host
    port = args.port
    base = f"http://{host}:{port}"
    sid, token = env["TWILIO_ACCOUNT_SID"], env["TWILIO_AUTH_TOKEN"]
    upstream = config.model.upstreams["plivo"].url if "plivo" in config.model.upstreams else "?"
    behind = "the built-in Plivo-style mock" if upstream == "demo" else upstream
    print(
        f"""
Dialect demo: a Twilio-style API at {base}, in front of {behind}.

  Account SID : {sid}
  Auth token  : {token}

  curl -u {sid}:{token} {base}/2010-04-01/Accounts/{sid}/Messages.json?PageSize=5

  from twilio.rest import Client
  client = Client("{sid}", "{token}")
  client.api.base_url = "{base}"
  print(client.messages.create(to="+14155550111", from_="+14155550100", body="Hello").sid)
  for m in client.messages.list(limit=5): print(m.sid, m.status, m.date_created)

(Keep TWILIO_EDGE and TWILIO_REGION unset. Ctrl-C stops the demo.)
""",
        flush=True,
    )
    web.run_app(build_app(config), host=host, port=port, access_log=None, print=None)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dialect", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve a config")
    serve.add_argument("--config", required=True, help="YAML config file")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.set_defaults(func=cmd_serve)

    check = sub.add_parser("check", help="validate a config and print every problem")
    check.add_argument("config")
    check.set_defaults(func=cmd_check)

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
