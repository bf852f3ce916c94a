"""Plivo XML → TwiML: a Plivo-style app's answer, for a Twilio carrier.

``response`` translates a validated ``<Response>`` (a messaging reply goes to ``messaging``;
``<Dial>`` and ``<Conference>`` to ``to_twiml_dial``). Top-level elements are translated back to
front, so that an element with ``redirect="false"`` can carry the TwiML that follows it in its
``continue`` URL (``continuation``); each handler gets its position for that reason. Where
Twilio's defaults differ from Plivo's, the Plivo value is written out.

May import: the standard library, ``tables``, ``model``, ``parsing``, ``context``, ``values``,
``validation``, ``attributes``, ``output``, ``continuation``, ``messaging`` and
``to_twiml_dial``.
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Final

from proxy.providers.documents import tables as t
from proxy.providers.documents.attributes import Out, carry, record_timing, redirect, rename, speech
from proxy.providers.documents.context import Attrs, Context, defaults
from proxy.providers.documents.continuation import action
from proxy.providers.documents.messaging import is_plivo_messaging, plivo_message, plivo_reply
from proxy.providers.documents.model import APPROXIMATED, CLAMPED, DROPPED, EXPANDED
from proxy.providers.documents.output import make
from proxy.providers.documents.parsing import DocumentError
from proxy.providers.documents.to_twiml_dial import (
    conference,
    dial,
    plan_folds,
    recording_attributes,
)
from proxy.providers.documents.validation import DTMF_DIGITS
from proxy.providers.documents.values import pair_value, twilio_digits

_Handler = Callable[[Context, ET.Element, int], list[ET.Element]]


def response(ctx: Context, root: ET.Element) -> list[ET.Element]:
    """The TwiML elements for a Plivo ``<Response>``."""
    elements = list(root)
    if is_plivo_messaging(ctx, elements):
        return plivo_reply(ctx, elements)
    plan_folds(ctx, elements)
    # Back to front, so that an element with redirect="false" can carry the TwiML that follows.
    for index in range(len(elements) - 1, -1, -1):
        ctx.outputs[index] = _HANDLERS[elements[index].tag](ctx, elements[index], index)
    return [out for index in range(len(elements)) for out in ctx.outputs[index]]


def _speak(ctx: Context, speak: ET.Element, index: int = 0) -> list[ET.Element]:
    a = ctx.attrs(speak)
    out: Out = {}
    voice = a.take_default("voice")
    out["voice"] = pair_value("Say", "voice", voice, t.TWILIO)
    return speech(ctx, a, speak, out, t.TWILIO)


def _play(ctx: Context, play: ET.Element, index: int = 0) -> list[ET.Element]:
    url = ctx.resolve(play.text or "", "<Play>")
    return [carry(ctx, ctx.attrs(play), ("Play", "Play"), t.TWILIO, text=url)]


def _wait(ctx: Context, wait: ET.Element, index: int = 0) -> list[ET.Element]:
    a = ctx.attrs(wait)
    detecting = a.take("silence") == "true", a.take("beep") == "true"
    if any(detecting):
        raise DocumentError("<Wait> with silence or beep detection has no TwiML equivalent")
    return [carry(ctx, a, ("Pause", "Wait"), t.TWILIO)]


def _dtmf(ctx: Context, dtmf: ET.Element, index: int = 0) -> list[ET.Element]:
    a = ctx.attrs(dtmf)
    if a.take_default("async") == "true":
        ctx.note("DTMF", "async", APPROXIMATED, "digits are sent before the next verb starts")
    a.finish()
    digits = twilio_digits((dtmf.text or "").strip())
    if not DTMF_DIGITS.fullmatch(digits):
        raise DocumentError("<DTMF> holds no digits")
    return [make("Play", {"digits": digits})]


def _get_digits(ctx: Context, element: ET.Element, index: int) -> list[ET.Element]:
    """``<GetDigits>`` → ``<Gather>``, repeated ``retries`` times: a Gather that hears nothing
    falls through to the next verb, which is then the next attempt."""
    a = ctx.attrs(element)
    retries = int(a.take_default("retries"))
    if retries > t.MAX_RETRIES:
        ctx.note("GetDigits", "retries", CLAMPED, f"unrolled {t.MAX_RETRIES} times at most")
        retries = t.MAX_RETRIES
    extra = _valid_digits(ctx, a)
    out: Out = {}
    out["action"] = action(ctx, a, index, implicit_continue=True, extra=extra)
    timeout = a.take("timeout")
    out["timeout"] = timeout
    digit_timeout = a.take("digitTimeout")
    if digit_timeout is not None and digit_timeout != (
        timeout or defaults(t.PLIVO, "GetDigits")["timeout"]
    ):
        ctx.note(
            "GetDigits", "digitTimeout", DROPPED, t.DROPPED[(t.PLIVO, "GetDigits", "digitTimeout")]
        )
    gather = _gather(ctx, a, element, out)
    if retries > 1:
        ctx.note("GetDigits", "retries", EXPANDED, f"unrolled into {retries} <Gather> verbs")
    return [gather] + [copy.deepcopy(gather) for _ in range(retries - 1)]


def _valid_digits(ctx: Context, a: Attrs) -> dict[str, str]:
    """validDigits has no TwiML form: it travels with the action for the proxy to enforce."""
    extra: dict[str, str] = {}
    valid = a.take("validDigits")
    if valid is not None:
        extra["validDigits"] = valid
        ctx.note("GetDigits", "validDigits", APPROXIMATED, "enforced when the action is called")
    sound = a.take("invalidDigitsSound")
    if sound is not None:
        extra["invalidDigitsSound"] = ctx.resolve(sound, "invalidDigitsSound on <GetDigits>")
    return extra


def _gather(ctx: Context, a: Attrs, element: ET.Element, out: Out) -> ET.Element:
    """The ``<Gather>`` for a GetDigits or GetInput: the rest of its attributes carried over,
    its prompts translated inside it."""
    gather = carry(ctx, a, ("Gather", a.tag), t.TWILIO, out)
    gather.extend([prompt for child in element for prompt in _HANDLERS[child.tag](ctx, child, 0)])
    return gather


def _get_input(ctx: Context, element: ET.Element, index: int) -> list[ET.Element]:
    """``<GetInput>`` → ``<Gather>``: the wait between digits is Twilio's ``timeout``; the
    total execution time has no TwiML form (noted when given)."""
    a = ctx.attrs(element)
    out: Out = {}
    out["action"] = action(ctx, a, index, implicit_continue=True)
    if a.peek("inputType") is None:
        raise DocumentError("<GetInput> has no inputType")
    digit_end = a.take("digitEndTimeout")
    if digit_end is not None and digit_end != "auto":
        out["timeout"] = digit_end
    return [_gather(ctx, a, element, out)]


def _record(ctx: Context, record: ET.Element, index: int) -> list[ET.Element]:
    """``<Record>`` → ``<Record>`` with Plivo's timing written out; a background recording
    becomes the next Dial's ``record`` (planned earlier) or ``<Start><Recording>``."""
    if index in ctx.folded:
        return []  # carried by the Dial it precedes
    a = ctx.attrs(record)
    if a.peek("startOnDialAnswer") == "true":
        ctx.note("Record", "startOnDialAnswer", DROPPED, "no Dial follows: nothing is recorded")
        return []
    if a.peek("recordSession") == "true":
        return [_session_recording(ctx, a)]
    out: Out = {}
    out["action"] = action(ctx, a, index, implicit_continue=True)
    record_timing(ctx, a, out, t.TWILIO)
    transcription = a.take("transcriptionType")
    if transcription is not None:
        out["transcribe"] = "true"
        if transcription != "auto":
            ctx.note(
                "Record", "transcriptionType", APPROXIMATED, "Twilio transcribes automatically"
            )
    a.take_if("fileFormat", "mp3")
    a.take_if("recordSession", "false")
    a.take_if("startOnDialAnswer", "false")
    a.take_if("recordChannelType", "mono")
    rename(ctx, a, ("Record", "Record"), out, t.TWILIO)
    a.take("transcriptionMethod")  # the method travels with the transcription URL's request
    a.finish()
    return [make("Record", out)]


def _session_recording(ctx: Context, a: Attrs) -> ET.Element:
    """A Plivo background recording of the whole call → ``<Start><Recording>``."""
    channels, out = recording_attributes(ctx, a)
    out["channels"] = pair_value("Recording", "channels", channels, t.TWILIO)
    a.finish()
    start = make("Start", {})
    start.append(make("Recording", out))
    return start


def _hangup(ctx: Context, hangup: ET.Element, index: int) -> list[ET.Element]:
    a = ctx.attrs(hangup)
    schedule = a.take("schedule")
    if schedule is not None:
        if index not in ctx.folded:
            ctx.note("Hangup", "schedule", DROPPED, "no Dial follows to carry a time limit")
        a.finish()
        return []
    reason = a.take("reason")
    a.finish()
    if reason is not None:
        return [make("Reject", {"reason": reason})]
    return [make("Hangup", {})]


def _redirect(ctx: Context, element: ET.Element, index: int = 0) -> list[ET.Element]:
    return redirect(ctx, element, t.TWILIO)


def _message(ctx: Context, message: ET.Element, index: int) -> list[ET.Element]:
    return plivo_message(ctx, message, messaging=False)


def _pre_answer(ctx: Context, element: ET.Element, index: int) -> list[ET.Element]:
    ctx.note("PreAnswer", None, DROPPED, "TwiML plays nothing before the call is answered")
    return []


_HANDLERS: Final[dict[str, _Handler]] = {
    "Speak": _speak,
    "Play": _play,
    "Wait": _wait,
    "DTMF": _dtmf,
    "GetDigits": _get_digits,
    "GetInput": _get_input,
    "Record": _record,
    "Dial": dial,
    "Conference": conference,
    "Hangup": _hangup,
    "Redirect": _redirect,
    "Message": _message,
    "PreAnswer": _pre_answer,
}
