"""CSV out (RFC 4180), as Twilio serves ``.csv``: a header row of PascalCase names, then one row
per record. Quoting is minimal (only cells that need it), lines end with CRLF, text is UTF-8
without a byte-order mark.

Cells hold text only, so null is an empty cell, booleans are ``true``/``false`` and a nested dict
or list is compact JSON. Cells are written verbatim: a value starting with ``=`` or ``+`` (every
E.164 number) is data here, and escaping it against spreadsheet formulas would corrupt it.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from proxy.codecs.casing import to_pascal
from proxy.codecs.xml_codec import list_page, scalar_text

# A scalar record (a list of strings, say) has no field names; its column is called this.
VALUE_COLUMN = "value"

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _records(data: Any, error: bool) -> list[Any]:
    if data is None:
        return []
    page = None if error else list_page(data)
    if page is not None:
        return page[1]
    if isinstance(data, list | tuple) and not error:
        return list(data)
    return [data]


def _row(record: Any) -> dict[Any, Any]:
    return record if isinstance(record, dict) else {VALUE_COLUMN: record}


def _cell(value: Any) -> str:
    return _LONE_SURROGATE.sub("\ufffd", scalar_text(value))


def encode_csv(data: Any, *, error: bool = False) -> bytes:
    """A list page or top-level list gives one row per record, a resource or an error one row.
    Columns are the union of the records' keys in first-seen order, missing ones empty. With no
    column at all (an empty page, ``None``) the body is empty: a header needs names."""
    rows = [_row(record) for record in _records(data, error)]
    columns: dict[Any, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    if not columns:
        return b""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([_cell(to_pascal(str(column))) for column in columns])
    writer.writerows([_cell(row.get(column)) for column in columns] for row in rows)
    return buf.getvalue().encode("utf-8")
