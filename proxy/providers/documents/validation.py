"""Checking the whole document against its own dialect before a single element is translated.

An unknown element or attribute, a value outside its enumeration, stray text, or a verb the
other dialect cannot run raises ``DocumentError`` naming it, so nothing unknown is ever
forwarded and the translators may assume every name and value they meet is one the tables
define. The value checks for the kinds ``tables`` names (``bool``, ``method``, ``dtmf``…) are
here; the two patterns a translator needs again (a Google voice, DTMF digits) are exported so
that both sides read a value with the same spelling rules.

May import: the standard library, ``tables`` and ``parsing``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Final

from proxy.providers.documents import tables as t
from proxy.providers.documents.parsing import DocumentError, printable

_INT = re.compile(r"[0-9]{1,9}")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")
_POLLY = re.compile(r"Polly\.[A-Z][A-Za-z]+(?:-(?:Neural|Generative|LongForm))?")
GOOGLE_VOICE = re.compile(r"Google\.([a-z]{2,3}-[A-Z]{2})-[A-Za-z0-9-]+")
DTMF_DIGITS = re.compile(r"[0-9A-Da-d*#wW]+")
_KEY = re.compile(r"[0-9*#]?")
_KEYS = re.compile(r"[0-9*#]*")


def _is_int(value: str, minimum: int) -> bool:
    return _INT.fullmatch(value) is not None and int(value) >= minimum


_VALIDATORS: Final[dict[str, Callable[[str], bool]]] = {
    t.BOOL: lambda v: v in ("true", "false"),
    t.METHOD: lambda v: v.upper() in ("GET", "POST"),
    t.INT0: lambda v: _is_int(v, 0),
    t.INT1: lambda v: _is_int(v, 1),
    t.AUTO_INT: lambda v: v == "auto" or _is_int(v, 1),
    t.URL: lambda v: bool(v.strip()),
    t.MEDIA: lambda v: bool(v.strip()),
    t.LANGUAGE: lambda v: _LANGUAGE.fullmatch(v) is not None,
    "twilio-voice": lambda v: (
        v in ("man", "woman", "alice")
        or _POLLY.fullmatch(v) is not None
        or GOOGLE_VOICE.fullmatch(v) is not None
    ),
    "plivo-voice": lambda v: v in ("MAN", "WOMAN") or _POLLY.fullmatch(v) is not None,
    t.DTMF: lambda v: DTMF_DIGITS.fullmatch(v) is not None,
    t.KEY: lambda v: _KEY.fullmatch(v) is not None,
    t.KEYS: lambda v: _KEYS.fullmatch(v) is not None,
    t.PLIVO_KEY: lambda v: v == "none" or _KEY.fullmatch(v) is not None,
    t.PLIVO_KEYS: lambda v: v == "none" or _KEYS.fullmatch(v) is not None,
    t.PHONE: lambda v: bool(v.strip()) and len(v) <= 64,
    t.ANY: lambda v: True,
}


VOCABULARIES: Final[dict[str, tuple[dict[str, t.Spec], dict[str, str]]]] = {
    t.TWILIO: ({**t.TWIML_ELEMENTS, **t.SSML}, t.TWIML_REFUSED),
    t.PLIVO: ({**t.PLIVO_ELEMENTS, **t.SSML}, t.PLIVO_REFUSED),
}
"""Per dialect: every element it defines (its own and SSML), and the ones it refuses, with why."""


def validate_tree(root: ET.Element, style: str) -> None:
    """Refuse the whole document up front if any part of it is unknown, invalid or refused."""
    vocabulary, refused = VOCABULARIES[style]
    _validate(root, vocabulary["Response"], vocabulary, refused)


def _validate(
    element: ET.Element, spec: t.Spec, vocabulary: dict[str, t.Spec], refused: dict[str, str]
) -> None:
    tag = element.tag
    for name, value in element.attrib.items():
        kind = spec.attributes.get(name)
        if kind is None:
            raise DocumentError(f"unknown attribute {printable(name)} on <{printable(tag)}>")
        valid = value in kind if isinstance(kind, tuple) else _VALIDATORS[kind](value)
        if not valid:
            raise DocumentError(f"invalid value for {printable(name)} on <{printable(tag)}>")
    if spec.text == t.TEXT_NONE and (element.text or "").strip():
        raise DocumentError(f"unexpected text in <{printable(tag)}>")
    for child in element:
        if child.tag in refused:
            raise DocumentError(f"unsupported element <{child.tag}>: {refused[child.tag]}")
        child_spec = vocabulary.get(child.tag)
        if child_spec is None:
            raise DocumentError(f"unknown element <{printable(child.tag)}>")
        if child.tag not in spec.children:
            raise DocumentError(f"<{child.tag}> is not allowed in <{printable(tag)}>")
        if spec.text != t.TEXT_MIXED and (child.tail or "").strip():
            raise DocumentError(f"unexpected text in <{printable(tag)}>")
        _validate(child, child_spec, vocabulary, refused)
