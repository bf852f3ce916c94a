"""The ``callback`` step: the carrier is given a sealed URL under the proxy, never the app's."""

from __future__ import annotations

from typing import Any

import pytest

from proxy.callbacks.issuer import Issuer
from proxy.engine.errors import ConfigError, StepError
from proxy.engine.exchange import Exchange
from proxy.pipeline.runner import run_steps
from proxy.settings import load_config_text
from proxy.settings.models import Account
from proxy.steps.callback_url import CallbackUrl

PUBLIC = "https://dialect.example.com"
KEY = b"k" * 32
ACCOUNT = Account.model_validate(
    {
        "client": {"user": "AC" + "a1" * 16, "secret": "t"},
        "upstream": {"user": "MA1", "secret": "p"},
    }
)


def step(issuer: Issuer | None = None, **spec: Any) -> CallbackUrl:
    made = CallbackUrl.model_validate({"op": "callback", **spec})
    made.bind(issuer or Issuer(PUBLIC, KEY, []))
    return made


def run(made: CallbackUrl, params: dict[str, Any]) -> dict[str, Any]:
    ex = Exchange(route_name="calls.create", params=params, account=ACCOUNT)
    result: dict[str, Any] = run_steps([made], ex, params, phase="request")
    return result


def opened(url: str) -> Any:
    assert url.startswith(PUBLIC + "/_dialect/callbacks/")
    return Issuer(PUBLIC, KEY, []).open(url.rsplit("/", 1)[1])


def test_the_apps_url_and_method_are_sealed_and_the_carrier_gets_post() -> None:
    made = step(at="answer_url", kind="call-answer", method_at="answer_method",
                fallback_at="FallbackUrl", fallback_method_at="FallbackMethod")  # fmt: skip
    out = run(made, {
        "answer_url": "https://app.example.com/voice?x=1", "answer_method": "GET",
        "FallbackUrl": "https://app.example.com/fallback", "FallbackMethod": "post",
    })  # fmt: skip
    assert out["answer_method"] == "POST"
    assert "FallbackUrl" not in out and "FallbackMethod" not in out
    sealed = opened(out["answer_url"])
    assert sealed.url == "https://app.example.com/voice?x=1" and sealed.method == "GET"
    assert sealed.kind == "call-answer" and sealed.account == ACCOUNT.client.user
    assert sealed.fallback_url == "https://app.example.com/fallback"
    assert sealed.fallback_method == "POST"


def test_without_an_app_url_nothing_is_sealed_and_its_companions_are_removed() -> None:
    made = step(at="url", kind="message-status", method_at="method")
    assert run(made, {"dst": "1415", "method": "GET"}) == {"dst": "1415"}


def test_only_if_listed_seals_when_the_event_is_asked_for() -> None:
    made = step(at="ring_url", kind="call-ring",
                only_if_listed={"at": "StatusCallbackEvent", "value": "ringing"})  # fmt: skip
    asked = run(
        made,
        {"ring_url": "https://app.example.com/s", "StatusCallbackEvent": ["initiated", "ringing"]},
    )
    assert opened(asked["ring_url"]).kind == "call-ring"
    spaced = run(
        made, {"ring_url": "https://app.example.com/s", "StatusCallbackEvent": "ringing completed"}
    )
    assert "ring_url" in spaced
    not_asked = run(
        made, {"ring_url": "https://app.example.com/s", "StatusCallbackEvent": ["completed"]}
    )
    assert "ring_url" not in not_asked


def test_extra_parameters_travel_in_the_token_only() -> None:
    made = step(at="StatusCallback", kind="call-status", extra={"ring_url": "ring_url"})
    out = run(
        made,
        {"StatusCallback": "https://app.example.com/h", "ring_url": "https://app.example.com/r"},
    )
    assert "ring_url" not in out
    assert dict(opened(out["StatusCallback"]).extra) == {"ring_url": "https://app.example.com/r"}


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/voice",
        "ftp://app.example.com/x",
        "https://user:pw@app.example.com/x",
        "/relative",
    ],
)
def test_a_url_the_proxy_may_not_call_fails_with_the_routes_error(url: str) -> None:
    made = step(Issuer(PUBLIC, KEY, ["app.example.com"]), at="answer_url", kind="call-answer",
                error={"status": 400, "code": 21205, "message": "Url is not a valid URL."})  # fmt: skip
    with pytest.raises(StepError) as caught:
        run(made, {"answer_url": url})
    assert caught.value.status == 400 and caught.value.code == 21205
    assert "10.0.0.1" not in (caught.value.message or "")


def test_a_step_without_a_callbacks_block_is_a_config_error() -> None:
    text = """
upstreams: {u: {url: "http://127.0.0.1:9", style: plivo}}
accounts: [{client: {user: AC1, secret: t}, upstream: {user: MA1, secret: p}}]
routes:
  - name: r
    match: {method: POST, path: /x}
    upstream: u
    styles: {client: twilio, upstream: plivo}
    request: [{op: callback, at: url, kind: message-status}]
"""
    with pytest.raises(ConfigError) as caught:
        load_config_text(text)
    assert (
        "routes[0].request[0]",
        "a 'callback' step needs a 'callbacks:' block",
    ) in caught.value.problems
