"""The ``routes:`` section and the ``error_maps:`` rules: what a route matches, which styles it
translates between, and how it answers failures, retried creates and aliased ids."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from proxy.settings.model_base import ALIAS_PATTERN, StrictModel, Style

Format = Literal["json", "xml", "csv"]


class FormatPolicy(StrictModel):
    """``from: extension``: the path's ``{ext}`` picks the format; none means ``default``."""

    from_: Literal["extension", "fixed"] = Field(default="extension", alias="from")
    default: Format = "json"
    allow: list[Format] = Field(default_factory=lambda: list[Format](["json"]))

    @model_validator(mode="after")
    def _default_allowed(self) -> FormatPolicy:
        if self.default not in self.allow:
            raise ValueError(f"the default format {self.default!r} must be in 'allow'")
        return self


class Match(StrictModel):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "*"]
    path: str

    @field_validator("path")
    @classmethod
    def _rooted(cls, v: str) -> str:
        if not v.startswith("/"):
            raise ValueError("a path template must start with '/'")
        return v


class Styles(StrictModel):
    client: Style
    upstream: Style


class ErrorRule(StrictModel):
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


class UncertainOutcome(StrictModel):
    """The answer when the upstream may have acted but did not confirm (timeout, reset, 5xx).

    For call creation through a Plivo façade: the plivo SDK retries any 5xx on voice requests,
    which would place the call again; a 409 tells the caller to check before retrying.
    """

    status: int = Field(default=409, ge=400, le=499)
    message: str


class Idempotency(StrictModel):
    """A create retried with the same ``header`` value within ``window`` seconds, or without a
    key but with the same credentials and body within ``body_window`` seconds, gets the first
    outcome instead of a second message or call. The body window is short on purpose: two
    identical messages sent on purpose a minute apart are both sent; ``body_window: 0`` keeps
    only keyed requests idempotent."""

    window: float = Field(default=86400.0, gt=0)
    body_window: float = Field(default=10.0, ge=0)
    header: str = "Idempotency-Key"


_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"


class Resolve(StrictModel):
    """Before the request steps, look the client's id (path field ``path``, or parameter
    ``param``) up among the ids callbacks recorded under ``alias``; the id found, or the client's
    own when none is, goes in ``into`` (default: in place). See ``proxy.engine.aliases``."""

    path: str | None = Field(default=None, pattern=_NAME)
    param: str | None = Field(default=None, pattern=_NAME)
    alias: str = Field(pattern=ALIAS_PATTERN)
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


class RouteSettings(StrictModel):
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
