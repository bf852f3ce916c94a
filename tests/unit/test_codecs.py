"""Codecs: what the client receives on the wire, and what it may send."""

from __future__ import annotations

import csv
import io

import defusedxml.ElementTree as SafeET
import pytest

from proxy import codecs
from proxy.codecs.casing import singular, to_camel, to_pascal, to_snake

PAGE = {
    "first_page_uri": "/2010-04-01/Accounts/AC1/Messages.json?PageSize=2&Page=0",
    "end": 1,
    "previous_page_uri": None,
    "uri": "/2010-04-01/Accounts/AC1/Messages.json?PageSize=2&Page=0",
    "page_size": 2,
    "start": 0,
    "next_page_uri": "/2010-04-01/Accounts/AC1/Messages.json?PageSize=2&Page=1&PageToken=PAx",
    "page": 0,
    "messages": [
        {"sid": "SM1", "body": 'a, "b"\nc', "price": None, "subresource_uris": {"media": "/m"}},
        {"sid": "SM2", "body": "ü ☎", "price": "-0.00750", "subresource_uris": {"media": "/n"}},
    ],
}


def test_twilio_sdk_form_body_round_trips() -> None:
    raw = (
        b"To=%2B15558675310&From=%2B15005550006&Body=Hi+there+%26+%C3%BC"
        b"&MediaUrl=https%3A%2F%2Fe.x%2Fa.png&MediaUrl=https%3A%2F%2Fe.x%2Fb.png"
    )
    data = codecs.decode_form(raw)
    assert data == {
        "To": "+15558675310",
        "From": "+15005550006",
        "Body": "Hi there & ü",
        "MediaUrl": ["https://e.x/a.png", "https://e.x/b.png"],
    }
    assert codecs.decode_form(codecs.encode_form(data)) == data
    assert codecs.decode_form("DateSent%3E=2025-05-01&Empty=") == {
        "DateSent>": "2025-05-01",
        "Empty": "",
    }
    assert codecs.encode_form({"A": True, "B": None, "C": [1, 2]}) == b"A=true&C=1&C=2"


def test_bad_json_and_form_are_decode_errors() -> None:
    with pytest.raises(codecs.DecodeError, match="not valid JSON"):
        codecs.decode_json(b'{"a": ')
    with pytest.raises(codecs.DecodeError):
        codecs.decode_form(b"a=%FF%FE")


def test_xml_list_page_as_twilio_documents_it() -> None:
    root = SafeET.fromstring(codecs.encode(PAGE, "xml"))
    assert root.tag == "TwilioResponse"
    (messages,) = list(root)
    assert messages.tag == "Messages"
    assert messages.get("page") == "0" and messages.get("pagesize") == "2"
    assert messages.get("nextpageuri", "").endswith("PageToken=PAx")
    assert messages.get("previouspageuri") == ""
    assert messages.get("firstpageuri") == PAGE["first_page_uri"]
    first, second = messages.findall("Message")
    assert first.find("Sid").text == "SM1"
    assert first.find("Body").text == 'a, "b"\nc'
    assert first.find("Price").text is None and len(first.find("Price")) == 0
    assert first.find("SubresourceUris/Media").text == "/m"
    assert second.find("Body").text == "ü ☎"


def test_xml_resource_error_and_list_fields() -> None:
    root = SafeET.fromstring(
        codecs.encode({"sid": "SM1", "flags": ["a", "b"], "ok": True}, "xml", resource="Message")
    )
    message = root.find("Message")
    assert [f.text for f in message.findall("Flags/Flag")] == ["a", "b"]
    assert message.find("Ok").text == "true"
    err = {
        "code": 20404,
        "message": "not found",
        "more_info": "https://www.twilio.com/docs/errors/20404",
        "status": 404,
    }
    rest = SafeET.fromstring(codecs.encode(err, "xml", error=True)).find("RestException")
    assert [(c.tag, c.text) for c in rest] == [
        ("Code", "20404"),
        ("Message", "not found"),
        ("MoreInfo", "https://www.twilio.com/docs/errors/20404"),
        ("Status", "404"),
    ]


def test_xml_output_is_always_well_formed() -> None:
    hostile = {"DateSent>": "x", "1bad": "\x00\x07<&>", "ok key": "]]>"}
    root = SafeET.fromstring(codecs.encode(hostile, "xml", resource="Thing"))
    assert len(root.find("Thing")) == 3


def test_xml_decoding_refuses_entities_and_dtds() -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>'
    )
    external = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    )
    for raw in (laughs, external):
        with pytest.raises(codecs.DecodeError, match="refused"):
            codecs.decode_xml(raw)
    with pytest.raises(codecs.DecodeError, match="well-formed"):
        codecs.decode_xml(b"<a><b></a>")
    assert codecs.decode_xml(b"<r><To>+1</To><M>a</M><M>b</M></r>") == {"To": "+1", "M": ["a", "b"]}


def test_csv_rows_quote_correctly_and_nulls_are_empty() -> None:
    text = codecs.encode(PAGE, "csv").decode()
    assert text.startswith("Sid,Body,Price,SubresourceUris\r\n")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1] == ["SM1", 'a, "b"\nc', "", '{"media":"/m"}']
    assert rows[2][1] == "ü ☎"
    single = codecs.encode({"sid": "SM1", "num_media": "0"}, "csv").decode()
    assert single == "Sid,NumMedia\r\nSM1,0\r\n"
    err = codecs.encode(
        {"code": 20404, "message": "x", "more_info": "u", "status": 404}, "csv", error=True
    )
    assert err.decode().splitlines()[0] == "Code,Message,MoreInfo,Status"


def test_casing_and_singulars() -> None:
    assert to_pascal("num_segments") == "NumSegments"
    assert to_pascal("subresource_uris") == "SubresourceUris"
    assert to_snake("NumSegments") == "num_segments"
    assert to_snake("messageUUID") == "message_uuid"
    assert to_camel("date_created") == "dateCreated"
    assert to_snake("DateSent>") == "DateSent>"
    assert [
        singular(w) for w in ("Messages", "Calls", "Entries", "Addresses", "Status", "Media")
    ] == [
        "Message",
        "Call",
        "Entry",
        "Address",
        "Status",
        "Media",
    ]
