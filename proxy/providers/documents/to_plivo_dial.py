"""TwiML → Plivo XML for connecting calls: ``<Dial>`` and its nouns, conferences and queues.

This is where the two dialects' models differ most (Plivo has one whisper and one status URL
per Dial, a recording is a separate ``<Record>``, a conference is a verb rather than a noun, and
there are no queues), so it has a module of its own apart from the simpler verbs in
``to_plivo``. A Twilio queue is served as a conference room when the options map its name to
one; otherwise ``QueueApology`` is raised and ``to_plivo`` answers with the configured apology.

May import: the standard library, ``tables``, ``model``, ``parsing``, ``context``, ``values``,
``attributes`` and ``output``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Final

from proxy.providers.documents import tables as t
from proxy.providers.documents.attributes import Out, callback, carry, clamp, rename
from proxy.providers.documents.context import Attrs, Context
from proxy.providers.documents.model import APPROXIMATED, DROPPED
from proxy.providers.documents.output import make
from proxy.providers.documents.parsing import DocumentError
from proxy.providers.documents.values import PLIVO_DIGITS, SIP_USER, plivo_phone


class QueueApology(Exception):
    """A Twilio queue verb: the whole answer becomes the configured apology and a hangup."""

    def __init__(self, verb: str) -> None:
        super().__init__(verb)
        self.verb = verb


def dial(ctx: Context, element: ET.Element) -> list[ET.Element]:
    """``<Dial>`` → ``<Dial>`` (preceded by a session ``<Record>`` when it records), or a
    top-level ``<Conference>`` when it dials a room. Twilio's 30 s ring timeout is written,
    since Plivo has no default."""
    nouns = list(element)
    text = (element.text or "").strip()
    if text and nouns:
        raise DocumentError("<Dial> holds both a number and nouns")
    if not text and not nouns:
        raise DocumentError("<Dial> has nothing to dial")
    rooms = [noun for noun in nouns if noun.tag in ("Conference", "Queue")]
    if rooms:
        if len(nouns) != 1:
            raise DocumentError("<Dial> mixes a conference or queue with other nouns")
        return _dial_room(ctx, element, rooms[0])
    a = ctx.attrs(element)
    out: Out = {"timeout": a.take_default("timeout")}
    if a.take("ringTone") is not None:
        out["dialMusic"] = "real"
        ctx.note("Dial", "ringTone", APPROXIMATED, "Plivo plays the real ringback tone")
    before = _dial_recording(ctx, a)
    rename(ctx, a, ("Dial", "Dial"), out, t.PLIVO)
    a.finish()
    targets = [make("Number", {}, _number_text(text))] if text else []
    targets += _nouns(ctx, nouns, out)
    result = make("Dial", out)
    result.extend(targets)
    return [*before, result]


def _dial_recording(ctx: Context, a: Attrs) -> list[ET.Element]:
    """Dial ``record`` → a background ``<Record>`` placed before the Dial (section 5)."""
    record = a.take("record")
    value = t.DIAL_RECORDING_LEGACY.get(record or "", record)
    shapes = dict(t.DIAL_RECORDING)
    if value is None or value in t.DIAL_NO_RECORDING or value not in shapes:
        a.take("recordingStatusCallbackMethod")
        if a.take("recordingStatusCallback") is not None:
            ctx.note("Dial", "recordingStatusCallback", DROPPED, "the Dial does not record")
        return []
    on_answer, channels = shapes[value]
    if on_answer == "false":
        ctx.note("Dial", "record", APPROXIMATED, "recording starts before dialling, not at ring")
    attributes: Out = {
        "recordSession": "true",
        "startOnDialAnswer": on_answer,
        "redirect": "false",
        "recordChannelType": channels,
        "maxLength": a.peek("timeLimit") or t.SESSION_RECORD_MAX_LENGTH,
    }
    names = ("recordingStatusCallback", "recordingStatusCallbackMethod")
    callback(ctx, a, names, attributes, ("callbackUrl", "callbackMethod"))
    return [make("Record", attributes)]


def _number_text(text: str) -> str:
    number = plivo_phone(text)
    if not PLIVO_DIGITS.fullmatch(number):
        raise DocumentError("<Dial> number is not a phone number")
    return number


def _nouns(ctx: Context, nouns: list[ET.Element], dial_out: Out) -> list[ET.Element]:
    """Numbers, clients and SIP URIs; Plivo has one whisper and one status URL per Dial, so
    the first of each is used and any other noted."""
    out: list[ET.Element] = []
    for noun in nouns:
        a = ctx.attrs(noun)
        _per_dial(ctx, a, dial_out, "url", "confirmSound")
        _per_dial(ctx, a, dial_out, "statusCallback", "callbackUrl")
        out.append(_NOUNS[noun.tag](ctx, noun, a))
        a.finish()
    return out


def _per_dial(ctx: Context, a: Attrs, dial_out: Out, name: str, target: str) -> None:
    value = a.take(name)
    method, written = a.take_method("method" if name == "url" else "statusCallbackMethod")
    if value is None:
        return
    if target in dial_out:
        ctx.note(a.tag, name, DROPPED, f"Plivo has one {target} per Dial: the first is used")
        return
    dial_out[target] = ctx.route_attribute(a, name, value, method=method)
    if target == "callbackUrl":
        dial_out["callbackMethod"] = written


def _number(ctx: Context, noun: ET.Element, a: Attrs) -> ET.Element:
    out: Out = {}
    rename(ctx, a, ("Number", "Number"), out, t.PLIVO)
    return make("Number", out, _number_text(noun.text or ""))


def _client(ctx: Context, noun: ET.Element, a: Attrs) -> ET.Element:
    identity = (noun.text or "").strip()
    for child in noun:
        if child.tag == "Identity":
            identity = (child.text or "").strip()
        else:
            ctx.note("Client", "Parameter", DROPPED, "Plivo endpoints take no parameters")
    endpoint = ctx.options.client_endpoints.get(identity, identity)
    if not SIP_USER.fullmatch(endpoint):
        raise DocumentError("<Client> identity cannot be a Plivo endpoint")
    return make("User", {}, f"sip:{endpoint}@{ctx.options.client_domain}")


def _sip(ctx: Context, noun: ET.Element, a: Attrs) -> ET.Element:
    uri = (noun.text or "").strip()
    if not uri.lower().startswith(("sip:", "sips:")):
        raise DocumentError("<Sip> does not hold a SIP URI")
    out: Out = {}
    rename(ctx, a, ("Sip", "User"), out, t.PLIVO)
    return make("User", out, uri)


_NOUNS: Final[dict[str, Callable[[Context, ET.Element, Attrs], ET.Element]]] = {
    "Number": _number,
    "Client": _client,
    "Sip": _sip,
}


def _dial_room(ctx: Context, element: ET.Element, room: ET.Element) -> list[ET.Element]:
    """``<Dial><Conference>`` (or a queue mapped to a room) → a top-level ``<Conference>``;
    the Dial's action and limits move onto it."""
    out: Out = {}
    if room.tag == "Queue":
        name = _queue_room(ctx, room, "Queue")
        ctx.attrs(room).finish()
    else:
        name = (room.text or "").strip()
        _conference_attributes(ctx, ctx.attrs(room), out)
    if not name:
        raise DocumentError("<Conference> has no room name")
    return [carry(ctx, ctx.attrs(element), ("Dial", "Conference"), t.PLIVO, out, name)]


def _conference_attributes(ctx: Context, a: Attrs, out: Out) -> None:
    enter, leave = dict(t.CONFERENCE_BEEP)[a.take_default("beep")]
    out["enterSound"] = t.PLIVO_BEEP if enter else None
    out["exitSound"] = t.PLIVO_BEEP if leave else None
    members = a.take("maxParticipants")
    if members is not None:
        out["maxMembers"] = clamp(ctx, "Conference", "maxMembers", members, t.PLIVO)
    rename(ctx, a, ("Conference", "Conference"), out, t.PLIVO)
    a.finish()


def _queue_room(ctx: Context, element: ET.Element, verb: str) -> str:
    """The conference room a queue is configured to become, else the apology."""
    room = ctx.options.queue_rooms.get((element.text or "").strip())
    if room is None:
        raise QueueApology(verb)
    ctx.note(verb, None, APPROXIMATED, "the queue is served as a conference room")
    return room


def enqueue(ctx: Context, element: ET.Element) -> list[ET.Element]:
    """``<Enqueue>`` → a ``<Conference>`` in the room its queue is mapped to (or the apology)."""
    room = _queue_room(ctx, element, "Enqueue")
    a = ctx.attrs(element)
    out: Out = {}
    action = a.take("action")
    if action is not None:
        out["action"] = ctx.route_attribute(a, "action", action)
        method = a.take("method")
        out["method"] = method.upper() if method is not None else None
    wait = a.take("waitUrl")
    if wait is not None:
        method, _ = a.take_method("waitUrlMethod")
        out["waitSound"] = ctx.route_attribute(a, "waitUrl", wait, method=method)
    a.finish()
    for child in element:
        ctx.note("Enqueue", child.tag, DROPPED, "no task routing on Plivo")
    return [make("Conference", out, room)]


def leave(ctx: Context, element: ET.Element) -> list[ET.Element]:
    raise QueueApology("Leave")
