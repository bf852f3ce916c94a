"""Reading an app's document safely: defusedxml, and the size, depth and element limits.

The document comes from an app over the network, so nothing else in this package touches it
before it has been through ``parse``: it is parsed only with defusedxml, after a size check;
DTDs, entities and external references are refused, so an XML bomb or XXE payload raises
``DocumentError`` without expanding. Depth and element count are bounded before anything walks
the tree. ``DocumentError`` lives here because this is where the first one is raised; every
other module raises the same type, and the caller answers the carrier with a safe document of
its own.

May import: the standard library, defusedxml and ``model``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import defusedxml.ElementTree as SafeET  # type: ignore[import-untyped]
from defusedxml import DefusedXmlException

from proxy.providers.documents.model import Options


class DocumentError(Exception):
    """The document cannot be translated safely; the caller answers the carrier itself.

    ``reason`` is short and safe to log: it names elements and attributes, never their values
    (which may hold phone numbers or credentials)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse(doc: bytes, options: Options) -> ET.Element:
    """The document's root, parsed safely and within limits, or DocumentError."""
    if not isinstance(doc, bytes | bytearray):
        raise DocumentError("document is not bytes")
    if len(doc) > options.max_bytes:
        raise DocumentError("document is larger than the configured limit")
    try:
        root: ET.Element = SafeET.fromstring(
            bytes(doc), forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException:
        raise DocumentError("DTDs, entities and external references are refused") from None
    except (ET.ParseError, ValueError, LookupError):
        raise DocumentError("document is not well-formed XML") from None
    if root.tag != "Response":
        raise DocumentError(f"root element is <{printable(root.tag)}>, not <Response>")
    _check_shape(root, options)
    return root


def _check_shape(root: ET.Element, options: Options) -> None:
    """Bound depth and element count without recursion, before anything walks the tree."""
    stack = [(root, 1)]
    count = 0
    while stack:
        element, depth = stack.pop()
        count += 1
        if depth > options.max_depth:
            raise DocumentError("document is nested too deeply")
        if count > options.max_elements:
            raise DocumentError("document has too many elements")
        stack.extend((child, depth + 1) for child in element)


def printable(tag: str) -> str:
    """A tag or attribute name fit for a log line: printable and short."""
    text = "".join(ch if ch.isprintable() else "?" for ch in tag)
    return text if len(text) <= 40 else text[:37] + "..."
