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

A kind with an ``alias`` (the voice kinds of a Plivo carrier) has its id pair recorded in the
shared store once the carrier's signature is verified (``proxy.callbacks.aliases``): the REST
routes that resolve then find the call a client's request SID stands for. The callback never
waits for that write. A URL the carrier was given with no app behind it (the ``callback``
step's ``always``: a Plivo call's hang-up and ring URLs when the app asked for no status
callback) exists for that record alone: once verified and noted it is answered 204 and no app
is called (``outcome="recorded"``).

An inline document (kind ``document``: Twilio's ``update(twiml=…)``, sealed in the token by the
``callback`` step) calls no app: the relay translates the sealed document and serves it once,
within ``answers.INLINE_TTL`` of its issue, claimed in the shared store so that no replica serves it
twice; a replayed or stale fetch gets the safe hang-up document.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from prometheus_client import Counter

from proxy import codecs
from proxy.callbacks import signatures
from proxy.callbacks.aliases import AliasRecorder
from proxy.callbacks.answers import DocumentAnswers
from proxy.callbacks.app_client import AppClient, flat
from proxy.callbacks.issuer import INLINE_KIND, Issuer
from proxy.callbacks.plan import NO_APP, CompiledKind
from proxy.callbacks.tokens import Callback, InvalidToken
from proxy.engine.aliases import AliasStore
from proxy.engine.errors import StepError
from proxy.engine.exchange import Exchange
from proxy.http.messages import Request, Response
from proxy.ops.logs import get_logger, log_request
from proxy.ops.metrics import Metrics
from proxy.pipeline.runner import run_steps
from proxy.providers.documents import translate as documents
from proxy.settings.loader import Config
from proxy.settings.models import Account, CallbackSettings

CALLBACK_PREFIX = "/_dialect/callbacks/"
INCOMING = "incoming/"
# Twilio's final call states: the ones a Plivo hangup_url stands for.
_FINAL_CALL_STATES = frozenset({"completed", "busy", "no-answer", "canceled", "failed"})


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
        store: AliasStore | None = None,
    ) -> None:
        self.settings = settings
        self.issuer = issuer
        self.kinds = dict(kinds)
        self.accounts = {a.client.user: a for a in accounts}
        self.default_account = accounts[0] if accounts else None
        self.carrier = carrier_style
        self.app_style = settings.app_style
        self.log = get_logger()
        self.apps = AppClient(settings, issuer)
        self.callbacks = Counter(
            "dialect_callbacks",
            "Carrier callbacks, by kind and outcome.",
            ["kind", "outcome"],
            registry=metrics.registry,
        )
        self._counted: dict[tuple[str, str], Any] = {}
        self.answers = DocumentAnswers(
            issuer=issuer,
            apps=self.apps,
            options=documents.Options(
                client_domain=settings.client_domain,
                apology=settings.apology,
                max_bytes=settings.max_document_bytes,
            ),
            carrier_style=carrier_style,
            app_style=settings.app_style,
            notes=Counter(
                "dialect_callback_document_notes",
                "Elements or attributes of app documents with no exact equivalent, by element "
                "and what was done.",
                ["element", "action"],
                registry=metrics.registry,
            ),
            store=store,
        )
        # Request id → call id, as callbacks carry both (None offline: nothing is kept).
        self.aliases = AliasRecorder(store, settings.upstream, metrics)

    async def close(self) -> None:
        await self.aliases.settle()
        await self.apps.close()

    def signed_request(
        self, url: str, method: str, params: Mapping[str, Any], account: Account
    ) -> tuple[str, bytes | None, dict[str, str]]:
        """The request the app would get (``dialect translate --callback`` prints it)."""
        return self.apps.signed_request(url, method, params, account)

    def translate_document(
        self, body: bytes, document_url: str, incoming: Mapping[str, str], account: Account
    ) -> documents.Translated:
        """An app's document as the carrier gets it (``dialect translate --document``)."""
        return self.answers.translate_document(body, document_url, incoming, account)

    # -- the pass ------------------------------------------------------------------------

    async def handle(self, request: Request, request_id: str) -> Response:
        started = time.perf_counter()
        kind = "unknown"
        outcome = "error"
        try:
            token = request.target[len(CALLBACK_PREFIX) :].partition("?")[0]
            pairs, in_query = self._carrier_params(request)
            callback = self._open(token, pairs)
            kind = callback.kind
            response, outcome = await self._relay(request, callback, pairs, in_query, request_id)
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
                response = self.answers.safe("voice")
                outcome = "safe-document"
            else:
                response = _plain(500, "Internal Server Error")
        response.headers["X-Request-Id"] = request_id
        self._count(kind, outcome)
        # The per-request line's direct path (proxy.ops.logs): the same fields and processors.
        log_request(
            {
                "request_id": request_id,
                "kind": kind,
                "outcome": outcome,
                "status": response.status,
                "latency_ms": round((time.perf_counter() - started) * 1000, 2),
                "event": "callback",
            }
        )
        return response

    def _count(self, kind: str, outcome: str) -> None:
        """One callback counted, through a child bound once per (kind, outcome): a
        ``labels()`` lookup per callback costs a lock and a tuple of strings."""
        child = self._counted.get((kind, outcome))
        if child is None:
            child = self._counted[(kind, outcome)] = self.callbacks.labels(kind, outcome)
        child.inc()

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
        in_query: int,
        request_id: str,
    ) -> tuple[Response, str]:
        compiled = self.kinds.get(callback.kind)
        if compiled is None:
            raise Refused(404, "Not Found", f"no callback kind {callback.kind!r}", "unknown")
        account = self.accounts.get(callback.account, self.default_account)
        if account is None:
            raise Refused(403, "Forbidden", "the token's account is not configured", "forged")
        self._verify(request, callback, pairs, in_query, account)
        if compiled.alias is not None:  # only once verified: nobody else may write aliases
            self.aliases.note(compiled.alias, pairs, account, request_id)
        if callback.extra.get(NO_APP):  # no app asked for it: the record was the point
            return Response(204, b""), "recorded"
        if callback.kind == INLINE_KIND:
            return await self.answers.inline(compiled, callback, account, request_id)
        target = self._target(callback, dict(pairs))
        if target is None:
            return Response(204, b""), "ignored"
        url, method = target
        params = self.app_params(compiled, pairs, account, request_id)
        if callback.kind == "continue":
            return await self.answers.continue_call(callback, params, account, request_id)
        reply = await self.apps.call(url, method, params, account, request_id)
        if compiled.document == "none":
            if reply is not None and 200 <= reply.status < 300:
                return Response(204, b""), "forwarded"
            # The carrier's own retries cover an app that is briefly down.
            return _plain(502, "The application did not accept the callback."), "app-failed"
        return await self.answers.answer(compiled, callback, params, account, reply, request_id)

    # -- carrier side ------------------------------------------------------------------------

    @staticmethod
    def _carrier_params(request: Request) -> tuple[list[tuple[str, str]], int]:
        """Query and form parameters in the order they came (what the carrier signed), and
        how many of them came in the query."""
        raw_query = request.target.partition("?")[2]
        pairs = _pairs(raw_query)
        in_query = len(pairs)
        if request.method == "POST" and request.body:
            ctype = request.content_type
            if ctype not in ("application/x-www-form-urlencoded", ""):
                raise Refused(415, "Unsupported Media Type", f"body {ctype}", "bad-request")
            try:
                pairs = pairs + _pairs(request.body.decode("utf-8"))
            except UnicodeDecodeError:
                raise Refused(400, "Bad Request", "body is not UTF-8", "bad-request") from None
        return pairs, in_query

    def _verify(
        self,
        request: Request,
        callback: Callback,
        pairs: list[tuple[str, str]],
        in_query: int,
        account: Account,
    ) -> None:
        if not self.settings.verify:
            return
        # The URL the carrier was given: the configured public base, never the Host header or
        # X-Forwarded-* an arbitrary client could send.
        public = self.settings.public_url + request.target
        token = account.upstream.secret.get_secret_value()
        form = pairs[in_query:]
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
    return flat(decoded)


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
    config: Config, metrics: Metrics, *, warn: bool, store: AliasStore | None = None
) -> Relay | None:
    """The relay a loaded config asks for, or None when it has no ``callbacks:`` block.
    ``warn``: say at start what weakens the callbacks (a derived key, verification off);
    ``store``: the generation's shared store, where inline documents are claimed and id
    aliases recorded."""
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
