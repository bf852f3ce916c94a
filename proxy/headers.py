"""Which headers cross the proxy, in each direction.

Hop-by-hop headers (RFC 9110 §7.6.1, plus any named in ``Connection``) belong to one connection
and are dropped. Headers that describe a body are dropped too, because the proxy re-encodes
every body it translates and aiohttp then writes the right ``Content-Length`` and
``Content-Encoding`` for the bytes actually sent. Client credentials never go upstream.
"""

from __future__ import annotations

from collections.abc import Mapping

from multidict import CIMultiDict

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


def _connection_tokens(headers: Mapping[str, str]) -> set[str]:
    tokens: set[str] = set()
    for key, value in headers.items():
        if key.lower() == "connection":
            tokens.update(t.strip().lower() for t in value.split(",") if t.strip())
    return tokens


def upstream_headers(
    incoming: Mapping[str, str], *, client_ip: str | None, scheme: str, request_id: str
) -> CIMultiDict[str]:
    drop = HOP_BY_HOP | _NOT_UPSTREAM | _connection_tokens(incoming)
    out: CIMultiDict[str] = CIMultiDict()
    for key, value in incoming.items():
        low = key.lower()
        if low in drop or low.startswith("x-forwarded-") or low == "x-request-id":
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
    drop = HOP_BY_HOP | _NOT_DOWNSTREAM | _connection_tokens(upstream)
    out: CIMultiDict[str] = CIMultiDict()
    for key, value in upstream.items():
        if key.lower() not in drop:
            out.add(key, value)
    return out
