"""Failed authentications are limited; a credential that verifies never is.

Behind one address (a sidecar's localhost, a NAT, a load balancer) a misconfigured client or an
attacker shares it with every correct client: limiting the address as a whole would lock them
all out. So the failures are what is limited, per address and per claimed account (the
account's side, from many addresses, is tested on the gate itself in
tests/unit/test_auth_and_routing.py).
"""

from __future__ import annotations

from tests.integration.conftest import AUTH, SID, Facade, basic

BASE = f"/2010-04-01/Accounts/{SID}"
THRESHOLD = 10  # the shipped config's server.limits.auth_failures


async def test_wrong_tokens_interleaved_with_right_ones_from_one_address(facade: Facade) -> None:
    wrong = basic(SID, "guess")
    wrong_statuses: list[int] = []
    for n in range(3 * THRESHOLD):
        bad = await facade.client.get(f"{BASE}/Messages.json?PageSize=1", headers=wrong)
        wrong_statuses.append(bad.status)
        if bad.status == 429:
            assert 1 <= int(bad.headers["Retry-After"]) <= 60
            body = await bad.json()
            assert body["code"] == 20429 and body["status"] == 429
        else:
            assert "Retry-After" not in bad.headers
        good = await facade.client.get(f"{BASE}/Messages.json?PageSize=1", headers=AUTH)
        assert good.status == 200, (n, await good.text())
        assert "Retry-After" not in good.headers
    assert wrong_statuses == [401] * THRESHOLD + [429] * (2 * THRESHOLD)


async def test_a_limited_address_is_limited_whatever_account_it_claims(facade: Facade) -> None:
    for _ in range(THRESHOLD):
        await facade.client.get(f"{BASE}/Messages.json", headers=basic("AC" + "0" * 32, "x"))
    other = await facade.client.get(f"{BASE}/Messages.json", headers=basic(SID, "wrong"))
    assert other.status == 429
    assert (await facade.client.get(f"{BASE}/Messages.json", headers=AUTH)).status == 200
