"""Client authentication against the configured accounts, and the limit on failed attempts.

Every account is compared, in constant time, whatever matched earlier: the time an answer takes
must not tell an attacker how many characters of a SID or token were right, nor which account
exists.

Failures are limited, never a credential that verifies (:class:`Gate`): clients behind one
address (a sidecar's localhost, a NAT, a load balancer) share it with whoever misconfigured a
client or guesses tokens, and refusing every request from that address would let one of them
lock all the others out, which is cheaper than any guess.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import time
from collections.abc import Callable, Sequence

from proxy.engine.errors import AuthenticationFailed, TooManyRequests
from proxy.engine.ratelimit import FailureLimiter
from proxy.settings.models import Account


def parse_basic(header: str | None) -> tuple[str, str] | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, secret = decoded.partition(":")
    if not sep:
        return None
    return user, secret


class Verified:
    """Authorization headers already verified, so a client's next request skips the work.

    Only headers that passed ``authenticate`` are kept, at most ``limit`` of them (one or two
    per account in practice), and a config reload starts a fresh table. A lookup compares
    hashes first (SipHash, keyed per process), so a guessed header gains no timing clue about
    a stored one; a miss takes the full constant-time comparison of every account.
    """

    def __init__(self, accounts: Sequence[Account], limit: int = 256) -> None:
        self.accounts, self.limit = accounts, limit
        self._known: dict[str, Account] = {}

    def authenticate(self, header: str | None) -> Account:
        if header is not None:
            known = self._known.get(header)
            if known is not None:
                return known
        account = authenticate(self.accounts, header)
        if header is not None and len(self._known) < self.limit:
            self._known[header] = account
        return account


def authenticate(accounts: Sequence[Account], header: str | None) -> Account:
    creds = parse_basic(header)
    if creds is None:
        raise AuthenticationFailed(log_detail="missing or malformed Basic credentials")
    user, secret = creds[0].encode(), creds[1].encode()
    found: Account | None = None
    for account in accounts:
        user_ok = hmac.compare_digest(user, account.client.user.encode())
        secret_ok = hmac.compare_digest(secret, account.client.secret.get_secret_value().encode())
        if user_ok & secret_ok and found is None:
            found = account
    if found is None:
        raise AuthenticationFailed(log_detail="credentials match no configured account")
    return found


class Gate:
    """Who may pass: credentials are verified first, always and in full, and a request whose
    credentials verify is served. A failed attempt counts against the client's address and
    against the account it claimed (the Basic user, whether or not it exists, so that the
    answers tell nothing about which accounts do); past ``max_failures`` within ``window``
    seconds on either, failures get 429 with ``Retry-After`` instead of 401.

    The limit slows nothing that verifies, so it is not what makes a token hard to guess (its
    length is: a Twilio token is 128 random bits); it tells a misconfigured client or a scanner
    to back off, and an attack on one account from many addresses shows as 429s in the metrics.
    Verification takes the same time whether or not the address or account is limited: the
    limit is looked up only after it, and only for a failure, whose status already says 401 or
    429.
    """

    def __init__(
        self,
        accounts: Sequence[Account],
        max_failures: int,
        window: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.verified = Verified(accounts)
        self.by_address = FailureLimiter(max_failures, window, clock=clock)
        self.by_account = FailureLimiter(max_failures, window, clock=clock)

    def authenticate(self, header: str | None, address: str) -> Account:
        try:
            return self.verified.authenticate(header)
        except AuthenticationFailed:
            self._failed(address, _claimed(header))
            raise

    def _failed(self, address: str, claimed: str | None) -> None:
        """Refuse a failure past either limit (without counting it: a client that keeps
        failing must not extend its own wait forever), else count it against both."""
        wait = self.by_address.wait(address)
        if claimed is not None:
            wait = max(wait, self.by_account.wait(claimed))
        if wait > 0:
            raise TooManyRequests(retry_after=max(1, math.ceil(wait)))
        self.by_address.record_failure(address)
        if claimed is not None:
            self.by_account.record_failure(claimed)


def _claimed(header: str | None) -> str | None:
    """The account a failed request claimed, as a short fixed-size key: the table of claimed
    accounts is bounded in entries, and a user name can be as long as the headers allow."""
    creds = parse_basic(header)
    if creds is None:
        return None
    return hashlib.blake2b(creds[0].encode(), digest_size=16).hexdigest()
