"""JSON through orjson: it runs on every request's path, several times faster than ``json``.

orjson also refuses what a proxy should refuse: invalid UTF-8, lone surrogates and nesting deeper
than 1024 levels, so neither direction can carry text that another hop would choke on.
"""

from __future__ import annotations

from typing import Any

import orjson

from proxy.codecs.errors import DecodeError


def decode_json(raw: bytes) -> Any:
    """Parsed JSON; a ``DecodeError`` that names the problem without echoing the body."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DecodeError("body is not valid JSON: it is not UTF-8") from None
    raise DecodeError("body is not valid JSON") from None


def encode_json(data: Any) -> bytes:
    """Compact UTF-8 JSON. Data a JSON body cannot hold (non-string keys, arbitrary objects) is
    a programming error and raises ``TypeError``, never a silently different body."""
    return orjson.dumps(data)


def encode_json_sorted(data: Any) -> bytes:
    """A canonical encoding (sorted keys): equal data, equal bytes, for hashing request contents."""
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
