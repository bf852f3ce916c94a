"""Carrier signatures: exact worked examples, and agreement with the carriers' SDK validators.

The SDK validators are what apps run on what Dialect re-signs, and what carriers' signatures are
checked against in practice, so every scheme is checked both ways against them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from multidict import CIMultiDict, CIMultiDictProxy, MultiDict
from plivo.utils import validate_signature, validate_v3_signature
from plivo.utils.signature_v3 import construct_get_url, construct_post_url, get_signature_v3
from twilio.request_validator import RequestValidator

from proxy.callbacks.signatures import (
    MAX_PREPARED_KEYS,
    PLIVO_MA_V3,
    PLIVO_V2,
    PLIVO_V2_NONCE,
    PLIVO_V3,
    PLIVO_V3_NONCE,
    TWILIO_SIGNATURE,
    Params,
    PlivoScheme,
    Verdict,
    new_nonce,
    plivo_headers,
    plivo_v2_signature,
    plivo_v2_string,
    plivo_v3_signature,
    plivo_v3_string,
    twilio_body_url,
    twilio_headers,
    twilio_signature,
    twilio_string,
    verify_plivo,
    verify_twilio,
)

# --- worked examples: Twilio's published vector, and vectors computed with Python's hmac ------

TWILIO_TOKEN = "dialect-demo-twilio-token"
TWILIO_URL = "https://app.example.com/sms/incoming"
TWILIO_PARAMS: Params = [
    ("AccountSid", "AC00000000000000000000000000000000"),
    ("ApiVersion", "2010-04-01"),
    ("Body", "Hello there"),
    ("From", "+14155550100"),
    ("MessageSid", "SM0123456789abcdef0123456789abcdef"),
    ("SmsSid", "SM0123456789abcdef0123456789abcdef"),
    ("NumMedia", "0"),
    ("NumSegments", "1"),
    ("SmsStatus", "received"),
    ("To", "+14155550199"),
]
TWILIO_STRING = (
    "https://app.example.com/sms/incomingAccountSidAC00000000000000000000000000000000"
    "ApiVersion2010-04-01BodyHello thereFrom+14155550100MessageSidSM0123456789abcdef0123456789abcdef"
    "NumMedia0NumSegments1SmsSidSM0123456789abcdef0123456789abcdefSmsStatusreceivedTo+14155550199"
)
TWILIO_SIG = "0nENJnKjCtMjK5rxr4QVFimsCFo="

PUBLISHED_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PUBLISHED_PARAMS: Params = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+14158675309"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
]
PUBLISHED_SIG = "RSOYDt4T1cUTdK1PDd93/VVr8B8="

PLIVO_TOKEN = "dialect-demo-plivo-token"
PLIVO_NONCE = "12345678901234567890"
PLIVO_PARAMS: Params = [
    ("CallStatus", "ringing"),
    ("CallUUID", "d0a3c2f0-1111-2222-3333-444455556666"),
    ("Direction", "inbound"),
    ("From", "14155550100"),
    ("To", "14155550199"),
]
_POST_TAIL = (
    "CallStatusringingCallUUIDd0a3c2f0-1111-2222-3333-444455556666"
    "DirectioninboundFrom14155550100To14155550199"
)
PLIVO_V3_ROWS = [
    (
        "POST",
        "https://app.example.com/plivo/answer",
        PLIVO_PARAMS,
        f"https://app.example.com/plivo/answer?{_POST_TAIL}.12345678901234567890",
        "zTV/sbrnN1sqWAn+4GNpa9aJCeDTEtzYS1sf2EVqFEo=",
    ),
    (
        "POST",
        "https://app.example.com/plivo/answer?tenant=7",
        PLIVO_PARAMS,
        f"https://app.example.com/plivo/answer?tenant=7.{_POST_TAIL}.12345678901234567890",
        "OALHmtp6iR175wL1+XPsbdbPeDC4YB3vsh1NUx/buNw=",
    ),
    (
        "GET",
        "https://app.example.com/plivo/answer?tenant=7",
        PLIVO_PARAMS,
        "https://app.example.com/plivo/answer?CallStatus=ringing"
        "&CallUUID=d0a3c2f0-1111-2222-3333-444455556666&Direction=inbound&From=14155550100"
        "&To=14155550199&tenant=7.12345678901234567890",
        "x8PyD3vyV4AJGt5ceLOJHQGThrzq4uZ1zyjGoYQ9WFg=",
    ),
    (
        "POST",
        "https://app.example.com/plivo/hangup",
        [],
        "https://app.example.com/plivo/hangup.12345678901234567890",
        "1WcVSFNZNQ2fxlPdb7y0X/e/AlA8klOU/0N/m7HnRCQ=",
    ),
]
PLIVO_V2_ROWS = [
    (
        "dialect-demo-plivo-token",
        "https://app.example.com/plivo/sms",
        "05429567804466091622",
        "aDPidGKYHB/6nPz53qn2D15xgS8BS6F42fq1XFnS12E=",
    ),
    (
        "my_auth_token",
        "https://answer.url",
        "12345",
        "ehV3IKhLysWBxC1sy8INm0qGoQYdYsHwuoKjsX7FsXc=",
    ),
]


def test_twilio_published_vector() -> None:
    assert twilio_signature("12345", PUBLISHED_URL, PUBLISHED_PARAMS) == PUBLISHED_SIG
    headers = {TWILIO_SIGNATURE: PUBLISHED_SIG}
    verdict = verify_twilio(headers, PUBLISHED_URL, "POST", PUBLISHED_PARAMS, b"", "12345")
    assert verdict is Verdict.OK


def test_twilio_dialect_example_string_and_signature() -> None:
    assert twilio_string(TWILIO_URL, TWILIO_PARAMS) == TWILIO_STRING
    assert twilio_signature(TWILIO_TOKEN, TWILIO_URL, TWILIO_PARAMS) == TWILIO_SIG


@pytest.mark.parametrize(
    "url", [TWILIO_URL, "https://app.example.com:443/sms/incoming"], ids=["bare", "port-443"]
)
def test_twilio_dialect_example_verifies_with_and_without_default_port(url: str) -> None:
    headers = {TWILIO_SIGNATURE: TWILIO_SIG}
    assert verify_twilio(headers, url, "POST", TWILIO_PARAMS, b"", TWILIO_TOKEN) is Verdict.OK
    assert RequestValidator(TWILIO_TOKEN).validate(url, dict(TWILIO_PARAMS), TWILIO_SIG)


@pytest.mark.parametrize(("method", "url", "params", "string", "signature"), PLIVO_V3_ROWS)
def test_plivo_v3_worked_examples(
    method: str, url: str, params: Params, string: str, signature: str
) -> None:
    assert plivo_v3_string(url, method, params, PLIVO_NONCE) == string
    assert plivo_v3_signature(PLIVO_TOKEN, url, method, params, PLIVO_NONCE) == signature
    headers = {PLIVO_V3: signature, PLIVO_V3_NONCE: PLIVO_NONCE}
    assert verify_plivo(headers, url, method, params, b"", PLIVO_TOKEN) is Verdict.OK
    assert validate_v3_signature(method, url, PLIVO_NONCE, PLIVO_TOKEN, signature, dict(params))


@pytest.mark.parametrize(("token", "url", "nonce", "signature"), PLIVO_V2_ROWS)
def test_plivo_v2_worked_examples(token: str, url: str, nonce: str, signature: str) -> None:
    assert plivo_v2_string(url, nonce) == url + nonce
    assert plivo_v2_signature(token, url, nonce) == signature
    headers = {PLIVO_V2: signature, PLIVO_V2_NONCE: nonce}
    assert verify_plivo(headers, url, "POST", [], b"", token, scheme="v2") is Verdict.OK
    assert validate_signature(url, nonce, signature, token)


# --- Twilio: ports, JSON bodies, GET, headers ------------------------------------------------


@pytest.mark.parametrize(
    ("signed_url", "requested_url", "verdict"),
    [
        ("https://h.example/x?a=1", "https://h.example:443/x?a=1", Verdict.OK),
        ("https://h.example:443/x?a=1", "https://h.example/x?a=1", Verdict.OK),
        ("http://h.example/x", "http://h.example:80/x", Verdict.OK),
        ("http://h.example:80/x", "http://h.example/x", Verdict.OK),
        ("https://user@h.example/x", "https://user@h.example:443/x", Verdict.OK),
        ("https://h.example:8443/x", "https://h.example:8443/x", Verdict.OK),
        # only the default port is added or removed
        ("https://h.example:8443/x", "https://h.example/x", Verdict.BAD_SIGNATURE),
        ("https://h.example/x", "https://h.example:8443/x", Verdict.BAD_SIGNATURE),
        ("https://h.example:80/x", "https://h.example/x", Verdict.BAD_SIGNATURE),
        ("http://h.example/x", "http://h.example:443/x", Verdict.BAD_SIGNATURE),
    ],
)
def test_twilio_port_variants(signed_url: str, requested_url: str, verdict: Verdict) -> None:
    headers = twilio_headers("tok", signed_url, [("A", "1")])
    assert verify_twilio(headers, requested_url, "POST", [("A", "1")], b"", "tok") is verdict


def test_twilio_json_body_is_covered_by_the_url_hash() -> None:
    body = b'{"CallSid":"CA1","CallStatus":"completed"}'
    url = twilio_body_url("https://app.example.com/events?x=1", body)
    assert (
        url == f"https://app.example.com/events?x=1&bodySHA256={hashlib.sha256(body).hexdigest()}"
    )
    headers = twilio_headers("tok", url, [])
    assert verify_twilio(headers, url, "POST", [], body, "tok") is Verdict.OK
    # parameters decoded from the JSON body are covered by the hash, not signed again
    assert verify_twilio(headers, url, "POST", [("CallSid", "CA1")], body, "tok") is Verdict.OK
    tampered = body.replace(b"completed", b"failed")
    assert verify_twilio(headers, url, "POST", [], tampered, "tok") is Verdict.BODY_HASH_MISMATCH
    other_url = twilio_body_url("https://app.example.com/events?x=1", tampered)
    assert verify_twilio(headers, other_url, "POST", [], tampered, "tok") is Verdict.BAD_SIGNATURE
    assert RequestValidator("tok").validate(url, body.decode(), headers[TWILIO_SIGNATURE])


def test_twilio_json_body_signed_by_the_sdk_verifies() -> None:
    body = b'{"a":"b"}'
    url = twilio_body_url("https://app.example.com/events", body)
    signature = RequestValidator("tok").compute_signature(url, {})
    headers = {TWILIO_SIGNATURE: signature}
    assert verify_twilio(headers, url, "POST", [], body, "tok") is Verdict.OK
    assert (
        verify_twilio(headers, url, "POST", [], b'{"a":"c"}', "tok") is Verdict.BODY_HASH_MISMATCH
    )


def test_twilio_get_signs_the_url_alone() -> None:
    url = "https://app.example.com/voice?CallSid=CA1&From=%2B14155550100"
    headers = twilio_headers("tok", url, [])
    decoded = parse_qsl(url.partition("?")[2])
    assert verify_twilio(headers, url, "GET", decoded, b"", "tok") is Verdict.OK
    assert verify_twilio(headers, url, "GET", [], b"", "tok") is Verdict.OK
    # the same parameters as a POST form would have been signed after the URL
    assert verify_twilio(headers, url, "POST", decoded, b"", "tok") is Verdict.BAD_SIGNATURE


def test_twilio_repeated_names_sign_each_distinct_value_sorted() -> None:
    params = [("MediaUrl", "b"), ("To", "1"), ("MediaUrl", "a"), ("MediaUrl", "b")]
    assert twilio_string("u", params) == "uMediaUrlaMediaUrlbTo1"


def test_twilio_headers_are_looked_up_case_insensitively() -> None:
    signature = twilio_signature("tok", TWILIO_URL, TWILIO_PARAMS)
    for name in ("x-twilio-signature", "X-TWILIO-SIGNATURE", "X-Twilio-Signature"):
        verdict = verify_twilio({name: signature}, TWILIO_URL, "POST", TWILIO_PARAMS, b"", "tok")
        assert verdict is Verdict.OK


@pytest.mark.parametrize(
    ("headers", "verdict"),
    [
        ({}, Verdict.MISSING_HEADER),
        ({"X-Twilio-Signature-Ma": "x"}, Verdict.MISSING_HEADER),
        ({TWILIO_SIGNATURE: ""}, Verdict.BAD_SIGNATURE),
        ({TWILIO_SIGNATURE: "0nENJnKjCtMjK5rxr4QVFimsCFo"}, Verdict.BAD_SIGNATURE),
        ({TWILIO_SIGNATURE: "0nENJnKjCtMjK5rxr4QVFimsCFö="}, Verdict.BAD_SIGNATURE),
        ({TWILIO_SIGNATURE: "\ud800"}, Verdict.BAD_SIGNATURE),
    ],
)
def test_twilio_missing_or_bad_header(headers: dict[str, str], verdict: Verdict) -> None:
    result = verify_twilio(headers, TWILIO_URL, "POST", TWILIO_PARAMS, b"", TWILIO_TOKEN)
    assert result is verdict
    assert result.ok is (verdict is Verdict.OK)


def test_twilio_wrong_token_fails() -> None:
    headers = {TWILIO_SIGNATURE: TWILIO_SIG}
    verdict = verify_twilio(headers, TWILIO_URL, "POST", TWILIO_PARAMS, b"", TWILIO_TOKEN + "x")
    assert verdict is Verdict.BAD_SIGNATURE


# --- Plivo: headers, schemes, GET semantics --------------------------------------------------


def test_new_nonce_is_twenty_random_digits() -> None:
    nonces = {new_nonce() for _ in range(50)}
    assert len(nonces) == 50
    assert all(re.fullmatch(r"[0-9]{20}", nonce) for nonce in nonces)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_plivo_headers_carry_both_schemes_with_distinct_nonces(method: str) -> None:
    url = "https://app.example.com/plivo/answer?tenant=7"
    headers = plivo_headers(PLIVO_TOKEN, url, method, PLIVO_PARAMS)
    assert set(headers) == {PLIVO_V3, PLIVO_V3_NONCE, PLIVO_V2, PLIVO_V2_NONCE}
    assert re.fullmatch(r"[0-9]{20}", headers[PLIVO_V3_NONCE])
    assert re.fullmatch(r"[0-9]{20}", headers[PLIVO_V2_NONCE])
    assert headers[PLIVO_V3_NONCE] != headers[PLIVO_V2_NONCE]
    v3 = headers[PLIVO_V3]
    assert validate_v3_signature(
        method, url, headers[PLIVO_V3_NONCE], PLIVO_TOKEN, v3, dict(PLIVO_PARAMS)
    )
    assert validate_signature(url, headers[PLIVO_V2_NONCE], headers[PLIVO_V2], PLIVO_TOKEN)
    schemes: tuple[PlivoScheme, ...] = ("v2", "v3")
    for scheme in schemes:
        verdict = verify_plivo(headers, url, method, PLIVO_PARAMS, b"", PLIVO_TOKEN, scheme=scheme)
        assert verdict is Verdict.OK


def _v3(url: str, method: str, params: Params, token: str = PLIVO_TOKEN) -> dict[str, str]:
    return {
        PLIVO_V3: plivo_v3_signature(token, url, method, params, PLIVO_NONCE),
        PLIVO_V3_NONCE: PLIVO_NONCE,
    }


def _v2(url: str, token: str = PLIVO_TOKEN) -> dict[str, str]:
    nonce = "05429567804466091622"
    return {PLIVO_V2: plivo_v2_signature(token, url, nonce), PLIVO_V2_NONCE: nonce}


URL = "https://app.example.com/plivo/answer"
GOOD_V3 = _v3(URL, "POST", PLIVO_PARAMS)
BAD_V3 = _v3(URL, "POST", PLIVO_PARAMS, token="other")
GOOD_V2 = _v2(URL)
BAD_V2 = _v2(URL, token="other")


@pytest.mark.parametrize(
    ("scheme", "headers", "verdict"),
    [
        ("v3", GOOD_V3, Verdict.OK),
        ("v3", BAD_V3, Verdict.BAD_SIGNATURE),
        ("v3", GOOD_V2, Verdict.MISSING_HEADER),
        ("v3", {**BAD_V3, **GOOD_V2}, Verdict.BAD_SIGNATURE),
        ("v3", {PLIVO_V3: GOOD_V3[PLIVO_V3]}, Verdict.MISSING_HEADER),
        ("v3", {PLIVO_V3_NONCE: PLIVO_NONCE}, Verdict.MISSING_HEADER),
        ("v2", GOOD_V2, Verdict.OK),
        ("v2", BAD_V2, Verdict.BAD_SIGNATURE),
        ("v2", GOOD_V3, Verdict.OK),
        ("v2", {**GOOD_V3, **BAD_V2}, Verdict.OK),
        ("v2", {**BAD_V3, **GOOD_V2}, Verdict.OK),
        ("v2", BAD_V3, Verdict.BAD_SIGNATURE),
        ("v2", {**BAD_V3, **BAD_V2}, Verdict.BAD_SIGNATURE),
        ("v2", {}, Verdict.MISSING_HEADER),
        ("v2", {PLIVO_V2: GOOD_V2[PLIVO_V2]}, Verdict.MISSING_HEADER),
    ],
)
def test_plivo_scheme_requirements(
    scheme: PlivoScheme, headers: dict[str, str], verdict: Verdict
) -> None:
    result = verify_plivo(headers, URL, "POST", PLIVO_PARAMS, b"", PLIVO_TOKEN, scheme=scheme)
    assert result is verdict


def test_plivo_v3_header_may_list_several_signatures() -> None:
    good = GOOD_V3[PLIVO_V3]
    for listed in (f"bogus,{good}", f"{good},bogus", f"bogus, {good}"):
        headers = {PLIVO_V3: listed, PLIVO_V3_NONCE: PLIVO_NONCE}
        assert verify_plivo(headers, URL, "POST", PLIVO_PARAMS, b"", PLIVO_TOKEN) is Verdict.OK
    headers = {PLIVO_V3: f"bogus,{BAD_V3[PLIVO_V3]}", PLIVO_V3_NONCE: PLIVO_NONCE}
    assert (
        verify_plivo(headers, URL, "POST", PLIVO_PARAMS, b"", PLIVO_TOKEN) is Verdict.BAD_SIGNATURE
    )


def test_plivo_main_account_header_is_tried_with_the_token() -> None:
    headers = {
        PLIVO_V3: BAD_V3[PLIVO_V3],
        PLIVO_MA_V3: GOOD_V3[PLIVO_V3],
        PLIVO_V3_NONCE: PLIVO_NONCE,
    }
    assert verify_plivo(headers, URL, "POST", PLIVO_PARAMS, b"", PLIVO_TOKEN) is Verdict.OK


def test_plivo_headers_are_looked_up_case_insensitively() -> None:
    headers = {name.lower(): value for name, value in GOOD_V3.items()}
    assert verify_plivo(headers, URL, "POST", PLIVO_PARAMS, b"", PLIVO_TOKEN) is Verdict.OK
    headers = {name.upper(): value for name, value in GOOD_V2.items()}
    assert verify_plivo(headers, URL, "POST", [], b"", PLIVO_TOKEN, scheme="v2") is Verdict.OK


def test_headers_as_the_server_gives_them_are_found_in_any_case() -> None:
    """The server hands over a case-insensitive multidict; its names arrive as the carrier
    wrote them, in any case."""
    lower = CIMultiDictProxy(CIMultiDict({k.lower(): v for k, v in GOOD_V3.items()}))
    assert verify_plivo(lower, URL, "POST", PLIVO_PARAMS, b"", PLIVO_TOKEN) is Verdict.OK
    upper = CIMultiDictProxy(CIMultiDict({k.upper(): v for k, v in GOOD_V2.items()}))
    verdict = verify_plivo(upper, URL, "POST", [], b"", PLIVO_TOKEN, scheme="v2")
    assert verdict is Verdict.OK
    none = CIMultiDictProxy(CIMultiDict({"Content-Type": "application/x-www-form-urlencoded"}))
    assert verify_plivo(none, URL, "POST", [], b"", PLIVO_TOKEN) is Verdict.MISSING_HEADER
    signature = twilio_signature("tok", TWILIO_URL, TWILIO_PARAMS)
    twilio = CIMultiDictProxy(CIMultiDict({"x-twilio-signature": signature}))
    verdict = verify_twilio(twilio, TWILIO_URL, "POST", TWILIO_PARAMS, b"", "tok")
    assert verdict is Verdict.OK


def test_signatures_stay_right_as_more_tokens_sign_than_are_kept_ready() -> None:
    tokens = [f"token-{i}" for i in range(MAX_PREPARED_KEYS + 10)]

    def expected(token: str, message: str, digest: str) -> str:
        mac = hmac.new(token.encode(), message.encode(), digest).digest()
        return base64.b64encode(mac).decode()

    for order in (tokens, tokens[::-1], tokens):
        for token in order:
            string = twilio_string(TWILIO_URL, TWILIO_PARAMS)
            assert twilio_signature(token, TWILIO_URL, TWILIO_PARAMS) == expected(
                token, string, "sha1"
            )
            assert plivo_v2_signature(token, URL, PLIVO_NONCE) == expected(
                token, plivo_v2_string(URL, PLIVO_NONCE), "sha256"
            )


def test_plivo_v3_tampered_parameter_fails() -> None:
    params = [*PLIVO_PARAMS[:-1], ("To", "14155550198")]
    assert verify_plivo(GOOD_V3, URL, "POST", params, b"", PLIVO_TOKEN) is Verdict.BAD_SIGNATURE


def test_plivo_v3_get_params_may_travel_in_the_url_or_beside_it() -> None:
    """The full request URL alone, the app URL plus the parameters to append, and the full URL
    together with its own decoded query all give one string (the URL's query wins a name)."""
    app_url = "https://app.example.com/plivo/answer?tenant=7"
    full_url = f"{app_url}&{urlencode(PLIVO_PARAMS)}"
    expected = PLIVO_V3_ROWS[2][3]
    assert plivo_v3_string(full_url, "GET", [], PLIVO_NONCE) == expected
    assert plivo_v3_string(app_url, "GET", PLIVO_PARAMS, PLIVO_NONCE) == expected
    both = plivo_v3_string(full_url, "GET", parse_qsl(full_url.partition("?")[2]), PLIVO_NONCE)
    assert both == expected
    assert plivo_v3_string(app_url, "get", PLIVO_PARAMS, PLIVO_NONCE) == expected


def test_plivo_v3_get_query_values_are_decoded_and_sorted() -> None:
    url = "https://h.example/p?b=2&a=%2B1&b=1&c"
    assert plivo_v3_string(url, "GET", [], "n") == "https://h.example/p?a=+1&b=1&b=2&c=.n"


def test_plivo_v3_post_repeated_names_keep_every_value_sorted() -> None:
    params = [("B", "2"), ("A", "x"), ("B", "1"), ("B", "2")]
    assert plivo_v3_string("https://h.example/p", "POST", params, "n") == (
        "https://h.example/p?AxB1B2B2.n"
    )


def test_plivo_v2_ignores_query_and_fragment() -> None:
    url = "https://app.example.com/plivo/sms"
    signature = plivo_v2_signature("tok", url, "1")
    assert plivo_v2_signature("tok", f"{url}?x=1#frag", "1") == signature
    assert plivo_v2_signature("tok", f"{url}/", "1") != signature


# --- agreement with the SDKs, generated ------------------------------------------------------

_ASCII_PATH = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="?#;"),
    max_size=20,
)
_TEXT = st.text(
    alphabet=st.characters(exclude_categories=("Cs", "Cc")),
    max_size=12,
)
_NAME = st.text(
    alphabet=st.characters(exclude_categories=("Cs", "Cc")),
    min_size=1,
    max_size=8,
)


_ASCII_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    max_size=12,
)


@st.composite
def urls(draw: st.DrawFn, query_text: st.SearchStrategy[str] = _TEXT) -> str:
    """Absolute http(s) URLs as a carrier would be given: ASCII, percent-encoded query."""
    scheme = draw(st.sampled_from(["http", "https"]))
    labels = draw(st.lists(st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True), min_size=1, max_size=3))
    port = draw(st.sampled_from(["", ":80", ":443", ":8443"]))
    path = "/" + draw(_ASCII_PATH)
    # A bodySHA256 query parameter is what selects Twilio's JSON-body scheme: a URL given for
    # form callbacks never carries one (that scheme has tests of its own).
    names = query_text.filter(lambda name: bool(name) and name != "bodySHA256")
    query = draw(st.lists(st.tuples(names, query_text), max_size=4))
    tail = f"?{urlencode(query)}" if query else ""
    return f"{scheme}://{'.'.join(labels)}{port}{path}{tail}"


# Plivo's SDK raises on a percent-encoded non-ASCII character in a URL's query (it parses the
# URL as ASCII bytes), so URLs given to it keep their query ASCII; parameters need not.
plivo_urls = urls(query_text=_ASCII_TEXT)


_PARAMS = st.lists(st.tuples(_NAME, _TEXT), max_size=6)
_REPEATED = st.lists(st.tuples(st.sampled_from(["A", "B", "MediaUrl"]), _TEXT), max_size=6)
_ANY_PARAMS = st.one_of(_PARAMS, _REPEATED)
_TOKEN = st.text(alphabet=st.characters(exclude_categories=("Cs",)), min_size=1, max_size=32)


def _grouped(params: Params) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in params:
        grouped.setdefault(name, []).append(value)
    return grouped


def _query_names(url: str) -> set[str]:
    return {name for name, _ in parse_qsl(url.partition("?")[2], keep_blank_values=True)}


@given(url=urls(), params=_ANY_PARAMS, token=_TOKEN)
def test_twilio_sdk_signature_verifies(url: str, params: Params, token: str) -> None:
    signature = RequestValidator(token).compute_signature(url, MultiDict(params))
    headers = {TWILIO_SIGNATURE: signature}
    assert verify_twilio(headers, url, "POST", params, b"", token) is Verdict.OK


@given(url=urls(), params=_ANY_PARAMS, token=_TOKEN)
def test_twilio_signature_passes_the_sdk(url: str, params: Params, token: str) -> None:
    signature = twilio_headers(token, url, params)[TWILIO_SIGNATURE]
    assert RequestValidator(token).validate(url, MultiDict(params), signature)


@given(url=urls(), params=_ANY_PARAMS.filter(bool), token=_TOKEN, data=st.data())
def test_twilio_mutations_fail(url: str, params: Params, token: str, data: st.DataObject) -> None:
    headers = twilio_headers(token, url, params)
    assert verify_twilio(headers, url, "POST", params, b"", token) is Verdict.OK
    index = data.draw(st.integers(0, len(params) - 1))
    name, value = params[index]
    altered = [*params[:index], (name, value + "x"), *params[index + 1 :]]
    assert verify_twilio(headers, url, "POST", altered, b"", token) is Verdict.BAD_SIGNATURE
    path_start = url.index("/", url.index("://") + 3)
    moved = f"{url[:path_start]}/x{url[path_start:]}"  # one more path segment
    assert verify_twilio(headers, moved, "POST", params, b"", token) is Verdict.BAD_SIGNATURE
    assert verify_twilio(headers, url, "POST", params, b"", token + "x") is Verdict.BAD_SIGNATURE
    assert not RequestValidator(token).validate(url, MultiDict(altered), headers[TWILIO_SIGNATURE])


def _sdk_v3(method: str, url: str, params: Params, token: str, nonce: str) -> str:
    grouped = _grouped(params)
    built = construct_get_url(url, grouped) if method == "GET" else construct_post_url(url, grouped)
    return get_signature_v3(token.encode(), built.decode(), nonce.encode()).decode()


@given(
    method=st.sampled_from(["GET", "POST"]),
    url=plivo_urls,
    params=_ANY_PARAMS,
    token=_TOKEN,
    nonce=st.from_regex(r"[0-9]{20}", fullmatch=True),
)
def test_plivo_v3_sdk_signature_verifies(
    method: str, url: str, params: Params, token: str, nonce: str
) -> None:
    headers = {PLIVO_V3: _sdk_v3(method, url, params, token, nonce), PLIVO_V3_NONCE: nonce}
    assert verify_plivo(headers, url, method, params, b"", token) is Verdict.OK


@given(method=st.sampled_from(["GET", "POST"]), url=plivo_urls, params=_ANY_PARAMS, token=_TOKEN)
def test_plivo_signatures_pass_the_sdk(method: str, url: str, params: Params, token: str) -> None:
    headers = plivo_headers(token, url, method, params)
    nonce = headers[PLIVO_V3_NONCE]
    assert validate_v3_signature(method, url, nonce, token, headers[PLIVO_V3], _grouped(params))
    assert validate_signature(url, headers[PLIVO_V2_NONCE], headers[PLIVO_V2], token)


@given(
    method=st.sampled_from(["GET", "POST"]),
    url=plivo_urls,
    params=_ANY_PARAMS.filter(bool),
    token=_TOKEN,
    data=st.data(),
)
def test_plivo_v3_mutations_fail(
    method: str, url: str, params: Params, token: str, data: st.DataObject
) -> None:
    headers = plivo_headers(token, url, method, params)
    assert verify_plivo(headers, url, method, params, b"", token) is Verdict.OK
    index = data.draw(st.integers(0, len(params) - 1))
    name, value = params[index]
    assume(method == "POST" or name not in _query_names(url))  # else the URL's value is signed
    altered = [*params[:index], (name, value + "x"), *params[index + 1 :]]
    bad = Verdict.BAD_SIGNATURE
    assert verify_plivo(headers, url, method, altered, b"", token) is bad
    assert verify_plivo(headers, url, method, params, b"", token + "x") is bad
    other = "POST" if method == "GET" else "GET"
    assert verify_plivo(headers, url, other, params, b"", token) is bad
    nonce, signature = headers[PLIVO_V3_NONCE], headers[PLIVO_V3]
    assert not validate_v3_signature(method, url, nonce, token, signature, _grouped(altered))


@given(url=plivo_urls, token=_TOKEN, nonce=st.from_regex(r"[0-9]{20}", fullmatch=True))
def test_plivo_v2_agrees_with_the_sdk(url: str, token: str, nonce: str) -> None:
    signature = plivo_v2_signature(token, url, nonce)
    assert validate_signature(url, nonce, signature, token)
    headers = {PLIVO_V2: signature, PLIVO_V2_NONCE: nonce}
    assert verify_plivo(headers, url, "POST", [], b"", token, scheme="v2") is Verdict.OK
    base = url.partition("?")[0]
    assert (
        verify_plivo(headers, base + "x", "POST", [], b"", token, scheme="v2")
        is Verdict.BAD_SIGNATURE
    )
    assert not validate_signature(url, nonce, signature, token + "x")
