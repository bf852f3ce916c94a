"""The ``server:`` and ``store:`` sections: what the listening side accepts and serves, and
where the state shared between requests (idempotency records, aliases) is kept."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from proxy.settings.model_base import StrictModel, Style, readable_file


class ServerTLS(StrictModel):
    """The certificate chain (PEM, leaf first) and its private key the server presents."""

    cert_file: str
    key_file: str

    _files = field_validator("cert_file", "key_file")(readable_file)


class Limits(StrictModel):
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
    # Bytes the process may hold at once (upstream bodies arriving, answers waiting for slow
    # clients, request bodies arriving); past it a large one is refused with 503
    # (proxy.http.budget).
    max_buffered_bytes: int = Field(default=32 * 1024 * 1024, ge=1024 * 1024)


class InspectorSettings(StrictModel):
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


class ServerSettings(StrictModel):
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


class StoreSettings(StrictModel):
    backend: Literal["memory", "redis"] = "memory"
    url: str = "redis://127.0.0.1:6379/0"
    prefix: str = "dialect:"
