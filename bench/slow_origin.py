"""A Plivo-style upstream that answers each request after a fixed delay, as a real provider's
round trip does, for ``bench/run.py``'s latency line.

On loopback every upstream call answers in microseconds, so the load table cannot show what
concurrency buys: a Twilio page of 1000 is 50 Plivo requests, and against a real provider
they are 50 round trips. Made one after another they would cost 50 delays; made at once,
about one. This serves the same documents as the bench's nginx upstream (one message, the list
pages by offset, the send acknowledgement), each after ``DELAY`` seconds.

    .venv/bin/python bench/slow_origin.py PORT DELAY_MS
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.run import AUTH_ID, MESSAGE, PAGES, list_page


def app(delay: float) -> web.Application:
    pages = {20 * n: list_page(20 * n) for n in range(PAGES)}

    async def message_list(request: web.Request) -> web.Response:
        await asyncio.sleep(delay)
        try:
            page = pages[int(request.query.get("offset", "0"))]
        except (KeyError, ValueError):
            return web.json_response(
                {"api_id": "bench", "error": "offset out of range"}, status=400
            )
        return web.Response(text=page, content_type="application/json")

    async def message(_request: web.Request) -> web.Response:
        await asyncio.sleep(delay)
        return web.Response(text=MESSAGE, content_type="application/json")

    application = web.Application()
    application.router.add_get(f"/v1/Account/{AUTH_ID}/Message/", message_list)
    application.router.add_get(f"/v1/Account/{AUTH_ID}/Message/{{uuid}}/", message)
    return application


def main() -> None:
    port, delay_ms = int(sys.argv[1]), float(sys.argv[2])
    web.run_app(app(delay_ms / 1000), host="127.0.0.1", port=port, print=None)


if __name__ == "__main__":
    main()
