"""Carrier signature schemes: sign what Dialect sends to apps, verify what carriers send to Dialect.

Three schemes, as pure functions over already-decoded inputs (the URL as a string, parameters as
``(name, value)`` pairs, the raw body as bytes):

- ``X-Twilio-Signature``: Base64(HMAC-SHA1(token, URL + sorted name/value pairs)); a JSON body is
  covered instead by ``bodySHA256=<hex>`` in the signed URL.
- ``X-Plivo-Signature-V3``: Base64(HMAC-SHA256(token, URL and parameters in Plivo's layout + "." +
  nonce)). Plivo documents it for voice callbacks.
- ``X-Plivo-Signature-V2``: Base64(HMAC-SHA256(token, scheme + host + path + nonce)). Plivo
  documents it for messaging callbacks. It covers neither query nor body, so it proves only that
  the sender knows the token; TLS has to protect the content.

The string layouts follow the carriers' own validators (``twilio.request_validator`` and
``plivo.utils``), because those are what apps run on what Dialect re-signs.

What ``params`` means, per method:

- POST: the decoded form body. ``url`` keeps its own query, which both carriers sign as part of it.
- GET: there is no body. Twilio signs the URL alone, so its verifier ignores ``params`` for GET and
  a GET to an app must carry its parameters in the URL before signing. Plivo V3 signs the URL's
  query merged with ``params``; a name present in the URL's query takes the query's values, as in
  Plivo's SDK. So both the full request URL alone and the app URL plus the parameters about to be
  appended to it give the same string, and passing the full URL together with its own decoded
  query is harmless.

All comparisons are constant-time. A failed verification reports only which check failed, so the
caller can log why it answered 403 without logging a signature or a token.
"""

from __future__ import annotations

import binascii
import enum
import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Literal
from urllib.parse import parse_qsl

from multidict import CIMultiDict, CIMultiDictProxy

Params = Sequence[tuple[str, str]]
"""Decoded parameters in arrival order; a name may repeat."""

PlivoScheme = Literal["v2", "v3"]

TWILIO_SIGNATURE = "X-Twilio-Signature"
PLIVO_V3 = "X-Plivo-Signature-V3"
PLIVO_MA_V3 = "X-Plivo-Signature-Ma-V3"
PLIVO_V3_NONCE = "X-Plivo-Signature-V3-Nonce"
PLIVO_V2 = "X-Plivo-Signature-V2"
PLIVO_MA_V2 = "X-Plivo-Signature-Ma-V2"
PLIVO_V2_NONCE = "X-Plivo-Signature-V2-Nonce"

BODY_HASH_PARAM = "bodySHA256"
# Tokens whose HMAC key schedule is kept (see ``_b64_hmac``); a deployment has a few accounts.
MAX_PREPARED_KEYS = 64
_DEFAULT_PORTS = {"https": "443", "http": "80"}
_NONCE_DIGITS = 20


class Verdict(enum.Enum):
    """The outcome of a verification; the value is a short reason that is safe to log."""

    OK = "ok"
    MISSING_HEADER = "missing-header"
    BAD_SIGNATURE = "bad-signature"
    BODY_HASH_MISMATCH = "body-hash-mismatch"

    @property
    def ok(self) -> bool:
        return self is Verdict.OK


def new_nonce() -> str:
    """Twenty random decimal digits, the shape Plivo's own nonces have."""
    return f"{secrets.randbelow(10**_NONCE_DIGITS):0{_NONCE_DIGITS}d}"


# --- Twilio -----------------------------------------------------------------------------------


def twilio_string(url: str, params: Params = ()) -> str:
    """The string Twilio signs: the URL, then each name and each of its distinct values, sorted.

    Distinct values, because Twilio's validator deduplicates them; a repeated pair is signed once.
    Sorting the distinct pairs sorts by name, then each name's values.
    """
    return url + "".join([name + value for name, value in sorted(set(params))])


def twilio_signature(token: str, url: str, params: Params = ()) -> str:
    """``X-Twilio-Signature`` for a form POST to ``url`` (or a GET whose parameters are in it)."""
    return _b64_hmac(token, twilio_string(url, params), "sha1")


def twilio_body_url(url: str, body: bytes) -> str:
    """``url`` with ``bodySHA256`` added, the way Twilio signs a JSON body through its URL."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}{BODY_HASH_PARAM}={hashlib.sha256(body).hexdigest()}"


def twilio_headers(token: str, url: str, params: Params) -> dict[str, str]:
    """The header that lets an app's Twilio validator accept a request Dialect sends it."""
    return {TWILIO_SIGNATURE: twilio_signature(token, url, params)}


def verify_twilio(
    headers: Mapping[str, str],
    url: str,
    method: str,
    params: Params,
    body: bytes,
    token: str,
) -> Verdict:
    """Check ``X-Twilio-Signature`` on a request Twilio sent to ``url``, the public URL with query.

    As Twilio's own validator does, the URL is also tried with its default port removed or added,
    since Twilio is not consistent about which form it signs. When the URL carries
    ``bodySHA256``, the URL alone is signed and the raw body must hash to that value; the
    parameters then come from that body and are covered by the hash. For GET, ``params`` is
    ignored: Twilio signs a GET's URL alone, and the parameters are already in it.
    """
    signature = _header(headers, TWILIO_SIGNATURE)
    if signature is None:
        return Verdict.MISSING_HEADER
    body_hash = _first_query_value(url, BODY_HASH_PARAM)
    signed: Params = () if body_hash is not None or _is_get(method) else params
    candidates = (twilio_signature(token, variant, signed) for variant in _port_variants(url))
    if not any(_same(candidate, signature) for candidate in candidates):
        return Verdict.BAD_SIGNATURE
    if body_hash is not None and not _same(hashlib.sha256(body).hexdigest(), body_hash.lower()):
        return Verdict.BODY_HASH_MISMATCH
    return Verdict.OK


def _port_variants(url: str) -> list[str]:
    """``url`` as given, plus the same URL with its default port removed or added."""
    scheme, sep, rest = url.partition("://")
    default = _DEFAULT_PORTS.get(scheme.lower())
    if not sep or default is None:
        return [url]
    end = _authority_end(rest)
    authority, tail = rest[:end], rest[end:]
    host = authority.rpartition("@")[2]
    has_port = ":" in host and not host.endswith("]")
    prefix = f"{scheme}://"
    if not has_port:
        return [url, f"{prefix}{authority}:{default}{tail}"]
    if authority.rpartition(":")[2] == default:
        return [url, f"{prefix}{authority.rpartition(':')[0]}{tail}"]
    return [url]


def _authority_end(rest: str) -> int:
    """Where the authority ends in what follows ``scheme://``."""
    ends = [index for index in (rest.find(ch) for ch in "/?#") if index != -1]
    return min(ends, default=len(rest))


# --- Plivo ------------------------------------------------------------------------------------


def plivo_v3_string(url: str, method: str, params: Params, nonce: str) -> str:
    """The string Plivo signs for V3, nonce included.

    GET: ``base?name=value&…`` over the URL's query merged with ``params``, or ``base`` if empty.
    POST: ``base?`` + the URL's sorted query + ``.`` (only if there was a query) + ``namevalue…``;
    without parameters, ``base`` or ``base?query``. The bare ``?`` and the conditional ``.`` are
    Plivo's layout, reproduced because its validator compares strings, not meanings.
    """
    base, query = _base_and_query(url)
    query_values = _grouped(parse_qsl(query, keep_blank_values=True))
    if _is_get(method):
        merged = _grouped(params) | query_values  # the URL's query wins, as in Plivo's SDK
        joined = _joined_query(merged)
        signed = f"{base}?{joined}" if joined else base
    elif params:
        joined = _joined_query(query_values)
        dot = "." if joined else ""
        signed = f"{base}?{joined}{dot}{_joined_pairs(params)}"
    else:
        joined = _joined_query(query_values)
        signed = f"{base}?{joined}" if joined else base
    return f"{signed}.{nonce}"


def plivo_v3_signature(token: str, url: str, method: str, params: Params, nonce: str) -> str:
    """``X-Plivo-Signature-V3`` for a request to ``url``."""
    return _b64_hmac(token, plivo_v3_string(url, method, params, nonce), "sha256")


def plivo_v2_string(url: str, nonce: str) -> str:
    """The string Plivo signs for V2: scheme, host and path (no query), then the nonce."""
    return _base_and_query(url)[0] + nonce


def plivo_v2_signature(token: str, url: str, nonce: str) -> str:
    """``X-Plivo-Signature-V2`` for a request to ``url``."""
    return _b64_hmac(token, plivo_v2_string(url, nonce), "sha256")


def plivo_headers(token: str, url: str, method: str, params: Params) -> dict[str, str]:
    """Both V3 and V2 headers, so an app that validates either scheme accepts the request.

    Each format gets its own fresh nonce: a nonce seen under one scheme is never offered under
    the other.
    """
    v3_nonce = new_nonce()
    v2_nonce = new_nonce()
    while v2_nonce == v3_nonce:
        v2_nonce = new_nonce()
    return {
        PLIVO_V3: plivo_v3_signature(token, url, method, params, v3_nonce),
        PLIVO_V3_NONCE: v3_nonce,
        PLIVO_V2: plivo_v2_signature(token, url, v2_nonce),
        PLIVO_V2_NONCE: v2_nonce,
    }


def verify_plivo(
    headers: Mapping[str, str],
    url: str,
    method: str,
    params: Params,
    body: bytes,
    token: str,
    scheme: PlivoScheme = "v3",
) -> Verdict:
    """Check Plivo's signature on a request it sent to ``url`` (the public URL, with query).

    ``scheme="v3"`` (voice) requires V3. ``scheme="v2"`` (messaging) accepts V2 or a valid V3,
    since Plivo may send both and V3 covers more. The sub-account (``-V3``/``-V2``) and main
    account (``-Ma-``) headers are both tried against ``token``: whichever account ``token``
    belongs to, a match proves the sender knew it. ``body`` is unused: Plivo signs the decoded
    parameters, not bytes; it is accepted so that both carriers' verifiers share one shape.
    """
    del body
    v3 = _check_plivo(
        headers,
        (PLIVO_V3, PLIVO_MA_V3),
        PLIVO_V3_NONCE,
        lambda nonce: plivo_v3_signature(token, url, method, params, nonce),
    )
    if scheme == "v3" or v3.ok:
        return v3
    v2 = _check_plivo(
        headers,
        (PLIVO_V2, PLIVO_MA_V2),
        PLIVO_V2_NONCE,
        lambda nonce: plivo_v2_signature(token, url, nonce),
    )
    return v3 if v2 is Verdict.MISSING_HEADER else v2


def _check_plivo(
    headers: Mapping[str, str],
    names: tuple[str, str],
    nonce_name: str,
    expected: Callable[[str], str],
) -> Verdict:
    """Any of the comma-separated signatures in any of ``names`` matching passes."""
    values = [value for value in (_header(headers, name) for name in names) if value is not None]
    nonce = _header(headers, nonce_name)
    if not values or nonce is None:
        return Verdict.MISSING_HEADER
    wanted = expected(nonce)
    offered = [part.strip() for value in values for part in value.split(",")]
    matches = [_same(wanted, candidate) for candidate in offered]  # all compared, no early exit
    return Verdict.OK if any(matches) else Verdict.BAD_SIGNATURE


def _base_and_query(url: str) -> tuple[str, str]:
    """Scheme, host[:port] and path as written, and the raw query; a fragment is never sent."""
    without_fragment = url.partition("#")[0]
    base, _, query = without_fragment.partition("?")
    return base, query


def _grouped(pairs: Params) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return grouped


def _joined_query(grouped: Mapping[str, list[str]]) -> str:
    return "&".join(f"{name}={value}" for name, value in _sorted_pairs(grouped))


def _joined_pairs(params: Params) -> str:
    """Names sorted, then each name's values sorted, repeats kept (sorting the pairs does both)."""
    return "".join([name + value for name, value in sorted(params)])


def _sorted_pairs(grouped: Mapping[str, list[str]]) -> list[tuple[str, str]]:
    """Names sorted, then each name's values sorted, repeats kept (Plivo does not deduplicate)."""
    return [(name, value) for name in sorted(grouped) for value in sorted(grouped[name])]


# --- shared -----------------------------------------------------------------------------------


_PREPARED: dict[tuple[str, str], hmac.HMAC] = {}


def _b64_hmac(token: str, message: str, digest: str) -> str:
    """Base64 of the HMAC. The keyed state is made once per token and digest and copied for
    each message: the same few account tokens sign every callback, and copying skips hashing
    the padded key twice (about a third of an HMAC over a callback's few hundred bytes)."""
    prepared = _PREPARED.get((token, digest))
    if prepared is None:
        prepared = hmac.new(_utf8(token), digestmod=digest)
        if len(_PREPARED) >= MAX_PREPARED_KEYS:
            del _PREPARED[next(iter(_PREPARED))]
        _PREPARED[(token, digest)] = prepared
    mac = prepared.copy()
    mac.update(_utf8(message))
    return binascii.b2a_base64(mac.digest(), newline=False).decode("ascii")


def _same(expected: str, offered: str) -> bool:
    """Constant-time equality that cannot raise on non-ASCII header values."""
    return hmac.compare_digest(_utf8(expected), _utf8(offered))


def _utf8(text: str) -> bytes:
    """UTF-8, passing lone surrogates through so that odd input fails a check instead of raising."""
    return text.encode("utf-8", "surrogatepass")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive lookup that also works on plain dicts."""
    value = headers.get(name)
    if value is not None or isinstance(headers, CIMultiDictProxy | CIMultiDict):
        return value  # the server's headers already ignore case: absent means absent
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def _first_query_value(url: str, name: str) -> str | None:
    query = _base_and_query(url)[1]
    return next(
        (value for key, value in parse_qsl(query, keep_blank_values=True) if key == name), None
    )


def _is_get(method: str) -> bool:
    return method.upper() == "GET"
