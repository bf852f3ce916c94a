"""CSV out, as ``.csv`` clients and spreadsheets read it (RFC 4180)."""

from __future__ import annotations

import csv
import io
from typing import Any

from proxy import codecs

PAGE: dict[str, Any] = {
    "page": 0,
    "page_size": 50,
    "uri": "/2010-04-01/Accounts/AC1/Messages.csv?PageSize=50&Page=0",
    "next_page_uri": None,
    "messages": [
        {"sid": "SM1", "body": "plain", "num_segments": "1"},
        {"sid": "SM2", "price": "-0.00750", "body": "second"},
    ],
}


def rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))


def test_page_is_a_header_and_one_row_per_record() -> None:
    body = codecs.encode(PAGE, "csv")
    assert body == b"Sid,Body,NumSegments,Price\r\nSM1,plain,1,\r\nSM2,second,,-0.00750\r\n"


def test_quoting_is_minimal_and_correct() -> None:
    tricky = ["a, b", 'say "hi"', "line one\nline two", "cr\r\nlf", "ü ☎ 🎉", " padded ", "=1+2"]
    page = {"page": 0, "messages": [{"body": text} for text in tricky]}
    body = codecs.encode(page, "csv")
    assert body.split(b"\r\n")[:3] == [b"Body", b'"a, b"', b'"say ""hi"""']
    assert b'"line one\nline two"\r\n' in body
    assert "\r\nü ☎ 🎉\r\n".encode() in body
    assert b"\r\n padded \r\n=1+2\r\n" in body  # neither quoted nor escaped when not needed
    assert rows(body) == [["Body"], *[[text] for text in tricky]]


def test_single_resource_is_one_row() -> None:
    message = {"sid": "SM1", "api_version": "2010-04-01", "date_created": "Thu, 01 May 2025"}
    body = codecs.encode(message, "csv", resource="Message")
    assert body == b'Sid,ApiVersion,DateCreated\r\nSM1,2010-04-01,"Thu, 01 May 2025"\r\n'


def test_error_is_one_row_of_its_fields() -> None:
    error = {
        "code": 20404,
        "message": "The requested resource was not found",
        "more_info": "https://www.twilio.com/docs/errors/20404",
        "status": 404,
    }
    body = codecs.encode(error, "csv", error=True)
    assert rows(body) == [
        ["Code", "Message", "MoreInfo", "Status"],
        ["20404", error["message"], error["more_info"], "404"],
    ]


def test_cell_value_rules() -> None:
    record = {
        "price": None,
        "ok": True,
        "off": False,
        "count": 3,
        "rate": 0.5,
        "subresource_uris": {"media": "/m"},
        "flags": ["a", "b"],
    }
    assert rows(codecs.encode(record, "csv")) == [
        ["Price", "Ok", "Off", "Count", "Rate", "SubresourceUris", "Flags"],
        ["", "true", "false", "3", "0.5", '{"media":"/m"}', '["a","b"]'],
    ]


def test_empty_page_is_an_empty_body() -> None:
    assert codecs.encode({"page": 0, "page_size": 50, "messages": []}, "csv") == b""
    assert codecs.encode(None, "csv") == b""


def test_top_level_list_is_one_row_per_item() -> None:
    body = codecs.encode([{"sid": "a"}, {"sid": "b", "to": "+1"}], "csv")
    assert body == b"Sid,To\r\na,\r\nb,+1\r\n"


def test_scalar_records_go_in_a_value_column() -> None:
    assert codecs.encode({"page": 0, "numbers": ["+1", "+2"]}, "csv") == b"Value\r\n+1\r\n+2\r\n"


def test_output_is_utf8_without_a_byte_order_mark() -> None:
    body = codecs.encode({"body": "ü"}, "csv")
    assert body == "Body\r\nü\r\n".encode()
