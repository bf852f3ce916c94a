"""What a translation takes and gives back: options, URL requests, notes and the result.

These types are the package's public vocabulary (``translate`` re-exports them) and the only
thing every other module here shares besides the tables, so they live apart from any behaviour:
a caller can read what it hands in and gets out without reading how a document is walked.

May import: the standard library and ``tables`` only.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from proxy.providers.documents import tables as t

Style = Literal["twilio", "plivo"]

# What a Note says was done: a closed set, fit for a metric label.
DROPPED: Final = "dropped"
APPROXIMATED: Final = "approximated"
CLAMPED: Final = "clamped"
MOVED: Final = "moved"
EXPANDED: Final = "expanded"
FOLDED: Final = "folded"
REPLACED: Final = "replaced"


@dataclass(frozen=True)
class UrlRequest:
    """A URL found in the document, to be routed back through the proxy.

    ``url`` is absolute (resolved against the document's URL); ``method`` is what the app expects
    (``GET``/``POST``); ``kind`` is one of the ``tables.KIND_*`` values; ``extra`` holds
    kind-specific data (see the ``translate`` module notes for ``continue``; an ``action`` from a
    Plivo GetDigits may carry ``validDigits`` and ``invalidDigitsSound`` for the action step to
    enforce)."""

    url: str
    method: str
    kind: str
    extra: Mapping[str, str] = field(default_factory=lambda: types.MappingProxyType({}), hash=False)


UrlMapper = Callable[[UrlRequest], str]


@dataclass(frozen=True)
class Note:
    """One thing the translation could not carry over exactly, for a log line and a metric.

    ``element`` and ``attribute`` name the source's element and attribute, except for a clamp,
    which names the value written in the target. ``action`` (what was done) is one of: dropped,
    approximated, clamped, moved, expanded, folded, replaced (a closed set, fit for a metric label);
    ``detail`` is a short sentence; it never quotes text or URLs from the document."""

    element: str
    attribute: str | None
    action: str
    detail: str


@dataclass
class Translated:
    """The translated document (UTF-8, with declaration) and what was approximated on the way."""

    body: bytes
    notes: list[Note] = field(default_factory=list)


@dataclass(frozen=True)
class Options:
    """Deployment choices the reference leaves open.

    ``voice_fallback`` maps a language (``en-US``, or just ``en``) to the Plivo voice used in
    place of a Google voice, else ``default_voice``. ``apology`` is spoken before hanging
    up when a document uses a Twilio queue; ``queue_rooms`` maps a queue name to a Plivo
    conference room instead. ``client_endpoints`` maps a Twilio Client identity to a Plivo
    endpoint username (identity itself when absent), dialled at ``client_domain``. The ``max_*``
    values bound what a document may cost."""

    voice_fallback: Mapping[str, str] = field(default_factory=dict)
    default_voice: str = "WOMAN"
    apology: str = "Sorry, this call cannot be put in a queue. Goodbye."
    queue_rooms: Mapping[str, str] = field(default_factory=dict)
    client_domain: str = t.DEFAULT_CLIENT_DOMAIN
    client_endpoints: Mapping[str, str] = field(default_factory=dict)
    max_bytes: int = 64 * 1024
    max_depth: int = 16
    max_elements: int = 500
    max_output_bytes: int = 256 * 1024


DEFAULT: Final = Options()
