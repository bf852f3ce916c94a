"""The issuer's memory: tokens and allow-list verdicts it already worked out, kept in bounds and
never an answer that working it out again would not give."""

from __future__ import annotations

import pytest

from proxy.callbacks import issuer as issuer_module
from proxy.callbacks.issuer import INLINE_KIND, Issuer
from proxy.callbacks.tokens import InvalidToken, derive_key

PUBLIC = "https://dialect.example.com"
KEY, _ = derive_key("issuer-test-secret", [])
NEW_KEY, _ = derive_key("issuer-test-secret-rotated", [])
ACCOUNT = "AC" + "a1" * 16


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_a_token_opens_the_same_every_time() -> None:
    issuer = Issuer(PUBLIC, KEY, [])
    token = token_of(issuer.issue("message-status", "https://app.example.com/s", "POST", ACCOUNT))
    first = issuer.open(token)
    assert issuer.open(token) == first
    assert first.url == "https://app.example.com/s" and first.kind == "message-status"


def test_after_a_key_rotation_tokens_the_old_issuer_opened_are_refused() -> None:
    old = Issuer(PUBLIC, KEY, [])
    token = token_of(old.issue("message-status", "https://app.example.com/s", "POST", ACCOUNT))
    old.open(token)
    with pytest.raises(InvalidToken, match="bad mac"):
        Issuer(PUBLIC, NEW_KEY, []).open(token)


def test_an_altered_token_is_refused_after_the_original_was_opened() -> None:
    issuer = Issuer(PUBLIC, KEY, [])
    token = token_of(issuer.issue("call-status", "https://app.example.com/c", "POST", ACCOUNT))
    issuer.open(token)
    index = len(token) // 2
    altered = token[:index] + ("A" if token[index] != "A" else "B") + token[index + 1 :]
    with pytest.raises(InvalidToken):
        issuer.open(altered)


def test_the_key_and_the_allow_list_cannot_be_swapped_under_the_memory() -> None:
    issuer = Issuer(PUBLIC, KEY, ["app.example.com"])
    with pytest.raises(AttributeError):
        issuer.key = NEW_KEY  # type: ignore[misc]
    with pytest.raises(AttributeError):
        issuer.allow_hosts = ("evil.example",)  # type: ignore[misc]
    assert issuer.key == KEY and issuer.allow_hosts == ("app.example.com",)


def test_inline_document_tokens_are_not_kept() -> None:
    issuer = Issuer(PUBLIC, KEY, [])
    inline = token_of(issuer.issue_document("<Response><Hangup/></Response>", ACCOUNT))
    status = token_of(issuer.issue("message-status", "https://app.example.com/s", "POST", ACCOUNT))
    assert issuer.open(inline).kind == INLINE_KIND
    issuer.open(status)
    assert inline not in issuer._opened and status in issuer._opened


def test_allow_list_verdicts_stay_right_past_the_bound() -> None:
    issuer = Issuer(PUBLIC, KEY, ["app.example.com"])
    count = issuer_module.MAX_VERDICTS + 50
    urls = [f"https://{'app' if i % 2 else 'other'}.example.com/{i}" for i in range(count)]
    for _ in range(2):
        assert [issuer.allowed(url) for url in urls] == [i % 2 == 1 for i in range(count)]
        assert len(issuer._verdicts) <= issuer_module.MAX_VERDICTS
    long_url = "https://app.example.com/" + "a" * issuer_module.MAX_VERDICT_URL
    assert issuer.allowed(long_url) and long_url not in issuer._verdicts
    assert not issuer.allowed("https://user:pw@app.example.com/")


def test_a_reloaded_allow_list_gives_its_own_verdicts() -> None:
    url = "https://app.example.com/status"
    before = Issuer(PUBLIC, KEY, [])
    assert before.allowed(url) and before.allowed(url)
    after = Issuer(PUBLIC, KEY, ["other.example.com"])
    assert not after.allowed(url)
