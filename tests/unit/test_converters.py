"""Converters and dialect helpers: the value-level translations users see in every body."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime

import pytest

from proxy.engine.errors import Problem
from proxy.pipeline.converters import ConversionError, build_converter
from proxy.providers.plivo import rest as plivo
from proxy.providers.twilio import rest as twilio


def conv(name: str, args: dict[str, object] | None = None):  # type: ignore[no-untyped-def]
    return build_converter(name, args)


@pytest.mark.parametrize(
    ("plivo_time", "expected"),
    [
        ("2017-05-22 21:36:14+05:30", "Mon, 22 May 2017 16:06:14 +0000"),
        ("2024-08-21 18:28:51.94772+05:30", "Wed, 21 Aug 2024 12:58:51 +0000"),
        ("2025-05-01 00:30:00-04:00", "Thu, 01 May 2025 04:30:00 +0000"),
        ("2025-05-01 12:00:00", "Thu, 01 May 2025 12:00:00 +0000"),
        ("2025-05-01T12:00:00Z", "Thu, 01 May 2025 12:00:00 +0000"),
    ],
)
def test_rfc2822_gmt_converts_the_offset_away(plivo_time: str, expected: str) -> None:
    out = conv("rfc2822_gmt")(plivo_time)
    assert out == expected
    parsed = email.utils.parsedate_to_datetime(out)
    assert parsed == twilio.parse_datetime(plivo_time).replace(microsecond=0)


def test_time_converters_edge_values() -> None:
    assert conv("rfc2822_gmt")(None) is None and conv("rfc2822_gmt")("") is None
    with pytest.raises(ConversionError):
        conv("rfc2822_gmt")("yesterday")
    assert conv("plivo_time")("Thu, 01 May 2025 12:00:00 +0000") == "2025-05-01 12:00:00+00:00"
    assert conv("plivo_time_filter")("2025-05-01T10:30:00Z") == "2025-05-01 10:30:00"
    assert conv("plivo_time_filter")("2025-05-01") == "2025-05-01 00:00:00"
    when = datetime(2025, 5, 10, tzinfo=UTC)
    assert conv("ago", {"days": 9})(when) == datetime(2025, 5, 1, tzinfo=UTC)


def test_numbers() -> None:
    assert conv("e164")("14155550100") == "+14155550100"
    assert conv("e164")("+44 7700 900123") == "+447700900123"
    assert conv("e164")("sip:alice@example.com") == "sip:alice@example.com"
    assert conv("e164")("MyBrand") == "MyBrand"
    with pytest.raises(ConversionError):
        conv("e164")("12")
    assert conv("plivo_number")("+14155550100") == "14155550100"


def test_sids_and_uuids_map_exactly_both_ways() -> None:
    uuid = "0936ec98-7c4c-11e7-9891-06ad4ba32f2b"
    sid = conv("twilio_sid", {"prefix": "SM"})(uuid)
    assert sid == "SM0936ec987c4c11e7989106ad4ba32f2b"
    assert conv("uuid_from_sid", {"prefixes": ["SM", "MM"]})(sid) == uuid
    with pytest.raises(ConversionError):
        conv("uuid_from_sid", {"prefixes": ["CA"]})(sid)
    with pytest.raises(ConversionError):
        conv("twilio_sid", {"prefix": "SM"})("not-a-uuid")
    with pytest.raises(ValueError, match="prefix"):
        build_converter("twilio_sid", {"prefix": "sm1"})
    with pytest.raises(ValueError, match="unknown converter"):
        build_converter("nope", None)


def test_types_prices_and_codes() -> None:
    assert conv("string")(3) == "3" and conv("string")(True) == "true"
    assert conv("integer")("30003") == 30003 and conv("integer")("") is None
    with pytest.raises(ConversionError):
        conv("integer")("3x")
    price = conv("decimal_string", {"places": 5, "negate": True})
    assert price("0.0025") == "-0.00250" and price("0.00000") == "0.00000" and price(None) is None
    # More digits than the decimal context holds: a refusal the step reports, not a crash.
    with pytest.raises(ConversionError, match="5 places"):
        price("1" + "0" * 30)
    code = conv("plivo_error_code")
    assert [code(v) for v in ("000", "", None, 0, "30", 200)] == [None, None, None, None, 30, 200]


def test_lists_and_segments() -> None:
    assert conv("as_list")("a") == ["a"] and conv("as_list")(None) == []
    assert conv("first")(["a", "b"]) == "a" and conv("count")(["a", "b"]) == 2
    assert conv("split")("a<b") == ["a", "b"] and conv("join")(["a", "b"]) == "a<b"
    seg = conv("sms_segments")
    assert (seg("x" * 160), seg("x" * 161), seg("x" * 306), seg("x" * 307)) == (1, 2, 2, 3)
    assert (seg("☎" * 70), seg("☎" * 71)) == (1, 2)
    assert seg("{" * 80) == 1 and seg("{" * 81) == 2  # GSM extension characters count twice


def test_twilio_error_body_is_exactly_the_2010_shape() -> None:
    body = twilio.error_body(Problem(status=404, message="not found"))
    assert body == {
        "code": 20404,
        "message": "not found",
        "more_info": "https://www.twilio.com/docs/errors/20404",
        "status": 404,
    }
    assert twilio.error_body(Problem(status=400, message="x", code=21211))["code"] == 21211
    assert twilio.generic_code(418) == 20001 and twilio.generic_code(599) == 20500


def test_twilio_list_envelope_pages() -> None:
    first = twilio.list_envelope(
        "messages",
        [1, 2],
        path="/p.json",
        filters=[("To", "+1")],
        page=0,
        page_size=2,
        has_next=True,
    )
    assert (first["start"], first["end"], first["previous_page_uri"]) == (0, 1, None)
    assert first["first_page_uri"] == "/p.json?To=%2B1&PageSize=2&Page=0"
    assert first["next_page_uri"].startswith("/p.json?To=%2B1&PageSize=2&Page=1&PageToken=PA")
    token = first["next_page_uri"].rsplit("PageToken=", 1)[1]
    assert twilio.parse_page_token(token) == 2
    last = twilio.list_envelope(
        "messages", [3], path="/p.json", filters=[], page=1, page_size=2, has_next=False
    )
    assert (last["start"], last["end"], last["next_page_uri"]) == (2, 2, None)
    assert last["previous_page_uri"].startswith("/p.json?PageSize=2&Page=0")
    empty = twilio.list_envelope(
        "messages", [], path="/p.json", filters=[], page=0, page_size=2, has_next=False
    )
    assert (empty["start"], empty["end"]) == (0, 0)
    assert set(first) - twilio.LIST_ENVELOPE_KEYS == {"messages"}
    assert twilio.parse_page_token("PASMforeign") is None


def test_plivo_error_and_meta() -> None:
    body = plivo.error_body(
        Problem(status=404, message="not found"), api_id="x", list_endpoint=True
    )
    assert body == {"api_id": "x", "error": "not found", "objects": []}
    assert plivo.error_text({"api_id": "x", "error": {"dst": "bad"}}) == '{"dst":"bad"}'
    meta = plivo.list_meta(
        "/v1/Account/MA/Message/", limit=20, offset=20, total_count=50, has_next=True
    )
    assert meta["next"] == "/v1/Account/MA/Message/?limit=20&offset=40"
    assert meta["previous"] == "/v1/Account/MA/Message/?limit=20&offset=0"
    assert plivo.format_time(datetime(2025, 5, 1, 12, tzinfo=UTC)) == "2025-05-01 12:00:00+00:00"


def test_a_sid_or_uuid_with_a_trailing_newline_is_refused() -> None:
    # "$" in a pattern also matches before a final newline: a path segment "CA…%0A" must not
    # pass for a SID and reach the upstream as one.
    sid = "CA" + "ab" * 16
    assert twilio.is_sid(sid) and not twilio.is_sid(sid + "\n")
    with pytest.raises(ValueError):
        twilio.uuid_from_sid(sid + "\n")
    assert not twilio.is_uuid("0936ec98-7c4c-11e7-9891-06ad4ba32f2b\n")
