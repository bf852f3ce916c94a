"""The callback relay against hostile carriers and failing apps (P→T: Plivo calls, TwiML app).

Each test sends what a carrier (or an attacker posing as one) would send to the proxy's
public callback URL, and asserts what the app received (nothing, for every refusal) and what
the carrier was answered.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import defusedxml.ElementTree as SafeET
import pytest
import yaml
from aiohttp.test_utils import TestServer
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from proxy.callbacks import signatures
from proxy.settings import load_config_text
from proxy.settings.loader import Config
from tests.callback_apps import App, free_port, xml
from tests.conftest import ROOT
from tests.dialect_server import DialectTestServer
from tests.integration.conftest import AUTH, PLIVO_TOKEN, SID, TOKEN, facade_env

CALL = {
    "CallUUID": "d0a3c2f0-1111-2222-3333-444455556666",
    "RequestUUID": "d0a3c2f0-1111-2222-3333-444455556666",
    "From": "14155550100",
    "To": "14155550199",
    "Direction": "outbound",
    "CallStatus": "in-progress",
}


@dataclass
class Relay:
    proxy: str
    config: Config
    app: App
    app_url: str
    server: DialectTestServer

    def callback_url(self, path: str, kind: str = "call-answer", **extra: Any) -> str:
        plan = self.config.callbacks
        assert plan is not None
        return plan.issuer.issue(kind, self.app_url + path, "POST", SID, **extra)

    async def carrier_post(
        self,
        url: str,
        params: dict[str, str],
        *,
        token: str = PLIVO_TOKEN,
        signed_url: str | None = None,
        sign: bool = True,
        messaging: bool = False,
    ) -> tuple[int, bytes, float]:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if sign and messaging:
            nonce = signatures.new_nonce()
            headers[signatures.PLIVO_V2] = signatures.plivo_v2_signature(
                token, signed_url or url, nonce
            )
            headers[signatures.PLIVO_V2_NONCE] = nonce
        elif sign:
            nonce = signatures.new_nonce()
            headers[signatures.PLIVO_V3] = signatures.plivo_v3_signature(
                token, signed_url or url, "POST", list(params.items()), nonce
            )
            headers[signatures.PLIVO_V3_NONCE] = nonce
        started = time.monotonic()
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=urlencode(params), headers=headers) as resp,
        ):
            return resp.status, await resp.read(), time.monotonic() - started


def _config(public: str, upstream: str, changes: dict[str, Any]) -> Config:
    raw = yaml.safe_load((ROOT / "config" / "twilio-over-plivo.yaml").read_text())
    raw["callbacks"].update(changes)
    env = facade_env(upstream) | {"DIALECT_PUBLIC_URL": public}
    return load_config_text(yaml.safe_dump(raw), env=env)


@pytest.fixture
async def relay(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    dialect_server: Callable[..., Awaitable[DialectTestServer]],
    request: pytest.FixtureRequest,
) -> Relay:
    changes = getattr(request, "param", {})
    app = App("twilio", TOKEN)
    app_server = await aiohttp_server(app.application())
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    # No upstream is needed to relay callbacks; an unused loopback port stands in for it.
    app_url = str(app_server.make_url("")).rstrip("/")
    numbers = {
        "+14155550199": {
            "message_url": app_url + "/incoming/sms",
            "voice_url": app_url + "/in/voice",
        }
    }
    settings = {"app_timeout": 1, "numbers": numbers, **changes}
    config = _config(public, f"http://127.0.0.1:{free_port()}", settings)
    server = await dialect_server(config, port=port)
    return Relay(public, config, app, app_url, server)


def _hangup(body: bytes) -> bool:
    root = SafeET.fromstring(body)
    return root.tag == "Response" and [child.tag for child in root] == ["Hangup"]


# -- refused: nothing reaches the app ---------------------------------------------------------


async def test_a_forged_token_is_refused_and_nothing_forwarded(relay: Relay) -> None:
    url = relay.proxy + "/_dialect/callbacks/1jeyJrIjoiY2FsbC1hbnN3ZXIifQ.AAAAAAAAAAAAAAAAAAAAAA"
    status, _, _ = await relay.carrier_post(url, CALL)
    assert status == 403
    assert relay.app.received == []


async def test_an_altered_token_is_refused(relay: Relay) -> None:
    url = relay.callback_url("/voice")
    head, _, tail = url.rpartition(".")
    altered = head[:-1] + ("A" if head[-1] != "A" else "B") + "." + tail
    status, _, _ = await relay.carrier_post(altered, CALL)
    assert status == 403
    assert relay.app.received == []


async def test_an_unsigned_callback_is_refused(relay: Relay) -> None:
    status, _, _ = await relay.carrier_post(relay.callback_url("/voice"), CALL, sign=False)
    assert status == 403
    assert relay.app.received == []


async def test_a_callback_signed_with_another_token_is_refused(relay: Relay) -> None:
    status, _, _ = await relay.carrier_post(
        relay.callback_url("/voice"), CALL, token="not-the-carrier-token"
    )
    assert status == 403
    assert relay.app.received == []


async def test_a_signature_replayed_to_another_callback_url_is_refused(relay: Relay) -> None:
    first = relay.callback_url("/voice/first")
    second = relay.callback_url("/voice/second")
    status, _, _ = await relay.carrier_post(second, CALL, signed_url=first)
    assert status == 403
    assert relay.app.received == []


async def test_an_altered_parameter_breaks_the_signature(relay: Relay) -> None:
    url = relay.callback_url("/voice")
    nonce = signatures.new_nonce()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        signatures.PLIVO_V3: signatures.plivo_v3_signature(
            PLIVO_TOKEN, url, "POST", list(CALL.items()), nonce
        ),
        signatures.PLIVO_V3_NONCE: nonce,
    }
    tampered = CALL | {"To": "19005550000"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=urlencode(tampered), headers=headers) as resp,
    ):
        assert resp.status == 403
    assert relay.app.received == []


# -- accepted: what the app gets, and what the carrier is answered ----------------------------


async def test_the_app_gets_twilio_parameters_signed_for_its_own_url(relay: Relay) -> None:
    answer = VoiceResponse()
    answer.say("hello")
    relay.app.answers["/voice"] = xml(answer)
    status, body, _ = await relay.carrier_post(relay.callback_url("/voice?tenant=7"), CALL)
    assert status == 200
    (got,) = relay.app.received
    assert got.valid
    assert got.params["CallSid"] == "CA" + CALL["CallUUID"].replace("-", "")
    assert got.params["From"] == "+14155550100" and got.params["Caller"] == "+14155550100"
    assert got.params["Direction"] == "outbound-api" and got.params["tenant"] == "7"
    assert "CallUUID" not in got.params and "BillRate" not in got.params
    root = SafeET.fromstring(body)
    assert [child.tag for child in root] == ["Speak"] and root[0].text == "hello"


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(lambda _p: (500, b"oops", "text/plain"), id="app-500"),
        pytest.param(
            lambda _p: (200, b"<html><body>Welcome</body></html>", "text/html"), id="html"
        ),
        pytest.param(
            lambda _p: (
                200,
                b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
                b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><Response><Say>&b;</Say></Response>',
                "application/xml",
            ),
            id="xml-bomb",
        ),
        pytest.param(
            lambda _p: (
                200,
                b"<Response><Say>" + b"x" * 200_000 + b"</Say></Response>",
                "text/xml",
            ),
            id="oversized",
        ),
        pytest.param(
            lambda _p: (200, b"<Response><Pay/></Response>", "text/xml"), id="no-equivalent"
        ),
    ],
)
async def test_a_failing_app_gets_the_carrier_a_hangup_not_an_error(
    relay: Relay, answer: Callable[[dict[str, str]], tuple[int, bytes, str]]
) -> None:
    relay.app.answers["/voice"] = answer
    status, body, _ = await relay.carrier_post(relay.callback_url("/voice"), CALL)
    assert status == 200
    assert _hangup(body)
    assert b"oops" not in body and b"Welcome" not in body and b"aaaa" not in body


async def test_an_app_that_is_down_gets_a_hangup(relay: Relay) -> None:
    plan = relay.config.callbacks
    assert plan is not None
    dead = f"http://127.0.0.1:{free_port()}/voice"
    url = plan.issuer.issue("call-answer", dead, "POST", SID)
    status, body, _ = await relay.carrier_post(url, CALL)
    assert status == 200 and _hangup(body)


async def test_a_slow_app_gets_a_hangup_within_the_app_timeout(relay: Relay) -> None:
    relay.app.delay = 3.0  # app_timeout is 1 s in these tests
    status, body, elapsed = await relay.carrier_post(relay.callback_url("/voice"), CALL)
    assert status == 200 and _hangup(body)
    assert elapsed < 2.5


async def test_the_fallback_url_answers_when_the_app_fails(relay: Relay) -> None:
    relay.app.answers["/voice"] = lambda _p: (503, b"down", "text/plain")
    fallback = VoiceResponse()
    fallback.say("Please call later")
    relay.app.answers["/fallback"] = xml(fallback)
    url = relay.callback_url(
        "/voice", fallback_url=relay.app_url + "/fallback", fallback_method="POST"
    )
    status, body, _ = await relay.carrier_post(url, CALL)
    assert status == 200
    root = SafeET.fromstring(body)
    assert [child.tag for child in root] == ["Speak"] and root[0].text == "Please call later"
    assert [r.path for r in relay.app.received] == ["/voice", "/fallback"]
    assert all(r.valid for r in relay.app.received)


async def test_urls_inside_the_document_come_back_through_the_proxy(relay: Relay) -> None:
    answer = VoiceResponse()
    answer.redirect("next")  # relative: resolved against the document's own URL
    relay.app.answers["/voice/answer"] = xml(answer)
    _, body, _ = await relay.carrier_post(relay.callback_url("/voice/answer"), CALL)
    root = SafeET.fromstring(body)
    (redirect,) = list(root)
    assert redirect.tag == "Redirect"
    assert (redirect.text or "").startswith(relay.proxy + "/_dialect/callbacks/")
    plan = relay.config.callbacks
    assert plan is not None
    token = (redirect.text or "").rsplit("/", 1)[1]
    sealed = plan.issuer.open(token)
    assert sealed.url == relay.app_url + "/voice/next" and sealed.kind == "redirect"
    # The next hop is relayed like the first: the carrier follows the Redirect, the app gets it.
    status, _, _ = await relay.carrier_post(redirect.text or "", CALL)
    assert status == 200
    assert [r.path for r in relay.app.received] == ["/voice/answer", "/voice/next"]


@pytest.mark.parametrize("relay", [{"allow_hosts": ["app.example.com"]}], indirect=True)
async def test_a_callback_url_outside_the_allow_list_is_refused_at_create(
    relay: Relay,
) -> None:
    async with aiohttp.ClientSession() as session:
        resp = await session.post(
            f"{relay.proxy}/2010-04-01/Accounts/{SID}/Calls.json",
            data={"To": "+14155550111", "From": "+14155550100", "Url": "http://10.0.0.1/voice"},
            headers=AUTH,
        )
        body = await resp.json()
    # Refused by the request steps, before any upstream call (there is no upstream here: a
    # request that reached one would have answered 502).
    assert resp.status == 400
    assert body["code"] == 21205


# -- numbers: calls and messages the carrier sends to the app's numbers -----------------------

SMS = {
    "From": "14155550100",
    "To": "14155550199",
    "Type": "sms",
    "Text": "STOP & go",
    "MessageUUID": "0936ec98-7c4c-11e7-9891-06ad4ba32f2b",
    "Units": "1",
    "TotalRate": "0.00000",
    "TotalAmount": "0.00000",
}


async def test_an_incoming_message_reaches_the_app_and_its_reply_goes_back_as_plivo_xml(
    relay: Relay,
) -> None:
    reply = MessagingResponse()
    reply.message("Got it")
    relay.app.answers["/incoming/sms"] = xml(reply)
    url = relay.proxy + "/_dialect/callbacks/incoming/message"
    status, body, _ = await relay.carrier_post(url, SMS, messaging=True)
    assert status == 200
    (got,) = relay.app.received
    assert got.valid
    assert got.params["Body"] == "STOP & go" and got.params["SmsStatus"] == "received"
    assert got.params["MessageSid"] == "SM0936ec987c4c11e7989106ad4ba32f2b" == got.params["SmsSid"]
    assert got.params["From"] == "+14155550100" and got.params["NumMedia"] == "0"
    root = SafeET.fromstring(body)
    (message,) = list(root)
    assert message.tag == "Message" and message.text == "Got it"
    # Plivo needs both ends written: the reply goes from the number called to the sender.
    assert message.get("src") == "14155550199" and message.get("dst") == "14155550100"


async def test_an_incoming_call_to_the_number_gets_the_apps_twiml_as_plivo_xml(
    relay: Relay,
) -> None:
    answer = VoiceResponse()
    answer.say("Welcome", voice="man")
    relay.app.answers["/in/voice"] = xml(answer)
    url = relay.proxy + "/_dialect/callbacks/incoming/call"
    status, body, _ = await relay.carrier_post(url, CALL | {"Direction": "inbound"})
    assert status == 200
    (got,) = relay.app.received
    assert got.valid and got.params["Direction"] == "inbound"
    root = SafeET.fromstring(body)
    assert [(c.tag, c.get("voice")) for c in root] == [("Speak", "MAN")]


async def test_a_number_without_an_app_is_not_relayed(relay: Relay) -> None:
    url = relay.proxy + "/_dialect/callbacks/incoming/message"
    status, _, _ = await relay.carrier_post(url, SMS | {"To": "14155550123"}, messaging=True)
    assert status == 404
    assert relay.app.received == []


async def test_an_incoming_message_signed_for_another_url_is_refused(relay: Relay) -> None:
    url = relay.proxy + "/_dialect/callbacks/incoming/message"
    status, _, _ = await relay.carrier_post(
        url, SMS, messaging=True, signed_url=relay.proxy + "/elsewhere"
    )
    assert status == 403
    assert relay.app.received == []


async def test_safe_documents_and_refusals_are_counted_in_the_metrics(relay: Relay) -> None:
    relay.app.answers["/voice"] = lambda _p: (200, b"<Response><Pay/></Response>", "text/xml")
    await relay.carrier_post(relay.callback_url("/voice"), CALL)
    await relay.carrier_post(relay.callback_url("/voice"), CALL, sign=False)
    async with (
        aiohttp.ClientSession() as session,
        session.get(relay.proxy + "/_dialect/metrics") as resp,
    ):
        text = await resp.text()
    assert 'dialect_callbacks_total{kind="call-answer",outcome="safe-document"} 1.0' in text
    assert 'dialect_callbacks_total{kind="call-answer",outcome="unsigned"} 1.0' in text


async def test_a_bug_in_the_relay_still_answers_the_carrier_a_hangup(
    relay: Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert relay.server.live is not None
    live_relay = relay.server.live.current.relay
    assert live_relay is not None

    def broken(*_args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(live_relay.answers, "translate_document", broken)
    answer = VoiceResponse()
    answer.say("hello")
    relay.app.answers["/voice"] = xml(answer)
    status, body, _ = await relay.carrier_post(relay.callback_url("/voice"), CALL)
    assert status == 200 and _hangup(body)
    assert b"a bug" not in body and b"Traceback" not in body
