"""The config's schema. ``extra="forbid"`` everywhere: a misspelt key is an error, never ignored."""

from __future__ import annotations

import os
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

Style = Literal["twilio", "plivo"]
Format = Literal["json", "xml", "csv"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Timeouts(_Strict):
    connect: float = Field(default=2.0, gt=0)
    total: float = Field(default=10.0, gt=0)


class Retries(_Strict):
    """Retries for idempotent reads (GET/HEAD) only; 1 attempt means no retry."""

    attempts: int = Field(default=1, ge=1, le=5)
    backoff: float = Field(default=0.1, ge=0, le=5)


class CircuitBreaker(_Strict):
    """After ``failures`` consecutive upstream failures, requests are answered 503 at once for
    ``cooldown`` seconds, then one probe is let through (``proxy.engine.breaker``); 0 turns it
    off."""

    failures: int = Field(default=5, ge=0, le=1000)
    cooldown: float = Field(default=10.0, gt=0, le=600)


def _readable_file(path: str | None) -> str | None:
    if path is not None and not os.path.isfile(path):
        raise ValueError(f"no such file: {path}")
    return path


class ServerTLS(_Strict):
    """The certificate chain (PEM, leaf first) and its private key the server presents."""

    cert_file: str
    key_file: str

    _files = field_validator("cert_file", "key_file")(_readable_file)


class UpstreamTLS(_Strict):
    """How the proxy verifies an https upstream and presents itself to it.

    ``ca_file``: PEM certificates trusted for this upstream instead of the system store (a
    private CA); ``cert_file``/``key_file``: a client certificate for upstreams that require
    one (mTLS; the key may be in ``cert_file``); ``server_name``: the name sent (SNI) and
    verified in the certificate, when it differs from the URL's host (an address).
    """

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    server_name: str | None = Field(default=None, min_length=1)

    _files = field_validator("ca_file", "cert_file", "key_file")(_readable_file)

    @model_validator(mode="after")
    def _key_needs_cert(self) -> UpstreamTLS:
        if self.key_file is not None and self.cert_file is None:
            raise ValueError("key_file needs cert_file")
        return self


class UpstreamSettings(_Strict):
    """``url: demo`` starts the built-in mock upstream of the given style inside the proxy."""

    url: str
    style: Style
    timeout: Timeouts = Timeouts()
    retries: Retries = Retries()
    breaker: CircuitBreaker = CircuitBreaker()
    max_connections: int = Field(default=100, ge=1)
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # Seconds an unused keep-alive connection is kept: below common server keep-alive timers,
    # so that a create never goes out on a connection the upstream is about to close.
    keepalive_idle: float = Field(default=4.0, gt=0, le=300)
    tls: UpstreamTLS | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if v == "demo":
            return v
        if not re.match(r"^https?://[^/\s]+(/.*)?$", v):
            raise ValueError("expected 'demo' or an http(s) URL such as http://127.0.0.1:9000")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _tls_needs_https(self) -> UpstreamSettings:
        if self.tls is not None and not self.url.startswith("https://"):
            raise ValueError("tls applies to https:// upstreams only")
        return self


class Credentials(_Strict):
    user: str = Field(min_length=1)
    secret: SecretStr
    # The upstream account's own time zone, for the times it writes without an offset (a Plivo
    # live call's session_start): an IANA name, UTC or ±HH:MM; steps read it as
    # ``$upstream.timezone`` (``local_time``).
    timezone: str = "UTC"

    @field_validator("secret")
    @classmethod
    def _not_empty(cls, v: SecretStr) -> SecretStr:
        if not v.get_secret_value():
            raise ValueError("must not be empty")
        return v

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        from proxy.steps.local_time import zone_named  # the one reading of a zone name

        zone_named(v)
        return v


class ClientCredentials(_Strict):
    """What a client presents. ``account_sid`` is the account an API key (``SK…``) acts for.

    An empty ``user`` switches the account off, so a config can offer an optional account that
    an environment variable turns on (``user: "${TWILIO_API_KEY_SID:-}"``).
    """

    user: str
    secret: SecretStr
    account_sid: str | None = None

    @model_validator(mode="after")
    def _secret_when_enabled(self) -> ClientCredentials:
        if self.user and not self.secret.get_secret_value():
            raise ValueError("an enabled account needs a non-empty secret")
        return self


class Account(_Strict):
    client: ClientCredentials
    upstream: Credentials

    @property
    def account_sid(self) -> str:
        return self.client.account_sid or self.client.user


class Limits(_Strict):
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_url_bytes: int = Field(default=4096, ge=256, le=65536)
    max_headers: int = Field(default=64, ge=8, le=1000)
    max_header_bytes: int = Field(default=16384, ge=1024, le=1024 * 1024)
    # Failed authentications per client address before it gets 429 for the rest of the window.
    auth_failures: int = Field(default=10, ge=1)
    auth_failure_window: float = Field(default=60.0, gt=0)
    # Client connections one process keeps open; None: derived from the descriptor limit (see
    # proxy.http.server.default_max_connections). Near it the oldest idle keep-alive
    # connections are closed for new ones; past it a new connection is refused (503) at once.
    max_connections: int | None = Field(default=None, ge=1)
    # Seconds an idle keep-alive connection is kept. Short, because an idle connection holds a
    # descriptor and memory for nothing, and the official SDKs (requests/urllib3) check a pooled
    # connection before reusing it, so a closed one costs them a new handshake, not an error.
    # Behind a balancer that pools connections, set it above the balancer's idle timeout.
    keepalive_timeout: float = Field(default=15.0, gt=0, le=3600)
    # Seconds a client may read nothing of an answer it is owed before it is dropped and its
    # buffers freed (nginx's send_timeout, same default).
    send_timeout: float = Field(default=60.0, gt=0, le=3600)
    # Answer bytes the process may hold at once (upstream bodies arriving, answers waiting for
    # slow clients); past it a large answer is refused with 503 (proxy.http.budget).
    max_buffered_bytes: int = Field(default=32 * 1024 * 1024, ge=1024 * 1024)


class InspectorSettings(_Strict):
    """The live inspector page, ``/_dialect/inspector`` (``proxy.ops.inspector``): for local
    development, off by default. It answers loopback clients only (a request from another
    host, or one that came through a proxy, is refused) unless ``allow_remote: true`` says
    otherwise in so many words. The history is a ring of at most ``max_exchanges`` exchanges
    and ``max_bytes`` bytes, in this process's memory only."""

    enabled: bool = False
    allow_remote: bool = False
    max_exchanges: int = Field(default=200, ge=1, le=10_000)
    max_bytes: int = Field(default=16 * 1024 * 1024, ge=64 * 1024, le=1024 * 1024 * 1024)

    @model_validator(mode="after")
    def _remote_needs_enabled(self) -> InspectorSettings:
        if self.allow_remote and not self.enabled:
            raise ValueError("allow_remote applies to an enabled inspector: add enabled: true")
        return self


def _opentelemetry_installed() -> str | None:
    """Why OpenTelemetry export cannot work here, or None when the ``otel`` extra is there."""
    import importlib.util

    for module in ("opentelemetry.sdk.trace", "opentelemetry.exporter.otlp.proto.http"):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            return f"{module} is not installed: install dialect-proxy[otel]"
    return None


class ServerSettings(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    log_format: Literal["json", "console"] = "json"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    default_style: Style = "twilio"
    limits: Limits = Limits()
    # Serve HTTPS directly (carriers call back only over public HTTPS URLs).
    tls: ServerTLS | None = None
    # Seconds in-flight requests get to finish after SIGTERM before the process exits.
    shutdown_timeout: float = Field(default=30.0, ge=0)
    # Worker processes sharing the port (SO_REUSEPORT). "auto": one per core the process may
    # run on, except where that would be unsafe: with the memory store, an idempotent retry
    # is only recognised by the worker that saw the first attempt, so such a config gets one.
    workers: int | Literal["auto"] = Field(default="auto")
    # ``true`` is ``{enabled: true}``; see InspectorSettings.
    inspector: InspectorSettings = InspectorSettings()
    # A span per request and per upstream call, exported over OTLP (the ``otel`` extra).
    opentelemetry: bool = False

    @field_validator("inspector", mode="before")
    @classmethod
    def _inspector_shorthand(cls, v: Any) -> Any:
        return {"enabled": v} if isinstance(v, bool) else v

    @field_validator("opentelemetry")
    @classmethod
    def _otel_installed(cls, v: bool) -> bool:
        if v:
            missing = _opentelemetry_installed()
            if missing is not None:
                raise ValueError(missing)
        return v

    @field_validator("workers")
    @classmethod
    def _worker_count(cls, v: int | str) -> int | str:
        if isinstance(v, int) and not 1 <= v <= 64:
            raise ValueError("workers is 'auto' or 1 to 64")
        return v


class FormatPolicy(_Strict):
    """``from: extension``: the path's ``{ext}`` picks the format; none means ``default``."""

    from_: Literal["extension", "fixed"] = Field(default="extension", alias="from")
    default: Format = "json"
    allow: list[Format] = Field(default_factory=lambda: list[Format](["json"]))

    @model_validator(mode="after")
    def _default_allowed(self) -> FormatPolicy:
        if self.default not in self.allow:
            raise ValueError(f"the default format {self.default!r} must be in 'allow'")
        return self


class Match(_Strict):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "*"]
    path: str

    @field_validator("path")
    @classmethod
    def _rooted(cls, v: str) -> str:
        if not v.startswith("/"):
            raise ValueError("a path template must start with '/'")
        return v


class Styles(_Strict):
    client: Style
    upstream: Style


class ErrorRule(_Strict):
    """Maps an upstream error to the client's error code.

    ``status`` and ``match`` (a regex searched in the upstream's error text) select; ``code``
    is the client's provider code, ``http_status`` overrides the status the client sees and
    ``message`` (a template; ``{upstream_message}`` is the upstream text) replaces the text.
    """

    status: int | list[int] | None = None
    match: str | None = None
    code: int | None = None
    http_status: int | None = Field(default=None, ge=400, le=599)
    message: str | None = None

    @field_validator("match")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return v


class UncertainOutcome(_Strict):
    """The answer when the upstream may have acted but did not confirm (timeout, reset, 5xx).

    For call creation through a Plivo façade: the plivo SDK retries any 5xx on voice requests,
    which would place the call again; a 409 tells the caller to check before retrying.
    """

    status: int = Field(default=409, ge=400, le=499)
    message: str


class Idempotency(_Strict):
    """A create retried with the same ``header`` value within ``window`` seconds, or without a
    key but with the same credentials and body within ``body_window`` seconds, gets the first
    outcome instead of a second message or call. The body window is short on purpose: two
    identical messages sent on purpose a minute apart are both sent; ``body_window: 0`` keeps
    only keyed requests idempotent."""

    window: float = Field(default=86400.0, gt=0)
    body_window: float = Field(default=10.0, ge=0)
    header: str = "Idempotency-Key"


class StoreSettings(_Strict):
    backend: Literal["memory", "redis"] = "memory"
    url: str = "redis://127.0.0.1:6379/0"
    prefix: str = "dialect:"


_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
_ALIAS = r"^[a-z][a-z0-9_-]{0,31}$"


class Resolve(_Strict):
    """Before the request steps, look the client's id (path field ``path``, or parameter
    ``param``) up among the ids callbacks recorded under ``alias``; the id found, or the client's
    own when none is, goes in ``into`` (default: in place). See ``proxy.engine.aliases``."""

    path: str | None = Field(default=None, pattern=_NAME)
    param: str | None = Field(default=None, pattern=_NAME)
    alias: str = Field(pattern=_ALIAS)
    into: str | None = Field(default=None, pattern=_NAME)

    @model_validator(mode="after")
    def _one_source(self) -> Resolve:
        if (self.path is None) == (self.param is None):
            raise ValueError("resolve takes exactly one of 'path' and 'param'")
        return self

    @property
    def source(self) -> str:
        return self.path or self.param or ""

    @property
    def target(self) -> str:
        return self.into or self.source


class RouteSettings(_Strict):
    name: str = Field(min_length=1)
    match: Match
    upstream: str
    styles: Styles
    format: FormatPolicy = FormatPolicy()
    resource: str | None = None
    auth: bool = True
    # Forward the request unchanged (method, path without the format extension, query, body):
    # for sidecars, where only the answer is translated.
    passthrough: bool = False
    is_list: bool = Field(default=False, alias="list")
    request: list[dict[str, Any]] = Field(default_factory=list)
    response: list[dict[str, Any]] = Field(default_factory=list)
    errors: str | list[ErrorRule] | None = None
    uncertain_outcome: UncertainOutcome | None = None
    idempotency: Idempotency | None = None
    resolve: Resolve | None = None


CallbackDocument = Literal["none", "voice", "message"]


class CallbackAlias(_Strict):
    """Record that the id the app was given (carrier parameter ``from``) names what the carrier
    knows by another id (parameter ``to``), both made the client's ids by the converter
    ``with`` (as in ``convert``); routes find it with ``resolve: {alias: name}``."""

    name: str = Field(pattern=_ALIAS)
    from_: str = Field(alias="from", min_length=1)
    to: str = Field(min_length=1)
    with_: str | dict[str, dict[str, Any] | None] | None = Field(default=None, alias="with")


class CallbackKind(_Strict):
    """One kind of callback the carrier makes (``message-status``, ``call-answer``, ...).

    ``params`` are the steps that turn the carrier's parameters into the app's; ``document``
    says what the app answers: nothing the carrier reads (``none``: a status), a call-control
    document (``voice``) or a messaging reply (``message``), translated into the carrier's
    language on the way back.
    """

    document: CallbackDocument = "none"
    params: list[dict[str, Any]] = Field(default_factory=list)
    alias: CallbackAlias | None = None


class NumberTarget(_Strict):
    """Where the carrier's calls and messages to a number go in the app."""

    message_url: str | None = None
    message_method: Literal["GET", "POST"] = "POST"
    voice_url: str | None = None
    voice_method: Literal["GET", "POST"] = "POST"
    voice_fallback_url: str | None = None
    voice_fallback_method: Literal["GET", "POST"] = "POST"


class CallbackSettings(_Strict):
    """Callbacks: the carrier calls Dialect at ``public_url``; Dialect calls the app.

    ``secret`` keys the tokens in callback URLs; empty, a key is derived from the account
    secrets (every replica with one config agrees; rotating a token invalidates outstanding
    URLs). ``allow_hosts``: app hosts Dialect may call (empty: any). ``verify: false`` skips the
    carrier's signature check, for local development only, and is logged loudly.
    """

    public_url: str
    secret: SecretStr = SecretStr("")
    allow_hosts: list[str] = Field(default_factory=list)
    verify: bool = True
    # Seconds the app has to answer; below the carriers' own answer timeouts, so that the
    # carrier gets the fallback document rather than silence.
    app_timeout: float = Field(default=5.0, gt=0, le=60)
    # The upstream whose carrier calls back (its style and its accounts' secrets).
    upstream: str
    app_style: Style
    max_document_bytes: int = Field(default=64 * 1024, ge=1024, le=1024 * 1024)
    kinds: dict[str, CallbackKind] = Field(default_factory=dict)
    # Incoming calls and messages to numbers: per number (E.164, with +), and a default.
    numbers: dict[str, NumberTarget] = Field(default_factory=dict)
    # Identity table for TwiML <Client> -> Plivo SIP endpoints (and back).
    client_domain: str = "phone.plivo.com"
    apology: str = "Sorry, this call cannot be completed."

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, v: str) -> str:
        if not re.match(r"^https?://[^/\s?#]+(/[^\s?#]*)?$", v):
            raise ValueError("expected the proxy's public http(s) base URL, without query")
        return v.rstrip("/")


class ConfigModel(_Strict):
    server: ServerSettings = ServerSettings()
    upstreams: dict[str, UpstreamSettings]
    accounts: list[Account] = Field(default_factory=list)

    @property
    def active_accounts(self) -> list[Account]:
        return [a for a in self.accounts if a.client.user]

    pipelines: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    error_maps: dict[str, list[ErrorRule]] = Field(default_factory=dict)
    store: StoreSettings = StoreSettings()
    callbacks: CallbackSettings | None = None
    routes: list[RouteSettings] = Field(min_length=1)
