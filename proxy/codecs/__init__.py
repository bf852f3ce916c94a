"""Codecs: bytes ⇄ data, independent of the rules. Any route can offer any format it allows."""

from __future__ import annotations

from typing import Any

from proxy.codecs.csv_codec import encode_csv
from proxy.codecs.errors import DecodeError
from proxy.codecs.form_codec import decode_form, encode_form
from proxy.codecs.json_codec import decode_json, encode_json, encode_json_sorted
from proxy.codecs.xml_codec import decode_xml, encode_xml

FORMATS = ("json", "xml", "csv")
MEDIA_TYPES: dict[str, str] = {
    "json": "application/json",
    "xml": "application/xml",
    "csv": "text/csv",
}


def encode(data: Any, fmt: str, *, resource: str | None = None, error: bool = False) -> bytes:
    if fmt == "json":
        return encode_json(data)
    if fmt == "xml":
        return encode_xml(data, resource=resource, error=error)
    if fmt == "csv":
        return encode_csv(data, error=error)
    raise ValueError(f"unknown format {fmt!r}")


__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "DecodeError",
    "decode_form",
    "decode_json",
    "decode_xml",
    "encode",
    "encode_form",
    "encode_json",
    "encode_json_sorted",
]
