"""The ``callbacks:`` section: the carrier's calls to Dialect, and what Dialect does with them on
the app's side (``proxy.settings.callbacks`` compiles it)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from proxy.settings.model_base import ALIAS_PATTERN, StrictModel, Style

CallbackDocument = Literal["none", "voice", "message"]


class CallbackAlias(StrictModel):
    """Record that the id the app was given (carrier parameter ``from``) names what the carrier
    knows by another id (parameter ``to``), both made the client's ids by the converter
    ``with`` (as in ``convert``); routes find it with ``resolve: {alias: name}``."""

    name: str = Field(pattern=ALIAS_PATTERN)
    from_: str = Field(alias="from", min_length=1)
    to: str = Field(min_length=1)
    with_: str | dict[str, dict[str, Any] | None] | None = Field(default=None, alias="with")


class CallbackKind(StrictModel):
    """One kind of callback the carrier makes (``message-status``, ``call-answer``, ...).

    ``params`` are the steps that turn the carrier's parameters into the app's; ``document``
    says what the app answers: nothing the carrier reads (``none``: a status), a call-control
    document (``voice``) or a messaging reply (``message``), translated into the carrier's
    language on the way back.
    """

    document: CallbackDocument = "none"
    params: list[dict[str, Any]] = Field(default_factory=list)
    alias: CallbackAlias | None = None


class NumberTarget(StrictModel):
    """Where the carrier's calls and messages to a number go in the app."""

    message_url: str | None = None
    message_method: Literal["GET", "POST"] = "POST"
    voice_url: str | None = None
    voice_method: Literal["GET", "POST"] = "POST"
    voice_fallback_url: str | None = None
    voice_fallback_method: Literal["GET", "POST"] = "POST"


class CallbackSettings(StrictModel):
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
