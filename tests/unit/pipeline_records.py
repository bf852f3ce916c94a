"""Records for the pipeline tests: the providers' resources as they arrive, odd values, and
hypothesis strategies that edit the one into the other.

The bases are the shapes of the golden files and the providers' reference pages; the odd values
are what a step meets at its edges (absent-ish values, near-miss timestamps, identifiers in
every written form, numbers, vocabularies).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

from proxy.engine.exchange import Exchange

PLIVO_MESSAGE = {
    "api_id": "97a6b3e5-7c4c-11e7-9891-06ad4ba32f2b",
    "error_code": "000",
    "error_message": "",
    "from_number": "18552828641",
    "message_direction": "outbound",
    "message_state": "delivered",
    "message_time": "2017-05-22 21:36:14+05:30",
    "message_type": "sms",
    "message_uuid": "0936ec98-7c4c-11e7-9891-06ad4ba32f2b",
    "message_sent_time": "2017-05-22 21:36:15.12345+05:30",
    "message_updated_time": "2017-05-22 21:36:20+05:30",
    "powerpack_id": "",
    "resource_uri": "/v1/Account/MAXXXXXXXXXXXXXXXXXX/Message/0936ec98/",
    "to_number": "911231231230",
    "total_amount": "0.00250",
    "total_rate": "0.00250",
    "units": 1,
    "text": "hello",
}
PLIVO_CALL = {
    "answer_time": "2017-05-22 13:17:54+05:30",
    "bill_duration": 924,
    "call_direction": "outbound",
    "call_duration": 924,
    "call_state": "ANSWER",
    "call_uuid": "eba53b9e-8fbd-45c1-9444-696d2172fbc8",
    "caller_name": "",
    "end_time": "2017-05-22 13:33:18+05:30",
    "from_number": "+919879879876",
    "initiation_time": "2017-05-22 13:17:49+05:30",
    "parent_call_uuid": None,
    "to_number": "919879879876",
    "total_amount": "0.13600",
}
TWILIO_MESSAGE = {
    "account_sid": "AC" + "a" * 32,
    "body": "testing",
    "date_created": "Fri, 24 May 2019 17:44:46 +0000",
    "date_sent": "Fri, 24 May 2019 17:44:50 +0000",
    "date_updated": "Fri, 24 May 2019 17:44:50 +0000",
    "direction": "outbound-api",
    "error_code": 30003,
    "error_message": "Unreachable destination handset",
    "from": "+12019235161",
    "messaging_service_sid": None,
    "num_media": "0",
    "num_segments": "2",
    "price": "-0.00750",
    "sid": "SMc26223853f8c46b4ab7dfaa6abba0a26",
    "status": "undelivered",
    "subresource_uris": {"media": "/x/Media.json"},
    "to": "+18182008801",
}
TWILIO_CALL = {
    "date_created": "Mon, 22 May 2017 07:47:49 +0000",
    "date_updated": "Mon, 22 May 2017 08:03:18 +0000",
    "direction": "outbound-api",
    "duration": "924",
    "end_time": "Mon, 22 May 2017 08:03:18 +0000",
    "from": "+14155550100",
    "parent_call_sid": None,
    "price": "-0.20020",
    "sid": "CAeba53b9e8fbd45c19444696d2172fbc8",
    "start_time": "Mon, 22 May 2017 07:47:49 +0000",
    "status": "completed",
    "subresource_uris": {},
    "to": "+14155550111",
}
BASES = [PLIVO_MESSAGE, PLIVO_CALL, TWILIO_MESSAGE, TWILIO_CALL]
FIELDS = sorted({key for base in BASES for key in base} | {"sid", "status", "uri", "num_media"})

ODD_VALUES: list[Any] = [
    # absent-ish and empty
    None,
    "",
    " ",
    "null",
    "0",
    "000",
    # timestamps: Plivo's, Twilio's, and near misses
    "2017-05-22 21:36:14+05:30",
    "2017-05-22 21:36:14.1234567-08:00",
    "2017-05-22T21:36:14Z",
    "2017-05-22 21:36:14",
    "2017-05-22 21:36",
    "2017-05-22",
    " 2017-05-22 21:36:14+00:00 ",
    "2017-02-30 10:00:00+00:00",
    "2017-05-22 24:00:00+00:00",
    "2017-05-22 21:36:60+05:30",
    "0999-01-01 00:10:00+05:30",
    "0001-01-01 00:00:00+05:30",
    "9999-12-31 23:59:59-05:00",
    "2017-05-22 21:36:14+0530",
    "2017-05-22 21:36:14 +05:30",
    "2017-05-22 21:36:14+05:30:10",
    "0001-01-01 00:00:00+05:30",
    "0001-01-01 00:00:00+00:00",
    "Mon, 22 May 2017 16:06:14 +0000",
    "Mon, 22 May 2017 16:06:14 -0000",
    "Mon, 22 May 2017 16:06:14 +0530",
    "Mon, 22 May 2017 16:06:14 +2400",
    "Mon, 22 may 2017 16:06:14 +0000",
    "Mon, 22 May 2017 16:06:14 GMT",
    "Tue, 30 Feb 2017 10:00:00 +0000",
    "Wed, 29 Feb 2016 10:00:00 +0000",
    "Mon, 22 May 2017 24:00:00 +0000",
    "Mon, 22 May 2017 23:59:60 +0000",
    "Mon, 01 Jan 0099 00:00:00 +0000",
    "Mon, 01 Jan 0999 00:00:00 +0000",
    "Mon, 01 Jan 0001 00:00:00 +0100",
    "Fri, 31 Dec 9999 23:59:59 -0100",
    "Mon, 22 May 2017 16:06:14 +0000 ",
    "22 May 2017 16:06:14 GMT",
    "not a date",
    # identifiers
    "0936ec98-7c4c-11e7-9891-06ad4ba32f2b",
    "0936EC98-7C4C-11E7-9891-06AD4BA32F2B",
    "0936ec987c4c11e7989106ad4ba32f2b",
    "SM0936ec987c4c11e7989106ad4ba32f2b",
    "MM0936ec987c4c11e7989106ad4ba32f2b",
    "CA0936ec987c4c11e7989106ad4ba32f2b",
    "SM0936",
    # numbers and phone numbers
    "14155550100",
    "+14155550100",
    "+1 (415) 555-0100",
    "911231231230",
    "12345",
    "sip:alice@example.com",
    "MyBrand",
    "0.00250",
    "-0.1",
    "1e3",
    "NaN",
    "inf",
    "abc",
    "30003",
    " 42 ",
    # vocabularies
    "delivered",
    "inbound",
    "outbound",
    "outbound-api",
    "mms",
    "sms",
    "ANSWER",
    "NO_ANSWER",
    "completed",
    "no-answer",
    "weird",
]
ODD = st.sampled_from(ODD_VALUES)
VALUES = st.one_of(
    ODD,
    st.integers(-3, 3),
    st.sampled_from([0, 1, 924, 30003, 10**20]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=8),
    st.lists(st.sampled_from(["a", "14155550100", None]), max_size=2),
    st.dictionaries(st.sampled_from(["media", "x"]), st.sampled_from(["u", None]), max_size=2),
)


@st.composite
def records(draw: st.DrawFn) -> Any:
    """A realistic record, edited: fields dropped, nulled, replaced or added; sometimes not an
    object at all."""
    if draw(st.integers(0, 19)) == 0:
        return draw(st.one_of(st.none(), st.lists(st.integers(), max_size=2), VALUES))
    doc = copy.deepcopy(draw(st.sampled_from(BASES)))
    for key in draw(st.lists(st.sampled_from(FIELDS), max_size=6, unique=True)):
        action = draw(st.integers(0, 3))
        if action == 0:
            doc.pop(key, None)
        elif action == 1:
            doc[key] = None
        else:
            doc[key] = draw(VALUES)
    return doc


ITEMS = st.one_of(
    st.lists(records(), max_size=4),
    st.sampled_from([None, "x", 3, {"a": 1}]),
)


# Every odd value, and values of other types, for deterministic sweeps.
SWEEP = [*ODD_VALUES, 0, 1.5, -1, True, 10**20, ["a"], {"media": "u"}]


def exchange(account: Any = None) -> Exchange:
    """The exchange a GET of one message has, at a fixed time."""
    return Exchange(
        route_name="r",
        request_id="rid",
        method="GET",
        path="/2010-04-01/Accounts/AC1/Messages/SM1.json",
        query=[],
        path_params={"Sid": "SM" + "0" * 32, "AccountSid": "AC" + "0" * 32},
        fmt="json",
        params={},
        original={"To": "+14155550111", "Body": "hi"},
        account=account,
        started=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


def tree(value: Any) -> Any:
    """A copy of a JSON-like document (``copy.deepcopy`` was most of this module's time)."""
    if isinstance(value, dict):
        return {k: tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [tree(v) for v in value]
    return value


_IMMUTABLE = (str, int, float, bool, type(None))


def shape(doc: Any, *inputs: Any) -> str:
    """The document's text, its value types, and which of its parts are one shared object,
    with each other or with ``inputs`` (a ``set … from`` must copy, so that a later edit of
    one place cannot change another). Values of exactly the immutable JSON types may be
    shared; anything else (a dict, a list, a ``str`` subclass) counts."""
    seen: dict[int, str] = {}
    shared: list[str] = []
    stack: list[tuple[Any, str]] = [*((v, f"<input{i}>") for i, v in enumerate(inputs)), (doc, "")]
    types: list[str] = []
    while stack:
        value, where = stack.pop()
        if where[:1] != "<":
            types.append(f"{where}:{type(value).__name__}")
        if type(value) in _IMMUTABLE:
            continue
        if id(value) in seen:
            shared.append(f"{where}={seen[id(value)]}")
            continue
        seen[id(value)] = where
        if isinstance(value, dict | list):
            items = value.items() if isinstance(value, dict) else enumerate(value)
            stack.extend((v, f"{where}/{k}") for k, v in items)
    return f"{doc!r} types:{','.join(sorted(types))} shared:{','.join(sorted(shared))}"
