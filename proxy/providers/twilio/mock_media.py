"""The Twilio-style mock's message media: one record per ``MediaUrl`` a message was sent with.

``/Messages/{SM}/Media.json`` (a page, newest first) and ``/Messages/{SM}/Media/{ME}.json``
(GET, DELETE); a medium of another message is 20404. The content (the same path without
``.json``) needs the account's credentials, as Twilio's media URLs do.
"""

from __future__ import annotations

import random
import re
from typing import Any

from aiohttp import web

from proxy.providers.mock_content import MEDIA_BYTES, media_type
from proxy.providers.twilio.mock_http import json_response, new_sid, not_found
from proxy.providers.twilio.mock_paging import in_window, page


class TwilioMedia:
    def __init__(
        self,
        account_sid: str,
        records: dict[str, dict[str, Any]],
        messages: dict[str, dict[str, Any]],
    ) -> None:
        self.sid, self.records, self.messages = account_sid, records, messages
        self.base = f"/2010-04-01/Accounts/{account_sid}"

    def attach(
        self, message: dict[str, Any], urls: list[str], rng: random.Random | None = None
    ) -> None:
        """The media of a message (one per ``MediaUrl``), as Twilio stores them."""
        for url in urls:
            sid = new_sid("ME", rng)
            self.records[sid] = {
                "account_sid": self.sid,
                "content_type": media_type(url),
                "date_created": message["date_created"],
                "date_updated": message["date_created"],
                "parent_sid": message["sid"],
                "sid": sid,
                "uri": f"{self.base}/Messages/{message['sid']}/Media/{sid}.json",
            }

    def serve(self, request: web.Request, name: str, m: re.Match[str]) -> web.StreamResponse:
        """``media_list``, ``media`` (the record) or ``media_content`` (its bytes)."""
        message = m["message"]
        if message not in self.messages:
            raise not_found(request.path)
        if name == "media_list":
            records = [r for r in self.records.values() if r["parent_sid"] == message]
            records = [
                r for r in records if in_window(r["date_created"], request.query, "DateCreated")
            ]
            records.sort(key=lambda r: r["sid"], reverse=True)
            return page(request, records, "media_list")
        record = self.records.get(m["sid"])
        if record is None or record["parent_sid"] != message:
            raise not_found(request.path)
        if name == "media_content":
            return web.Response(body=MEDIA_BYTES, content_type=record["content_type"])
        if request.method == "DELETE":
            del self.records[m["sid"]]
            return web.Response(status=204)
        return json_response(record)
