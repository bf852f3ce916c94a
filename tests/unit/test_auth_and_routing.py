"""Credentials and route matching, including what each remembers between requests, and the
limit on failed authentications (never on a credential that verifies)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from proxy.engine import routing
from proxy.engine.auth import Gate, Verified
from proxy.engine.errors import AuthenticationFailed, TooManyRequests
from proxy.settings.loader import Config, load_config
from tests.conftest import ROOT

SID, TOKEN = "AC" + "ab" * 16, "t" * 12
ENV = {
    "TWILIO_ACCOUNT_SID": SID,
    "TWILIO_AUTH_TOKEN": TOKEN,
    "PLIVO_AUTH_ID": "MA" + "B" * 18,
    "PLIVO_AUTH_TOKEN": "p" * 12,
    "PLIVO_API_URL": "http://127.0.0.1:9",
}


def basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(ROOT / "config" / "twilio-over-plivo.yaml", env=ENV)


def test_verified_credentials_are_recognised_again_and_wrong_ones_never(config: Config) -> None:
    verified = Verified(config.model.active_accounts)
    first = verified.authenticate(basic(SID, TOKEN))
    assert first.account_sid == SID
    assert verified.authenticate(basic(SID, TOKEN)) is first
    for header in (basic(SID, TOKEN + "x"), basic(SID, TOKEN[:-1]), None, "Bearer x", ""):
        with pytest.raises(AuthenticationFailed):
            verified.authenticate(header)


def test_the_verified_table_is_bounded(config: Config) -> None:
    verified = Verified(config.model.active_accounts, limit=2)
    # Equivalent spellings of the same credentials are each verified in full.
    for header in (
        basic(SID, TOKEN),
        "basic " + basic(SID, TOKEN)[6:],
        "BASIC " + basic(SID, TOKEN)[6:],
    ):
        assert verified.authenticate(header).account_sid == SID
    assert len(verified._known) == 2


def test_route_params_are_the_callers_own_and_repeated_paths_match_alike(config: Config) -> None:
    router = config.router
    path = f"/2010-04-01/Accounts/{SID}/Messages/SM{'1' * 32}.json"
    first, _ = router.match("GET", path)
    assert first is not None and first.route.name == "messages.fetch"
    first.params.pop("ext")
    first.params["Sid"] = "edited"
    again, _ = router.match("GET", path)
    assert again is not None and again.params["Sid"] == "SM" + "1" * 32
    assert again.params["ext"] == ".json"
    missing, allowed = router.match("PUT", path)
    assert missing is None and sorted(allowed) == ["DELETE", "GET"]


def test_route_matching_stays_right_past_the_remembered_paths(config: Config) -> None:
    router = config.router
    for n in range(routing.HIT_TABLE + 50):
        sid = f"SM{n:032x}"
        match, _ = router.match("GET", f"/2010-04-01/Accounts/{SID}/Messages/{sid}.json")
        assert match is not None and match.params["Sid"] == sid
    assert len(router._hits) <= routing.HIT_TABLE


THRESHOLD = 10


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingAccounts(list[Any]):
    """The configured accounts, counting how often a full comparison walks them."""

    walks = 0

    def __iter__(self) -> Iterator[Any]:
        self.walks += 1
        return super().__iter__()


def test_an_account_attacked_from_many_addresses_is_limited_for_wrong_tokens_only(
    config: Config,
) -> None:
    clock = Clock()
    gate = Gate(config.model.active_accounts, THRESHOLD, 60.0, clock=clock)
    right, wrong = basic(SID, TOKEN), basic(SID, "guess")
    for n in range(THRESHOLD):
        with pytest.raises(AuthenticationFailed):
            gate.authenticate(wrong, f"10.0.0.{n}")
    # A fresh address guessing the same account is refused at once: the account is limited.
    with pytest.raises(TooManyRequests) as limited:
        gate.authenticate(wrong, "10.0.1.1")
    assert limited.value.retry_after == 60
    # The right token is served from any address, fresh or guessing.
    for address in ("10.0.1.1", "10.0.0.3", "10.0.2.2"):
        assert gate.authenticate(right, address).account_sid == SID
    # Another claimed account from a fresh address is not affected.
    with pytest.raises(AuthenticationFailed):
        gate.authenticate(basic("AC" + "1" * 32, "x"), "10.0.3.3")
    # Once the window has passed, a failure is a plain 401 again.
    clock.now += 61
    with pytest.raises(AuthenticationFailed):
        gate.authenticate(wrong, "10.0.1.1")


def test_a_limited_failure_is_verified_in_full_like_any_other(config: Config) -> None:
    # A limited address or account must not answer faster: verification always walks every
    # account (in constant time per account), and only then is the limit looked up.
    accounts = CountingAccounts(config.model.active_accounts)
    gate = Gate(accounts, 2, 60.0, clock=Clock())
    outcomes = []
    for _ in range(4):
        before = accounts.walks
        try:
            gate.authenticate(basic(SID, "guess"), "10.0.0.1")
        except TooManyRequests:
            outcomes.append(429)
        except AuthenticationFailed:
            outcomes.append(401)
        assert accounts.walks == before + 1
    assert outcomes == [401, 401, 429, 429]
