"""Plivo XML → TwiML for connecting calls: ``<Dial>``, its nouns, ``<Conference>``, and the
elements TwiML writes on a Dial instead (section 7).

A Plivo document can say before a Dial what TwiML says on it: a scheduled hangup (the Dial's
``timeLimit``) or a recording that starts when the dialled party answers (the Dial's
``record``). ``plan_folds`` finds those pairs before translation starts and the Dial applies
them; that bookkeeping, the per-Dial URLs Plivo has and TwiML puts on every noun, and the
Client/SIP distinction make this a module apart from the simpler verbs in ``to_twiml``.

May import: the standard library, ``tables``, ``model``, ``parsing``, ``context``, ``values``,
``attributes``, ``output`` and ``continuation``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping

from proxy.providers.documents import tables as t
from proxy.providers.documents.attributes import Out, callback, carry, clamp, rename
from proxy.providers.documents.context import Attrs, Context, DialFold, defaults
from proxy.providers.documents.continuation import action
from proxy.providers.documents.model import APPROXIMATED, DROPPED, FOLDED
from proxy.providers.documents.output import make
from proxy.providers.documents.parsing import DocumentError
from proxy.providers.documents.values import E164ISH, twilio_phone

_SESSION_IGNORED = ("timeout", "finishOnKey", "playBeep", "redirect", "recordSession")


def plan_folds(ctx: Context, elements: list[ET.Element]) -> None:
    """Find Plivo elements that TwiML expresses on a later Dial (section 7): a scheduled
    hangup right before a Dial becomes its ``timeLimit``; a recording that starts when a
    dialled party answers becomes the next Dial's ``record``."""
    for index, element in enumerate(elements):
        if element.tag == "Hangup" and "schedule" in element.attrib:
            if index + 1 < len(elements) and elements[index + 1].tag == "Dial":
                fold = ctx.folds.setdefault(index + 1, DialFold())
                fold.time_limit = element.attrib["schedule"]
                ctx.folded.add(index)
        elif element.tag == "Record" and element.attrib.get("startOnDialAnswer") == "true":
            later = [i for i in range(index + 1, len(elements)) if elements[i].tag == "Dial"]
            if later:
                ctx.folds.setdefault(later[0], DialFold()).recording = element
                ctx.folded.add(index)


def recording_attributes(ctx: Context, a: Attrs) -> tuple[str, Out]:
    """A Plivo session Record's channels and callback, in TwiML terms (for ``<Recording>``
    or a Dial's ``record``)."""
    channels = a.take("recordChannelType") or "stereo"
    out: Out = {}
    names = ("callbackUrl", "callbackMethod")
    callback(ctx, a, names, out, ("recordingStatusCallback", "recordingStatusCallbackMethod"))
    if a.take("action") is not None:
        ctx.note("Record", "action", DROPPED, "recording details arrive on the status callback")
    for name in _SESSION_IGNORED:
        a.take(name)  # Plivo ignores these for a session recording
    return channels, out


def dial(ctx: Context, element: ET.Element, index: int) -> list[ET.Element]:
    """``<Dial>`` → ``<Dial>``; Plivo's per-Dial whisper and status URLs go on every noun, and
    what earlier elements folded into this Dial (time limit, recording) is applied."""
    a = ctx.attrs(element)
    out: Out = {}
    out["action"] = action(ctx, a, index, implicit_continue=False)
    noun_attributes = _per_dial(ctx, a)
    a.take_if("dialMusic", "real")
    rename(ctx, a, ("Dial", "Dial"), out, t.TWILIO)
    a.finish()
    fold = ctx.folds.get(index)
    if fold is not None:
        _apply_fold(ctx, fold, out)
    result = make("Dial", out)
    result.extend([_noun(ctx, noun, noun_attributes) for noun in element])
    if not len(result):
        raise DocumentError("<Dial> has nothing to dial")
    return [result]


def _per_dial(ctx: Context, a: Attrs) -> Out:
    """Plivo's per-Dial whisper and status URLs, for each TwiML noun to carry."""
    out: Out = {}
    whisper = a.take("confirmSound")
    if whisper is not None:
        out["url"] = ctx.route_attribute(a, "confirmSound", whisper)
    names = ("callbackUrl", "callbackMethod")
    if callback(ctx, a, names, out, ("statusCallback", "statusCallbackMethod")):
        out["statusCallbackEvent"] = t.DIAL_STATUS_EVENTS
        ctx.note("Dial", "callbackUrl", APPROXIMATED, "per-number answered/completed events")
    return out


def _apply_fold(ctx: Context, fold: DialFold, out: Out) -> None:
    if fold.time_limit is not None:
        current = int(out.get("timeLimit") or defaults(t.PLIVO, "Dial")["timeLimit"])
        out["timeLimit"] = str(min(current, int(fold.time_limit)))
        ctx.note("Hangup", "schedule", FOLDED, "the following Dial's timeLimit")
    if fold.recording is not None:
        r = ctx.attrs(fold.recording)
        on_answer = r.take("startOnDialAnswer") or "false"
        channels, attributes = recording_attributes(ctx, r)
        r.take("maxLength")  # a Dial recording lasts the call
        r.finish()
        shapes = {shape: value for value, shape in t.DIAL_RECORDING}
        out["record"] = shapes[(on_answer, channels)]
        out.update(attributes)
        ctx.note("Record", None, FOLDED, "the following Dial's record attribute")


def _noun(ctx: Context, noun: ET.Element, shared: Mapping[str, str | None]) -> ET.Element:
    a = ctx.attrs(noun)
    text = (noun.text or "").strip()
    out: Out = dict(shared)
    if noun.tag == "Number":
        if not E164ISH.fullmatch(text):
            raise DocumentError("<Number> is not a phone number")
        return carry(ctx, a, ("Number", "Number"), t.TWILIO, out, twilio_phone(text))
    return _user(ctx, a, text, out)


def _user(ctx: Context, a: Attrs, uri: str, out: Out) -> ET.Element:
    """A Plivo endpoint on the configured domain is a Twilio Client; any other URI is SIP."""
    match = re.fullmatch(r"sips?:([^@;?]+)@([^;?]+)", uri, flags=re.IGNORECASE)
    if not uri.lower().startswith(("sip:", "sips:")):
        raise DocumentError("<User> does not hold a SIP URI")
    if match is not None and match.group(2).lower() == ctx.options.client_domain.lower():
        endpoints = {
            endpoint: identity for identity, endpoint in ctx.options.client_endpoints.items()
        }
        a.finish()
        return make("Client", out, endpoints.get(match.group(1), match.group(1)))
    return carry(ctx, a, ("Sip", "User"), t.TWILIO, out, uri)


def conference(ctx: Context, element: ET.Element, index: int) -> list[ET.Element]:
    """A top-level ``<Conference>`` → ``<Dial><Conference>``; action and limits go on the Dial."""
    a = ctx.attrs(element)
    dial_out: Out = {}
    dial_out["action"] = action(ctx, a, index, implicit_continue=False)
    for name in ("method", "timeLimit", "hangupOnStar"):
        dial_out[name] = a.take(name)
    dial_out["method"] = dial_out["method"].upper() if dial_out["method"] else None
    out: Out = {}
    enter = bool(a.take_default("enterSound"))
    leave = bool(a.take_default("exitSound"))
    for name in ("enterSound", "exitSound"):
        value = element.get(name)
        if value and value != t.PLIVO_BEEP:
            ctx.note("Conference", name, APPROXIMATED, "played as Twilio's beep")
    out["beep"] = {shape: value for value, shape in t.CONFERENCE_BEEP}[(enter, leave)]
    members = a.take("maxMembers")
    if members is not None:
        out["maxParticipants"] = clamp(ctx, "Conference", "maxParticipants", members, t.TWILIO)
    if a.peek("callbackUrl") is not None:
        out["statusCallbackEvent"] = t.CONFERENCE_STATUS_EVENTS
        ctx.note("Conference", "callbackUrl", APPROXIMATED, "join and leave events")
    name = (element.text or "").strip()
    room = carry(ctx, a, ("Conference", "Conference"), t.TWILIO, out, name)
    if not name:
        raise DocumentError("<Conference> has no room name")
    result = make("Dial", dial_out)
    result.append(room)
    return [result]
