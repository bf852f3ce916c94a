"""Conditional fetches: the ETag and Last-Modified a fetch carries, and the 304 a client that
already holds the representation gets, in both façades; an upstream's own 304 passes as 304."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import orjson
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from proxy.providers.twilio.mock import build_twilio_mock
from proxy.settings import load_config
from tests.conftest import ROOT
from tests.dialect_server import DialectTestServer
from tests.integration.conftest import AUTH, SID, Facade, basic
from tests.integration.test_upstream_faults import RECORD, proxy_for, serve

Client = TestClient[Any, Any]
BASE = f"/2010-04-01/Accounts/{SID}"


async def a_message(facade: Facade) -> str:
    """The path of a message the upstream has, as the Twilio façade names it."""
    uuid = next(iter(facade.state.messages))
    return f"{BASE}/Messages/SM{uuid.replace('-', '')}"


async def test_a_fetch_carries_a_strong_etag_and_last_modified(facade: Facade) -> None:
    path = await a_message(facade)
    first = await facade.client.get(path + ".json", headers=AUTH)
    again = await facade.client.get(path + ".json", headers=AUTH)
    assert first.status == again.status == 200
    tag = first.headers["ETag"]
    assert tag.startswith('"') and tag.endswith('"') and again.headers["ETag"] == tag
    body = await first.json()
    updated = parsedate_to_datetime(body["date_updated"])
    assert parsedate_to_datetime(first.headers["Last-Modified"]) == updated
    assert first.headers["Last-Modified"].endswith(" GMT")
    # Another format is another representation, with its own tag.
    xml = await facade.client.get(path + ".xml", headers=AUTH)
    assert xml.status == 200 and xml.headers["ETag"] not in ("", tag)


async def test_if_none_match_answers_304_without_a_body(facade: Facade) -> None:
    path = await a_message(facade) + ".json"
    tag = (await facade.client.get(path, headers=AUTH)).headers["ETag"]
    for condition in (tag, f"W/{tag}", f'"other", {tag}', "*"):
        same = await facade.client.get(path, headers={**AUTH, "If-None-Match": condition})
        assert same.status == 304, condition
        assert await same.read() == b""
        assert same.headers["ETag"] == tag and "Content-Type" not in same.headers
        assert same.headers["X-Request-Id"]
    head = await facade.client.head(path, headers={**AUTH, "If-None-Match": tag})
    assert head.status == 304
    other = await facade.client.get(path, headers={**AUTH, "If-None-Match": '"stale"'})
    assert other.status == 200 and other.headers["ETag"] == tag
    xml_tag = (await facade.client.get(path[:-5] + ".xml", headers=AUTH)).headers["ETag"]
    json_for_xml = await facade.client.get(path, headers={**AUTH, "If-None-Match": xml_tag})
    assert json_for_xml.status == 200


async def test_if_modified_since_compares_with_date_updated(facade: Facade) -> None:
    path = await a_message(facade) + ".json"
    first = await facade.client.get(path, headers=AUTH)
    modified = parsedate_to_datetime(first.headers["Last-Modified"])
    since = first.headers["Last-Modified"]
    fresh = await facade.client.get(path, headers={**AUTH, "If-Modified-Since": since})
    assert fresh.status == 304 and await fresh.read() == b""
    earlier = format_datetime(modified - timedelta(seconds=1), usegmt=True)
    older = await facade.client.get(path, headers={**AUTH, "If-Modified-Since": earlier})
    assert older.status == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
    stale_tag = {**AUTH, "If-None-Match": '"stale"', "If-Modified-Since": since}
    assert (await facade.client.get(path, headers=stale_tag)).status == 200
    # An unreadable date is ignored.
    junk = await facade.client.get(path, headers={**AUTH, "If-Modified-Since": "yesterday"})
    assert junk.status == 200


async def test_lists_carry_a_tag_creates_do_not(facade: Facade) -> None:
    listed = await facade.client.get(f"{BASE}/Messages.json?PageSize=2", headers=AUTH)
    assert listed.status == 200 and listed.headers["ETag"]
    assert "Last-Modified" not in listed.headers
    again = await facade.client.get(
        f"{BASE}/Messages.json?PageSize=2",
        headers={**AUTH, "If-None-Match": listed.headers["ETag"]},
    )
    assert again.status == 304
    created = await facade.client.post(
        f"{BASE}/Messages.json",
        data={"To": "+14155550111", "From": "+14155550100", "Body": "hi"},
        headers=AUTH,
    )
    assert created.status == 201 and "ETag" not in created.headers


async def test_plivo_bodies_get_a_weak_tag_over_everything_but_the_api_id(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    aiohttp_client: Callable[..., Awaitable[Client]],
) -> None:
    auth_id, token, twilio_sid = "MAFACADEAUTHID000001", "plivo-token", "AC" + "c3" * 16
    upstream = await aiohttp_server(build_twilio_mock(twilio_sid, "twilio-token"))
    env = {
        "PLIVO_AUTH_ID": auth_id,
        "PLIVO_AUTH_TOKEN": token,
        "TWILIO_ACCOUNT_SID": twilio_sid,
        "TWILIO_AUTH_TOKEN": "twilio-token",
        "TWILIO_API_URL": str(upstream.make_url("")).rstrip("/"),
    }
    config = load_config(ROOT / "config" / "plivo-over-twilio.yaml", env=env)
    client = await aiohttp_client(DialectTestServer(config))
    headers = basic(auth_id, token)
    listed = await (
        await client.get(f"/v1/Account/{auth_id}/Message/?limit=1", headers=headers)
    ).json()
    path = f"/v1/Account/{auth_id}/Message/{listed['objects'][0]['message_uuid']}/"
    first = await client.get(path, headers=headers)
    second = await client.get(path, headers=headers)
    assert (await first.json())["api_id"] != (await second.json())["api_id"]
    tag = first.headers["ETag"]
    assert tag.startswith('W/"') and second.headers["ETag"] == tag
    assert first.headers["Last-Modified"].endswith(" GMT")
    same = await client.get(path, headers={**headers, "If-None-Match": tag})
    assert same.status == 304 and await same.read() == b"" and same.headers["X-Api-Id"]


async def test_an_upstream_304_passes_as_304(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    aiohttp_client: Callable[..., Awaitable[Client]],
) -> None:
    seen: list[str | None] = []

    async def revalidating(request: web.Request) -> web.Response:
        seen.append(request.headers.get("If-Modified-Since"))
        if "If-Modified-Since" in request.headers:
            return web.Response(
                status=304, headers={"ETag": '"upstream"', "Cache-Control": "max-age=5"}
            )
        return web.Response(
            body=orjson.dumps(RECORD),
            content_type="application/json",
            headers={"ETag": '"upstream"', "Last-Modified": "Thu, 01 May 2025 12:00:00 GMT"},
        )

    client = await proxy_for(aiohttp_client, await serve(aiohttp_server, revalidating))
    message = f"{BASE}/Messages/SM{'1' * 32}.json"
    plain = await client.get(message, headers=AUTH)
    assert plain.status == 200
    # The upstream's validators describe its own representation: the client gets Dialect's.
    assert plain.headers["ETag"] != '"upstream"'
    since = "Thu, 01 May 2025 12:00:00 GMT"
    cached = await client.get(message, headers={**AUTH, "If-Modified-Since": since})
    assert cached.status == 304 and await cached.read() == b""
    assert cached.headers["Cache-Control"] == "max-age=5" and "ETag" not in cached.headers
    assert seen == [None, since]


async def test_an_upstream_304_nobody_asked_for_is_an_upstream_error(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    aiohttp_client: Callable[..., Awaitable[Client]],
) -> None:
    async def confused(_request: web.Request) -> web.Response:
        return web.Response(status=304)

    client = await proxy_for(aiohttp_client, await serve(aiohttp_server, confused))
    resp = await client.get(f"{BASE}/Messages/SM{'1' * 32}.json", headers=AUTH)
    assert resp.status == 502 and (await resp.json())["code"] == 20500
