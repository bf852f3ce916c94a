"""``application/x-www-form-urlencoded``, as the twilio SDK sends it.

Repeated keys (``MediaUrl``) become lists, single keys stay strings: that keeps the common case
simple for rules, and the ``as_list`` converter normalises where a list is always wanted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from proxy.codecs.errors import DecodeError


def decode_form(raw: bytes | str, *, charset: str = "utf-8") -> dict[str, str | list[str]]:
    try:
        text = raw.decode(charset) if isinstance(raw, bytes) else raw
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=False,
            encoding=charset,
            errors="strict",
            max_num_fields=10000,
        )
    except (UnicodeDecodeError, ValueError, LookupError):
        raise DecodeError("body is not valid form data") from None
    out: dict[str, str | list[str]] = {}
    for key, value in pairs:
        if key in out:
            prior = out[key]
            if isinstance(prior, list):
                prior.append(value)
            else:
                out[key] = [prior, value]
        else:
            out[key] = value
    return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def encode_form(data: Mapping[str, Any]) -> bytes:
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        values = value if isinstance(value, list | tuple) else [value]
        pairs.extend((key, _text(v)) for v in values if v is not None)
    return urlencode(pairs).encode("ascii")
