"""What the carrier gets back from a document callback: the app's TwiML or Plivo XML in the
carrier's language, every URL in it sealed for the next hop, or a safe document.

Kept apart from the relay's flow: this is where "a call mid-flight never gets a 5xx or
silence" is kept (fallback URL, then a hang-up in the carrier's language), where Plivo's
``redirect="false"`` is played (``continue``), and where one-time inline documents
(``update(twiml=…)``) are served.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

from prometheus_client import Counter

from proxy.callbacks.app_client import AppClient
from proxy.callbacks.issuer import CallbackRefused, Issuer
from proxy.callbacks.plan import CompiledKind
from proxy.callbacks.tokens import Callback
from proxy.http import client as http_client
from proxy.http.messages import Response
from proxy.ops.logs import get_logger
from proxy.providers.documents import translate as documents
from proxy.settings.models import Account

XML = "application/xml; charset=utf-8"
# No reply to a message: the same in both languages.
EMPTY_DOCUMENT = b'<?xml version="1.0" encoding="UTF-8"?>\n<Response />'
# Seconds an inline document may be fetched after its issue (a carrier fetches at once).
INLINE_TTL = 300
# What an inline document's relative URLs resolve against: a host that cannot exist (RFC 2606),
# refused when sealed, because an inline document has no URL of its own.
_INLINE_BASE = "https://inline.invalid/"


class Claims(Protocol):
    """The part of the shared store (``proxy.engine.store``) one-time documents use."""

    async def claim(self, key: str, ttl: float) -> bool: ...


class DocumentAnswers:
    def __init__(
        self,
        *,
        issuer: Issuer,
        apps: AppClient,
        options: documents.Options,
        carrier_style: str,
        app_style: str,
        notes: Counter,
        store: Claims | None,
    ) -> None:
        self.issuer = issuer
        self.apps = apps
        self.options = options
        self.carrier = carrier_style
        self.app_style = app_style
        self.document_notes = notes
        # One-time inline documents; None (offline) serves them every time.
        self.store = store
        self.log = get_logger()

    async def continue_call(
        self, callback: Callback, params: dict[str, Any], account: Account, request_id: str
    ) -> tuple[Response, str]:
        """Plivo's ``redirect="false"``: tell the app's action what happened, ignore its answer,
        and let the call go on with the rest of the original document (translated when the
        document was, carried in the token)."""
        action = callback.extra.get("action")
        if action:
            method = callback.extra.get("method", "POST")
            reply = await self.apps.call(action, method, params, account, request_id)
            if reply is None or not 200 <= reply.status < 300:
                self.log.warning("app action failed; the call goes on", request_id=request_id)
        rest = callback.extra.get("rest") or "<Response />"
        response = Response(200, b'<?xml version="1.0" encoding="UTF-8"?>\n' + rest.encode())
        response.headers["Content-Type"] = XML
        return response, "continued"

    async def inline(
        self, kind: CompiledKind, callback: Callback, account: Account, request_id: str
    ) -> tuple[Response, str]:
        """The document sealed in the token, translated for the carrier, the first time."""
        extra = callback.extra
        body: bytes | None = None
        why = "replayed or expired"
        if await self._first_fetch(extra.get("once", ""), extra.get("issued", ""), request_id):
            body, why = self._inline_translated(extra.get("document", ""), account)
        if body is None:
            self.log.warning("inline document refused", why=why, request_id=request_id)
            outcome = "replayed" if why == "replayed or expired" else "safe-document"
            return self.safe(kind.document), outcome
        response = Response(200, body)
        response.headers["Content-Type"] = XML
        return response, "forwarded"

    async def _first_fetch(self, once: str, issued: str, request_id: str) -> bool:
        """Whether this is the first fetch of an inline document, in time."""
        try:
            age = time.time() - int(issued)
        except ValueError:
            return False
        if not once or not -60 <= age <= INLINE_TTL:  # a minute of clock skew between replicas
            return False
        if self.store is None:
            return True
        try:
            return await self.store.claim(f"callback-document:{once}", INLINE_TTL + 60)
        except Exception as exc:  # the store is down: refuse rather than serve twice
            self.log.warning(
                "inline document store failed", error=type(exc).__name__, request_id=request_id
            )
            return False

    def _inline_translated(self, document: str, account: Account) -> tuple[bytes | None, str]:
        seal = self._mapper(account)

        def mapped(found: documents.UrlRequest) -> str:
            if urlsplit(found.url).hostname == urlsplit(_INLINE_BASE).hostname:
                raise CallbackRefused("a relative URL (or a Gather without action) inline")
            return seal(found)

        try:
            result = self.translate_document(
                document.encode(), _INLINE_BASE, {}, account, mapper=mapped
            )
        except documents.DocumentError as exc:
            return None, f"document: {exc.reason}"
        except CallbackRefused as exc:
            return None, f"document URL: {exc}"
        for note in result.notes:
            self.document_notes.labels(note.element, note.action).inc()
        return result.body, ""

    async def answer(
        self,
        kind: CompiledKind,
        callback: Callback,
        params: dict[str, Any],
        account: Account,
        reply: http_client.Response | None,
        request_id: str,
    ) -> tuple[Response, str]:
        incoming = {k: str(v) for k, v in params.items() if isinstance(v, str | int | float)}
        translated, why = self.translated(callback.url, reply, incoming, account)
        outcome = "forwarded"
        if translated is None and callback.fallback_url and callback.fallback_method:
            self.log.warning("app document failed; trying fallback", request_id=request_id, why=why)
            fallback = await self.apps.call(
                callback.fallback_url, callback.fallback_method, params, account, request_id
            )
            translated, why = self.translated(callback.fallback_url, fallback, incoming, account)
            outcome = "fallback"
        if translated is None:
            self.log.warning(
                "app document failed; answering the safe document", why=why, request_id=request_id
            )
            return self.safe(kind.document), "safe-document"
        response = Response(200, translated)
        response.headers["Content-Type"] = XML
        return response, outcome

    def safe(self, document: str) -> Response:
        """What the carrier gets when the app's document cannot be had: a hang-up in its own
        language for a call, no reply for a message."""
        body = (
            documents.hangup_document("twilio" if self.carrier == "twilio" else "plivo")
            if document == "voice"
            else EMPTY_DOCUMENT
        )
        response = Response(200, body)
        response.headers["Content-Type"] = XML
        return response

    def translate_document(
        self,
        body: bytes,
        document_url: str,
        incoming: Mapping[str, str],
        account: Account,
        *,
        mapper: documents.UrlMapper | None = None,
    ) -> documents.Translated:
        """The app's document in the carrier's language, every URL in it sealed for the
        account; ``DocumentError`` when it cannot be (the caller answers a safe document)."""
        translate = (
            documents.twiml_to_plivo if self.app_style == "twilio" else documents.plivo_to_twiml
        )
        return translate(
            body,
            document_url=document_url,
            url_mapper=mapper or self._mapper(account),
            incoming=incoming,
            options=self.options,
        )

    def translated(
        self,
        document_url: str,
        reply: http_client.Response | None,
        incoming: Mapping[str, str],
        account: Account,
    ) -> tuple[bytes | None, str]:
        """The app's answer translated, or None and why not (the caller falls back)."""
        if reply is None:
            return None, "app unreachable or too slow"
        if not 200 <= reply.status < 300:
            return None, f"app answered {reply.status}"
        try:
            result = self.translate_document(reply.body, document_url, incoming, account)
        except documents.DocumentError as exc:
            return None, f"document: {exc.reason}"
        except CallbackRefused as exc:
            return None, f"document URL: {exc}"
        for note in result.notes:
            self.document_notes.labels(note.element, note.action).inc()
            self.log.info(
                "document approximated",
                element=note.element,
                attribute=note.attribute,
                action=note.action,
            )
        return result.body, ""

    def _mapper(self, account: Account) -> documents.UrlMapper:
        issuer, user = self.issuer, account.client.user

        def seal(found: documents.UrlRequest) -> str:
            return issuer.issue(found.kind, found.url, found.method, user, extra=found.extra)

        return seal
