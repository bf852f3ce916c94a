"""Hop-by-hop headers, including those a Connection header names, never cross the proxy."""

from __future__ import annotations

from multidict import CIMultiDict, CIMultiDictProxy

from proxy.http.headers import downstream_headers, upstream_headers


def _proxy(*pairs: tuple[str, str]) -> CIMultiDictProxy[str]:
    return CIMultiDictProxy(CIMultiDict(pairs))


def test_a_single_named_token_is_dropped_in_both_directions() -> None:
    for connection in ("X-Hop", " x-hop ", "X-HOP"):
        incoming = _proxy(("Connection", connection), ("X-Hop", "1"), ("X-Keep", "2"))
        up = upstream_headers(incoming, client_ip="10.0.0.1", scheme="http", request_id="r")
        down = downstream_headers(incoming)
        for out in (up, down):
            assert "X-Hop" not in out and out["X-Keep"] == "2" and "Connection" not in out


def test_keep_alive_and_several_tokens() -> None:
    incoming = _proxy(
        ("Connection", "keep-alive"),
        ("Connection", "X-A, x-b"),
        ("Keep-Alive", "5"),
        ("X-A", "1"),
        ("X-B", "2"),
        ("X-C", "3"),
    )
    down = downstream_headers(incoming)
    assert list(down.items()) == [("X-C", "3")]
    only_keep_alive = downstream_headers(_proxy(("Connection", "keep-alive"), ("X-C", "3")))
    assert list(only_keep_alive.items()) == [("X-C", "3")]
    assert list(downstream_headers(_proxy(("Connection", ""), ("X-C", "3"))).items()) == [
        ("X-C", "3")
    ]
