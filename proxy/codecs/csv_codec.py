"""CSV out (RFC 4180): a header row of PascalCase names, one row per record, nulls empty."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson

from proxy.casing import to_pascal
from proxy.codecs.xml_codec import list_page


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def encode_csv(data: Any, *, error: bool = False) -> bytes:
    if error or not isinstance(data, dict | list):
        records: list[Any] = [data] if data is not None else []
    elif isinstance(data, list):
        records = data
    elif (page := list_page(data)) is not None:
        records = page[1]
    else:
        records = [data]
    columns: list[str] = []
    for record in records:
        if isinstance(record, dict):
            columns.extend(k for k in record if k not in columns)
    if not columns:
        return b""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([to_pascal(c) for c in columns])
    for record in records:
        row = record if isinstance(record, dict) else {}
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buf.getvalue().encode("utf-8")
