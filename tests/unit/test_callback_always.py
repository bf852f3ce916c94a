"""``callback`` with ``always``: the carrier gets a URL under the proxy even when the app asked
for none; it names no app, and only records the call's own id when the carrier calls it."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import yaml

from proxy.callbacks.issuer import Issuer
from proxy.callbacks.plan import NO_APP
from proxy.engine.errors import ConfigError
from proxy.engine.translate import translate
from proxy.settings import load_config_text
from tests.conftest import ROOT
from tests.unit.test_callback_step import ACCOUNT, KEY, PUBLIC, opened, run, step

ENV = {
    "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
    "TWILIO_AUTH_TOKEN": "tok",
    "PLIVO_AUTH_ID": "MA" + "B" * 18,
    "PLIVO_AUTH_TOKEN": "ptok",
    "PLIVO_API_URL": "http://127.0.0.1:9",
    "DIALECT_PUBLIC_URL": PUBLIC,
    "DIALECT_CALLBACK_SECRET": "a-secret-for-these-tests",
}


def test_without_an_app_url_the_carrier_still_gets_a_url_that_names_no_app() -> None:
    made = step(at="hangup_url", kind="call-status", method_at="hangup_method", always=True)
    out = run(made, {"to": "1415"})
    assert out["hangup_method"] == "POST" and out["to"] == "1415"
    sealed = opened(out["hangup_url"])
    assert sealed.kind == "call-status" and dict(sealed.extra) == {NO_APP: "1"}
    assert sealed.account == ACCOUNT.client.user
    assert sealed.url == PUBLIC + "/"  # Dialect's own: the relay never calls it
    # The same for every request of the account, whichever step instance makes it.
    assert run(made, {})["hangup_url"] == out["hangup_url"]
    fresh = step(at="hangup_url", kind="call-status", always=True)
    assert run(fresh, {})["hangup_url"] == out["hangup_url"]


def test_an_event_not_asked_for_gets_a_url_that_names_no_app() -> None:
    made = step(at="ring_url", kind="call-ring", always=True,
                only_if_listed={"at": "StatusCallbackEvent", "value": "ringing"})  # fmt: skip
    not_asked = run(
        made, {"ring_url": "https://app.example.com/s", "StatusCallbackEvent": ["completed"]}
    )
    assert dict(opened(not_asked["ring_url"]).extra) == {NO_APP: "1"}
    asked = run(made, {"ring_url": "https://app.example.com/s", "StatusCallbackEvent": ["ringing"]})
    sealed = opened(asked["ring_url"])
    assert sealed.url == "https://app.example.com/s" and NO_APP not in sealed.extra


def test_an_app_that_asked_gets_its_own_url_as_before() -> None:
    made = step(at="hangup_url", kind="call-status", always=True)
    sealed = opened(run(made, {"hangup_url": "https://app.example.com/status"})["hangup_url"])
    assert sealed.url == "https://app.example.com/status" and dict(sealed.extra) == {}


@pytest.mark.parametrize(
    "spec",
    [
        {"at": "url", "kind": "document", "document_at": "Twiml", "always": True},
        {"at": "url", "kind": "call-status", "extra": {NO_APP: "x"}},
    ],
)
def test_what_always_cannot_be_is_refused(spec: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        step(Issuer(PUBLIC, KEY, []), **spec)


def shipped() -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load((ROOT / "config" / "twilio-over-plivo.yaml").read_text())
    return raw


def create_steps(raw: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    i, create = next((i, r) for i, r in enumerate(raw["routes"]) if r["name"] == "calls.create")
    return i, create["request"]


@pytest.mark.parametrize(
    ("kind", "why"),
    [("message-status", "records none"), ("call-answer", "answered with a document")],
)
def test_a_kind_that_could_not_serve_a_url_with_no_app_is_refused(kind: str, why: str) -> None:
    raw = shipped()
    i, steps = create_steps(raw)
    j, hangup = next((j, s) for j, s in enumerate(steps) if s.get("at") == "hangup_url")
    hangup["kind"] = kind
    with pytest.raises(ConfigError) as info:
        load_config_text(yaml.safe_dump(raw), env=ENV)
    [(where, text)] = [p for p in info.value.problems if p[0].endswith(".always")]
    assert where == f"routes[{i}].request[{j}].always" and why in text


def test_the_shipped_call_create_always_gives_plivo_ring_and_hang_up_urls() -> None:
    config = load_config_text(yaml.safe_dump(shipped()), env=ENV)
    assert config.callbacks is not None
    issuer = config.callbacks.issuer
    body = {"To": "+14155550111", "From": "+14155550100", "Url": "https://app.example.com/v"}
    planned = orjson.loads(translate(config, "calls.create", body, phase="request").body)
    sent = planned["params"]
    for name, kind in (("ring_url", "call-ring"), ("hangup_url", "call-status")):
        assert sent[name.replace("url", "method")] == "POST"
        sealed = issuer.open(sent[name].rsplit("/", 1)[1])
        assert sealed.kind == kind and dict(sealed.extra) == {NO_APP: "1"}
    assert NO_APP not in issuer.open(sent["answer_url"].rsplit("/", 1)[1]).extra
