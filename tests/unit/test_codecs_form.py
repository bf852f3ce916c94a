"""Form bodies and query strings, as the twilio SDK writes them."""

from __future__ import annotations

from urllib.parse import quote_plus, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proxy import codecs

SDK_BODY = (
    b"To=%2B15558675310&From=%2B15005550006&Body=Hi+there+%26+%C3%BC"
    b"&MediaUrl=https%3A%2F%2Fe.x%2Fa.png&MediaUrl=https%3A%2F%2Fe.x%2Fb.png"
)


def test_twilio_sdk_body_decodes_and_encodes_back_to_the_same_bytes() -> None:
    data = codecs.decode_form(SDK_BODY)
    assert data == {
        "To": "+15558675310",
        "From": "+15005550006",
        "Body": "Hi there & ü",
        "MediaUrl": ["https://e.x/a.png", "https://e.x/b.png"],
    }
    assert list(data) == ["To", "From", "Body", "MediaUrl"]
    assert codecs.encode_form(data) == SDK_BODY


def test_text_input_decodes_like_bytes() -> None:
    assert codecs.decode_form(SDK_BODY.decode()) == codecs.decode_form(SDK_BODY)


def test_plus_is_a_space_and_escaped_plus_is_a_plus() -> None:
    assert codecs.decode_form(b"Body=a+b&To=%2B1") == {"Body": "a b", "To": "+1"}


def test_repeated_keys_keep_order_and_first_seen_position() -> None:
    data = codecs.decode_form(b"MediaUrl=a&To=1&MediaUrl=b&MediaUrl=c")
    assert data == {"MediaUrl": ["a", "b", "c"], "To": "1"}
    assert list(data) == ["MediaUrl", "To"]


def test_blank_values_are_kept_and_empty_pairs_skipped() -> None:
    assert codecs.decode_form(b"Empty=&Bare&&StatusCallback=") == {
        "Empty": "",
        "Bare": "",
        "StatusCallback": "",
    }
    assert codecs.decode_form(b"") == {}


def test_range_filter_keys_survive() -> None:
    assert codecs.decode_form("DateSent%3E=2025-05-01&DateSent<=2025-06-01") == {
        "DateSent>": "2025-05-01",
        "DateSent<": "2025-06-01",
    }
    assert codecs.encode_form({"DateSent>": "2025-05-01"}) == b"DateSent%3E=2025-05-01"


def test_value_may_contain_equals_signs() -> None:
    assert codecs.decode_form(b"Url=https://e.x/?a=1") == {"Url": "https://e.x/?a=1"}


def test_other_charsets_decode_when_declared() -> None:
    assert codecs.decode_form(b"Body=caf%E9", charset="latin-1") == {"Body": "café"}


@pytest.mark.parametrize(
    ("raw", "charset"),
    [
        (b"Body=%FF%FE", "utf-8"),  # escapes that are not UTF-8
        (b"Body=\xe9", "utf-8"),  # raw bytes that are not UTF-8
        (b"Body=%ZZ", "utf-8"),  # not an escape
        (b"Body=100%", "utf-8"),  # truncated escape
        (b"Body=%4", "utf-8"),
        (b"Body=x", "no-such-charset"),
        (b"Body=x", "utf-16"),  # not a charset a form can be written in
    ],
)
def test_malformed_bodies_are_decode_errors(raw: bytes, charset: str) -> None:
    with pytest.raises(codecs.DecodeError, match="not valid form data"):
        codecs.decode_form(raw, charset=charset)


def test_encode_form_value_rules() -> None:
    body = codecs.encode_form(
        {
            "Flag": True,
            "Off": False,
            "Unset": None,
            "NoItems": [],
            "Count": 3,
            "Price": 0.5,
            "MediaUrl": ["a", None, "b"],
            "Pair": ("x", "y"),
        }
    )
    assert body == b"Flag=true&Off=false&Count=3&Price=0.5&MediaUrl=a&MediaUrl=b&Pair=x&Pair=y"


def test_encode_form_escapes_like_urlencode_with_quote_plus() -> None:
    data = {"Body": "Hi there & ü/?#=+%", "Key with space": "~-._*", "MediaUrl": ["a b", "c"]}
    expected = urlencode(data, doseq=True, quote_via=quote_plus).encode()
    assert codecs.encode_form(data) == expected


def test_a_nested_value_is_sent_as_json_text_not_python_repr() -> None:
    assert codecs.decode_form(codecs.encode_form({"Params": {"a": 1}})) == {"Params": '{"a":1}'}


# Any text a JSON or form body can carry (lone surrogates cannot be UTF-8 at all).
TEXT = st.text(st.characters(exclude_categories=["Cs"]))


@given(st.dictionaries(TEXT.filter(bool), st.one_of(TEXT, st.lists(TEXT, min_size=2))))
def test_any_text_fields_round_trip(data: dict[str, str | list[str]]) -> None:
    assert codecs.decode_form(codecs.encode_form(data)) == data
