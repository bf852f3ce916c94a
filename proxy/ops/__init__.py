"""What an operator sees: the admin endpoints (``/_dialect/healthz``, ``readyz``, ``metrics``),
request metrics, and the structured log line with secrets scrubbed; the trace context every
request carries (``tracecontext``) and its optional OpenTelemetry export (``otel``); and the
inspector page of a local gateway (``inspector``, ``inspector_history``, ``inspector_record``).

May import: ``http`` messages, ``settings``, ``engine.upstream`` (readiness probes the
upstreams), ``pipeline.trace`` (the step trace the inspector shows). ``logs``, ``metrics`` and
``tracecontext`` import nothing of the proxy, so every layer may use them.
"""
