"""TwiML → Plivo XML: a Twilio-style app's answer, for a Plivo carrier.

``response`` translates a validated ``<Response>`` verb by verb (a messaging reply goes to
``messaging``; ``<Dial>`` and the queue verbs to ``to_plivo_dial``). Each handler takes one
TwiML element and returns the Plivo elements that stand for it, usually one, sometimes several
(a ``<Play>`` with digits, a ``<Gather>`` whose pauses move before it). Where Plivo's defaults
differ from Twilio's, the Twilio value is written out so the call behaves as its author
expected.

May import: the standard library, ``tables``, ``model``, ``parsing``, ``context``, ``values``,
``validation``, ``attributes``, ``output``, ``messaging`` and ``to_plivo_dial``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Final

from proxy.providers.documents import tables as t
from proxy.providers.documents.attributes import (
    Out,
    carry,
    clamp,
    record_timing,
    redirect,
    speech,
)
from proxy.providers.documents.context import Attrs, Context, defaults
from proxy.providers.documents.messaging import is_twiml_messaging, plivo_addresses, twiml_reply
from proxy.providers.documents.model import APPROXIMATED, DROPPED, MOVED, REPLACED, Note
from proxy.providers.documents.output import make
from proxy.providers.documents.parsing import DocumentError
from proxy.providers.documents.to_plivo_dial import QueueApology, dial, enqueue, leave
from proxy.providers.documents.validation import GOOGLE_VOICE
from proxy.providers.documents.values import pair_value

_Handler = Callable[[Context, ET.Element], list[ET.Element]]


def response(ctx: Context, root: ET.Element) -> list[ET.Element]:
    """The Plivo elements for a TwiML ``<Response>``. A queue the options do not map to a room
    turns the whole answer into the configured apology and a hangup, with one note."""
    if is_twiml_messaging(ctx, root):
        return twiml_reply(ctx, root)
    try:
        return [out for child in root for out in _HANDLERS[child.tag](ctx, child)]
    except QueueApology as apology:
        ctx.notes = [Note(apology.verb, None, REPLACED, "Twilio queues have no Plivo equivalent")]
        return [make("Speak", {}, ctx.options.apology), make("Hangup", {})]


def _say(ctx: Context, say: ET.Element) -> list[ET.Element]:
    """``<Say>`` → ``<Speak>``; the voice is always written, since the defaults differ."""
    a = ctx.attrs(say)
    out: Out = {}
    voice = a.take_default("voice")
    language = a.take("language")
    out["voice"], out["language"] = _plivo_voice(ctx, voice, language)
    return speech(ctx, a, say, out, t.PLIVO)


def _plivo_voice(ctx: Context, voice: str, language: str | None) -> tuple[str, str | None]:
    """Plivo's voice (and language) for a TwiML voice; Google voices fall back (noted)."""
    google = GOOGLE_VOICE.fullmatch(voice)
    if google is None:
        return pair_value("Say", "voice", voice, t.PLIVO), language
    spoken = language or google.group(1)
    fallback = ctx.options.voice_fallback
    chosen = fallback.get(spoken) or fallback.get(spoken.split("-")[0]) or ctx.options.default_voice
    ctx.note("Say", "voice", APPROXIMATED, f"Google voices are not on Plivo: {chosen} is used")
    return chosen, spoken


def _play(ctx: Context, play: ET.Element) -> list[ET.Element]:
    """``<Play>`` → ``<Play>`` of its URL, preceded by ``<DTMF>`` when it sends digits."""
    a = ctx.attrs(play)
    digits = a.take("digits")
    loop = a.take("loop")
    url = (play.text or "").strip()
    out: list[ET.Element] = []
    if digits:
        out.append(make("DTMF", {"async": "false"}, digits))
    if url:
        out.append(make("Play", {"loop": loop}, ctx.resolve(url, "<Play>")))
    elif loop is not None:
        ctx.note("Play", "loop", DROPPED, "nothing to repeat: the digits are sent once")
    if not out:
        raise DocumentError("<Play> has neither a URL nor digits")
    a.finish()
    return out


def _pause(ctx: Context, pause: ET.Element) -> list[ET.Element]:
    return [carry(ctx, ctx.attrs(pause), ("Pause", "Wait"), t.PLIVO)]


_SPEECH_ONLY: Final = (
    "speechTimeout",
    "language",
    "hints",
    "profanityFilter",
    "speechModel",
    "partialResultCallback",
    "partialResultCallbackMethod",
)


def _gather(ctx: Context, gather: ET.Element) -> list[ET.Element]:
    """``<Gather>`` → ``<GetDigits>`` (digits only) or ``<GetInput>`` (any speech). Without
    an action Twilio posts to the current document, so that URL is written explicitly."""
    a = ctx.attrs(gather)
    kind = pair_value("Gather", "input", a.take_default("input"), t.PLIVO)
    target = "GetInput" if "speech" in kind else "GetDigits"
    out: Out = {"action": _action(ctx, a)}
    timeout = a.take("timeout")
    if target == "GetDigits":
        _digits_timeouts(ctx, a, out, timeout)
    else:
        out["inputType"] = kind
        _input_timeouts(ctx, a, out, timeout, "dtmf" in kind)
    element = carry(ctx, a, ("Gather", target), t.PLIVO, out)
    before, prompts = _prompts(ctx, gather, target)
    element.extend(prompts)
    return [*before, element]


def _action(ctx: Context, a: Attrs) -> str:
    """The action, routed; without one Twilio posts to the current document, so that URL is
    written explicitly."""
    return ctx.route_attribute(a, "action", a.take("action") or ctx.document_url)


def _digits_timeouts(ctx: Context, a: Attrs, out: Out, timeout: str | None) -> None:
    """Twilio's ``timeout`` also spaces the digits; Plivo's digitTimeout (2 s) is written to
    match, and speech-only attributes have nothing to apply to."""
    out["timeout"] = timeout
    out["digitTimeout"] = timeout or defaults(t.TWILIO, "Gather")["timeout"]
    for name in _SPEECH_ONLY:
        if a.take(name) is not None:
            ctx.note("Gather", name, DROPPED, "applies to speech input only")


def _input_timeouts(ctx: Context, a: Attrs, out: Out, timeout: str | None, dtmf: bool) -> None:
    """Twilio waits ``timeout`` for each input; GetInput bounds the total instead (section 7)."""
    seconds = timeout or defaults(t.TWILIO, "Gather")["timeout"]
    total = str(max(int(seconds), t.GETINPUT_TOTAL_FLOOR))
    out["executionTimeout"] = clamp(ctx, "GetInput", "executionTimeout", total, t.PLIVO)
    detail = f"executionTimeout={out['executionTimeout']}"
    if dtmf:
        out["digitEndTimeout"] = clamp(ctx, "GetInput", "digitEndTimeout", seconds, t.PLIVO)
        detail += f", digitEndTimeout={out['digitEndTimeout']}"
    ctx.note("Gather", "timeout", APPROXIMATED, detail)
    speech_timeout = a.take("speechTimeout")
    if speech_timeout is not None and speech_timeout != "auto":
        speech_timeout = clamp(ctx, "GetInput", "speechEndTimeout", speech_timeout, t.PLIVO)
    out["speechEndTimeout"] = speech_timeout
    model = a.take("speechModel")
    if model is not None:
        known = dict(t.VALUE_PAIRS[("Gather", "speechModel")])
        if model not in known:
            ctx.note("Gather", "speechModel", APPROXIMATED, "Plivo's default model is used")
        out["speechModel"] = known.get(model, t.SPEECH_MODEL_FALLBACK)


def _prompts(
    ctx: Context, gather: ET.Element, target: str
) -> tuple[list[ET.Element], list[ET.Element]]:
    """A Gather's nested verbs: prompts stay inside; pauses and digits move before it."""
    before: list[ET.Element] = []
    inside: list[ET.Element] = []
    for child in gather:
        for out in _HANDLERS[child.tag](ctx, child):
            if out.tag in ("Speak", "Play"):
                inside.append(out)
            else:
                ctx.note(child.tag, None, MOVED, f"not allowed in <{target}>: moved before it")
                before.append(out)
    return before, inside


def _record(ctx: Context, record: ET.Element) -> list[ET.Element]:
    """``<Record>`` → ``<Record>`` with Twilio's timing written out (Plivo's defaults differ)
    and Twilio's implicit action (the current document) made explicit."""
    a = ctx.attrs(record)
    out: Out = {"action": _action(ctx, a)}
    record_timing(ctx, a, out, t.PLIVO)
    transcribe = a.take("transcribe")
    if transcribe == "true" or a.peek("transcribeCallback") is not None:
        out["transcriptionType"] = "auto"
    a.take_if("trim", "do-not-trim")  # Plivo never trims: exactly what was asked
    return [carry(ctx, a, ("Record", "Record"), t.PLIVO, out)]


def _hangup(ctx: Context, hangup: ET.Element) -> list[ET.Element]:
    return [make("Hangup", {})]


def _reject(ctx: Context, reject: ET.Element) -> list[ET.Element]:
    a = ctx.attrs(reject)
    out: Out = {"reason": a.take_default("reason")}
    a.finish()
    return [make("Hangup", out)]


def _redirect(ctx: Context, element: ET.Element) -> list[ET.Element]:
    return redirect(ctx, element, t.PLIVO)


def _sms(ctx: Context, sms: ET.Element) -> list[ET.Element]:
    """``<Sms>`` → ``<Message>``; its action (where Twilio goes after sending) becomes a
    ``<Redirect>`` after the message, which is what the call would do next."""
    a = ctx.attrs(sms)
    action = a.take("action")
    method, _ = a.take_method("method")
    out = plivo_addresses(ctx, a)
    result = [carry(ctx, a, ("Sms", "Message"), t.PLIVO, out, sms.text or "")]
    if action is not None:
        url = ctx.route_attribute(a, "action", action, method=method)
        result.append(make("Redirect", {"method": method}, url))
        ctx.note("Sms", "action", APPROXIMATED, "followed by a <Redirect> to the action")
    return result


def _start(ctx: Context, start: ET.Element) -> list[ET.Element]:
    """``<Start><Recording>`` → a background session ``<Record>``."""
    ctx.attrs(start).finish()
    out: list[ET.Element] = []
    for recording in start:
        r = ctx.attrs(recording)
        attributes: Out = {
            "recordSession": "true",
            "redirect": "false",
            "maxLength": t.SESSION_RECORD_MAX_LENGTH,
            "recordChannelType": pair_value(
                "Recording", "channels", r.take("channels") or "mono", t.PLIVO
            ),
        }
        r.take_if("track", "both")
        out.append(carry(ctx, r, ("Recording", "Record"), t.PLIVO, attributes))
    return out


_HANDLERS: Final[dict[str, _Handler]] = {
    "Say": _say,
    "Play": _play,
    "Pause": _pause,
    "Gather": _gather,
    "Record": _record,
    "Dial": dial,
    "Hangup": _hangup,
    "Reject": _reject,
    "Redirect": _redirect,
    "Sms": _sms,
    "Start": _start,
    "Enqueue": enqueue,
    "Leave": leave,
}
