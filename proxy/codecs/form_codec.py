"""``application/x-www-form-urlencoded``, as the twilio SDK sends it and Twilio-style services
expect it.

A key seen once maps to a string and a repeated key (``MediaUrl``) to a list of strings, in
order: that keeps the common case simple for rules, and the ``as_list`` converter normalises where
a list is always wanted. Keys are not interpreted, so filters such as ``DateSent>`` survive.

Decoding is strict where ``urllib.parse`` is lenient: a ``%`` not followed by two hex digits, or
bytes that are not valid in the charset, mean the client sent something other than what it
meant, and the proxy says so instead of forwarding a guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_plus, unquote_to_bytes

import orjson

from proxy.codecs.errors import DecodeError

_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")


def _field(raw: bytes, charset: str) -> str:
    try:
        if b"%" not in raw:
            # Most names and many values: nothing to unquote (one C call instead of three).
            return (raw.replace(b"+", b" ") if b"+" in raw else raw).decode(charset)
        if _BAD_ESCAPE.search(raw):
            raise DecodeError("body is not valid form data: bad percent-encoding")
        return unquote_to_bytes(raw.replace(b"+", b" ")).decode(charset)
    except UnicodeDecodeError:
        raise DecodeError(f"body is not valid form data in charset {charset}") from None


def decode_form(raw: bytes | str, *, charset: str = "utf-8") -> dict[str, str | list[str]]:
    """Fields in first-seen key order; blank values are kept as ``""``, empty pairs skipped."""
    try:
        # The syntax characters must be single ASCII bytes (UTF-16 is no form charset).
        usable = "&=%+".encode(charset) == b"&=%+"
    except (LookupError, UnicodeError):
        usable = False
    if not usable:
        raise DecodeError("body is not valid form data: unsupported charset") from None
    if isinstance(raw, str):
        try:
            raw = raw.encode(charset)
        except UnicodeEncodeError:
            raise DecodeError(f"body is not valid form data in charset {charset}") from None
    out: dict[str, str | list[str]] = {}
    for pair in raw.split(b"&"):
        if not pair:
            continue
        raw_key, _, raw_value = pair.partition(b"=")
        key, value = _field(raw_key, charset), _field(raw_value, charset)
        prior = out.get(key)
        if prior is None:
            out[key] = value
        elif isinstance(prior, list):
            prior.append(value)
        else:
            out[key] = [prior, value]
    return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        # A form has no nesting; JSON text is at least readable where Python's repr is not.
        return orjson.dumps(value).decode()
    return str(value)


def encode_form(data: Mapping[str, Any]) -> bytes:
    """UTF-8 form body: lists and tuples become repeated keys, ``True`` becomes ``true``, and
    ``None`` (alone or inside a list) is left out, as an unset parameter should be."""
    parts: list[str] = []
    for key, value in data.items():
        values = value if isinstance(value, list | tuple) else [value]
        name = quote_plus(str(key))
        parts.extend(f"{name}={quote_plus(_text(v))}" for v in values if v is not None)
    return "&".join(parts).encode("ascii")
