"""Credentials and route matching, including what each remembers between requests."""

from __future__ import annotations

import base64

import pytest

from proxy.engine import routing
from proxy.engine.auth import Verified
from proxy.engine.errors import AuthenticationFailed
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
    missing, allowed = router.match("DELETE", path)
    assert missing is None and allowed == ["GET"]


def test_route_matching_stays_right_past_the_remembered_paths(config: Config) -> None:
    router = config.router
    for n in range(routing.HIT_TABLE + 50):
        sid = f"SM{n:032x}"
        match, _ = router.match("GET", f"/2010-04-01/Accounts/{SID}/Messages/{sid}.json")
        assert match is not None and match.params["Sid"] == sid
    assert len(router._hits) <= routing.HIT_TABLE
