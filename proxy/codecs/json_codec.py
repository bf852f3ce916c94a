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
