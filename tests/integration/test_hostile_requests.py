"""Random requests at every shipped route: never a 500, never a traceback, and always a
well-formed body in the client's style."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import defusedxml.ElementTree as SafeET
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxy.providers.plivo.mock import build_plivo_mock
from proxy.providers.twilio.mock import build_twilio_mock
from proxy.settings import load_config_text
from proxy.settings.loader import Config
from tests.conftest import ROOT
from tests.integration.conftest import PLIVO_ID, PLIVO_TOKEN, SID, TOKEN, facade_env
from tests.servers import ServerThread

PLIVO_CLIENT, PLIVO_SECRET = "MAHOSTILETEST0000001", "hostile-plivo-secret"


@dataclass
class Targets:
    twilio: str
    plivo: str
    sidecar: str


def relaxed(name: str, env: dict[str, str]) -> Config:
    """A shipped config whose failed-authentication limit random credentials cannot reach
    (otherwise the address is soon blocked with 429 and the routes behind stay untested)."""
    text = (
        (ROOT / "config" / name)
        .read_text()
        .replace("\nserver:\n", "\nserver:\n  limits: {auth_failures: 1000000}\n", 1)
    )
    return load_config_text(text, env=env)


@pytest.fixture(scope="module")
def targets() -> Iterator[Targets]:
    servers = ServerThread()
    try:
        plivo_up = servers.serve(lambda: build_plivo_mock(PLIVO_ID, PLIVO_TOKEN))
        twilio_up = servers.serve(lambda: build_twilio_mock(SID, TOKEN))
        twilio_cfg = relaxed("twilio-over-plivo.yaml", facade_env(plivo_up))
        plivo_env = {
            "PLIVO_AUTH_ID": PLIVO_CLIENT,
            "PLIVO_AUTH_TOKEN": PLIVO_SECRET,
            "TWILIO_ACCOUNT_SID": SID,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_API_URL": twilio_up,
        }
        plivo_cfg = relaxed("plivo-over-twilio.yaml", plivo_env)
        sidecar_cfg = relaxed("sidecar-plivo-to-twilio.yaml", {"LEGACY_URL": plivo_up})
        yield Targets(
            twilio=servers.serve_config(twilio_cfg),
            plivo=servers.serve_config(plivo_cfg),
            sidecar=servers.serve_config(sidecar_cfg),
        )
    finally:
        servers.close()


TWILIO_PATHS = [
    ("POST", "/2010-04-01/Accounts/{account}/Messages{ext}"),
    ("GET", "/2010-04-01/Accounts/{account}/Messages{ext}"),
    ("GET", "/2010-04-01/Accounts/{account}/Messages/{id}{ext}"),
    ("POST", "/2010-04-01/Accounts/{account}/Calls{ext}"),
    ("GET", "/2010-04-01/Accounts/{account}/Calls{ext}"),
    ("GET", "/2010-04-01/Accounts/{account}/Calls/{id}{ext}"),
    ("DELETE", "/2010-04-01/Accounts/{account}/Calls/{id}{ext}"),
]
PLIVO_PATHS = [
    ("POST", "/v1/Account/{account}/Message/"),
    ("GET", "/v1/Account/{account}/Message/"),
    ("GET", "/v1/Account/{account}/Message/{id}/"),
    ("POST", "/v1/Account/{account}/Call/"),
    ("GET", "/v1/Account/{account}/Call/"),
    ("GET", "/v1/Account/{account}/Call/{id}/"),
    ("PUT", "/v1/Account/{account}/Call/{id}/"),
]
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
header_value = st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=60)
content_types = st.sampled_from(
    [
        None,
        "application/x-www-form-urlencoded",
        "application/json",
        "application/xml",
        "text/plain",
        "multipart/form-data; boundary=x",
    ]
)
bodies = st.one_of(
    st.binary(max_size=300),
    st.dictionaries(
        st.sampled_from(
            [
                "To",
                "From",
                "Body",
                "src",
                "dst",
                "text",
                "Url",
                "to",
                "from",
                "answer_url",
                "MediaUrl",
                "limit",
                "offset",
            ]
        ),
        text,
        max_size=6,
    ).map(lambda d: urlencode(d).encode()),
    st.recursive(
        st.none() | st.booleans() | st.integers() | text,
        lambda kids: st.lists(kids, max_size=3) | st.dictionaries(text, kids, max_size=3),
        max_leaves=8,
    ).map(lambda v: json.dumps(v).encode()),
)
queries = st.dictionaries(
    st.sampled_from(
        [
            "PageSize",
            "Page",
            "PageToken",
            "To",
            "From",
            "DateSent>",
            "limit",
            "offset",
            "to_number",
            "message_time__gte",
            "call_uuid",
            "x",
        ]
    ),
    text,
    max_size=5,
)


def assert_well_formed(resp: requests.Response, style: str) -> None:
    assert resp.status_code != 500 or style == "plivo", resp.text[:300]
    assert "Traceback" not in resp.text
    ctype = resp.headers.get("Content-Type", "").split(";")[0]
    if style == "plivo":
        body = resp.json()
        assert isinstance(body, dict) and isinstance(body.get("api_id"), str)
        if resp.status_code >= 400:
            assert isinstance(body["error"], str) and body["error"]
        return
    if ctype == "application/json":
        body = resp.json()
        if resp.status_code >= 400:
            assert set(body) == {"code", "message", "more_info", "status"}
            assert body["status"] == resp.status_code
    elif ctype == "application/xml":
        root = SafeET.fromstring(resp.content)
        assert root.tag == "TwilioResponse"
        if resp.status_code >= 400:
            assert root.find("RestException/Code") is not None
    elif ctype == "text/csv":
        # RFC 4180 as Twilio serves it: UTF-8, CRLF rows, one header, every row as wide.
        text = resp.content.decode("utf-8")
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
        assert text == "" or text.endswith("\r\n"), text[-50:]
        assert all(len(row) == len(rows[0]) for row in rows), rows
        if resp.status_code >= 400:
            assert rows[0] == ["Code", "Message", "MoreInfo", "Status"] and len(rows) == 2
            assert rows[1][3] == str(resp.status_code) and rows[1][0].isdigit()
    else:
        raise AssertionError(f"unexpected content type {ctype!r} ({resp.status_code})")


def fire(
    base: str,
    method: str,
    template: str,
    account: str,
    ident: str,
    ext: str,
    query: dict[str, str],
    body: bytes,
    ctype: str | None,
    headers: dict[str, str],
    auth: tuple[str, str] | None,
) -> requests.Response:
    path = template.format(account=account, id=quote(ident, safe="") or "x", ext=ext)
    sent = {k: v for k, v in headers.items() if k.lower() not in ("content-length", "host")}
    if ctype:
        sent["Content-Type"] = ctype
    return requests.request(
        method,
        f"{base}{path}?{urlencode(query)}",
        data=body,
        headers=sent,
        auth=auth,
        timeout=10,
        allow_redirects=False,
    )


COMMON = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@COMMON
@given(
    route=st.sampled_from(TWILIO_PATHS),
    ident=text,
    ext=st.sampled_from(["", ".json", ".xml", ".csv", ".html"]),
    query=queries,
    body=bodies,
    ctype=content_types,
    headers=st.dictionaries(
        st.from_regex(r"X-[A-Za-z]{1,10}", fullmatch=True), header_value, max_size=4
    ),
    good_auth=st.booleans(),
)
def test_twilio_facade_survives_random_requests(
    targets: Targets,
    route: tuple[str, str],
    ident: str,
    ext: str,
    query: dict[str, str],
    body: bytes,
    ctype: str | None,
    headers: dict[str, str],
    good_auth: bool,
) -> None:
    method, template = route
    resp = fire(
        targets.twilio,
        method,
        template,
        SID,
        ident,
        ext,
        query,
        body,
        ctype,
        headers,
        (SID, TOKEN) if good_auth else ("AC" + "0" * 32, "nope"),
    )
    assert_well_formed(resp, "twilio")


@COMMON
@given(
    route=st.sampled_from(PLIVO_PATHS),
    ident=text,
    query=queries,
    body=bodies,
    ctype=content_types,
    good_auth=st.booleans(),
)
def test_plivo_facade_survives_random_requests(
    targets: Targets,
    route: tuple[str, str],
    ident: str,
    query: dict[str, str],
    body: bytes,
    ctype: str | None,
    good_auth: bool,
) -> None:
    method, template = route
    resp = fire(
        targets.plivo,
        method,
        template,
        PLIVO_CLIENT,
        ident,
        "",
        query,
        body,
        ctype,
        {},
        (PLIVO_CLIENT, PLIVO_SECRET) if good_auth else ("MA" + "X" * 18, "nope"),
    )
    assert_well_formed(resp, "plivo")


@COMMON
@given(
    path=st.lists(text, min_size=1, max_size=4),
    ext=st.sampled_from(["", ".json", ".xml", ".csv"]),
    query=queries,
    body=bodies,
    ctype=content_types,
    method=st.sampled_from(["GET", "POST", "DELETE"]),
)
def test_sidecar_survives_random_requests(
    targets: Targets,
    path: list[str],
    ext: str,
    query: dict[str, str],
    body: bytes,
    ctype: str | None,
    method: str,
) -> None:
    raw = "/" + "/".join(quote(p, safe="") or "x" for p in path) + ext
    sent = {"Content-Type": ctype} if ctype else {}
    resp = requests.request(
        method,
        f"{targets.sidecar}{raw}?{urlencode(query)}",
        data=body,
        headers=sent,
        timeout=10,
        allow_redirects=False,
    )
    assert_well_formed(resp, "twilio")
