"""OpenTelemetry export: a span per request (and callback) and per outbound call.

Off by default; ``server.opentelemetry: true`` turns it on and needs the ``otel`` extra
(``pip install 'dialect-proxy[otel]'``), which the proxy otherwise never imports. The spans
follow Dialect's own trace context (``tracecontext``): a request that arrived with a
``traceparent`` continues the caller's trace, and each outbound call's ``traceparent`` names
that call's own span, so a collector shows client → Dialect → upstream as one tree.

Where spans go: the process's tracer provider when one was installed (``opentelemetry-
instrument``, an embedding program, a test), otherwise an SDK provider exporting over
OTLP/HTTP, configured by the standard variables (``OTEL_EXPORTER_OTLP_ENDPOINT``,
``OTEL_SERVICE_NAME``, …; the service is ``dialect`` unless they say otherwise).

Spans carry no query strings, bodies or headers: method, path, status, route, and the upstream's
address. The OpenTelemetry API is reached through ``importlib`` so that this module type-checks
and imports with or without the extra; it is only ever loaded when the setting is on.
"""

from __future__ import annotations

import importlib
import os
from typing import Any
from urllib.parse import urlsplit

from proxy.http.messages import Request
from proxy.ops.tracecontext import TraceContext, Watchers


class OtelExport:
    """The spans of one process; ``provider`` is for tests and embedding programs."""

    def __init__(self, provider: Any = None) -> None:
        self.api = importlib.import_module("opentelemetry.trace")
        if provider is None:
            provider = _process_provider(self.api)
        self.tracer = provider.get_tracer("dialect")

    def watch(self, request: Request, trace: TraceContext, kind: str) -> None:
        """Start the request's span: ``trace`` takes its ids, and its calls get child spans."""
        api = self.api
        parent = None
        if trace.parent_id is not None:
            remote = api.SpanContext(
                trace_id=int(trace.trace_id, 16),
                span_id=int(trace.parent_id, 16),
                is_remote=True,
                trace_flags=api.TraceFlags(int(trace.flags, 16)),
            )
            parent = api.set_span_in_context(api.NonRecordingSpan(remote))
        path = request.path
        span = self.tracer.start_span(
            f"{request.method} callback" if kind == "callback" else request.method,
            context=parent,
            kind=api.SpanKind.SERVER,
            attributes={
                "http.request.method": request.method,
                "url.path": path,
                "url.scheme": request.scheme,
                "dialect.kind": kind,
            },
        )
        ids = span.get_span_context()
        trace.adopt(f"{ids.trace_id:032x}", f"{ids.span_id:016x}", ids.trace_flags.sampled)
        watcher = _RequestSpan(self, span, request.method)
        trace.observer = watcher if trace.observer is None else Watchers(watcher, trace.observer)


class _RequestSpan:
    def __init__(self, export: OtelExport, span: Any, method: str) -> None:
        self.export, self.span, self.method = export, span, method

    def call(self, method: str, origin: str, target: str, traceparent: str) -> _CallSpan:
        api = self.export.api
        parts = urlsplit(origin)
        span = self.export.tracer.start_span(
            method,
            context=api.set_span_in_context(self.span),
            kind=api.SpanKind.CLIENT,
            attributes={
                "http.request.method": method,
                "url.full": origin + target.partition("?")[0],
                "server.address": parts.hostname or "",
                "server.port": parts.port or (443 if parts.scheme == "https" else 80),
            },
        )
        ids = span.get_span_context()
        flags = "01" if ids.trace_flags.sampled else "00"
        return _CallSpan(api, span, f"00-{ids.trace_id:032x}-{ids.span_id:016x}-{flags}")

    def finished(self, trace: TraceContext, response: Any) -> None:
        span, api = self.span, self.export.api
        status = int(response.status)
        span.set_attribute("http.response.status_code", status)
        if trace.route:
            span.set_attribute("dialect.route", trace.route)
            span.update_name(f"{self.method} {trace.route}")
        if status >= 500:
            span.set_status(api.Status(api.StatusCode.ERROR, trace.error or str(status)))
        span.end()


class _CallSpan:
    def __init__(self, api: Any, span: Any, traceparent: str) -> None:
        self.api, self.span, self.traceparent = api, span, traceparent

    def ended(self, sent: bytes, response: Any, error: BaseException | None) -> None:
        span = self.span
        if response is not None:
            span.set_attribute("http.response.status_code", int(response.status))
            if response.status >= 500:
                span.set_status(self.api.Status(self.api.StatusCode.ERROR))
        if error is not None:
            span.set_attribute("error.type", type(error).__name__)
            span.set_status(self.api.Status(self.api.StatusCode.ERROR, type(error).__name__))
        span.end()


def _process_provider(api: Any) -> Any:
    """The provider already installed, or an OTLP/HTTP exporting one (installed for all)."""
    provider = api.get_tracer_provider()
    if not isinstance(provider, api.ProxyTracerProvider | api.NoOpTracerProvider):
        return provider
    sdk = importlib.import_module("opentelemetry.sdk.trace")
    export = importlib.import_module("opentelemetry.sdk.trace.export")
    resources = importlib.import_module("opentelemetry.sdk.resources")
    otlp = importlib.import_module("opentelemetry.exporter.otlp.proto.http.trace_exporter")
    named = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": "dialect"}
    provider = sdk.TracerProvider(resource=resources.Resource.create(named))
    provider.add_span_processor(export.BatchSpanProcessor(otlp.OTLPSpanExporter()))
    api.set_tracer_provider(provider)
    return provider
