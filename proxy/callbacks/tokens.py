"""Callback URL tokens: where an app wants a callback, sealed into the URL the carrier is given.

When an app's REST request names its own callback URL, the carrier gets
``{public_url}/_dialect/callbacks/{token}`` instead. The token carries everything needed to relay
the callback (kind, the app's URL and method, an optional fallback, the account, a little
kind-specific data), authenticated with a key, so that any replica with the same configuration
can serve it with no shared state and nobody can forge or alter one.

Format (version 1)::

    token   = "1" encoding payload "." mac
    encoding = "j" (JSON) | "z" (raw-deflate JSON, used when shorter)
    payload = base64url, no padding
    mac     = base64url(HMAC-SHA256(key, "1" encoding payload)[:16]), no padding

Everything is in the base64url alphabet plus ``.``, so a token is safe in a URL path. The MAC is
checked, in constant time, before anything is decoded or inflated; a token that passes it was
made by a holder of the key, and the size caps after it are defence in depth.

A token is authenticated, not encrypted: the carrier can read the app's URL from it, as it could
have if the app had called the carrier directly. Tokens do not expire; rotating the key
invalidates every outstanding one.

A carrier calls back on the same token again and again (every status event of every message
sent with one status URL carries the same token), so ``OpenedTokens`` remembers what a key
already accepted, and a repeated token costs one dictionary lookup instead of a MAC, base64,
JSON and two URL parses.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import zlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import SplitResult, urlsplit

CALLBACK_PATH = "/_dialect/callbacks/"
MAX_TOKEN_LENGTH = 4096
"""Past this, a URL risks being cut by a carrier or a proxy; also bounds what parsing reads."""
MAX_PAYLOAD_BYTES = 64 * 1024
"""Nothing inflates past this, whatever the compressed payload claims."""
MAX_EXTRA_ITEMS = 16

_VERSION = "1"
_JSON = "j"
_DEFLATE = "z"
_MAC_BYTES = 16
_METHODS = ("GET", "POST")
_KIND = re.compile(r"[a-z-]{1,32}")
_EXTRA_KEY = re.compile(r"[A-Za-z0-9_.-]{1,32}")
_B64URL = re.compile(r"[A-Za-z0-9_-]+")
_HOST = re.compile(r"(?:[a-z0-9_-]+\.)*[a-z0-9_-]+|[0-9a-f.]*:[0-9a-f:.]*")
_MAX_ACCOUNT = 128
_KEY_FROM_SECRET = b"dialect/callback-token-key/v1/secret"
_KEY_FROM_ACCOUNTS = b"dialect/callback-token-key/v1/account-secrets"
_MIN_KEY_BYTES = 16


class InvalidToken(ValueError):
    """Anything wrong with a token; ``reason`` is short and safe to log (no token content)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Callback:
    """What a token says: the callback an app asked for, and whose it is.

    Validated on construction, so a ``Callback`` that exists, whether built by the relay or
    parsed from a token, is well-formed.
    """

    kind: str
    url: str
    method: str
    account: str
    fallback_url: str | None = None
    fallback_method: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        _require(_KIND.fullmatch(self.kind) is not None, "kind must match [a-z-]{1,32}")
        _require(_http_url(self.url) is not None, "url must be an absolute http(s) URL")
        _require(self.method in _METHODS, "method must be GET or POST")
        _require(
            0 < len(self.account) <= _MAX_ACCOUNT and self.account.isprintable(),
            "account must be 1-128 printable characters",
        )
        _require(
            (self.fallback_url is None) == (self.fallback_method is None),
            "fallback_url and fallback_method go together",
        )
        _require(
            self.fallback_url is None or _http_url(self.fallback_url) is not None,
            "fallback_url must be an absolute http(s) URL",
        )
        _require(
            self.fallback_method is None or self.fallback_method in _METHODS,
            "fallback_method must be GET or POST",
        )
        _require(_valid_extra(self.extra), "extra must be up to 16 short names to strings")
        # A read-only copy: the caller's dict must not change a frozen value behind its back.
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))


def make_token(callback: Callback, key: bytes) -> str:
    """Seal ``callback`` into a URL-path-safe token; ``ValueError`` if it would be too big."""
    _check_key(key)
    raw = json.dumps(_to_json(callback), separators=(",", ":"), ensure_ascii=False).encode()
    if len(raw) > MAX_PAYLOAD_BYTES:  # would be refused by parse_token even if it compresses well
        raise ValueError(f"callback token payload too large: {len(raw)} bytes")
    deflated = _deflate(raw)
    encoding, data = (_DEFLATE, deflated) if len(deflated) < len(raw) else (_JSON, raw)
    body = _VERSION + encoding + _b64encode(data)
    token = f"{body}.{_mac(key, body)}"
    if len(token) > MAX_TOKEN_LENGTH:
        raise ValueError(f"callback token too long: {len(token)} > {MAX_TOKEN_LENGTH} characters")
    return token


def parse_token(token: str, key: bytes) -> Callback:
    """The ``Callback`` in ``token``, or ``InvalidToken`` saying (safely) what was wrong."""
    _check_key(key)
    body = _authenticated_body(token, key)
    if body[0] != _VERSION:
        raise InvalidToken("unsupported version")
    if body[1] not in (_JSON, _DEFLATE):
        raise InvalidToken("unknown encoding")
    data = _b64decode(body[2:])
    if body[1] == _DEFLATE:
        data = _inflate(data)
    return _from_json(data)


class OpenedTokens:
    """``parse_token`` for one key, remembering the tokens it accepted (a bounded LRU).

    Why a hit is as good as parsing again: ``parse_token`` is a pure function of the token and
    the key, nothing in it depends on time (tokens do not expire; an inline document's age is
    checked by the relay after opening, from what the token says), and the key is fixed for the
    life of this object. A hit is an exact match on the whole token string, MAC included, so an
    altered token is a different string and goes through the full check; refusals are never
    remembered. A new key (a reload) comes with a new ``OpenedTokens``, so a token the new key
    would refuse finds nothing here. What is handed out is a frozen ``Callback`` with a
    read-only ``extra``, so callers sharing one cannot change it for each other.

    Bounded twice: at most ``max_entries`` tokens, and at most ``max_chars`` characters of
    tokens and of the strings they carry; a token heavier than a sixteenth of that is opened
    every time rather than crowding out the rest. ``skip_kinds``: kinds never worth keeping
    (a one-time inline document is fetched once).
    """

    def __init__(
        self,
        key: bytes,
        *,
        max_entries: int = 1024,
        max_chars: int = 1024 * 1024,
        skip_kinds: frozenset[str] = frozenset(),
    ) -> None:
        self._key = key
        self.max_entries = max_entries
        self.max_chars = max_chars
        self._skip = skip_kinds
        self._opened: OrderedDict[str, tuple[Callback, int]] = OrderedDict()
        self._chars = 0

    def open(self, token: str) -> Callback:
        """The ``Callback`` in ``token``, or ``InvalidToken``, exactly as ``parse_token``."""
        hit = self._opened.get(token)
        if hit is not None:
            self._opened.move_to_end(token)
            return hit[0]
        callback = parse_token(token, self._key)
        if callback.kind not in self._skip:
            self._remember(token, callback)
        return callback

    def __len__(self) -> int:
        return len(self._opened)

    def __contains__(self, token: str) -> bool:
        """Whether ``token`` is remembered (without making it the most recently used)."""
        return token in self._opened

    @property
    def chars(self) -> int:
        """What the remembered tokens weigh, in characters (for the bound and its tests)."""
        return self._chars

    def _remember(self, token: str, callback: Callback) -> None:
        weight = _weight(token, callback)
        if weight > self.max_chars // 16:
            return
        self._opened[token] = (callback, weight)
        self._chars += weight
        while len(self._opened) > self.max_entries or self._chars > self.max_chars:
            self._chars -= self._opened.popitem(last=False)[1][1]


def _weight(token: str, callback: Callback) -> int:
    """Characters a remembered token keeps alive: the token and what it decoded to."""
    weight = len(token) + len(callback.kind) + len(callback.url) + len(callback.account)
    weight += len(callback.fallback_url or "")
    for name, value in callback.extra.items():
        weight += len(name) + len(value)
    return weight


def callback_url(public_url: str, token: str) -> str:
    """The URL handed to the carrier: the public base, the callbacks path, the token."""
    return public_url.rstrip("/") + CALLBACK_PATH + token


def derive_key(secret: str | None, account_secrets: Sequence[str]) -> tuple[bytes, bool]:
    """The token key, and whether it had to be derived from the account secrets.

    An explicit secret is run through HMAC with a fixed label rather than used raw, so the key is
    uniform and never equal to anything else the configuration holds. Without one, the key comes
    from the account secrets, deduplicated, sorted and length-prefixed so that every replica
    with the same configuration derives the same key whatever the order; the label keeps it from
    being usable as any account's own signing key. The flag lets the caller warn that rotating
    an account secret will then invalidate every outstanding callback URL.
    """
    if secret:
        return _label_hmac(_KEY_FROM_SECRET, secret.encode()), False
    unique = sorted({value for value in account_secrets if value})
    if not unique:
        raise ValueError("no callback token secret and no account secrets to derive a key from")
    encoded = (value.encode() for value in unique)
    joined = b"".join(len(item).to_bytes(4, "big") + item for item in encoded)
    return _label_hmac(_KEY_FROM_ACCOUNTS, joined), True


def check_url_allowed(url: str, allow_hosts: Sequence[str]) -> bool:
    """Whether Dialect may relay callbacks to ``url``.

    Only absolute http(s) URLs without userinfo (credentials in a URL would end up readable in
    the token and in logs). An empty ``allow_hosts`` allows any host; otherwise the host must
    equal an entry, ignoring case, or end in ``.suffix`` for an entry ``*.suffix`` (any depth;
    the bare suffix itself is not matched).
    """
    parts = _http_url(url)
    if parts is None or "@" in parts.netloc:
        return False
    host = parts.hostname or ""
    return not allow_hosts or any(_host_matches(host, entry.lower()) for entry in allow_hosts)


# --- token layout ----------------------------------------------------------------------------

_FIELDS = {
    "k": "kind",
    "u": "url",
    "m": "method",
    "a": "account",
    "f": "fallback_url",
    "g": "fallback_method",
    "x": "extra",
}
_REQUIRED = frozenset("kuma")


def _to_json(callback: Callback) -> dict[str, Any]:
    values = {short: getattr(callback, name) for short, name in _FIELDS.items()}
    values["x"] = dict(callback.extra)
    return {short: value for short, value in values.items() if value or short in _REQUIRED}


def _from_json(data: bytes) -> Callback:
    try:
        decoded = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as undecodable:
        raise InvalidToken("undecodable payload") from undecodable
    if not isinstance(decoded, dict):
        raise InvalidToken("payload is not an object")
    if not _REQUIRED <= decoded.keys() <= _FIELDS.keys():
        raise InvalidToken("missing or unknown fields")
    if not all(isinstance(decoded[short], str) for short in decoded.keys() - {"x"}):
        raise InvalidToken("ill-formed field")
    try:
        return Callback(**{_FIELDS[short]: value for short, value in decoded.items()})
    except (TypeError, ValueError) as ill_formed:
        raise InvalidToken("ill-formed field") from ill_formed


def _authenticated_body(token: str, key: bytes) -> str:
    """The part before the MAC, once the MAC is known to be ours; nothing else is read before."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken("malformed")
    body, dot, mac = token.rpartition(".")
    if not dot or len(body) < 3 or not _B64URL.fullmatch(body) or not _B64URL.fullmatch(mac):
        raise InvalidToken("malformed")
    if not hmac.compare_digest(_mac(key, body).encode(), mac.encode()):
        raise InvalidToken("bad mac")
    return body


def _mac(key: bytes, body: str) -> str:
    return _b64encode(hmac.new(key, body.encode("ascii"), hashlib.sha256).digest()[:_MAC_BYTES])


def _deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def _inflate(data: bytes) -> bytes:
    """Inflate at most one byte past the cap: a bomb is refused, not expanded."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, MAX_PAYLOAD_BYTES + 1)
    except zlib.error as exc:
        raise InvalidToken("bad compression") from exc
    if len(out) > MAX_PAYLOAD_BYTES or inflater.unconsumed_tail:
        raise InvalidToken("payload too large")
    if not inflater.eof or inflater.unused_data:
        raise InvalidToken("bad compression")
    return out


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidToken("bad base64") from exc


# --- validation ------------------------------------------------------------------------------


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _valid_extra(extra: object) -> bool:
    if not isinstance(extra, Mapping) or len(extra) > MAX_EXTRA_ITEMS:
        return False
    return all(
        isinstance(name, str) and _EXTRA_KEY.fullmatch(name) and isinstance(value, str)
        for name, value in extra.items()
    )


def _http_url(url: object) -> SplitResult | None:
    """The parts of an absolute http(s) URL with a plausible host, or None.

    Whitespace and control characters are refused up front because ``urlsplit`` silently drops
    some of them, and what it parsed would then differ from what an HTTP client sends.
    """
    if not isinstance(url, str) or any(ch <= " " or ch == "\x7f" for ch in url):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not _HOST.fullmatch(parts.hostname or ""):
        return None
    return parts


def _host_matches(host: str, entry: str) -> bool:
    if entry.startswith("*."):
        return host.endswith(entry[1:])
    return host == entry


def _label_hmac(label: bytes, material: bytes) -> bytes:
    return hmac.new(label, material, hashlib.sha256).digest()


def _check_key(key: bytes) -> None:
    if len(key) < _MIN_KEY_BYTES:
        raise ValueError(f"callback token key must be at least {_MIN_KEY_BYTES} bytes")
