"""The data path language: what users write in `at:` and `from:`."""

import pytest

from proxy.pipeline.paths import MISSING, DataPath, render_path


def test_dotted_keys_and_indexes_read_nested_values() -> None:
    doc = {"meta": {"next": "/x"}, "message_uuid": ["a", "b"]}
    assert DataPath.parse("meta.next").get(doc) == "/x"
    assert DataPath.parse("message_uuid[1]").get(doc) == "b"
    assert DataPath.parse("message_uuid[-1]").get(doc) == "b"
    assert DataPath.parse("missing.key").get(doc) is MISSING


def test_wildcard_finds_every_item_with_its_concrete_path() -> None:
    doc = {"objects": [{"sid": 1}, {"other": 2}, {"sid": 3}]}
    found = list(DataPath.parse("objects[*].sid").find(doc))
    assert found == [(1, "objects[0].sid"), (3, "objects[2].sid")]


def test_quoted_keys_allow_twilio_filter_names() -> None:
    doc = {"DateSent>": "2025-05-01"}
    assert DataPath.parse('["DateSent>"]').get(doc) == "2025-05-01"
    assert DataPath.parse('request["DateSent>"]').get({"request": doc}) == "2025-05-01"


def test_parents_create_missing_objects_for_writes() -> None:
    doc: dict[str, object] = {}
    for parent, key, where in DataPath.parse("subresource_uris.media").parents(doc, create=True):
        assert isinstance(parent, dict)
        parent[key] = "/m.json"
        assert render_path(where) == "subresource_uris.media"
    assert doc == {"subresource_uris": {"media": "/m.json"}}


def test_empty_path_is_the_whole_document() -> None:
    doc = {"a": 1}
    assert DataPath.parse("").get(doc) == doc


@pytest.mark.parametrize("bad", ["a..b", "a.", ".a", "a[x]", "a]b", "a[1"])
def test_malformed_paths_are_refused_at_load(bad: str) -> None:
    with pytest.raises(ValueError, match="bad path"):
        DataPath.parse(bad)
