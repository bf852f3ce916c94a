"""Key casing: the names clients see in Twilio's XML and CSV, and what ``recase`` rules produce."""

from __future__ import annotations

import copy

import pytest

from proxy.codecs.casing import (
    CASINGS,
    recase_keys,
    singular,
    split_words,
    to_camel,
    to_pascal,
    to_snake,
)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("num_segments", ["num", "segments"]),
        ("NumSegments", ["num", "segments"]),
        ("numSegments", ["num", "segments"]),
        ("num-segments", ["num", "segments"]),
        ("messageUUID", ["message", "uuid"]),
        ("HTTPServer", ["http", "server"]),
        ("api_version", ["api", "version"]),
        ("MediaUrl", ["media", "url"]),
        ("mp3_url", ["mp3", "url"]),
        ("Mp3Url", ["mp3", "url"]),
        ("1st_try", ["1st", "try"]),
        ("sid", ["sid"]),
        ("", []),
    ],
)
def test_split_words(name: str, words: list[str]) -> None:
    assert split_words(name) == words


@pytest.mark.parametrize(
    ("snake", "pascal", "camel"),
    [
        ("num_segments", "NumSegments", "numSegments"),
        ("sid", "Sid", "sid"),
        ("uri", "Uri", "uri"),
        ("subresource_uris", "SubresourceUris", "subresourceUris"),
        ("api_version", "ApiVersion", "apiVersion"),
        ("date_created", "DateCreated", "dateCreated"),
        ("message_uuid", "MessageUuid", "messageUuid"),
    ],
)
def test_twilio_field_names_convert_every_way(snake: str, pascal: str, camel: str) -> None:
    assert to_pascal(snake) == pascal
    assert to_camel(snake) == camel
    assert to_snake(pascal) == snake
    assert to_snake(camel) == snake
    assert to_pascal(camel) == pascal
    assert to_camel(pascal) == camel


def test_acronyms_become_words() -> None:
    assert to_snake("messageUUID") == "message_uuid"
    assert to_snake("HTTPServer") == "http_server"
    assert to_pascal("messageUUID") == "MessageUuid"


@pytest.mark.parametrize("name", ["DateSent>", "StartTime<", "a b", "x.y", "ü_name", "__", ""])
def test_keys_that_are_not_identifiers_are_left_alone(name: str) -> None:
    assert to_snake(name) == name
    assert to_camel(name) == name
    assert to_pascal(name) == name


def test_casings_are_named_as_the_config_names_them() -> None:
    assert {name: fn("date_created") for name, fn in CASINGS.items()} == {
        "snake": "date_created",
        "camel": "dateCreated",
        "pascal": "DateCreated",
    }


def test_recase_keys_is_deep_and_walks_lists() -> None:
    data = {
        "DateCreated": "x",
        "SubresourceUris": {"MediaList": "/m"},
        "Messages": [{"NumMedia": "0", "Flags": ["Keep_Me"]}],
        7: "non-string key",
    }
    original = copy.deepcopy(data)
    assert recase_keys(data, to_snake) == {
        "date_created": "x",
        "subresource_uris": {"media_list": "/m"},
        "messages": [{"num_media": "0", "flags": ["Keep_Me"]}],
        7: "non-string key",
    }
    assert data == original  # a new structure, the input is untouched


def test_recase_keys_shallow_recases_only_the_outer_records() -> None:
    records = [{"NumMedia": "0", "SubresourceUris": {"MediaList": "/m"}}]
    assert recase_keys(records, to_snake, deep=False) == [
        {"num_media": "0", "subresource_uris": {"MediaList": "/m"}}
    ]


def test_recase_keys_leaves_scalars_and_keeps_key_order() -> None:
    assert recase_keys("DateCreated", to_snake) == "DateCreated"
    assert recase_keys(None, to_snake) is None
    assert list(recase_keys({"b_b": 1, "a_a": 2, "c_c": 3}, to_pascal)) == ["BB", "AA", "CC"]


def test_recase_keys_survives_nesting_deeper_than_the_recursion_limit() -> None:
    data: dict[str, object] = {"leaf_key": 1}
    for _ in range(5000):
        data = {"inner_key": data}
    out = recase_keys(data, to_pascal)
    for _ in range(5000):
        out = out["InnerKey"]
    assert out == {"LeafKey": 1}


@pytest.mark.parametrize(
    ("plural", "one"),
    [
        ("Messages", "Message"),
        ("Calls", "Call"),
        ("Flags", "Flag"),
        ("Entries", "Entry"),
        ("Addresses", "Address"),
        ("MediaUrls", "MediaUrl"),
        ("Boxes", "Box"),
        ("IncomingPhoneNumbers", "IncomingPhoneNumber"),
        ("Conferences", "Conference"),
        ("Queues", "Queue"),
        ("MediaList", "Media"),
        ("Status", "Status"),
        ("Address", "Address"),
        ("Media", "Media"),
        ("Data", "Data"),
    ],
)
def test_singular(plural: str, one: str) -> None:
    assert singular(plural) == one
