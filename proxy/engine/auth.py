"""Client authentication against the configured accounts.

Every account is compared, in constant time, whatever matched earlier: the time an answer takes
must not tell an attacker how many characters of a SID or token were right, nor which account
exists.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Sequence

from proxy.engine.errors import AuthenticationFailed
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
