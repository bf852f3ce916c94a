"""The ``upstreams:`` and ``accounts:`` sections: where requests go, how the proxy talks to
each upstream, and whose credentials it presents on each side."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator, model_validator

from proxy.settings.model_base import StrictModel, Style, readable_file


class Timeouts(StrictModel):
    connect: float = Field(default=2.0, gt=0)
    total: float = Field(default=10.0, gt=0)


class Retries(StrictModel):
    """Retries for idempotent reads (GET/HEAD) only; 1 attempt means no retry."""

    attempts: int = Field(default=1, ge=1, le=5)
    backoff: float = Field(default=0.1, ge=0, le=5)


class CircuitBreaker(StrictModel):
    """After ``failures`` consecutive upstream failures, requests are answered 503 at once for
    ``cooldown`` seconds, then one probe is let through (``proxy.engine.breaker``); 0 turns it
    off."""

    failures: int = Field(default=5, ge=0, le=1000)
    cooldown: float = Field(default=10.0, gt=0, le=600)


class UpstreamTLS(StrictModel):
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

    _files = field_validator("ca_file", "cert_file", "key_file")(readable_file)

    @model_validator(mode="after")
    def _key_needs_cert(self) -> UpstreamTLS:
        if self.key_file is not None and self.cert_file is None:
            raise ValueError("key_file needs cert_file")
        return self


class UpstreamSettings(StrictModel):
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


class Credentials(StrictModel):
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


class ClientCredentials(StrictModel):
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


class Account(StrictModel):
    client: ClientCredentials
    upstream: Credentials

    @property
    def account_sid(self) -> str:
        return self.client.account_sid or self.client.user
