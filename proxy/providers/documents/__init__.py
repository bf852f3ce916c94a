"""The call-control documents both providers speak, and the translation between them.

A Twilio-style app answers a callback with TwiML, a Plivo-style app with Plivo XML; the carrier
needs its own language. ``translate`` rewrites one into the other (voice documents and messaging
replies, both directions), routing every URL the carrier will request through a mapper the
caller supplies. ``tables`` holds the element, attribute and value mappings as data, read in both
directions.

May import: the standard library and defusedxml only. Nothing here does I/O or knows about
requests, routes or configuration files: the caller passes the document, its URL, the incoming
parameters, a URL mapper and ``Options``, and gets bytes and notes back (or ``DocumentError``).
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
