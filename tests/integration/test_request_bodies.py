"""Request bodies as real clients send them, byte for byte over a socket, to both façades.

plivo-node sends ``Content-Type: application/json`` and an empty body on every fetch, which
axios serialises as the JSON string ``""``; a body on GET, HEAD or DELETE means nothing to these
APIs and must not turn a 404 into a 400. Where a
body does mean something, its declared type (with a charset, in any case) decides how it is
read, and a client sending JSON where the SDK sends a form (or the other way) is understood.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict, CIMultiDictProxy

from proxy.engine.intake import client_parameters
from proxy.http.messages import Request
from proxy.providers.twilio.mock import TWILIO_MOCK_STATE, TwilioMockState, build_twilio_mock
from proxy.settings import load_config
from proxy.settings.loader import Config
from tests.conftest import ROOT
from tests.dialect_server import DialectTestServer
from tests.integration.conftest import SID, TOKEN, Facade

PLIVO_CLIENT, PLIVO_SECRET = "MABODIESTEST00000001", "bodies-plivo-secret"
UPSTREAM_SID, UPSTREAM_TOKEN = "AC" + "b0" * 16, "bodies-twilio-upstream-token"
UNKNOWN_UUID = "0b0b0b0b-0000-4000-8000-000000000000"
TWILIO_MESSAGES = f"/2010-04-01/Accounts/{SID}/Messages"
PLIVO_MESSAGES = f"/v1/Account/{PLIVO_CLIENT}/Message/"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


async def send(port: int, head: str, body: bytes = b"") -> Answer:
    """``head`` (request line and headers, one per line, no Host) and ``body`` exactly as
    given; the connection closes after the answer."""
    lines = head.strip().splitlines()
    raw = "\r\n".join([lines[0], "Host: 127.0.0.1", *lines[1:], "Connection: close", "", ""])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw.encode("latin-1") + body)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()
    top, _, payload = data.partition(b"\r\n\r\n")
    status_line, *header_lines = top.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(int(status_line.split()[1]), headers, payload)


@dataclass
class PlivoFacade:
    port: int
    state: TwilioMockState


@pytest.fixture
async def plivo_facade(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    dialect_server: Callable[[Config], Awaitable[DialectTestServer]],
) -> PlivoFacade:
    mock = build_twilio_mock(UPSTREAM_SID, UPSTREAM_TOKEN)
    upstream = await aiohttp_server(mock)
    env = {
        "PLIVO_AUTH_ID": PLIVO_CLIENT,
        "PLIVO_AUTH_TOKEN": PLIVO_SECRET,
        "TWILIO_ACCOUNT_SID": UPSTREAM_SID,
        "TWILIO_AUTH_TOKEN": UPSTREAM_TOKEN,
        "TWILIO_API_URL": str(upstream.make_url("")).rstrip("/"),
    }
    config = load_config(ROOT / "config" / "plivo-over-twilio.yaml", env=env)
    proxy = await dialect_server(config)
    assert proxy.port is not None
    return PlivoFacade(proxy.port, mock[TWILIO_MOCK_STATE])


def twilio_port(facade: Facade) -> int:
    port = facade.client.server.port
    assert port is not None
    return port


PLIVO_AUTH = f"Authorization: {_basic(PLIVO_CLIENT, PLIVO_SECRET)}"
TWILIO_AUTH = f"Authorization: {_basic(SID, TOKEN)}"


# -- a body on GET, HEAD and DELETE is ignored ----------------------------------------------


async def test_plivo_node_fetch_of_an_unknown_message_is_404_not_400(
    plivo_facade: PlivoFacade,
) -> None:
    # What plivo-node sends for client.messages.get(uuid): its "no data" ('') through axios,
    # which turns a string it cannot parse as JSON into a JSON string.
    answer = await send(
        plivo_facade.port,
        f"""GET {PLIVO_MESSAGES}{UNKNOWN_UUID}/ HTTP/1.1
Accept: application/json, text/plain, */*
Content-Type: application/json
User-Agent: NodePlivo
{PLIVO_AUTH}
Content-Length: 2""",
        b'""',
    )
    assert answer.status == 404, answer.body
    body = answer.json()
    assert set(body) == {"api_id", "error"} and body["error"].endswith("was not found")


@pytest.mark.parametrize(
    ("extra", "body"),
    [
        ("X-Nothing: 1", b""),
        ("Content-Length: 0", b""),
        ("Content-Length: 2", b"{}"),
        ("Content-Length: 4", b"null"),
        ("Content-Length: 9", b"not json!"),
        ("Content-Length: 2", b"[]"),
        ("Transfer-Encoding: chunked", b'5\r\n{"a":\r\n0\r\n\r\n'),
    ],
)
async def test_a_fetch_with_any_body_answers_as_without_one(
    plivo_facade: PlivoFacade, extra: str, body: bytes
) -> None:
    head = f"""GET {PLIVO_MESSAGES}{UNKNOWN_UUID}/ HTTP/1.1
Content-Type: application/json; charset=utf-8
{extra}
{PLIVO_AUTH}"""
    answer = await send(plivo_facade.port, head, body)
    assert answer.status == 404, answer.body
    assert answer.json()["error"].endswith("was not found")
    # Nothing of the body reached the upstream: a fetch is a GET without parameters.
    fetch = plivo_facade.state.requests[-1]
    assert fetch[0] == "GET" and fetch[2] == [] and fetch[3] == {}


async def test_a_known_message_fetched_with_a_json_content_type_is_served(
    plivo_facade: PlivoFacade,
) -> None:
    sid = next(iter(plivo_facade.state.messages))
    uuid = sid[2:]
    uuid = f"{uuid[:8]}-{uuid[8:12]}-{uuid[12:16]}-{uuid[16:20]}-{uuid[20:]}"
    answer = await send(
        plivo_facade.port,
        f"""GET {PLIVO_MESSAGES}{uuid}/ HTTP/1.1
Content-Type: application/json
Content-Length: 0
{PLIVO_AUTH}""",
    )
    assert answer.status == 200, answer.body
    assert answer.json()["message_uuid"] == uuid


async def test_twilio_fetch_and_head_ignore_a_body(facade: Facade) -> None:
    port = twilio_port(facade)
    missing = f"{TWILIO_MESSAGES}/SM{'0' * 32}.json"
    for method in ("GET", "HEAD"):
        answer = await send(
            port,
            f"""{method} {missing} HTTP/1.1
Content-Type: application/x-www-form-urlencoded
Content-Length: 7
{TWILIO_AUTH}""",
            b"%zz=bad",
        )
        assert answer.status == 404, (method, answer.body)
        if method == "GET":
            assert answer.json()["code"] == 20404


@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE"])
def test_bodyless_methods_take_their_parameters_from_the_query_alone(method: str) -> None:
    headers = CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json"}))
    request = Request(method, "/x?a=1", headers, body=b"[not an object")
    assert client_parameters(request, {"a": "1"}) == {"a": "1"}


# -- bodies that mean something ---------------------------------------------------------------


async def test_an_empty_post_with_a_json_or_form_type_has_no_parameters(
    facade: Facade, plivo_facade: PlivoFacade
) -> None:
    port = twilio_port(facade)
    for ctype, body in (
        ("application/json", b""),
        ("application/json", b"  \r\n"),
        ("application/json", b"null"),
        ("application/json", b'""'),
        ("application/x-www-form-urlencoded", b""),
    ):
        answer = await send(
            port,
            f"""POST {TWILIO_MESSAGES}.json HTTP/1.1
Content-Type: {ctype}
Content-Length: {len(body)}
{TWILIO_AUTH}""",
            body,
        )
        # The route's own answer for a create without parameters, not an unreadable body.
        assert answer.status == 400, (ctype, body, answer.body)
        assert answer.json()["code"] == 21604, (ctype, body, answer.body)
        plivo = await send(
            plivo_facade.port,
            f"""POST {PLIVO_MESSAGES} HTTP/1.1
Content-Type: {ctype}
Content-Length: {len(body)}
{PLIVO_AUTH}""",
            body,
        )
        assert plivo.status == 400, (ctype, body, plivo.body)
        assert plivo.json()["error"] == "src parameter is required"


async def test_twilio_facade_reads_json_where_the_sdk_sends_a_form(facade: Facade) -> None:
    port = twilio_port(facade)
    for ctype in ("application/json; charset=UTF-8", "", "application/octet-stream"):
        body = json.dumps({"To": "+14155550111", "From": "+14155550100", "Body": "json ü"})
        raw = body.encode()
        answer = await send(
            port,
            f"""POST {TWILIO_MESSAGES}.json HTTP/1.1
{"Content-Type: " + ctype if ctype else "X-No-Type: 1"}
Content-Length: {len(raw)}
{TWILIO_AUTH}""",
            raw,
        )
        assert answer.status == 201, (ctype, answer.body)
        assert answer.json()["body"] == "json ü"
        assert facade.state.requests[-1].json["text"] == "json ü"


async def test_form_charsets_are_honoured(facade: Facade) -> None:
    port = twilio_port(facade)
    for ctype, raw in (
        ("application/x-www-form-urlencoded; charset=ISO-8859-1", b"Body=caf%E9"),
        ('Application/X-WWW-Form-Urlencoded; Charset="UTF-8"', b"Body=caf%C3%A9"),
    ):
        form = b"To=%2B14155550111&From=%2B14155550100&" + raw
        answer = await send(
            port,
            f"""POST {TWILIO_MESSAGES}.json HTTP/1.1
Content-Type: {ctype}
Content-Length: {len(form)}
{TWILIO_AUTH}""",
            form,
        )
        assert answer.status == 201, (ctype, answer.body)
        assert facade.state.requests[-1].json["text"] == "café"
    unknown = await send(
        port,
        f"""POST {TWILIO_MESSAGES}.json HTTP/1.1
Content-Type: application/x-www-form-urlencoded; charset=x-no-such-charset
Content-Length: 6
{TWILIO_AUTH}""",
        b"Body=x",
    )
    assert unknown.status == 400
    assert unknown.json()["message"] == (
        "The request body could not be read: body is not valid form data: unsupported charset"
    )


async def test_plivo_facade_reads_a_form_where_the_sdk_sends_json(
    plivo_facade: PlivoFacade,
) -> None:
    form = b"src=%2B14155550100&dst=%2B14155550111&text=form+%C3%BC"
    answer = await send(
        plivo_facade.port,
        f"""POST {PLIVO_MESSAGES} HTTP/1.1
Content-Type: application/x-www-form-urlencoded; charset=utf-8
Content-Length: {len(form)}
{PLIVO_AUTH}""",
        form,
    )
    assert answer.status == 202, answer.body
    assert answer.json()["message_uuid"]
    sent = plivo_facade.state.requests[-1]
    assert sent[0] == "POST" and sent[3]["Body"] == "form ü"
    assert sent[3]["To"] == "+14155550111"


async def test_a_body_that_is_not_an_object_is_still_refused(
    facade: Facade, plivo_facade: PlivoFacade
) -> None:
    answer = await send(
        twilio_port(facade),
        f"""POST {TWILIO_MESSAGES}.json HTTP/1.1
Content-Type: application/json
Content-Length: 2
{TWILIO_AUTH}""",
        b"[]",
    )
    assert answer.status == 400 and "must be an object" in answer.json()["message"]
    plivo = await send(
        plivo_facade.port,
        f"""POST {PLIVO_MESSAGES} HTTP/1.1
Content-Type: application/json; charset=utf-8
Content-Length: 5
{PLIVO_AUTH}""",
        b'{"a":',
    )
    assert plivo.status == 400 and "could not be read" in plivo.json()["error"]
