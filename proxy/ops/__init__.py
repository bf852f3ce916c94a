"""What an operator sees: the admin endpoints (``/_dialect/healthz``, ``readyz``, ``metrics``),
request metrics, and the structured log line with secrets scrubbed.

May import: ``http`` messages, ``settings``, ``engine.upstream`` (readiness probes the
upstreams). ``logs`` and ``metrics`` import nothing of the proxy, so every layer may use them.
"""
