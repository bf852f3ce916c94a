"""One translation's state, and the two rules every element handler must follow.

``Context`` is what every handler needs: where the document came from, the incoming
parameters, the options, the notes so far, and URL resolution and mapping. Every URL the carrier
will *request* (actions, redirects, status callbacks, wait and whisper documents) is resolved
against the document's own URL the way a browser resolves a link (``urljoin``), only http(s) is
accepted, and the caller's ``UrlMapper`` says what to write instead; media URLs are only
resolved. Keeping that on the context means a handler cannot write a URL without going through
it.

``Attrs`` holds one source element's attributes: a handler takes what it uses and ``finish``
notes everything left as dropped, so no attribute disappears without a note.

May import: the standard library, ``tables``, ``model`` and ``parsing``.
"""

from __future__ import annotations

import re
import types
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from proxy.providers.documents import tables as t
from proxy.providers.documents.model import DROPPED, Note, Options, UrlMapper, UrlRequest
from proxy.providers.documents.parsing import DocumentError

_UNSAFE_URL_CHAR = re.compile(r"[\x00-\x20\x7f]")


@dataclass
class DialFold:
    """What earlier Plivo elements ask of a Dial: a scheduled hangup, a session recording."""

    time_limit: str | None = None
    recording: ET.Element | None = None


class Context:
    """What every handler needs: where the document came from, the URL mapper, the notes."""

    def __init__(
        self,
        source: str,
        document_url: str,
        mapper: UrlMapper,
        incoming: Mapping[str, str],
        options: Options,
    ) -> None:
        parts = urlsplit(document_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise DocumentError("the document URL is not an absolute http(s) URL")
        self.source = source
        self.document_url = document_url
        self.mapper = mapper
        self.incoming = incoming
        self.options = options
        self.notes: list[Note] = []
        # Plivo → TwiML only: per top-level position, what later elements fold into a Dial,
        # which positions were folded away, and each position's TwiML (built back to front).
        self.folds: dict[int, DialFold] = {}
        self.folded: set[int] = set()
        self.outputs: dict[int, list[ET.Element]] = {}

    def note(self, element: str, attribute: str | None, action: str, detail: str) -> None:
        self.notes.append(Note(element, attribute, action, detail))

    def resolve(self, value: str, where: str) -> str:
        """``value`` made absolute against the document URL; only http(s) is accepted."""
        text = value.strip()
        if not text or _UNSAFE_URL_CHAR.search(text):
            raise DocumentError(f"invalid URL in {where}")
        url = urljoin(self.document_url, text)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise DocumentError(f"URL in {where} is not http(s)")
        return url

    def route(
        self,
        value: str,
        *,
        kind: str,
        method: str,
        where: str,
        extra: Mapping[str, str] | None = None,
    ) -> str:
        """The URL to write for one the carrier will request: resolved, then mapped."""
        url = self.resolve(value, where)
        frozen = types.MappingProxyType(dict(extra or {}))
        return self.mapper(UrlRequest(url=url, method=method.upper(), kind=kind, extra=frozen))

    def route_attribute(
        self,
        a: Attrs,
        name: str,
        value: str,
        *,
        method: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> str:
        """Route the URL held by ``name`` (``tables.TEXT``: the element's text) of ``a``'s
        element, with the kind ``URL_ATTRIBUTES`` gives it and the method its element asks
        for (``method`` when the caller already took that attribute)."""
        kind, method_name = t.URL_ATTRIBUTES[(self.source, a.tag, name)]
        where = f"<{a.tag}>" if name == t.TEXT else f"{name} on <{a.tag}>"
        chosen = method or a.method(method_name)
        return self.route(value, kind=kind, method=chosen, where=where, extra=extra)

    def attrs(self, element: ET.Element) -> Attrs:
        return Attrs(self, element)


class Attrs:
    """The attributes of one source element. A handler takes what it uses; ``finish`` notes
    everything left as dropped, so no attribute disappears without a note."""

    def __init__(self, ctx: Context, element: ET.Element) -> None:
        self.ctx = ctx
        self.tag = element.tag
        self.values = dict(element.attrib)

    def take(self, name: str) -> str | None:
        return self.values.pop(name, None)

    def take_default(self, name: str) -> str:
        """The value, or the source dialect's default for it (written out explicitly)."""
        value = self.values.pop(name, None)
        return value if value is not None else defaults(self.ctx.source, self.tag)[name]

    def peek(self, name: str) -> str | None:
        return self.values.get(name)

    def take_if(self, name: str, value: str) -> None:
        """Take ``name`` only when it says ``value``: what the target does anyway, so nothing
        is lost by not writing it; any other value is left for ``finish`` to note."""
        if self.values.get(name) == value:
            del self.values[name]

    def method(self, name: str | None) -> str:
        """The HTTP method the app expects for a URL (POST unless the element says)."""
        value = self.values.get(name) if name else None
        return (value or "POST").upper()

    def take_method(self, name: str) -> tuple[str, str | None]:
        """Take a URL's method attribute: the method to request the URL with, and the same
        method again only if the element wrote it (so a default is not written out)."""
        method = self.method(name)
        return method, (method if self.take(name) is not None else None)

    def finish(self) -> None:
        for name in sorted(self.values):
            reason = t.DROPPED.get((self.ctx.source, self.tag, name), t.GENERIC_DROP)
            self.ctx.note(self.tag, name, DROPPED, reason)
        self.values.clear()


def defaults(style: str, tag: str) -> dict[str, str]:
    """What ``style`` assumes for ``tag``'s absent attributes."""
    table = t.TWIML_DEFAULTS if style == t.TWILIO else t.PLIVO_DEFAULTS
    return table.get(tag, {})
