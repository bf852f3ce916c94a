"""The only code that speaks HTTP bytes: the listening server, the upstream client, the plain
``Request``/``Response`` the rest of the proxy works on, and the header rules (hop-by-hop,
forwarding) both sides share.

May import: ``proxy.ops.logs`` (its log lines), ``proxy.ops.tracecontext`` (the
``traceparent`` every outbound request carries, and who watches it), ``proxy.settings.models``
(the limits it enforces) and ``proxy.engine.errors`` (a refused request is a ``ProblemError``
like any other).
Nothing here knows a provider, a route or a step.
"""
