"""Carrying a source element's attributes over to the target, the same way in both directions.

``rename`` walks a ``RENAMES`` row left to right or right to left and converts each value by its
kind; ``clamp`` keeps a number within the target's limits; ``callback`` carries a status URL and
the method the app wrote for it; ``carry`` is the last step of most handlers: the target
element, with the table's attributes carried over and the rest noted. ``speech``,
``record_timing`` and ``redirect`` are the parts of three verbs that are nothing but such
carrying, identical in both directions, so each is written once.

May import: the standard library, ``tables``, ``model``, ``context``, ``values``,
``validation`` (each attribute's value kind) and ``output``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from proxy.providers.documents import tables as t
from proxy.providers.documents.context import Attrs, Context
from proxy.providers.documents.model import CLAMPED
from proxy.providers.documents.output import copy_speech, make
from proxy.providers.documents.validation import VOCABULARIES
from proxy.providers.documents.values import finish_key, pair_value, phone, twilio_digits

Out = dict[str, str | None]
"""A target element's attributes as they are built; ``None`` is not written."""


def rename(ctx: Context, a: Attrs, pair: tuple[str, str], out: Out, target: str) -> None:
    """Carry every attribute listed for ``pair`` (twiml element, plivo element) still present
    in ``a`` over to ``out`` under its other name, converting its value on the way."""
    rows = t.RENAMES[pair]
    sources = {(twiml if target == t.PLIVO else plivo) for twiml, plivo in rows}
    for twiml_name, plivo_name in rows:
        source, destination = (
            (twiml_name, plivo_name) if target == t.PLIVO else (plivo_name, twiml_name)
        )
        value = a.take(source)
        if value is None:
            continue
        kind = VOCABULARIES[ctx.source][0][a.tag].attributes[source]
        route = t.URL_ATTRIBUTES.get((ctx.source, a.tag, source))
        if route is not None:
            method_name = route[1]
            method = a.method(method_name)
            if method_name is not None and method_name not in sources:
                a.take(method_name)  # used for the request; the target has no such attribute
            out[destination] = ctx.route_attribute(a, source, value, method=method)
        elif kind == t.METHOD:
            out[destination] = value.upper()
        elif kind == t.PHONE:
            out[destination] = phone(value, target)
        elif kind in (t.KEY, t.KEYS, t.PLIVO_KEY, t.PLIVO_KEYS):
            out[destination] = finish_key(value, target)
        elif kind == t.DTMF and target == t.TWILIO:
            out[destination] = twilio_digits(value)
        else:
            out[destination] = pair_value(pair[0], twiml_name, value, target)


def clamp(ctx: Context, tag: str, name: str, value: str, target: str) -> str:
    """``value`` within the target dialect's limits for ``name``, noted when it had to move."""
    low, high = t.LIMITS[(target, tag, name)]
    number = int(value)
    clamped = min(max(number, low), high)
    if clamped != number:
        ctx.note(tag, name, CLAMPED, f"{number} is outside {low}..{high}: {clamped} is used")
    return str(clamped)


def callback(
    ctx: Context, a: Attrs, names: tuple[str, str], out: Out, written: tuple[str, str]
) -> bool:
    """Take the status URL ``names[0]`` and its method ``names[1]`` from ``a``; write the routed
    URL and, only when the app wrote one, the method under the ``written`` names. True when
    there was a URL."""
    url = a.take(names[0])
    method, explicit = a.take_method(names[1])
    if url is None:
        return False
    out[written[0]] = ctx.route_attribute(a, names[0], url, method=method)
    out[written[1]] = explicit
    return True


def carry(
    ctx: Context,
    a: Attrs,
    pair: tuple[str, str],
    target: str,
    out: Out | None = None,
    text: str | None = None,
) -> ET.Element:
    """The last step of most handlers: the ``target`` side of ``pair`` (twiml element, plivo
    element), with ``out`` (what the handler wrote itself) and every attribute ``RENAMES`` lists
    carried over, and whatever is left of ``a`` noted as dropped."""
    attributes: Out = {} if out is None else out
    rename(ctx, a, pair, attributes, target)
    a.finish()
    return make(pair[1] if target == t.PLIVO else pair[0], attributes, text)


def speech(ctx: Context, a: Attrs, element: ET.Element, out: Out, target: str) -> list[ET.Element]:
    """``<Say>`` ⇄ ``<Speak>`` once the voice is chosen: the other attributes carried over, the
    text and its SSML copied as they are."""
    result = carry(ctx, a, ("Say", "Speak"), target, out)
    copy_speech(element, result)
    return [result]


def record_timing(ctx: Context, a: Attrs, out: Out, target: str) -> None:
    """Record's timing, always written out with the source's defaults (they differ), the
    length within the target's limits and the finishing keys in its spelling."""
    for name in t.RECORD_EXPLICIT:
        value = a.take_default(name)
        if name == "maxLength":
            value = clamp(ctx, "Record", name, value, target)
        out[name] = finish_key(value, target) if name == "finishOnKey" else value


def redirect(ctx: Context, element: ET.Element, target: str) -> list[ET.Element]:
    """``<Redirect>`` is spelled the same in both dialects: its URL is routed, its method kept."""
    a = ctx.attrs(element)
    method = a.method("method")
    url = ctx.route_attribute(a, t.TEXT, element.text or "", method=method)
    return [carry(ctx, a, ("Redirect", "Redirect"), target, text=url)]
