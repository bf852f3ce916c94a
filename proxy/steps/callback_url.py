"""``callback``: give the carrier a URL under the proxy instead of the app's own.

A client's REST request may carry its own callback URL (Twilio ``StatusCallback``, ``Url``;
Plivo ``url``, ``answer_url``, ``hangup_url``). The carrier must call Dialect instead, so that
the callback is verified, translated and re-signed before it reaches the app. This step reads
the app's URL at ``at`` (and its method at ``method_at``), seals them with the callback
``kind`` and the caller's account into a token, and writes the public callback URL back at
``at``. ``method_at`` is then set to ``POST``, the method the carrier uses to call Dialect.

``fallback_at``/``fallback_method_at`` (a voice app's fallback document) and ``extra`` (any
other parameter the relay needs later, such as a Plivo app's ``ring_url``) are moved into the
token: the carrier never sees them. ``only_if_listed: {at, value}`` seals the URL only when
the list (or space-separated text) at ``at`` names ``value``, and otherwise removes it: Twilio
asks for a ringing event with ``StatusCallbackEvent=ringing``, Plivo with a separate
``ring_url``. A URL that is not absolute http(s), or whose
host is outside ``callbacks.allow_hosts``, fails with ``error`` (a client error such as
Twilio's 21609).

``always: true`` gives the carrier a callback URL of this kind even when the request has no
URL at ``at`` (or ``only_if_listed`` does not hold): one that names no app. The relay verifies
it, records what the kind records (its ``alias``: Plivo's request id → call id) and answers the
carrier 2xx itself, calling nobody (``dialect_callbacks_total{outcome="recorded"}``). A Plivo
call that is never answered and whose create asked for no status callback calls nothing back
otherwise, so the SID its create returned would never find the call. The kind must record an
alias and be answered with no document (``document: none``); the URL is the same for every
request of an account, so it costs nothing to make.

``document_at`` (with ``kind: document``) seals a *document* instead of a URL: an app's inline
TwiML or Plivo XML (Twilio's ``Twiml`` on a call update), which the carrier can only fetch from
a URL. The public URL written at ``at`` serves that document once, translated for the carrier,
within five minutes; a replayed or later fetch gets the safe hang-up document. Nothing happens
when the request has no document there.

Examples::

    - {op: callback, at: url, kind: message-status, method_at: method,
       error: {status: 400, code: 21609, message: "The StatusCallback URL is not allowed."}}
    - {op: callback, at: aleg_url, document_at: Twiml, kind: document, method_at: aleg_method,
       error: {status: 400, code: 20001, message: "The Twiml could not be handed over."}}
    - {op: callback, at: hangup_url, kind: call-status, method_at: hangup_method, always: true}

The issuer (key, public URL, allow-list) comes from the config's ``callbacks:`` block when
the config loads; a route with this step and no such block is a config error.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from proxy.callbacks.issuer import INLINE_KIND, CallbackRefused, Issuer
from proxy.callbacks.plan import NO_APP
from proxy.callbacks.tokens import Callback, callback_url, make_token
from proxy.engine.exchange import Exchange
from proxy.pipeline.paths import MISSING, DataPath, assign
from proxy.pipeline.step import REQUEST, Step, StepFailure, compiled, parse_path
from proxy.steps.convert import ErrorSpec

_KIND = r"^[a-z-]{1,32}$"


class Listed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    at: str
    value: str


class CallbackUrl(Step):
    phases = frozenset({REQUEST})
    op: Literal["callback"]
    at: str
    kind: str = Field(pattern=_KIND)
    method_at: str | None = None
    method: Literal["GET", "POST"] = "POST"
    fallback_at: str | None = None
    fallback_method_at: str | None = None
    extra: dict[str, str] = Field(default_factory=dict)
    only_if_listed: Listed | None = None
    document_at: str | None = None
    always: bool = False
    error: ErrorSpec | None = None
    _at: DataPath = PrivateAttr()
    _paths: dict[str, DataPath] = PrivateAttr()
    _issuer: Issuer | None = PrivateAttr(default=None)
    # The no-app URL of each account (``always``): the same for every request, made once.
    _no_app: dict[str, str] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _document_alone(self) -> CallbackUrl:
        if NO_APP in self.extra:
            raise ValueError(f"'extra' may not name {NO_APP!r}: the relay reads it itself")
        if self.document_at is None:
            return self
        if self.always:
            raise ValueError(
                "'always' gives a URL when the app gave none: a document is sealed "
                "only when there is one ('document_at')"
            )
        if self.kind != INLINE_KIND:
            raise ValueError(f"'document_at' seals a document: its kind is {INLINE_KIND!r}")
        if self.fallback_at or self.fallback_method_at or self.extra or self.only_if_listed:
            raise ValueError("'document_at' takes no fallback, extra or only_if_listed")
        return self

    def model_post_init(self, _: Any) -> None:
        compiled(self, "_at", parse_path(self.at))
        paths = {
            name: parse_path(text)
            for name, text in (
                ("method", self.method_at),
                ("fallback", self.fallback_at),
                ("fallback_method", self.fallback_method_at),
                ("document", self.document_at),
            )
            if text
        }
        paths.update({f"extra.{name}": parse_path(text) for name, text in self.extra.items()})
        if self.only_if_listed is not None:
            paths["listed"] = parse_path(self.only_if_listed.at)
        compiled(self, "_paths", paths)
        compiled(self, "_issuer", None)
        compiled(self, "_no_app", {})

    def bind(self, issuer: Issuer) -> None:
        """Called once by the config loader: the issuer is config, not a step parameter."""
        compiled(self, "_issuer", issuer)
        compiled(self, "_no_app", {})

    def apply(self, ex: Exchange, doc: Any) -> Any:
        if self.document_at is not None:
            return self._seal_document(ex, doc)
        url = self._at.get(doc)
        if self.only_if_listed is not None and not self._listed(doc, self.only_if_listed.value):
            url = None
            _drop(doc, self._at)
        if url is MISSING or url is None or url == "":
            self._take(doc, "method")
            for name in list(self._paths):
                if name != "method":
                    self._take(doc, name)
            if self.always:
                self._give_no_app(ex, doc)
            return doc
        if self._issuer is None:
            raise StepFailure("no 'callbacks:' block configures the callback URL", self.at)
        method = self._take(doc, "method") or self.method
        fallback = self._take(doc, "fallback")
        fallback_method = self._take(doc, "fallback_method")
        extra = {}
        for name in self.extra:
            value = self._take(doc, f"extra.{name}")
            if value:
                extra[name] = value
        account = ex.account.client.user if ex.account is not None else ""
        try:
            public = self._issuer.issue(
                self.kind,
                str(url),
                str(method).upper(),
                account or "-",
                fallback_url=fallback or None,
                fallback_method=fallback_method or None,
                extra=extra,
            )
        except CallbackRefused as exc:
            if self.error is not None:
                raise self.error.failure(ex, doc, str(exc), self.at) from None
            raise StepFailure(str(exc), self.at, status=400) from None
        _put(doc, self._at, public)
        if self.method_at:
            _put(doc, self._paths["method"], "POST")
        return doc

    def _give_no_app(self, ex: Exchange, doc: Any) -> None:
        """The carrier gets this kind's URL with no app behind it (``always``)."""
        issuer = self._issuer
        if issuer is None:
            raise StepFailure("no 'callbacks:' block configures the callback URL", self.at)
        account = (ex.account.client.user if ex.account is not None else "") or "-"
        public = self._no_app.get(account)
        if public is None:
            # Dialect's own public URL stands where an app's would: the token requires one,
            # and the relay never calls it (the marker says so).
            try:
                callback = Callback(
                    kind=self.kind,
                    url=issuer.public_url + "/",
                    method="POST",
                    account=account,
                    extra={NO_APP: "1"},
                )
                public = callback_url(issuer.public_url, make_token(callback, issuer.key))
            except ValueError as exc:  # an account name no token can carry
                if self.error is not None:
                    raise self.error.failure(ex, doc, str(exc), self.at) from None
                raise StepFailure(str(exc), self.at, status=400) from None
            self._no_app[account] = public
        _put(doc, self._at, public)
        if self.method_at:
            _put(doc, self._paths["method"], "POST")

    def _seal_document(self, ex: Exchange, doc: Any) -> Any:
        document = self._take(doc, "document")
        if not document:
            return doc
        if self._issuer is None:
            raise StepFailure("no 'callbacks:' block configures the callback URL", self.at)
        account = ex.account.client.user if ex.account is not None else ""
        try:
            public = self._issuer.issue_document(document, account or "-")
        except CallbackRefused as exc:
            if self.error is not None:
                raise self.error.failure(ex, doc, str(exc), self.document_at or "") from None
            raise StepFailure(str(exc), self.document_at or "", status=400) from None
        _put(doc, self._at, public)
        if self.method_at:
            _put(doc, self._paths["method"], "POST")
        return doc

    def _listed(self, doc: Any, wanted: str) -> bool:
        found = self._paths["listed"].get(doc)
        items = found if isinstance(found, list) else str(found or "").replace(",", " ").split()
        return any(str(item).strip() == wanted for item in items)

    def _take(self, doc: Any, name: str) -> str | None:
        """Read and remove a parameter; a list (a repeated form field) gives its first value."""
        path = self._paths.get(name)
        if path is None:
            return None
        value = path.get(doc)
        if name != "listed":
            _drop(doc, path)
        if isinstance(value, list):
            value = value[0] if value else None
        if value is MISSING or value is None:
            return None
        return str(value)


def _put(doc: Any, path: DataPath, value: str) -> None:
    for parent, key, _ in path.parents(doc, create=True):
        assign(parent, key, value)


def _drop(doc: Any, path: DataPath) -> None:
    for parent, key, _ in path.parents(doc, create=False):
        if isinstance(parent, dict):
            parent.pop(key, None)
