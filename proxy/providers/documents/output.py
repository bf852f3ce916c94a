"""Writing the translated document: elements in a fixed order, the declaration, the output cap.

Both directions build their output the same way, so the details that make it deterministic
(attributes sorted, ``None`` meaning "not written") and bounded (``max_output_bytes``: a
``continue`` URL can carry the rest of a document, so output can outgrow input) are kept in one
place.

May import: the standard library, ``model`` and ``parsing`` (for ``DocumentError``).
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Final

from proxy.providers.documents.model import Options
from proxy.providers.documents.parsing import DocumentError

DECLARATION: Final = '<?xml version="1.0" encoding="UTF-8"?>'


def make(tag: str, attributes: Mapping[str, str | None], text: str | None = None) -> ET.Element:
    """An output element with its attributes in sorted order (deterministic output)."""
    element = ET.Element(tag)
    for name in sorted(attributes):
        value = attributes[name]
        if value is not None:
            element.set(name, value)
    if text is not None:
        element.text = text
    return element


def serialize(children: list[ET.Element], options: Options) -> bytes:
    """The ``<Response>`` the carrier gets: UTF-8, with declaration, within the output limit."""
    root = ET.Element("Response")
    root.extend(children)
    body = (DECLARATION + ET.tostring(root, encoding="unicode")).encode("utf-8")
    if len(body) > options.max_output_bytes:
        raise DocumentError("translated document is larger than the configured limit")
    return body


def compact(children: list[ET.Element]) -> str:
    """A ``<Response>`` of ``children`` as compact text (the ``rest`` of a continue URL)."""
    root = ET.Element("Response")
    root.extend(children)
    return ET.tostring(root, encoding="unicode")


def copy_speech(source: ET.Element, target: ET.Element) -> None:
    """Copy spoken text and its SSML (the same in both dialects, already validated)."""
    target.text = source.text
    for child in source:
        target.append(copy.deepcopy(child))
