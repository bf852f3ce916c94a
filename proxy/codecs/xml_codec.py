"""Twilio-style XML out, and XML in only through defusedxml.

Encoding follows Twilio's 2010-04-01 XML: root ``<TwilioResponse>``, PascalCase element names,
null as an empty element, a list field as repeated singular children, a list page as one plural
element whose attributes carry the paging links, errors as ``<RestException>``. A list page is
recognised the way the twilio SDK recognises one: envelope keys plus exactly one list.

Decoding refuses DTDs, entity declarations and external references outright, so "billion
laughs" and XXE payloads never expand.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import defusedxml.ElementTree as SafeET  # type: ignore[import-untyped]
from defusedxml import DefusedXmlException

from proxy.casing import singular, to_pascal
from proxy.codecs.errors import DecodeError
from proxy.dialects.twilio import LIST_ENVELOPE_KEYS

ENVELOPE_KEYS = LIST_ENVELOPE_KEYS
_INVALID_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NAME_START = re.compile(r"^[A-Za-z_]")
_NAME_BAD = re.compile(r"[^A-Za-z0-9_.\-]")


def list_page(data: Any) -> tuple[str, list[Any]] | None:
    """The records key and records if ``data`` is a list page, else None."""
    if not isinstance(data, dict) or not any(k in ENVELOPE_KEYS for k in data):
        return None
    rest = [k for k in data if k not in ENVELOPE_KEYS]
    if len(rest) == 1 and isinstance(data[rest[0]], list):
        return rest[0], data[rest[0]]
    return None


def element_name(key: str) -> str:
    """A valid XML name for a key: PascalCase, with other characters replaced by ``_``."""
    name = _NAME_BAD.sub("_", to_pascal(str(key)))
    return name if _NAME_START.match(name) else f"_{name}"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _INVALID_XML_CHARS.sub("\ufffd", str(value))


def _fill(parent: ET.Element, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(parent, element_name(key)), item)
    elif isinstance(value, list | tuple):
        child_name = singular(parent.tag)
        if child_name == parent.tag:
            child_name = f"{parent.tag}Item"
        for item in value:
            _fill(ET.SubElement(parent, child_name), item)
    else:
        parent.text = _text(value)


def encode_xml(data: Any, *, resource: str | None = None, error: bool = False) -> bytes:
    root = ET.Element("TwilioResponse")
    if error:
        _fill(ET.SubElement(root, "RestException"), data)
    elif (page := list_page(data)) is not None:
        key, records = page
        container = ET.SubElement(root, element_name(key))
        for k, v in data.items():
            if k in ENVELOPE_KEYS:
                container.set(k.replace("_", ""), "" if v is None else _text(v))
        item_name = singular(container.tag)
        for record in records:
            _fill(ET.SubElement(container, item_name), record)
    elif isinstance(data, list):
        for item in data:
            _fill(ET.SubElement(root, resource or "Item"), item)
    elif resource:
        _fill(ET.SubElement(root, resource), data)
    else:
        _fill(root, data)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b"<?xml version='1.0' encoding='utf-8'?>\n" + body


def _to_data(elem: ET.Element, depth: int, max_depth: int) -> Any:
    if depth > max_depth:
        raise DecodeError("XML is nested too deeply")
    children = list(elem)
    if not children:
        text = (elem.text or "").strip()
        return text or None
    out: dict[str, Any] = {}
    for child in children:
        value = _to_data(child, depth + 1, max_depth)
        if child.tag in out:
            prior = out[child.tag]
            if isinstance(prior, list):
                prior.append(value)
            else:
                out[child.tag] = [prior, value]
        else:
            out[child.tag] = value
    return out


def decode_xml(raw: bytes, *, max_depth: int = 64) -> Any:
    """The root's children as a dict (repeated tags become lists); attributes are ignored."""
    try:
        root = SafeET.fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise DecodeError("XML with DTDs or entities is refused") from None
    except ET.ParseError:
        raise DecodeError("body is not well-formed XML") from None
    data = _to_data(root, 0, max_depth)
    return data if isinstance(data, dict) else {}
