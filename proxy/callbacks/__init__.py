"""Callbacks: the carrier calls Dialect, Dialect calls the app.

When an app's REST request names its own callback URL, the carrier is given a URL under Dialect's
public base instead, and every callback arrives here first: Dialect checks the carrier's
signature on the public URL it called, translates the parameters, re-signs them with the app-side
token and forwards them to the app's URL.

What lives here:

- ``tokens``: callback URL tokens. A token carries, authenticated with a key, where the app wants
  the callback (URL, method, fallback), its kind and its account, so that any replica with the
  same configuration can serve it without shared state and nobody can forge or alter one.
- ``signatures``: the carriers' signature schemes (``X-Twilio-Signature``,
  ``X-Plivo-Signature-V3`` and ``-V2``), signing and verifying as pure functions.
- ``issuer``: seals an app's URL into a public callback URL for one loaded config.
- ``plan``: the ``callbacks:`` block compiled (issuer, kinds and their parameter steps).
- ``relay``: the flow: open the token, verify the carrier, translate the parameters, re-sign and
  call the app, translate its document back (``proxy.providers.documents``) or fall back.
- ``aliases``: records, from verified callbacks, the id the app was given for what the carrier
  knows under another id (Plivo's request id → call id), for the routes that resolve.
- ``offline``: ``dialect translate --callback`` and ``--document`` on the same code.

May import: ``http`` (the client that calls apps), ``pipeline`` (running parameter steps),
``providers.documents``, ``settings``, ``ops``, ``engine.errors``, ``engine.exchange`` and
``engine.aliases`` (the store keys both sides of an alias agree on).
``tokens`` and ``signatures`` import nothing of the proxy: the mocks sign with them too.
"""
