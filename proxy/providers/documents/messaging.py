"""Messaging replies in both directions, and the one message a voice document may send.

An app that answers an incoming message replies with a document too: TwiML's
``MessagingResponse`` or Plivo XML of ``<Message>`` elements. Telling such a reply from a voice
document needs the incoming parameters (a ``MessageSid``/``MessageUUID`` with no call), and the
addresses a reply leaves unsaid come from them as well; that knowledge is kept here rather than
spread over the voice translators, which only borrow ``plivo_addresses`` (TwiML ``<Sms>``) and
``plivo_message`` (Plivo ``<Message>`` inside a call).

May import: the standard library, ``tables``, ``model``, ``parsing``, ``context``, ``values``,
``attributes`` and ``output``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from proxy.providers.documents import tables as t
from proxy.providers.documents.attributes import Out, rename
from proxy.providers.documents.context import Attrs, Context
from proxy.providers.documents.model import DROPPED
from proxy.providers.documents.output import make
from proxy.providers.documents.parsing import DocumentError
from proxy.providers.documents.values import plivo_phone, twilio_phone

# --- TwiML → Plivo XML ------------------------------------------------------------------------


def is_twiml_messaging(ctx: Context, root: ET.Element) -> bool:
    """A messaging reply: it holds ``<Message>``, or it answers an incoming message."""
    has_message = any(child.tag == "Message" for child in root)
    answers_message = "CallSid" not in ctx.incoming and (
        "MessageSid" in ctx.incoming or "SmsSid" in ctx.incoming
    )
    if has_message and "CallSid" in ctx.incoming:
        raise DocumentError("<Message> is not a voice verb")
    messaging = has_message or answers_message
    if messaging and any(child.tag not in t.TWIML_MESSAGING_VERBS for child in root):
        raise DocumentError("a messaging reply holds only <Message> and <Redirect>")
    return messaging


def twiml_reply(ctx: Context, root: ET.Element) -> list[ET.Element]:
    """A TwiML messaging reply as Plivo ``<Message>`` elements."""
    return [out for child in root for out in _twiml_message(ctx, child)]


def _twiml_message(ctx: Context, element: ET.Element) -> list[ET.Element]:
    if element.tag == "Redirect":
        raise DocumentError("a messaging <Redirect> has no Plivo equivalent")
    a = ctx.attrs(element)
    out = plivo_addresses(ctx, a)
    if a.peek("action") is not None and a.take("statusCallback") is not None:
        ctx.note("Message", "statusCallback", DROPPED, "one status URL on Plivo: action is used")
    status = a.take("statusCallback")
    if status is not None:
        out["callbackUrl"] = ctx.route_attribute(a, "statusCallback", status)
    rename(ctx, a, ("Message", "Message"), out, t.PLIVO)
    a.finish()
    body = element.text or ""
    for child in element:
        if child.tag == "Body":
            body = child.text or ""
        else:
            ctx.note("Message", "Media", DROPPED, "no media in Plivo XML: sent as text only")
    if not body.strip():
        ctx.note("Message", None, DROPPED, "nothing left to send as text")
        return []
    return [make("Message", out, body)]


def plivo_addresses(ctx: Context, a: Attrs) -> Out:
    """Plivo needs ``src``/``dst`` written: explicit values win, else the reply goes back to
    the sender (incoming ``From``) from the number it wrote to (incoming ``To``)."""
    to = a.take("to") or ctx.incoming.get("From")
    sender = a.take("from") or ctx.incoming.get("To")
    if not to or not sender:
        raise DocumentError(f"<{a.tag}> has no addresses and the request gave none")
    return {"dst": plivo_phone(to), "src": plivo_phone(sender), "type": "sms"}


# --- Plivo XML → TwiML ------------------------------------------------------------------------


def is_plivo_messaging(ctx: Context, elements: list[ET.Element]) -> bool:
    """A messaging reply: it answers an incoming message, or holds only ``<Message>`` and
    answers no call."""
    only_messages = bool(elements) and all(element.tag == "Message" for element in elements)
    answers_message = "MessageUUID" in ctx.incoming and "CallUUID" not in ctx.incoming
    if answers_message and not all(element.tag == "Message" for element in elements):
        raise DocumentError("a messaging reply holds only <Message>")
    return answers_message or (only_messages and "CallUUID" not in ctx.incoming)


def plivo_reply(ctx: Context, elements: list[ET.Element]) -> list[ET.Element]:
    """A Plivo messaging reply as a TwiML ``MessagingResponse``."""
    return [out for element in elements for out in plivo_message(ctx, element, messaging=True)]


def plivo_message(ctx: Context, message: ET.Element, messaging: bool) -> list[ET.Element]:
    """Plivo ``<Message>`` → a messaging ``<Message>`` or, inside a call, ``<Sms>``; Plivo's
    several destinations (``dst="a<b"``) become one message each."""
    a = ctx.attrs(message)
    a.take("type")  # validated: sms
    destinations = (a.take("dst") or "").split("<")
    sender = a.take("src")
    if sender is None or not all(d.strip() for d in destinations):
        raise DocumentError("<Message> needs src and dst")
    out: Out = {"from": twilio_phone(sender)}
    pair = ("Message", "Message") if messaging else ("Sms", "Message")
    if not messaging:
        url = a.take("callbackUrl")
        if url is not None:
            out["statusCallback"] = ctx.route_attribute(a, "callbackUrl", url)
        a.take("callbackMethod")
    rename(ctx, a, pair, out, t.TWILIO)
    a.finish()
    tag = "Message" if messaging else "Sms"
    body = message.text or ""
    return [make(tag, {**out, "to": twilio_phone(d)}, body) for d in destinations]
