"""Translate call-control documents: TwiML ⇄ Plivo XML, voice and messaging replies.

A Twilio-style app answers with TwiML, a Plivo-style app with Plivo XML, and the carrier speaks
the other language. ``twiml_to_plivo`` and ``plivo_to_twiml`` rewrite one into the other, element
by element, driven by the tables in ``tables`` (one row serves both directions).

Safety first, because the document comes from an app over the network:

- It is parsed only with defusedxml, after a size check; DTDs, entities and external references
  are refused, so an XML bomb or XXE payload raises ``DocumentError`` without expanding. Depth
  and element count are bounded before anything else looks at the tree (``parsing``).
- The whole document is validated against the source dialect before translation: an unknown
  element or attribute, a value outside its enumeration, stray text, or a verb the other dialect
  cannot run raises ``DocumentError`` naming it (``validation``). The caller then answers the
  carrier with a safe document of its own; nothing unknown is ever forwarded.

URLs: every URL the carrier will *request* (actions, redirects, status callbacks, wait and
whisper documents) is resolved against the document's own URL the way a browser resolves a link
(``urljoin``) and handed to the caller's ``UrlMapper`` with the method the app expects and a
``kind``; what the mapper returns is written into the translated document. Media URLs (``<Play>``)
are only resolved, since the carrier fetches audio directly (``context``).

Nothing is lost silently: each approximation, drop, clamp or move is a ``Note`` in the result.

Plivo's ``redirect="false"`` (the action is called, its answer ignored, and the document goes
on) has no TwiML form. For a Plivo-style app on a Twilio carrier the element's action becomes a
URL of kind ``"continue"``; its ``extra`` carries what the proxy needs to play the part of Plivo:

- ``action``: the app's action URL, absolute; empty when the element had none (nothing to call),
- ``method``: the method the app expects on it,
- ``element``: the Plivo element whose result the carrier will post (``GetDigits``, ``Record``…),
- ``rest``: the translated TwiML of the elements that followed it, as one compact
  ``<Response>`` without declaration or whitespace: the answer to give the carrier.

``rest`` may itself hold ``continue`` URLs, so its size grows with each such element that
follows: a mapper should store the payload server side and put only a reference in the URL.
GetDigits/GetInput/Record without an action also get a ``continue`` URL (with an empty
``action``), because Twilio would otherwise re-request the current document and loop.

This module is the entry point and holds only the three public functions; the public types are
re-exported from ``model`` and ``parsing`` so that callers import everything from here (or from
the package). The translation itself is in ``to_plivo`` and ``to_twiml`` (with their ``_dial``
companions), ``messaging`` and ``continuation``.

May import: the standard library and every module of this package.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping

from proxy.providers.documents import tables as t
from proxy.providers.documents import to_plivo, to_twiml
from proxy.providers.documents.context import Context
from proxy.providers.documents.model import (
    APPROXIMATED,
    CLAMPED,
    DEFAULT,
    DROPPED,
    EXPANDED,
    FOLDED,
    MOVED,
    REPLACED,
    Note,
    Options,
    Style,
    Translated,
    UrlMapper,
    UrlRequest,
)
from proxy.providers.documents.output import DECLARATION, make, serialize
from proxy.providers.documents.parsing import DocumentError, parse
from proxy.providers.documents.validation import validate_tree

__all__ = [
    "APPROXIMATED",
    "CLAMPED",
    "DECLARATION",
    "DEFAULT",
    "DROPPED",
    "EXPANDED",
    "FOLDED",
    "MOVED",
    "REPLACED",
    "DocumentError",
    "Note",
    "Options",
    "Style",
    "Translated",
    "UrlMapper",
    "UrlRequest",
    "hangup_document",
    "plivo_to_twiml",
    "twiml_to_plivo",
]


def twiml_to_plivo(
    doc: bytes,
    *,
    document_url: str,
    url_mapper: UrlMapper,
    incoming: Mapping[str, str],
    options: Options = DEFAULT,
) -> Translated:
    """A Twilio-style app's TwiML (voice or messaging reply) as Plivo XML for a Plivo carrier.

    ``incoming`` holds the Twilio-style parameters the app received; a messaging reply takes
    its ``src``/``dst`` from them (Plivo needs them written, Twilio defaults them)."""
    return _translate(doc, t.TWILIO, to_plivo.response, document_url, url_mapper, incoming, options)


def plivo_to_twiml(
    doc: bytes,
    *,
    document_url: str,
    url_mapper: UrlMapper,
    incoming: Mapping[str, str],
    options: Options = DEFAULT,
) -> Translated:
    """A Plivo-style app's XML (voice, or a messaging reply) as TwiML for a Twilio carrier.

    ``incoming`` holds the Plivo-style parameters the app received; it tells a messaging reply
    (``MessageUUID``) from a voice document (``CallUUID``)."""
    return _translate(doc, t.PLIVO, to_twiml.response, document_url, url_mapper, incoming, options)


def hangup_document(style: Style) -> bytes:
    """A document that ends the call, in either dialect (both spell it the same way)."""
    if style not in (t.TWILIO, t.PLIVO):
        raise ValueError(f"unknown document style {style!r}")
    return serialize([make("Hangup", {})], DEFAULT)


def _translate(
    doc: bytes,
    source: str,
    response: Callable[[Context, ET.Element], list[ET.Element]],
    document_url: str,
    url_mapper: UrlMapper,
    incoming: Mapping[str, str],
    options: Options,
) -> Translated:
    """Parse and validate ``doc`` in the ``source`` dialect, then translate it whole."""
    root = parse(doc, options)
    validate_tree(root, source)
    ctx = Context(source, document_url, url_mapper, incoming, options)
    return Translated(serialize(response(ctx, root), options), ctx.notes)
