"""Which headers cross the proxy, in each direction.

Hop-by-hop headers (RFC 9110 §7.6.1, plus any named in ``Connection``) belong to one connection
and are dropped. Headers that describe a body are dropped too, because the proxy re-encodes
every body it translates, and the server then writes the ``Content-Length`` of the bytes it
actually sends (uncompressed). Client credentials never go upstream.
"""

from __future__ import annotations

from collections.abc import Mapping

from multidict import CIMultiDict, CIMultiDictProxy

HOP_BY_HOP = frozenset(
    h.lower()
    for h in (
        "Connection",
        "Keep-Alive",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "Proxy-Connection",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
    )
)
_BODY = frozenset({"content-length", "content-type", "content-encoding", "content-md5"})
_NOT_UPSTREAM = _BODY | {"authorization", "host", "accept-encoding", "accept", "cookie", "expect"}
_NOT_DOWNSTREAM = _BODY | {"server", "date", "set-cookie", "www-authenticate", "location"}


_UPSTREAM_DROP = HOP_BY_HOP | _NOT_UPSTREAM | {"x-request-id"}
_DOWNSTREAM_DROP = HOP_BY_HOP | _NOT_DOWNSTREAM


def _connection_tokens(headers: Mapping[str, str]) -> frozenset[str]:
    # Both sides hand us case-insensitive multidicts: one lookup, not a scan of every key.
    values = (
        headers.getall("Connection", [])
        if isinstance(headers, CIMultiDict | CIMultiDictProxy)
        else [v for k, v in headers.items() if k.lower() == "connection"]
    )
    if not values:
        return _NONE
    if len(values) == 1 and "," not in values[0]:
        # One token, nearly always keep-alive or close: a set made once.
        token = values[0].strip().lower()
        known = _USUAL.get(token)
        if known is not None:
            return known
        return frozenset((token,)) if token else _NONE
    return frozenset([t.strip().lower() for v in values for t in v.split(",") if t.strip()])


_NONE: frozenset[str] = frozenset()
_USUAL = {token: frozenset((token,)) for token in ("keep-alive", "close", "upgrade", "te")}


def upstream_headers(
    incoming: Mapping[str, str], *, client_ip: str | None, scheme: str, request_id: str
) -> CIMultiDict[str]:
    tokens = _connection_tokens(incoming)
    # "Connection: keep-alive" names a header dropped anyway: no new set for it.
    drop = _UPSTREAM_DROP | tokens if tokens and not tokens <= _UPSTREAM_DROP else _UPSTREAM_DROP
    out: CIMultiDict[str] = CIMultiDict()
    for key, value in incoming.items():
        low = key.lower()
        if low in drop or low.startswith("x-forwarded-"):
            continue
        out.add(key, value)
    prior = incoming.get("X-Forwarded-For")
    if client_ip:
        out["X-Forwarded-For"] = f"{prior}, {client_ip}" if prior else client_ip
    out["X-Forwarded-Proto"] = scheme
    out["X-Request-Id"] = request_id
    out["Accept"] = "application/json"
    return out


def downstream_headers(upstream: Mapping[str, str]) -> CIMultiDict[str]:
    tokens = _connection_tokens(upstream)
    drop = (
        _DOWNSTREAM_DROP | tokens if tokens and not tokens <= _DOWNSTREAM_DROP else _DOWNSTREAM_DROP
    )
    out: CIMultiDict[str] = CIMultiDict()
    for key, value in upstream.items():
        if key.lower() not in drop:
            out.add(key, value)
    return out
