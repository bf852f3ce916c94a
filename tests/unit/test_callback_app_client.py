"""The request an app gets: its parameters encoded as ``urlencode`` would, signed so that its own
SDK validator accepts it, whichever way the parts of its URL were remembered."""

from __future__ import annotations

import enum
from urllib.parse import parse_qsl, urlencode, urlsplit

from hypothesis import given
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from proxy.callbacks import app_client as app_client_module
from proxy.callbacks.app_client import AppClient, flat, form_encode
from proxy.callbacks.issuer import Issuer
from proxy.callbacks.tokens import derive_key
from proxy.settings.models import Account, CallbackSettings

APP_TOKEN = "app-side-twilio-token"
ACCOUNT = Account.model_validate(
    {
        "client": {"user": "AC" + "a1" * 16, "secret": APP_TOKEN},
        "upstream": {"user": "MA1", "secret": "carrier-token"},
    }
)
SETTINGS = CallbackSettings(
    public_url="https://dialect.example.com", upstream="plivo", app_style="twilio"
)
PARAMS = {
    "MessageSid": "SM0936ec987c4c11e7989106ad4ba32f2b",
    "MessageStatus": "delivered",
    "From": "+14155550100",
    "Body": "héllo & goodbye = 100% ~ok",
    "NumMedia": 0,
}


def client() -> AppClient:
    return AppClient(SETTINGS, Issuer(SETTINGS.public_url, derive_key("s", [])[0], []))


_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)


@given(pairs=st.lists(st.tuples(_TEXT, _TEXT), max_size=8))
def test_form_encoding_is_urlencode(pairs: list[tuple[str, str]]) -> None:
    assert form_encode(pairs) == urlencode(pairs)


def test_every_ascii_character_is_encoded_as_urlencode_does() -> None:
    every = "".join(chr(code) for code in range(128))
    pairs = [(every, every), ("To", "+14155550199"), ("Body", "a b&c=d/é")]
    assert form_encode(pairs) == urlencode(pairs)


class Status(enum.StrEnum):
    DELIVERED = "delivered"


def test_flat_parameters() -> None:
    params = {"a": "x", "b": ["1", None, 2], "c": None, "d": True, "e": Status.DELIVERED, "f": 1.5}
    assert flat(params) == [
        ("a", "x"),
        ("b", "1"),
        ("b", "2"),
        ("d", "true"),
        ("e", "delivered"),
        ("f", "1.5"),
    ]
    assert all(type(value) is str for _, value in flat(params))


def test_a_post_is_a_form_the_apps_validator_accepts() -> None:
    apps = client()
    url = "https://app.example.com/sms/status?tenant=7"
    for _ in range(2):  # the second time, the URL's parts come from memory
        signed_url, body, headers = apps.signed_request(url, "POST", PARAMS, ACCOUNT)
        assert signed_url == url and body is not None
        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        assert form == {name: str(value) for name, value in PARAMS.items()}
        assert headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert RequestValidator(APP_TOKEN).validate(url, form, headers["X-Twilio-Signature"])


def test_a_get_carries_the_parameters_in_its_signed_url() -> None:
    apps = client()
    url = "https://app.example.com/sms/status?tenant=7"
    for _ in range(2):
        signed_url, body, headers = apps.signed_request(url, "GET", PARAMS, ACCOUNT)
        assert body is None and "Content-Type" not in headers
        query = dict(parse_qsl(urlsplit(signed_url).query, keep_blank_values=True))
        assert query == {"tenant": "7", **{name: str(value) for name, value in PARAMS.items()}}
        assert RequestValidator(APP_TOKEN).validate(signed_url, {}, headers["X-Twilio-Signature"])


def test_remembered_app_urls_stay_within_bounds() -> None:
    apps = client()
    count = app_client_module.MAX_TARGETS + 10
    for i in range(count):
        url = f"https://app{i}.example.com/s?i={i}"
        signed_url, _, _ = apps.signed_request(url, "GET", {"n": str(i)}, ACCOUNT)
        assert signed_url == f"{url}&n={i}"
    assert len(apps._targets) <= app_client_module.MAX_TARGETS
    long_url = "https://app.example.com/" + "a" * app_client_module.MAX_TARGET_URL
    assert apps.signed_request(long_url, "POST", {}, ACCOUNT)[0] == long_url
    assert long_url not in apps._targets
