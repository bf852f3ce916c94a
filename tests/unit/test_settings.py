"""Config loading: interpolation, validation reports with locations, and refusal to serve."""

from pathlib import Path

import pytest

from proxy.engine.errors import ConfigError
from proxy.settings import load_config, load_config_text

ROOT = Path(__file__).resolve().parents[2]
ENV = {
    "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
    "TWILIO_AUTH_TOKEN": "tok",
    "PLIVO_AUTH_ID": "MA" + "B" * 18,
    "PLIVO_AUTH_TOKEN": "ptok",
}

MINIMAL = """
upstreams:
  up: {url: "${UP_URL:-http://127.0.0.1:9}", style: plivo}
accounts:
  - client: {user: u, secret: "${SECRET}"}
    upstream: {user: MAXX, secret: s}
routes:
  - name: r
    match: {method: GET, path: "/x/{id}{ext}"}
    upstream: up
    styles: {client: twilio, upstream: plivo}
    request:
      - {op: rewrite_path, to: "/v1/{$path.id}/"}
"""


def problems_of(text: str, env: dict[str, str] | None = None) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        load_config_text(text, env=env or {})
    return info.value.problems


def test_shipped_twilio_over_plivo_config_loads() -> None:
    config = load_config(ROOT / "config" / "twilio-over-plivo.yaml", env=ENV)
    names = {r.name for r in config.router.routes}
    assert {"messages.create", "messages.fetch", "messages.list"} <= names
    assert {"calls.create", "calls.fetch", "calls.list"} <= names
    assert config.model.upstreams["plivo"].url == "demo"


def test_env_interpolation_with_and_without_default() -> None:
    config = load_config_text(MINIMAL, env={"SECRET": "s3"})
    assert config.model.upstreams["up"].url == "http://127.0.0.1:9"
    assert config.model.accounts[0].client.secret.get_secret_value() == "s3"
    config = load_config_text(MINIMAL, env={"SECRET": "s3", "UP_URL": "http://127.0.0.1:7"})
    assert config.model.upstreams["up"].url == "http://127.0.0.1:7"


def test_unset_variable_without_default_is_reported_with_its_location() -> None:
    problems = problems_of(MINIMAL)
    assert (
        "accounts[0].client.secret",
        "environment variable SECRET is not set and has no default",
    ) in problems


def test_all_problems_are_reported_together_with_locations() -> None:
    text = MINIMAL.replace("upstream: up\n", "upstream: nowhere\n").replace(
        '      - {op: rewrite_path, to: "/v1/{$path.id}/"}',
        '      - {op: rewrite_path, to: "/v1/"}\n'
        "      - {op: frobnicate}\n"
        "      - {op: rename, map: {a: b}, extra: 1}\n"
        "      - {op: status, set: 201}\n"
        "      - {op: convert, at: x, with: no_such_converter}\n"
        "      - {op: set, at: 'a..b', value: 1}",
    )
    problems = dict(problems_of(text, {"SECRET": "x"}))
    assert "unknown upstream 'nowhere'" in problems["routes[0].upstream"]
    assert "unknown op 'frobnicate'" in problems["routes[0].request[1].op"]
    assert "routes[0].request[2].extra" in problems
    assert "cannot run in the request phase" in problems["routes[0].request[3].op"]
    assert "unknown converter" in problems["routes[0].request[4].with"]
    assert "bad path" in problems["routes[0].request[5]"]


def test_unknown_top_level_and_route_keys_are_errors() -> None:
    problems = dict(problems_of(MINIMAL + "\nsurprise: 1\n", {"SECRET": "x"}))
    assert "surprise" in problems


def test_bad_yaml_reports_line() -> None:
    problems = problems_of("routes: [\n  - a: b\n  c")
    assert problems[0][0].startswith("line ")


def test_unknown_pipeline_is_reported() -> None:
    text = MINIMAL.replace(
        '      - {op: rewrite_path, to: "/v1/{$path.id}/"}',
        '      - {op: rewrite_path, to: "/v1/"}\n      - {op: use, pipeline: ghost}',
    )
    problems = dict(problems_of(text, {"SECRET": "x"}))
    assert "unknown pipeline 'ghost'" in problems["routes[0].request[1]"]


def test_admin_prefix_cannot_be_shadowed_by_a_route() -> None:
    text = MINIMAL.replace('path: "/x/{id}{ext}"', 'path: "/_dialect/{id}{ext}"')
    problems = dict(problems_of(text, {"SECRET": "x"}))
    assert "reserved" in problems["routes[0].match.path"]
