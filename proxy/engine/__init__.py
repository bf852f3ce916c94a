"""The request flow: route, authenticate, decode once, run the request steps, call the upstream,
decode once, run the response steps or error rules, encode once. Also what that flow needs on
the way: idempotent creates (``store``), failed-authentication limiting, the error tree and its
rendering in the client's style, and ``dialect translate``'s offline run of the same flow.

May import: ``http`` (messages and the client), ``pipeline`` (running steps), ``providers``
(styles), ``codecs``, ``settings``, ``ops`` (logs, metrics). ``errors`` and ``exchange`` are
imported by every layer below it: the error tree and the state a step edits are the contract
between the engine and the rules.
"""
