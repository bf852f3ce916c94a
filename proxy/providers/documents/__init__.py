"""The call-control documents both providers speak, and the translation between them.

A Twilio-style app answers a callback with TwiML, a Plivo-style app with Plivo XML; the carrier
needs its own language. ``translate`` rewrites one into the other (voice documents and messaging
replies, both directions), routing every URL the carrier will request through a mapper the
caller supplies. Callers import from here or from ``translate``; the other modules are the
package's own.

What lives here, in the order a document meets it:

- ``translate``: the entry points (``twiml_to_plivo``, ``plivo_to_twiml``, ``hangup_document``)
  and the public types, re-exported.
- ``model``: what goes in and comes out (``Options``, ``UrlRequest``, ``Note``, ``Translated``).
- ``parsing``: defusedxml and the size, depth and element limits; ``DocumentError``.
- ``validation``: the whole document checked against its own dialect before translation.
- ``context``: one translation's state: URL resolution and mapping, the notes, and ``Attrs``,
  which makes sure no attribute is dropped without a note.
- ``values`` and ``attributes``: values respelled for the other dialect, and attributes carried
  over by the tables (with the verbs that are nothing but that).
- ``to_plivo`` + ``to_plivo_dial``: TwiML → Plivo XML; ``to_twiml`` + ``to_twiml_dial``: Plivo
  XML → TwiML; ``continuation``: Plivo's ``redirect="false"`` as a ``continue`` URL;
  ``messaging``: messaging replies, both directions.
- ``output``: the translated document written deterministically, within the output limit.
- ``tables``: the element, attribute and value mappings as data, read in both directions.

May import: the standard library and defusedxml only. Nothing here does I/O or knows about
requests, routes or configuration files: the caller passes the document, its URL, the incoming
parameters, a URL mapper and ``Options``, and gets bytes and notes back (or ``DocumentError``).
Inside, each module's docstring names the modules it may import; ``tables`` imports none, and
only ``translate`` imports ``to_plivo`` and ``to_twiml``.
"""

from __future__ import annotations

from proxy.providers.documents.translate import (
    DEFAULT,
    DocumentError,
    Note,
    Options,
    Translated,
    UrlMapper,
    UrlRequest,
    hangup_document,
    plivo_to_twiml,
    twiml_to_plivo,
)

__all__ = [
    "DEFAULT",
    "DocumentError",
    "Note",
    "Options",
    "Translated",
    "UrlMapper",
    "UrlRequest",
    "hangup_document",
    "plivo_to_twiml",
    "twiml_to_plivo",
]
