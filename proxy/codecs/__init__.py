"""Codecs: bytes ⇄ data, independent of the rules, so any route can offer any format it allows.

Decoders raise ``DecodeError``, whose message is short and safe to show a client (it never
echoes the body). Encoders take data as JSON would hold it; anything else is a programming error.
"""

from __future__ import annotations

from typing import Any

from proxy.codecs.csv_codec import encode_csv
from proxy.codecs.errors import DecodeError
from proxy.codecs.form_codec import decode_form, encode_form
from proxy.codecs.json_codec import decode_json, encode_json, encode_json_sorted
from proxy.codecs.xml_codec import decode_xml, encode_xml, list_page

FORMATS = ("json", "xml", "csv")
MEDIA_TYPES: dict[str, str] = {
    "json": "application/json",
    "xml": "application/xml",
    "csv": "text/csv",
}


def encode(data: Any, fmt: str, *, resource: str | None = None, error: bool = False) -> bytes:
    """``data`` in one of ``FORMATS``. ``resource`` names a single resource's XML element
    (``Message``); ``error`` marks a ``{code, message, more_info, status}`` error body. JSON
    needs neither: its shape already says what it is."""
    if fmt == "json":
        return encode_json(data)
    if fmt == "xml":
        return encode_xml(data, resource=resource, error=error)
    if fmt == "csv":
        return encode_csv(data, error=error)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "DecodeError",
    "decode_form",
    "decode_json",
    "decode_xml",
    "encode",
    "encode_csv",
    "encode_form",
    "encode_json",
    "encode_json_sorted",
    "encode_xml",
    "list_page",
]
