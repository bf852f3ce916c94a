"""JSON through orjson: on every request's path, several times faster than the json module."""

from __future__ import annotations

from typing import Any

import orjson

from proxy.codecs.errors import DecodeError


def decode_json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise DecodeError("body is not valid JSON") from None


def encode_json(data: Any) -> bytes:
    return orjson.dumps(data)


def encode_json_sorted(data: Any) -> bytes:
    """A canonical encoding (sorted keys), for hashing request contents."""
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
