"""The only code that speaks HTTP bytes: the listening server, the upstream client, the plain
``Request``/``Response`` the rest of the proxy works on, and the header rules (hop-by-hop,
forwarding) both sides share.

May import: ``proxy.ops.logs`` (its log lines), ``proxy.ops.tracecontext`` (the
``traceparent`` every outbound request carries, and who watches it), ``proxy.settings.models``
(the limits it enforces) and ``proxy.engine.errors`` (a refused request is a ``ProblemError``
like any other).
Nothing here knows a provider, a route or a step.

The modules, and what each may import from this package:

* ``messages``, ``headers``: the plain request and response, and the header rules. Import
  nothing from here.
* ``budget``: the process-wide count of answer bytes held. Imports nothing from here.
* ``tls``: the TLS contexts of both sides. Imports nothing from here.
* ``server``: the server object, ``start`` and ``shutdown``; what the rest of the proxy
  imports for the listening side. Imports ``server_connection``, ``server_limits``, ``tls``,
  ``budget``, ``messages``.
* ``server_connection``: one client connection, bytes in to requests queued. Imports
  ``server_answers``, ``server_limits``, ``budget``, ``messages``.
* ``server_answers``: the connection's queue answered, refusals, the close after an answer.
  Imports ``server_limits``, ``budget``, ``messages``.
* ``server_limits``: max_connections, timeouts, slow readers, the answer budget held.
  Imports ``budget``.
* ``client``: the upstream pool; what the rest of the proxy imports for the upstream side.
  Imports ``client_connection``, ``tls``.
* ``client_connection``: one upstream connection and the answer it reads, the client's errors
  and its ``Response``. Imports ``budget``.

The server's modules name one another's classes in annotations only (``TYPE_CHECKING``):
``server_connection`` names ``server.HTTPServer``, ``server_answers`` and ``server_limits``
name ``server_connection.ServerConnection``, and ``client_connection`` names ``client.Pool``.
No module imports one that imports it.
"""
