"""How the mock carrier runs a call's documents, from the answer URL to the end of the call.

The carrier (``carrier``) fetches the call's answer URL and runs the call-control document it
gets, element by element, asking for the next document at each Gather/GetDigits, Record, Dial
action and Redirect, as the real carriers do. It is strict: an answer it cannot parse, a
document in the other provider's language, or an element it does not know ends the call as an
application error, which is exactly what a real carrier does with a document it cannot run.

What the caller "does" is fixed, so that a test knows what the app hears: a Gather/GetDigits
presses the carrier's ``digits``, a Record records three seconds, a Dial's leg completes.
A REST request (a transfer, a hang-up) reaches the call between elements, and at once during
a ``<Pause>``/``<Wait>``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urljoin

import defusedxml.ElementTree as ElementTree  # type: ignore[import-untyped]

if TYPE_CHECKING:
    from proxy.providers.carrier import Carrier, LiveCall

# Bound: a demo or test call never loops forever between documents.
MAX_DOCUMENTS = 20
# The next request a document asks for: URL, method, the parameters it adds, its kind.
Step = tuple[str, str, dict[str, str], str]


async def run_documents(
    carrier: Carrier, first: tuple[str, str], base: Mapping[str, str], call: LiveCall
) -> None:
    """Fetch and run documents from ``first`` until the call's document ends it."""
    url, method = first
    params = {**base, **carrier.call_status("in-progress")}
    kind = "answer"
    for _ in range(MAX_DOCUMENTS):
        delivery = await carrier.send(kind, url, method, params, voice=True)
        if not 200 <= delivery.status < 300:
            carrier.log.errors.append(f"{kind}: the app answered {delivery.status}")
            return
        try:
            root = ElementTree.fromstring(delivery.body)
        except Exception as exc:
            carrier.log.errors.append(f"{kind}: unreadable document ({type(exc).__name__})")
            return
        if root.tag != "Response":
            carrier.log.errors.append(f"{kind}: root element {root.tag}")
            return
        step = await _execute(carrier, root, url, call)
        if step is None:
            return
        url, method, extra, kind = step
        params = {**base, **carrier.call_status("in-progress"), **extra}
    carrier.log.errors.append("too many documents")


async def _execute(
    carrier: Carrier, root: object, document_url: str, call: LiveCall
) -> Step | None:
    """Run a document's elements; the next request (URL, method, params, kind) or None.
    A command that arrived meanwhile (a transfer, a hang-up) is obeyed between elements,
    and at once during a pause."""
    log = carrier.log
    known = _TWIML if carrier.style == "twilio" else _PLIVO_XML
    for element in list(root):  # type: ignore[call-overload]
        if not call.commands.empty():
            return _obey(carrier, call.commands.get_nowait())
        tag = element.tag
        if tag not in known:
            log.errors.append(f"unknown element {tag}")
            return None
        log.executed.append(tag)
        for child in list(element):
            if child.tag not in known and child.tag not in _NESTED:
                log.errors.append(f"unknown element {child.tag} in {tag}")
                return None
            log.executed.append(f"{tag}/{child.tag}")
        if tag in ("Hangup", "Reject"):
            return None
        if tag in ("Pause", "Wait"):
            command = await carrier.hold(call, _length(element.get("length")))
            if command is not None:
                return _obey(carrier, command)
            continue
        if tag == "Redirect":
            target = urljoin(document_url, (element.text or "").strip())
            return target, element.get("method", "POST"), {}, "redirect"
        result = _action(carrier, element, document_url)
        if result is not None:
            return result
    if not call.commands.empty():
        return _obey(carrier, call.commands.get_nowait())
    return None


def _obey(carrier: Carrier, command: tuple[str, str, str]) -> Step | None:
    what, url, method = command
    carrier.log.executed.append(f"({what})")
    if what == "transfer":
        return url, method, {}, "transfer"
    return None  # a hang-up (a cancel once answered is a hang-up too)


def _action(carrier: Carrier, element: object, document_url: str) -> Step | None:
    tag = element.tag  # type: ignore[attr-defined]
    get = element.get  # type: ignore[attr-defined]
    action = get("action")
    twilio = carrier.style == "twilio"
    if tag in ("Gather", "GetDigits", "GetInput"):
        if twilio and not action:
            action = document_url  # Twilio's default: the current document
        if not action:
            return None
        result = {"Digits": carrier.digits}
        if not twilio and tag == "GetInput":
            result["InputType"] = "dtmf"
        return urljoin(document_url, action), get("method", "POST"), result, "action"
    if tag == "Record" and action:
        recording = uuid.uuid4()
        if twilio:
            sid = "RE" + recording.hex
            result = {
                "RecordingSid": sid,
                "RecordingUrl": f"https://api.twilio.com/Recordings/{sid}",
                "RecordingDuration": "3",
            }
        else:
            result = {
                "RecordingID": str(recording),
                "RecordUrl": f"https://media.plivo.com/v1/Account/recordings/{recording}.mp3",
                "RecordingDuration": "3",
                "RecordingDurationMs": "3000",
            }
        return urljoin(document_url, action), get("method", "POST"), result, "action"
    if tag == "Dial" and action:
        leg = str(uuid.uuid4())
        if twilio:
            result = {"DialCallStatus": "completed", "DialCallSid": "CA" + leg.replace("-", "")}
        else:
            result = {"DialStatus": "completed", "DialBLegUUID": leg}
        return urljoin(document_url, action), get("method", "POST"), result, "action"
    return None


_PLIVO_XML = frozenset(
    {
        "Speak", "Play", "Wait", "DTMF", "GetDigits", "GetInput", "Redirect", "Hangup",
        "Record", "Dial", "Conference", "Message", "PreAnswer",
    }
)  # fmt: skip
_TWIML = frozenset(
    {
        "Say", "Play", "Pause", "Gather", "Redirect", "Hangup", "Reject", "Record", "Dial",
        "Sms", "Message",
    }
)  # fmt: skip
# Children that only appear inside another element (Dial's targets, a message body).
_NESTED = frozenset({"Number", "User", "Client", "Sip", "Conference", "Body", "Media"})


def _length(value: str | None) -> float:
    """A Pause or Wait length in seconds: 1 by default, as both providers do."""
    try:
        return max(0.0, float(value)) if value else 1.0
    except ValueError:
        return 1.0
