"""Twilio-style XML out, and XML in only through defusedxml.

Encoding follows Twilio's 2010-04-01 XML so that clients parsing Twilio's own XML read ours the
same way: root ``<TwilioResponse>``, PascalCase element names, null as an empty element, a list
as repeated children named in the singular, a list page as one plural element whose attributes
carry the paging fields, errors as ``<RestException>``. A list page is recognised the way the
twilio SDK recognises one: at least one envelope key, and exactly one other key holding a list.

The output is written by hand rather than through ElementTree so that every byte is under
control: it is always well-formed, whatever the data holds. Its bytes match what ElementTree
wrote before (``<Price />`` for null, ``""``, ``[]`` and ``{}``), so golden files stay valid.

- A key that is not a valid XML name once PascalCased (``DateSent>``, ``1st``, ``a b``) has each
  character outside ``[A-Za-z0-9_.-]`` replaced by ``_``, and gains a leading ``_`` unless it
  starts with a letter or ``_``: ``DateSent>`` → ``DateSent_``, ``1st`` → ``_1st``, ``""`` → ``_``.
- Characters XML 1.0 cannot carry at all (most C0 controls, U+FFFE, U+FFFF, lone surrogates)
  are replaced by U+FFFD, so a client sees that something was there.
- Carriage returns are written as ``&#13;`` so that a ``\\r\\n`` in a message body survives the
  parser's line-end normalisation.

Decoding refuses DTDs, entity declarations and external references outright, so "billion
laughs" and XXE payloads are never expanded.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import defusedxml.ElementTree as SafeET  # type: ignore[import-untyped]
import orjson
from defusedxml import DefusedXmlException

from proxy.codecs.casing import singular, to_pascal
from proxy.codecs.errors import DecodeError
from proxy.providers.twilio.rest import LIST_ENVELOPE_KEYS

ENVELOPE_KEYS = LIST_ENVELOPE_KEYS
ROOT = "TwilioResponse"
DECLARATION = "<?xml version='1.0' encoding='utf-8'?>\n"

_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_NOT_NAME_CHAR = re.compile(r"[^A-Za-z0-9_.\-]")
_TEXT_ESCAPES_MAP = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}
_TEXT_ESCAPES = str.maketrans(_TEXT_ESCAPES_MAP)
_ATTR_ESCAPES = str.maketrans({**_TEXT_ESCAPES_MAP, '"': "&quot;", "\n": "&#10;", "\t": "&#9;"})


def list_page(data: Any) -> tuple[str, list[Any]] | None:
    """The records key and records if ``data`` is a list page (the SDK's test), else None."""
    if not isinstance(data, dict) or not any(key in ENVELOPE_KEYS for key in data):
        return None
    rest = [key for key in data if key not in ENVELOPE_KEYS]
    if len(rest) == 1 and isinstance(data[rest[0]], list):
        return rest[0], data[rest[0]]
    return None


def scalar_text(value: Any) -> str:
    """A value as text where structure cannot be kept (attributes, CSV cells): null is empty,
    booleans are JSON's, and a dict or list is compact JSON rather than Python's repr."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list | tuple):
        return orjson.dumps(value).decode()
    return str(value)


def xml_name(name: str) -> str:
    """``name`` made a valid XML name, deterministically (see the module's notes)."""
    safe = _NOT_NAME_CHAR.sub("_", name)
    return safe if safe[:1].isalpha() or safe[:1] == "_" else f"_{safe}"


def element_name(key: Any) -> str:
    """The element for a field: its key PascalCased, then made a valid XML name."""
    return xml_name(to_pascal(str(key)))


def _text(value: Any) -> str:
    return _NOT_XML_CHAR.sub("\ufffd", scalar_text(value)).translate(_TEXT_ESCAPES)


def _attr(value: Any) -> str:
    return _NOT_XML_CHAR.sub("\ufffd", scalar_text(value)).translate(_ATTR_ESCAPES)


# Work for the writer: markup to emit as is, or an element (name, value) still to render.
_Work = str | tuple[str, Any]


def _children(value: dict[Any, Any] | list[Any] | tuple[Any, ...], name: str) -> list[_Work]:
    if isinstance(value, dict):
        return [(element_name(key), item) for key, item in value.items()]
    item_name = singular(name)
    return [(item_name, item) for item in value]


def _write(out: list[str], work: list[_Work]) -> None:
    """Render ``work`` in order. An explicit stack, not recursion: the data comes from upstreams,
    and no nesting depth may turn into a RecursionError."""
    stack = list(reversed(work))
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        name, value = item
        if isinstance(value, dict | list | tuple) and value:
            out.append(f"<{name}>")
            stack.append(f"</{name}>")
            stack.extend(reversed(_children(value, name)))
        elif isinstance(value, dict | list | tuple) or not (text := _text(value)):
            out.append(f"<{name} />")  # null, "", [] and {} alike, as ElementTree writes them
        else:
            out.append(f"<{name}>{text}</{name}>")


def _close(out: list[str], name: str, opened_at: int) -> None:
    """End the element ``name`` whose start tag is ``out[opened_at]``: as an empty-element tag
    when nothing was written inside it, as ElementTree would."""
    if len(out) == opened_at + 1:
        out[opened_at] = out[opened_at][:-1] + " />"
    else:
        out.append(f"</{name}>")


def encode_xml(data: Any, *, resource: str | None = None, error: bool = False) -> bytes:
    """``data`` as a Twilio XML document; ``resource`` names the element of a single resource
    (``Message``) and of each item of a top-level list (default ``Item``)."""
    out = [DECLARATION, f"<{ROOT}>"]
    page = None if error else list_page(data)
    if error:
        _write(out, [("RestException", data)])
    elif page is not None:
        key, records = page
        container = element_name(key)
        attrs = "".join(
            f' {xml_name(k.replace("_", "").lower())}="{_attr(v)}"'
            for k, v in data.items()
            if k in ENVELOPE_KEYS
        )
        opened_at = len(out)
        out.append(f"<{container}{attrs}>")
        item_name = singular(container)
        _write(out, [(item_name, record) for record in records])
        _close(out, container, opened_at)
    elif data is None:
        pass  # nothing to say (a deleted resource): an empty response, whatever the resource
    elif isinstance(data, list | tuple):
        item_name = xml_name(resource or "Item")
        _write(out, [(item_name, item) for item in data])
    elif resource is not None:
        _write(out, [(xml_name(resource), data)])
    elif isinstance(data, dict):
        _write(out, _children(data, ROOT))
    else:
        out.append(_text(data))
    _close(out, ROOT, 1)
    return "".join(out).encode("utf-8")


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _element_value(elem: ET.Element, depth: int, max_depth: int) -> Any:
    if depth > max_depth:
        raise DecodeError(f"XML is nested more than {max_depth} levels deep")
    children = list(elem)
    if not children:
        return elem.text or None
    fields: dict[str, Any] = {}
    repeated: set[str] = set()
    for child in children:
        tag, value = _local(child.tag), _element_value(child, depth + 1, max_depth)
        if tag in repeated:
            fields[tag].append(value)
        elif tag in fields:
            fields[tag] = [fields[tag], value]
            repeated.add(tag)
        else:
            fields[tag] = value
    return fields


def decode_xml(raw: bytes, *, max_depth: int = 64) -> dict[str, Any]:
    """The root element's children as fields, for request and upstream XML bodies.

    Each child becomes ``{tag: value}`` in document order, with the namespace dropped from the
    tag; a repeated tag becomes a list of its values. A child without children has its text as
    the value, exactly as written, ``None`` when empty; one with children is a dict of its own.
    Attributes (the root's included), comments, and text mixed between child elements are
    ignored, so a root without children decodes to ``{}``. Nesting beyond ``max_depth`` levels
    (the root being level 1) is refused.
    """
    try:
        root = SafeET.fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise DecodeError("XML with DTDs or entities is refused") from None
    except (ET.ParseError, LookupError, UnicodeError):
        raise DecodeError("body is not well-formed XML") from None
    if not list(root):
        return {}
    data: dict[str, Any] = _element_value(root, 1, max_depth)
    return data
