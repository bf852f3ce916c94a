"""The request flow and what it needs on the way.

One routed request, outermost first: ``handler`` (request id, metrics, the log line, any failure
in the client's style) → ``intake`` (route, ``auth`` with its failure limits in ``ratelimit``,
the client's parameters decoded once, the request steps; before them ``aliases`` resolves an
id for routes that ask, over ``store``) → ``idempotency`` for creates (over ``store``) →
``completion`` (``upstream_calls`` over ``upstream`` and its circuit ``breaker``,
then the response steps or error rules, ``render``, and ``conditional``: a fetch's validators or
the 304 that stands for it). ``exchange`` is the one object carrying the request; ``errors`` the
error tree; ``routing`` the compiled routes; ``translate`` runs the same completion offline.

May import: ``http`` (messages and the client), ``pipeline`` (running steps), ``providers``
(styles), ``codecs``, ``settings``, ``ops`` (logs, metrics). ``errors`` and ``exchange`` are
imported by every layer below it: the error tree and the state a step edits are the contract
between the engine and the rules.
"""
