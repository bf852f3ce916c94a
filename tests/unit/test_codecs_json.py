"""JSON bodies, the format dispatch and the media types the proxy answers with."""

from __future__ import annotations

import pytest

from proxy import codecs


def test_decode_json_gives_the_data() -> None:
    raw = b'{"sid": "SM1", "num_media": "0", "price": null, "flags": [true, 1.5]}'
    assert codecs.decode_json(raw) == {
        "sid": "SM1",
        "num_media": "0",
        "price": None,
        "flags": [True, 1.5],
    }


@pytest.mark.parametrize("raw", [b'{"a": ', b"", b"{'a': 1}", b"[1, 2,]", b"nul"])
def test_invalid_json_is_a_decode_error(raw: bytes) -> None:
    with pytest.raises(codecs.DecodeError, match=r"^body is not valid JSON$"):
        codecs.decode_json(raw)


def test_invalid_utf8_is_named_as_such() -> None:
    with pytest.raises(codecs.DecodeError, match="not UTF-8"):
        codecs.decode_json(b'{"body": "\xff\xfe"}')


def test_decode_error_never_echoes_the_body() -> None:
    raw = b'{"auth_token": "s3cret-' + b"x" * 10_000 + b'"'
    with pytest.raises(codecs.DecodeError) as caught:
        codecs.decode_json(raw)
    assert "s3cret" not in str(caught.value)
    assert len(str(caught.value)) < 100
    assert isinstance(caught.value, ValueError)  # callers catching ValueError still catch it


def test_encode_json_is_compact_utf8() -> None:
    data = {"body": "ü ☎", "flags": [1, None, True], "price": -0.0075}
    expected = '{"body":"ü ☎","flags":[1,null,true],"price":-0.0075}'.encode()
    assert codecs.encode_json(data) == expected
    assert codecs.encode(data, "json", resource="Message", error=False) == expected


def test_encode_json_sorted_is_canonical() -> None:
    assert codecs.encode_json_sorted({"b": 1, "a": {"d": 2, "c": 3}}) == codecs.encode_json_sorted(
        {"a": {"c": 3, "d": 2}, "b": 1}
    )


def test_encode_json_refuses_data_json_cannot_hold() -> None:
    with pytest.raises(TypeError):
        codecs.encode_json({"when": object()})


def test_every_format_encodes_and_has_a_media_type() -> None:
    resource = {"sid": "SM1"}
    assert set(codecs.MEDIA_TYPES) == set(codecs.FORMATS) == {"json", "xml", "csv"}
    assert codecs.MEDIA_TYPES["json"] == "application/json"
    assert codecs.MEDIA_TYPES["xml"] == "application/xml"
    assert codecs.MEDIA_TYPES["csv"] == "text/csv"
    bodies = {fmt: codecs.encode(resource, fmt, resource="Message") for fmt in codecs.FORMATS}
    assert bodies["json"] == b'{"sid":"SM1"}'
    assert b"<Sid>SM1</Sid>" in bodies["xml"]
    assert bodies["csv"] == b"Sid\r\nSM1\r\n"


def test_unknown_format_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown format 'yaml'") as caught:
        codecs.encode({"sid": "SM1"}, "yaml")
    assert not isinstance(caught.value, codecs.DecodeError)
