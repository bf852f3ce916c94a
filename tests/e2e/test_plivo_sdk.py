"""The official plivo SDK against the Plivo façade, in front of the strict Twilio-style mock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import plivo
import plivo.rest.client as plivo_client
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from proxy.providers.twilio.mock import TWILIO_MOCK_STATE, TwilioMockState, build_twilio_mock
from proxy.settings import load_config
from proxy.settings.loader import Config
from tests.conftest import ROOT
from tests.dialect_server import DialectTestServer

pytestmark = pytest.mark.e2e

AUTH_ID, AUTH_TOKEN = "MAFACADEAUTHID000001", "plivo-facade-token"
TWILIO_SID, TWILIO_TOKEN = "AC" + "c3" * 16, "twilio-upstream-token"
SRC, DST = "+14155550100", "+14155550111"
BASES = (
    "PLIVO_API_BASE_URI",
    "API_VOICE_BASE_URI",
    "API_VOICE_BASE_URI_FALLBACK_1",
    "API_VOICE_BASE_URI_FALLBACK_2",
)


@dataclass
class PlivoStack:
    state: TwilioMockState

    def client(self, auth_id: str = AUTH_ID, token: str = AUTH_TOKEN) -> plivo.RestClient:
        return plivo.RestClient(auth_id, token)


@pytest.fixture
def patched_bases() -> Iterator[Callable[[str], None]]:
    saved = {name: getattr(plivo_client, name) for name in BASES}

    def point(url: str) -> None:
        for name in BASES:
            setattr(plivo_client, name, url)

    yield point
    for name, value in saved.items():
        setattr(plivo_client, name, value)


async def facade_over(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    dialect_server: Callable[[Config], Awaitable[DialectTestServer]],
    patched_bases: Callable[[str], None],
    upstream_app: web.Application,
) -> None:
    """Serve the Plivo façade in front of ``upstream_app`` and point the plivo SDK at it."""
    upstream = await aiohttp_server(upstream_app)
    env = {
        "PLIVO_AUTH_ID": AUTH_ID,
        "PLIVO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_API_URL": str(upstream.make_url("")).rstrip("/"),
    }
    config = load_config(ROOT / "config" / "plivo-over-twilio.yaml", env=env)
    proxy = await dialect_server(config)
    patched_bases(str(proxy.make_url("/v1/Account")))


@pytest.fixture
async def stack(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    dialect_server: Callable[[Config], Awaitable[DialectTestServer]],
    patched_bases: Callable[[str], None],
) -> PlivoStack:
    mock = build_twilio_mock(TWILIO_SID, TWILIO_TOKEN)
    await facade_over(aiohttp_server, dialect_server, patched_bases, mock)
    return PlivoStack(mock[TWILIO_MOCK_STATE])


def in_thread(fn: Callable[[], Any]) -> Awaitable[Any]:
    return asyncio.to_thread(fn)


async def test_send_to_one_and_fetch(stack: PlivoStack) -> None:
    client = stack.client()
    sent = await in_thread(lambda: client.messages.create(src=SRC, dst=DST, text="hello"))
    assert sent.message == "message(s) queued" and len(sent.message_uuid) == 1
    assert isinstance(sent.api_id, str) and len(sent.api_id) == 36
    uuid = sent.message_uuid[0]
    message = await in_thread(lambda: client.messages.get(uuid))
    assert message.message_uuid == uuid
    assert message.from_number == SRC[1:] and message.to_number == DST[1:]
    assert message.message_state == "queued" and message.message_direction == "outbound"
    assert message.message_time.endswith("+00:00")
    datetime.strptime(message.message_time, "%Y-%m-%d %H:%M:%S%z")
    sms = stack.state.messages["SM" + uuid.replace("-", "")]
    assert sms["to"] == DST and sms["body"] == "hello"


async def test_send_to_several_with_one_refused(stack: PlivoStack) -> None:
    client = stack.client()
    sent = await in_thread(
        lambda: client.messages.create(src=SRC, dst=f"{DST}<+14155550123<+12", text="hi")
    )
    assert len(sent.message_uuid) == 2 and sent.invalid_number == ["12"]
    created = {m["to"] for m in stack.state.messages.values() if m["body"] == "hi"}
    assert created == {DST, "+14155550123"}


async def test_validation_error_text_survives(stack: PlivoStack) -> None:
    client = stack.client()
    with pytest.raises(plivo.exceptions.ValidationError) as info:
        await in_thread(lambda: client.messages.create(src=SRC, dst="+12", text="x"))
    assert str(info.value) == "The 'To' number +12 is not a valid phone number."


async def test_missing_message_is_resource_not_found(stack: PlivoStack) -> None:
    client = stack.client()
    with pytest.raises(plivo.exceptions.ResourceNotFoundError):
        await in_thread(lambda: client.messages.get("00000000-0000-0000-0000-000000000000"))


async def test_iteration_and_offset_jumps_agree(stack: PlivoStack) -> None:
    client = stack.client()
    every = await in_thread(lambda: [m.message_uuid for m in client.messages])
    assert len(every) == len(set(every)) == len(stack.state.messages)
    first = await in_thread(lambda: client.messages.list(limit=20, offset=0))
    assert [m.message_uuid for m in first.objects] == every[:20]
    assert first.meta.next == f"/v1/Account/{AUTH_ID}/Message/?limit=20&offset=20"
    jump = await in_thread(lambda: client.messages.list(limit=5, offset=31))
    assert [m.message_uuid for m in jump.objects] == every[31:36]
    last = await in_thread(lambda: client.messages.list(limit=20, offset=40))
    assert [m.message_uuid for m in last.objects] == every[40:]
    assert last.meta.next is None


async def test_list_errors_raise_the_sdks_own_exceptions(stack: PlivoStack) -> None:
    client = stack.client(token="wrong-token")
    with pytest.raises(plivo.exceptions.AuthenticationError):
        await in_thread(lambda: client.messages.list(limit=5))
    with pytest.raises(plivo.exceptions.AuthenticationError):
        await in_thread(lambda: client.calls.list(limit=5))
    with pytest.raises(plivo.exceptions.AuthenticationError):
        await in_thread(lambda: client.messages.create(src=SRC, dst=DST, text="x"))


async def test_calls_create_get_list(stack: PlivoStack) -> None:
    client = stack.client()
    one = await in_thread(
        lambda: client.calls.create(from_=SRC, to_=DST, answer_url="http://e.x/answer")
    )
    assert one.message == "call fired" and isinstance(one.request_uuid, str)
    many = await in_thread(
        lambda: client.calls.create(from_=SRC, to_=f"{DST}<+14155550123", answer_url="http://e.x/a")
    )
    assert isinstance(many.request_uuid, list) and len(many.request_uuid) == 2
    call = await in_thread(lambda: client.calls.get(one.request_uuid))
    assert call.call_uuid == one.request_uuid and call.to_number == DST[1:]
    listed = await in_thread(lambda: client.calls.list(limit=5, offset=0))
    assert len(listed.objects) == 5
    every = await in_thread(lambda: [c.call_uuid for c in client.calls])
    assert one.request_uuid in every and len(every) == len(set(every)) == len(stack.state.calls)


@pytest.fixture
async def broken_upstream_client(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    dialect_server: Callable[[Config], Awaitable[DialectTestServer]],
    patched_bases: Callable[[str], None],
) -> plivo.RestClient:
    async def failing(request: web.Request) -> web.Response:
        return web.Response(status=503, text="upstream down")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", failing)
    await facade_over(aiohttp_server, dialect_server, patched_bases, app)
    return plivo.RestClient(AUTH_ID, AUTH_TOKEN)


async def test_call_create_never_answers_5xx_so_the_sdk_does_not_place_it_twice(
    broken_upstream_client: plivo.RestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    client = broken_upstream_client
    with pytest.raises(plivo.exceptions.InvalidRequestError, match="check the call list"):
        await in_thread(lambda: client.calls.create(from_=SRC, to_=DST, answer_url="http://e.x/a"))
    assert "Fallback for URL" not in capsys.readouterr().out  # the SDK did not retry
    with pytest.raises(plivo.exceptions.PlivoServerError):
        await in_thread(lambda: client.messages.create(src=SRC, dst=DST, text="x"))
