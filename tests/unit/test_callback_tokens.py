"""Callback URL tokens: round trips, tampering, caps, keys, and which app URLs may be used."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import tracemalloc
import zlib
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proxy.callbacks.tokens import (
    CALLBACK_PATH,
    MAX_PAYLOAD_BYTES,
    MAX_TOKEN_LENGTH,
    Callback,
    InvalidToken,
    OpenedTokens,
    callback_url,
    check_url_allowed,
    derive_key,
    make_token,
    parse_token,
)

KEY, _ = derive_key("test-secret", [])
OTHER_KEY, _ = derive_key("another-secret", [])
ANSWER = Callback(
    kind="call-answer",
    url="https://app.example.com/voice/answer?tenant=7",
    method="POST",
    account="AC00000000000000000000000000000000",
)
FULL = Callback(
    kind="message-status",
    url="http://app.example.com:8080/sms/status",
    method="GET",
    account="MAXXXXXXXXXXXXXXXXXX",
    fallback_url="https://backup.example.com/sms",
    fallback_method="POST",
    extra={"events": "completed failed", "resume": "<Response><Hangup/></Response>"},
)
TOKEN_CHARS = re.compile(r"[A-Za-z0-9_.-]+")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def seal(body: str, key: bytes = KEY) -> str:
    """A token over an arbitrary body, MAC'd as the module documents: what a key holder could make."""
    mac = hmac.new(key, body.encode(), hashlib.sha256).digest()[:16]
    return f"{body}.{_b64(mac)}"


def seal_json(payload: Any, *, version: str = "1", compress: bool = False) -> str:
    data = json.dumps(payload).encode()
    if compress:
        deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        data = deflater.compress(data) + deflater.flush()
    return seal(version + ("z" if compress else "j") + _b64(data))


def reason(token: str, key: bytes = KEY) -> str:
    with pytest.raises(InvalidToken) as caught:
        parse_token(token, key)
    assert str(caught.value) == caught.value.reason
    return caught.value.reason


# --- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("callback", [ANSWER, FULL], ids=["minimal", "full"])
def test_round_trip(callback: Callback) -> None:
    token = make_token(callback, KEY)
    assert TOKEN_CHARS.fullmatch(token)
    assert quote(token, safe="") == token
    assert parse_token(token, KEY) == callback


def test_test_sealing_matches_the_module_format() -> None:
    """The helpers below forge well-MAC'd tokens; they must agree with the module's own MAC."""
    token = make_token(ANSWER, KEY)
    body = token.rpartition(".")[0]
    assert seal(body) == token
    assert body[0] == "1" and body[1] in "jz"


def test_long_repetitive_payloads_are_compressed() -> None:
    callback = Callback(
        "action", ANSWER.url, "POST", "AC1", extra={"resume": "<Say>hi</Say>" * 200}
    )
    token = make_token(callback, KEY)
    assert token[:2] == "1z"
    assert len(token) < 300
    assert parse_token(token, KEY) == callback


def test_short_payloads_stay_uncompressed_when_that_is_shorter() -> None:
    # Non-ASCII bytes cost deflate 9 bits each, and distinct ones give it nothing to reuse.
    account = "".join(chr(0x4E00 + 37 * i) for i in range(20))
    callback = Callback("wait", "http://a.b/", "GET", account)
    token = make_token(callback, KEY)
    assert token[:2] == "1j"
    assert parse_token(token, KEY) == callback


_KIND = st.from_regex(r"[a-z-]{1,32}", fullmatch=True)
_HOST = st.lists(st.from_regex(r"[a-z0-9-]{1,10}", fullmatch=True), min_size=1, max_size=3)
_PATH = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="#"))
_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
_PRINTABLE = st.characters(exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"))


@st.composite
def app_urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https"]))
    port = draw(st.sampled_from(["", ":80", ":8443"]))
    return f"{scheme}://{'.'.join(draw(_HOST))}{port}/{draw(_PATH)}"


@st.composite
def callbacks(draw: st.DrawFn) -> Callback:
    fallback = draw(st.none() | st.tuples(app_urls(), st.sampled_from(["GET", "POST"])))
    return Callback(
        kind=draw(_KIND),
        url=draw(app_urls()),
        method=draw(st.sampled_from(["GET", "POST"])),
        account=draw(st.text(_PRINTABLE, min_size=1, max_size=40)),
        fallback_url=fallback[0] if fallback else None,
        fallback_method=fallback[1] if fallback else None,
        extra=draw(
            st.dictionaries(
                st.from_regex(r"[A-Za-z0-9_.-]{1,32}", fullmatch=True), _TEXT, max_size=4
            )
        ),
    )


@given(callback=callbacks())
def test_round_trip_generated(callback: Callback) -> None:
    token = make_token(callback, KEY)
    assert len(token) <= MAX_TOKEN_LENGTH
    assert TOKEN_CHARS.fullmatch(token)
    assert parse_token(token, KEY) == callback
    assert reason(token, OTHER_KEY) == "bad mac"


# --- tampering -------------------------------------------------------------------------------

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."


@given(callback=callbacks(), data=st.data())
def test_any_single_altered_character_is_refused(callback: Callback, data: st.DataObject) -> None:
    token = make_token(callback, KEY)
    index = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.sampled_from(_ALPHABET).filter(lambda ch: ch != token[index]))
    with pytest.raises(InvalidToken):
        parse_token(token[:index] + replacement + token[index + 1 :], KEY)


def test_every_truncation_and_extension_is_refused() -> None:
    token = make_token(FULL, KEY)
    for end in range(len(token)):
        with pytest.raises(InvalidToken):
            parse_token(token[:end], KEY)
    for extra in ("A", ".", "=", "/"):
        with pytest.raises(InvalidToken):
            parse_token(token + extra, KEY)


def test_a_token_made_with_another_key_is_refused() -> None:
    assert reason(make_token(ANSWER, OTHER_KEY)) == "bad mac"


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("", "malformed"),
        ("1jAAAA", "malformed"),
        (".abc", "malformed"),
        ("1j.abc", "malformed"),
        ("1j+AAA.abc", "malformed"),
        ("1jAAAA.ab=c", "malformed"),
        ("1jAAAA.ab/c", "malformed"),
        ("1jAA\u00e9A.abc", "malformed"),
        ("A" * (MAX_TOKEN_LENGTH + 1), "malformed"),
        ("1jAAAA.AAAAAAAAAAAAAAAAAAAAAA", "bad mac"),
    ],
)
def test_malformed_tokens(token: str, expected: str) -> None:
    assert reason(token) == expected


def test_the_mac_is_checked_before_anything_is_decoded() -> None:
    garbage = "1z" + _b64(b"\xff" * 30)
    assert reason(seal(garbage)) == "bad compression"  # a key holder's garbage gets that far
    assert reason(seal(garbage, OTHER_KEY)) == "bad mac"  # nobody else's does
    assert reason(seal("1j" + _b64(b"{not json"), OTHER_KEY)) == "bad mac"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("2j" + _b64(b"{}"), "unsupported version"),
        ("0j" + _b64(b"{}"), "unsupported version"),
        ("1x" + _b64(b"{}"), "unknown encoding"),
        ("1jA", "bad base64"),
        ("1j" + _b64(b"\xff\xfe"), "undecodable payload"),
        ("1j" + _b64(b"[1, 2]"), "payload is not an object"),
        ("1z" + _b64(zlib.compress(b"{}")), "bad compression"),  # zlib header, not raw deflate
    ],
)
def test_well_sealed_but_wrong_bodies(body: str, expected: str) -> None:
    assert reason(seal(body)) == expected


def test_a_truncated_deflate_stream_is_refused() -> None:
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    stream = deflater.compress(json.dumps({"k": "wait"}).encode()) + deflater.flush()
    assert reason(seal("1z" + _b64(stream[:-2]))) == "bad compression"
    assert reason(seal("1z" + _b64(stream + b"junk"))) == "bad compression"


_VALID = {"k": "call-answer", "u": "https://app.example.com/a", "m": "POST", "a": "AC1"}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, None),
        ({"z": "1"}, "missing or unknown fields"),
        ({"k": None}, "missing or unknown fields"),
        ({"v": 1}, "missing or unknown fields"),
        ({"m": 1}, "ill-formed field"),
        ({"m": "PUT"}, "ill-formed field"),
        ({"m": "post"}, "ill-formed field"),
        ({"k": "Call"}, "ill-formed field"),
        ({"k": "a" * 33}, "ill-formed field"),
        ({"u": "ftp://app.example.com/a"}, "ill-formed field"),
        ({"u": "/relative"}, "ill-formed field"),
        ({"a": ""}, "ill-formed field"),
        ({"f": "https://b.example/"}, "ill-formed field"),
        ({"g": "POST"}, "ill-formed field"),
        ({"f": "https://b.example/", "g": "GET"}, None),
        ({"f": "mailto:x@y", "g": "GET"}, "ill-formed field"),
        ({"x": {"a": "b"}}, None),
        ({"x": {"a": 1}}, "ill-formed field"),
        ({"x": ["a"]}, "ill-formed field"),
        ({"x": "a"}, "ill-formed field"),
        ({"x": {"bad key": "b"}}, "ill-formed field"),
        ({"x": {f"k{i}": "v" for i in range(17)}}, "ill-formed field"),
    ],
)
def test_sealed_fields_are_validated(changes: dict[str, Any], expected: str | None) -> None:
    payload = {**_VALID, **changes}
    payload = {key: value for key, value in payload.items() if value is not None}
    for compress in (False, True):
        token = seal_json(payload, compress=compress)
        if expected is None:
            assert parse_token(token, KEY).kind == "call-answer"
        else:
            assert reason(token) == expected


# --- size caps -------------------------------------------------------------------------------


def test_a_compression_bomb_is_refused_without_being_inflated() -> None:
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    bomb = deflater.compress(b" " * 3_000_000) + deflater.flush()
    token = seal("1z" + _b64(bomb))
    assert len(token) <= MAX_TOKEN_LENGTH  # it passes the length cap: only the inflate cap stops it
    tracemalloc.start()
    try:
        assert reason(token) == "payload too large"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * MAX_PAYLOAD_BYTES < 3_000_000


def test_a_payload_just_under_the_cap_inflates() -> None:
    callback = Callback("action", ANSWER.url, "POST", "AC1", extra={"resume": "a" * 60_000})
    assert parse_token(make_token(callback, KEY), KEY) == callback


def test_a_payload_over_the_cap_is_not_made() -> None:
    callback = Callback(
        "action", ANSWER.url, "POST", "AC1", extra={"resume": "a" * MAX_PAYLOAD_BYTES}
    )
    with pytest.raises(ValueError, match="payload too large"):
        make_token(callback, KEY)


def test_a_token_over_the_length_cap_is_not_made() -> None:
    incompressible = "".join(_b64(hashlib.sha256(str(i).encode()).digest()) for i in range(120))
    callback = Callback("action", ANSWER.url, "POST", "AC1", extra={"resume": incompressible})
    with pytest.raises(ValueError, match="too long"):
        make_token(callback, KEY)


# --- construction ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"kind": ""},
        {"kind": "Call-Answer"},
        {"kind": "call_answer"},
        {"kind": "call2"},
        {"kind": "a" * 33},
        {"url": "ftp://app.example.com/x"},
        {"url": "app.example.com/x"},
        {"url": "https:///x"},
        {"url": "https://app.example.com/a b"},
        {"url": " https://app.example.com/"},
        {"url": "https://app.example.com/\n"},
        {"url": "https://app.example.com:99999/"},
        {"url": "https://app.exa%mple.com/"},
        {"method": "get"},
        {"method": "PUT"},
        {"account": ""},
        {"account": "a" * 129},
        {"account": "AC\n1"},
        {"fallback_url": "https://b.example/"},
        {"fallback_method": "POST"},
        {"fallback_url": "https://b.example/", "fallback_method": "DELETE"},
        {"fallback_url": "javascript:alert(1)", "fallback_method": "GET"},
        {"extra": {"": "x"}},
        {"extra": {"a" * 33: "x"}},
        {"extra": {"k": 1}},
        {"extra": {f"k{i}": "v" for i in range(17)}},
    ],
)
def test_ill_formed_callbacks_cannot_be_built(changes: dict[str, Any]) -> None:
    fields = {
        "kind": "call-answer",
        "url": "https://a.example/",
        "method": "POST",
        "account": "AC1",
    }
    with pytest.raises(ValueError):
        Callback(**{**fields, **changes})


def test_extra_is_a_frozen_copy() -> None:
    extra = {"a": "1"}
    callback = Callback("wait", "https://a.example/", "POST", "AC1", extra=extra)
    extra["a"] = "2"
    assert callback.extra == {"a": "1"}
    with pytest.raises(TypeError):
        callback.extra["a"] = "3"  # type: ignore[index]
    assert isinstance(hash(callback), int)  # frozen and still hashable


@pytest.mark.parametrize("key", [b"", b"short"])
def test_short_keys_are_refused(key: bytes) -> None:
    with pytest.raises(ValueError, match="key"):
        make_token(ANSWER, key)
    with pytest.raises(ValueError, match="key"):
        parse_token("1jAAAA.abc", key)


def test_callback_url_joins_the_public_base() -> None:
    assert CALLBACK_PATH == "/_dialect/callbacks/"
    for base in ("https://dialect.example.com", "https://dialect.example.com/"):
        assert (
            callback_url(base, "1jAB.cd")
            == "https://dialect.example.com/_dialect/callbacks/1jAB.cd"
        )
    assert (
        callback_url("https://x.example/proxy/", "t")
        == "https://x.example/proxy/_dialect/callbacks/t"
    )


# --- keys ------------------------------------------------------------------------------------


def test_an_explicit_secret_gives_a_derived_not_raw_key() -> None:
    key, derived = derive_key("s3cret-value", ["ignored"])
    assert derived is False
    assert len(key) == 32
    assert key != b"s3cret-value" and b"s3cret-value" not in key
    assert derive_key("s3cret-value", []) == (key, False)
    assert derive_key("s3cret-valuf", [])[0] != key


def test_without_a_secret_the_key_comes_from_the_account_secrets() -> None:
    key, derived = derive_key(None, ["tok-b", "tok-a"])
    assert derived is True
    assert derive_key(None, ["tok-a", "tok-b"]) == (key, True)
    assert derive_key(None, ["tok-a", "tok-b", "tok-a", ""]) == (key, True)
    assert derive_key("", ["tok-a", "tok-b"]) == (key, True)
    assert derive_key(None, ["tok-a"])[0] != key
    assert derive_key(None, ["tok-a", "tok-c"])[0] != key


def test_account_secrets_are_joined_unambiguously() -> None:
    assert derive_key(None, ["ab", "c"])[0] != derive_key(None, ["a", "bc"])[0]
    assert derive_key(None, ["abc"])[0] != derive_key(None, ["a", "bc"])[0]


def test_explicit_and_derived_keys_never_coincide() -> None:
    assert derive_key("tok", [])[0] != derive_key(None, ["tok"])[0]
    hmac_of_raw = hmac.new(b"tok", b"", hashlib.sha256).digest()
    assert derive_key(None, ["tok"])[0] != hmac_of_raw


@pytest.mark.parametrize("secrets", [[], [""], ["", ""]])
def test_no_key_material_is_an_error(secrets: list[str]) -> None:
    with pytest.raises(ValueError, match="no callback token secret"):
        derive_key(None, secrets)


def test_tokens_from_one_config_work_on_another_replica() -> None:
    replica_a, _ = derive_key(None, ["tok-1", "tok-2"])
    replica_b, _ = derive_key(None, ["tok-2", "tok-1"])
    assert parse_token(make_token(FULL, replica_a), replica_b) == FULL
    rotated, _ = derive_key(None, ["tok-1", "tok-3"])
    assert reason(make_token(FULL, replica_a), rotated) == "bad mac"


# --- allowed app URLs ------------------------------------------------------------------------

ALLOW = ["app.example.com", "*.hooks.example.net", "API.Example.org"]


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://app.example.com/sms", True),
        ("http://app.example.com:8080/sms?x=1", True),
        ("https://APP.Example.COM/sms", True),
        ("https://api.example.org/x", True),
        ("https://a.hooks.example.net/x", True),
        ("https://a.b.hooks.example.net/x", True),
        ("https://hooks.example.net/x", False),
        ("https://evilhooks.example.net/x", False),
        ("https://a.hooks.example.net.evil.com/x", False),
        ("https://app.example.com.evil.com/", False),
        ("https://evil.com/app.example.com", False),
        ("https://other.example.com/", False),
        ("https://user:pw@app.example.com/sms", False),
        ("https://user@app.example.com/sms", False),
        ("https://app.example.com@evil.com/sms", False),
        ("https://evil.com\\@app.example.com/", False),
        ("https://evil.com\\.app.example.com/", False),
        ("ftp://app.example.com/x", False),
        ("file://app.example.com/etc/passwd", False),
        ("javascript://app.example.com/%0aalert(1)", False),
        ("app.example.com/sms", False),
        ("//app.example.com/sms", False),
        ("https://app.example.com:bad/", False),
        ("https://app.example.com/a b", False),
        ("https://app.example.com\t/", False),
        ("https://[::1/", False),
    ],
)
def test_allow_hosts(url: str, allowed: bool) -> None:
    assert check_url_allowed(url, ALLOW) is allowed


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://anything.example/x", True),
        ("http://10.0.0.1:8080/x", True),
        ("http://[::1]:8080/x", True),
        ("https://user:pw@anything.example/x", False),
        ("gopher://anything.example/x", False),
        ("not a url", False),
    ],
)
def test_an_empty_allow_list_allows_any_http_host(url: str, allowed: bool) -> None:
    assert check_url_allowed(url, []) is allowed


def test_ip_hosts_match_exactly() -> None:
    assert check_url_allowed("http://[::1]:8080/x", ["::1"])
    assert check_url_allowed("http://10.0.0.1/x", ["10.0.0.1"])
    assert not check_url_allowed("http://10.0.0.10/x", ["10.0.0.1"])
    assert not check_url_allowed("http://[::2]/x", ["::1"])


# --- remembered tokens -----------------------------------------------------------------------


def _status(i: int) -> Callback:
    return Callback("message-status", f"https://app.example.com/status/{i}", "POST", "AC1")


def test_a_remembered_token_opens_to_what_parsing_gives() -> None:
    opened = OpenedTokens(KEY)
    token = make_token(FULL, KEY)
    first = opened.open(token)
    assert token in opened
    again = opened.open(token)
    assert first == again == parse_token(token, KEY)
    assert dict(again.extra) == dict(FULL.extra)


def test_an_altered_copy_of_a_remembered_token_is_still_refused() -> None:
    opened = OpenedTokens(KEY)
    token = make_token(ANSWER, KEY)
    opened.open(token)
    body, _, mac = token.rpartition(".")
    flipped = "A" if mac[-1] != "A" else "B"
    for altered in (f"{body}.{mac[:-1]}{flipped}", token[:-1], token + "A", "x" + token[1:]):
        with pytest.raises(InvalidToken):
            opened.open(altered)
        assert altered not in opened
    assert len(opened) == 1


def test_a_token_remembered_under_one_key_is_refused_under_another() -> None:
    # A reload with a new key builds a new OpenedTokens: nothing the old one kept carries over.
    before, after = OpenedTokens(KEY), OpenedTokens(OTHER_KEY)
    token = make_token(ANSWER, KEY)
    before.open(token)
    with pytest.raises(InvalidToken, match="bad mac"):
        after.open(token)
    assert token not in after


def test_refusals_are_not_remembered() -> None:
    opened = OpenedTokens(KEY)
    forged = make_token(ANSWER, OTHER_KEY)
    for _ in range(3):
        with pytest.raises(InvalidToken, match="bad mac"):
            opened.open(forged)
    assert len(opened) == 0


def test_the_cache_keeps_its_entry_bound_dropping_the_least_recently_used() -> None:
    opened = OpenedTokens(KEY, max_entries=8)
    tokens = [make_token(_status(i), KEY) for i in range(20)]
    for token in tokens[:8]:
        opened.open(token)
    opened.open(tokens[0])  # used again: now the most recent
    for token in tokens[8:]:
        opened.open(token)
        assert len(opened) <= 8
    assert tokens[0] not in opened  # pushed out by the twelve that came after its last use
    assert all(token in opened for token in tokens[-8:])
    assert all(opened.open(token) == _status(i) for i, token in enumerate(tokens))


def test_the_cache_keeps_its_size_bound() -> None:
    opened = OpenedTokens(KEY, max_entries=1000, max_chars=16 * 1000)
    for i in range(200):
        callback = Callback("action", ANSWER.url, "POST", "AC1", extra={"n": f"{i:0300d}"})
        assert opened.open(make_token(callback, KEY)) == callback
        assert opened.chars <= opened.max_chars
    assert 0 < len(opened) < 200


def test_a_token_too_heavy_to_keep_is_opened_every_time() -> None:
    opened = OpenedTokens(KEY, max_chars=16 * 1000)
    heavy = Callback("action", ANSWER.url, "POST", "AC1", extra={"resume": "a" * 5000})
    token = make_token(heavy, KEY)
    assert opened.open(token) == heavy
    assert token not in opened and opened.chars == 0


def test_kinds_not_worth_keeping_are_not_kept() -> None:
    opened = OpenedTokens(KEY, skip_kinds=frozenset({"document"}))
    once = Callback("document", ANSWER.url, "POST", "AC1", extra={"once": "abc"})
    token = make_token(once, KEY)
    assert opened.open(token) == once
    assert token not in opened


def test_a_remembered_callback_cannot_be_changed_by_whoever_got_it() -> None:
    opened = OpenedTokens(KEY)
    token = make_token(FULL, KEY)
    got = opened.open(token)
    with pytest.raises(AttributeError):
        got.url = "https://evil.example/"  # type: ignore[misc]
    with pytest.raises(TypeError):
        got.extra["resume"] = "x"  # type: ignore[index]
    assert opened.open(token) == FULL
