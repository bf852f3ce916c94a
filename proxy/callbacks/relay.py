"""The relay: the carrier calls Dialect, Dialect calls the app, the app's answer goes back.

One pass per callback, like a REST request facing the other way::

    carrier ──► /_dialect/callbacks/{token} ──► open the token (which app URL, method, kind,
    account) ──► verify the carrier's signature on the public URL ──► parameter steps
    ──► re-sign for the app with the client-side token ──► app ──► its document translated
    (every URL inside it sealed into a new token) ──► carrier

What the carrier is told depends on what it waits for. A status callback is forwarded before
the carrier is answered, and the carrier gets a 2xx only once the app accepted it, so the
carrier's own retries cover an app that is briefly down. A call mid-flight never gets a 5xx
or silence: an app that is down, slow, answers an error or a document that cannot be
translated yields the fallback URL's document where the app gave one, else a hang-up in the
carrier's language, within ``callbacks.app_timeout``.

Nothing is forwarded for a forged or altered token (403) or a missing or wrong carrier
signature (403): Dialect is never an open relay.

An inline document (kind ``document``: Twilio's ``update(twiml=…)``, sealed in the token by the
``callback`` step) calls no app: the relay translates the sealed document and serves it once,
within ``INLINE_TTL`` of its issue, claimed in the shared store so that no replica serves it
twice; a replayed or stale fetch gets the safe hang-up document.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit, urlunsplit

from prometheus_client import Counter

from proxy import codecs
from proxy.callbacks import signatures
from proxy.callbacks.issuer import INLINE_KIND, CallbackRefused, Issuer
from proxy.callbacks.plan import CompiledKind
from proxy.callbacks.tokens import Callback, InvalidToken
from proxy.engine.errors import StepError
from proxy.engine.exchange import Exchange
from proxy.http import client as http_client
from proxy.http.messages import Request, Response
from proxy.ops.logs import get_logger
from proxy.ops.metrics import Metrics
from proxy.pipeline.runner import run_steps
from proxy.providers.documents import translate as documents
from proxy.settings.loader import Config
from proxy.settings.models import Account, CallbackSettings

CALLBACK_PREFIX = "/_dialect/callbacks/"
INCOMING = "incoming/"
# App origins with an open connection pool; the least recently used is closed past this.
MAX_APP_POOLS = 64
_XML = "application/xml; charset=utf-8"
# No reply to a message: the same in both languages.
EMPTY_DOCUMENT = b'<?xml version="1.0" encoding="UTF-8"?>\n<Response />'

# Twilio's final call states: the ones a Plivo hangup_url stands for.
_FINAL_CALL_STATES = frozenset({"completed", "busy", "no-answer", "canceled", "failed"})
# Seconds an inline document may be fetched after its issue (a carrier fetches at once).
INLINE_TTL = 300
# What an inline document's relative URLs resolve against: a host that cannot exist (RFC 2606),
# refused when sealed, because an inline document has no URL of its own.
_INLINE_BASE = "https://inline.invalid/"


class Claims(Protocol):
    """The part of the shared store (``proxy.engine.store``) the relay uses."""

    async def claim(self, key: str, ttl: float) -> bool: ...


class Relay:
    """Serves ``/_dialect/callbacks/…`` for one loaded config."""

    def __init__(
        self,
        settings: CallbackSettings,
        issuer: Issuer,
        kinds: Mapping[str, CompiledKind],
        accounts: Sequence[Account],
        carrier_style: str,
        metrics: Metrics,
        store: Claims | None = None,
    ) -> None:
        self.settings = settings
        # One-time inline documents; None (offline) serves them every time.
        self.store = store
        self.issuer = issuer
        self.kinds = dict(kinds)
        self.accounts = {a.client.user: a for a in accounts}
        self.default_account = accounts[0] if accounts else None
        self.carrier = carrier_style
        self.app_style = settings.app_style
        self.log = get_logger()
        self._pools: OrderedDict[str, http_client.Pool] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()
        self.options = documents.Options(
            client_domain=settings.client_domain,
            apology=settings.apology,
            max_bytes=settings.max_document_bytes,
        )
        self.callbacks = Counter(
            "dialect_callbacks",
            "Carrier callbacks, by kind and outcome.",
            ["kind", "outcome"],
            registry=metrics.registry,
        )
        self.document_notes = Counter(
            "dialect_callback_document_notes",
            "Elements or attributes of app documents with no exact equivalent, by element "
            "and what was done.",
            ["element", "action"],
            registry=metrics.registry,
        )

    async def close(self) -> None:
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            await pool.close()
        await asyncio.gather(*self._closing, return_exceptions=True)

    # -- the pass ------------------------------------------------------------------------

    async def handle(self, request: Request, request_id: str) -> Response:
        started = time.perf_counter()
        kind = "unknown"
        outcome = "error"
        try:
            token = request.target[len(CALLBACK_PREFIX) :].partition("?")[0]
            pairs = self._carrier_params(request)
            callback = self._open(token, pairs)
            kind = callback.kind
            response, outcome = await self._relay(request, callback, pairs, request_id)
        except Refused as refused:
            outcome = refused.outcome
            response = _plain(refused.status, refused.text)
            self.log.warning(
                "callback refused",
                request_id=request_id,
                kind=kind,
                status=refused.status,
                reason=refused.reason,
            )
        except Exception as bug:  # log it, never show it; a call in progress still goes on
            self.log.exception("callback failed", request_id=request_id, error=type(bug).__name__)
            compiled = self.kinds.get(kind)
            if compiled is not None and compiled.document == "voice":
                response = self._safe_document("voice")
                outcome = "safe-document"
            else:
                response = _plain(500, "Internal Server Error")
        response.headers["X-Request-Id"] = request_id
        self.callbacks.labels(kind, outcome).inc()
        self.log.info(
            "callback",
            request_id=request_id,
            kind=kind,
            outcome=outcome,
            status=response.status,
            latency_ms=round((time.perf_counter() - started) * 1000, 2),
        )
        return response

    def _open(self, token: str, pairs: list[tuple[str, str]]) -> Callback:
        if token.startswith(INCOMING):
            return self._incoming(token[len(INCOMING) :], dict(pairs))
        try:
            return self.issuer.open(token)
        except InvalidToken as exc:
            raise Refused(403, "Forbidden", f"token: {exc.reason}", "forged") from None

    def _incoming(self, what: str, params: dict[str, str]) -> Callback:
        """A call or message to one of the carrier's numbers: the app URL comes from the
        config's number table (the number called, else ``default``), not from a token."""
        if what not in ("message", "call") or self.default_account is None:
            raise Refused(404, "Not Found", f"no incoming callback {what!r}", "unknown")
        digits = "".join(c for c in params.get("To", "") if c.isdigit())
        numbers = self.settings.numbers
        target = numbers.get("+" + digits) or numbers.get("default")
        url = None
        if target is not None:
            url = target.message_url if what == "message" else target.voice_url
        if target is None or not url:
            raise Refused(404, "Not Found", "no app is configured for this number", "unknown")
        fallback = target.voice_fallback_url if what == "call" else None
        return Callback(
            kind=f"{what}-incoming",
            url=url,
            method=target.message_method if what == "message" else target.voice_method,
            account=self.default_account.client.user,
            fallback_url=fallback,
            fallback_method=target.voice_fallback_method if fallback else None,
        )

    async def _relay(
        self,
        request: Request,
        callback: Callback,
        pairs: list[tuple[str, str]],
        request_id: str,
    ) -> tuple[Response, str]:
        compiled = self.kinds.get(callback.kind)
        if compiled is None:
            raise Refused(404, "Not Found", f"no callback kind {callback.kind!r}", "unknown")
        account = self.accounts.get(callback.account, self.default_account)
        if account is None:
            raise Refused(403, "Forbidden", "the token's account is not configured", "forged")
        self._verify(request, callback, pairs, account)
        if callback.kind == INLINE_KIND:
            return await self._inline(compiled, callback, account, request_id)
        target = self._target(callback, dict(pairs))
        if target is None:
            return Response(204, b""), "ignored"
        url, method = target
        params = self.app_params(compiled, pairs, account, request_id)
        if callback.kind == "continue":
            return await self._continue(callback, params, account, request_id)
        reply = await self._call_app(url, method, params, account, request_id)
        if compiled.document == "none":
            if reply is not None and 200 <= reply.status < 300:
                return Response(204, b""), "forwarded"
            # The carrier's own retries cover an app that is briefly down.
            return _plain(502, "The application did not accept the callback."), "app-failed"
        return await self._document(compiled, callback, params, account, reply, request_id)

    # -- carrier side ------------------------------------------------------------------------

    @staticmethod
    def _carrier_params(request: Request) -> list[tuple[str, str]]:
        """Query and form parameters in the order they came: what the carrier signed."""
        raw_query = request.target.partition("?")[2]
        pairs = _pairs(raw_query)
        if request.method == "POST" and request.body:
            ctype = request.content_type
            if ctype not in ("application/x-www-form-urlencoded", ""):
                raise Refused(415, "Unsupported Media Type", f"body {ctype}", "bad-request")
            try:
                pairs = pairs + _pairs(request.body.decode("utf-8"))
            except UnicodeDecodeError:
                raise Refused(400, "Bad Request", "body is not UTF-8", "bad-request") from None
        return pairs

    def _verify(
        self,
        request: Request,
        callback: Callback,
        pairs: list[tuple[str, str]],
        account: Account,
    ) -> None:
        if not self.settings.verify:
            return
        # The URL the carrier was given: the configured public base, never the Host header or
        # X-Forwarded-* an arbitrary client could send.
        public = self.settings.public_url + request.target
        token = account.upstream.secret.get_secret_value()
        form = pairs[len(_pairs(request.target.partition("?")[2])) :]
        if self.carrier == "twilio":
            verdict = signatures.verify_twilio(
                request.headers, public, request.method, form, request.body, token
            )
        else:
            scheme: signatures.PlivoScheme = "v2" if callback.kind.startswith("message") else "v3"
            params = pairs if request.method == "GET" else form
            verdict = signatures.verify_plivo(
                request.headers, public, request.method, params, request.body, token, scheme
            )
        if not verdict.ok:
            raise Refused(403, "Forbidden", f"carrier signature: {verdict.value}", "unsigned")

    def _target(self, callback: Callback, params: dict[str, str]) -> tuple[str, str] | None:
        """The app URL this callback goes to, or None when the app did not ask for it.

        A Twilio carrier sends every status event to one StatusCallback; a Plivo app asked for
        a ring URL and a hang-up URL, sealed into the one token."""
        if callback.kind == "call-status" and self.carrier == "twilio":
            status = params.get("CallStatus", "")
            if status == "ringing":
                ring = callback.extra.get("ring_url")
                return (ring, callback.extra.get("ring_method", "POST")) if ring else None
            if status not in _FINAL_CALL_STATES:
                return None
        return callback.url, callback.method

    def app_params(
        self,
        kind: CompiledKind,
        pairs: list[tuple[str, str]],
        account: Account,
        request_id: str,
    ) -> dict[str, Any]:
        """The carrier's parameters as the app's style names them, by the kind's steps."""
        doc: dict[str, Any] = {}
        for name, value in pairs:
            doc[name] = value  # a repeated name keeps its last value, as Twilio's parsers do
        ex = _exchange(f"callback.{kind.name}", request_id, doc, account)
        try:
            result = run_steps(kind.steps, ex, doc, phase="request")
        except StepError as exc:
            raise Refused(
                400, "Bad Request", f"parameters: {exc.log_detail or exc.message}", "bad-request"
            ) from None
        if not isinstance(result, dict):
            raise Refused(500, "Internal Server Error", "steps gave no parameters", "error")
        return {k: v for k, v in result.items() if v is not None}

    # -- app side ------------------------------------------------------------------------

    def signed_request(
        self, url: str, method: str, params: Mapping[str, Any], account: Account
    ) -> tuple[str, bytes | None, dict[str, str]]:
        """The request the app gets: its URL (with the parameters, for GET), the form body
        (for POST) and the headers, signed with the client-side token over that exact URL."""
        pairs = _flat(params)
        parts = urlsplit(url)
        body: bytes | None = None
        if method == "GET":
            query = "&".join(q for q in (parts.query, urlencode(pairs)) if q)
            url = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
            signed_params: list[tuple[str, str]] = []
        else:
            body = urlencode(pairs).encode()
            signed_params = pairs
        secret = account.client.secret.get_secret_value()
        if self.app_style == "twilio":
            headers = signatures.twilio_headers(secret, url, signed_params)
        else:
            headers = signatures.plivo_headers(secret, url, method, pairs)
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        return url, body, headers

    async def _call_app(
        self,
        url: str,
        method: str,
        params: Mapping[str, Any],
        account: Account,
        request_id: str,
    ) -> http_client.Response | None:
        """The app's answer, or None when it could not be had (down, slow, refused)."""
        if not self.issuer.allowed(url):
            self.log.warning("callback target not allowed", request_id=request_id)
            return None
        url, body, headers = self.signed_request(url, method, params, account)
        headers["X-Request-Id"] = request_id
        headers["User-Agent"] = "Dialect-Callbacks/1"
        split = urlsplit(url)
        try:
            pool = self._pool(f"{split.scheme}://{split.netloc}")
            return await pool.request(
                method,
                split.path or "/",
                raw_query=split.query or None,
                headers=list(headers.items()),
                body=body,
                budget=self.settings.app_timeout,
                max_body=self.settings.max_document_bytes,
            )
        except (http_client.HTTPClientError, OSError, ValueError) as exc:
            self.log.warning("app unreachable", request_id=request_id, error=type(exc).__name__)
            return None

    def _pool(self, origin: str) -> http_client.Pool:
        pool = self._pools.get(origin)
        if pool is not None:
            self._pools.move_to_end(origin)
            return pool
        pool = http_client.Pool(origin, limit=20, connect_timeout=self.settings.app_timeout)
        self._pools[origin] = pool
        while len(self._pools) > MAX_APP_POOLS:
            _, old = self._pools.popitem(last=False)
            task = asyncio.get_running_loop().create_task(old.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        return pool

    # -- documents -----------------------------------------------------------------------

    async def _continue(
        self, callback: Callback, params: dict[str, Any], account: Account, request_id: str
    ) -> tuple[Response, str]:
        """Plivo's ``redirect="false"``: tell the app's action what happened, ignore its answer,
        and let the call go on with the rest of the original document (translated when the
        document was, carried in the token)."""
        action = callback.extra.get("action")
        if action:
            method = callback.extra.get("method", "POST")
            reply = await self._call_app(action, method, params, account, request_id)
            if reply is None or not 200 <= reply.status < 300:
                self.log.warning("app action failed; the call goes on", request_id=request_id)
        rest = callback.extra.get("rest") or "<Response />"
        response = Response(200, b'<?xml version="1.0" encoding="UTF-8"?>\n' + rest.encode())
        response.headers["Content-Type"] = _XML
        return response, "continued"

    async def _inline(
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
            return self._safe_document(kind.document), outcome
        response = Response(200, body)
        response.headers["Content-Type"] = _XML
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

    async def _document(
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
            fallback = await self._call_app(
                callback.fallback_url, callback.fallback_method, params, account, request_id
            )
            translated, why = self.translated(callback.fallback_url, fallback, incoming, account)
            outcome = "fallback"
        if translated is None:
            self.log.warning(
                "app document failed; answering the safe document", why=why, request_id=request_id
            )
            return self._safe_document(kind.document), "safe-document"
        response = Response(200, translated)
        response.headers["Content-Type"] = _XML
        return response, outcome

    def _safe_document(self, document: str) -> Response:
        """What the carrier gets when the app's document cannot be had: a hang-up in its own
        language for a call, no reply for a message."""
        body = (
            documents.hangup_document("twilio" if self.carrier == "twilio" else "plivo")
            if document == "voice"
            else EMPTY_DOCUMENT
        )
        response = Response(200, body)
        response.headers["Content-Type"] = _XML
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


class Refused(Exception):
    """A callback answered by Dialect itself, with what to log and count."""

    def __init__(self, status: int, text: str, reason: str, outcome: str) -> None:
        super().__init__(reason)
        self.status, self.text, self.reason, self.outcome = status, text, reason, outcome


def _plain(status: int, text: str) -> Response:
    response = Response(status, text.encode())
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    return response


def _pairs(raw: str) -> list[tuple[str, str]]:
    if not raw:
        return []
    try:
        decoded = codecs.decode_form(raw)
    except codecs.DecodeError:
        raise Refused(400, "Bad Request", "unreadable parameters", "bad-request") from None
    return _flat(decoded)


def _flat(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name, value in params.items():
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            if isinstance(item, bool):
                item = "true" if item else "false"
            out.append((name, str(item)))
    return out


def _exchange(name: str, request_id: str, doc: dict[str, Any], account: Account) -> Exchange:
    return Exchange(
        route_name=name,
        request_id=request_id,
        method="POST",
        path="",
        query=[],
        path_params={},
        fmt="json",
        params=doc,
        original=dict(doc),
        account=account,
    )


def build_relay(
    config: Config, metrics: Metrics, *, warn: bool, store: Claims | None = None
) -> Relay | None:
    """The relay a loaded config asks for, or None when it has no ``callbacks:`` block.
    ``warn``: say at start what weakens the callbacks (a derived key, verification off);
    ``store``: where inline documents are claimed (the generation's shared store)."""
    plan = config.callbacks
    settings = config.model.callbacks
    if plan is None or settings is None:
        return None
    log = get_logger()
    if warn and plan.key_derived:
        log.warning(
            "callback URLs are keyed by the account tokens: rotating a token invalidates "
            "every outstanding callback URL (set callbacks.secret to avoid this)"
        )
    if warn and not settings.verify:
        log.warning(
            "CARRIER SIGNATURES ARE NOT VERIFIED (callbacks.verify: false): anyone who can "
            "reach the public URL can call the app through Dialect; local development only"
        )
    return Relay(
        settings,
        plan.issuer,
        plan.kinds,
        config.model.active_accounts,
        plan.carrier_style,
        metrics,
        store,
    )
