"""What a carrier does after a create: the callbacks the strict mocks make, signed like the
real provider's.

The built-in mocks stand for Plivo and Twilio in ``dialect demo`` and in the tests, so besides
answering REST calls they call back the way the providers do: a created message gets signed
status callbacks, a created call fetches its answer URL, runs the call-control document it
gets (asking for the next document at each Gather/GetDigits, Record, Dial action and
Redirect), and reports the end of the call. They are strict: an unsigned-for answer they
cannot parse, a document in the other provider's language, or an element they do not know
ends the call as an application error, which is exactly what a real carrier does with a
document it cannot run.

Signatures: Plivo signs voice callbacks with V3 and messaging callbacks with V2
(``X-Plivo-Signature-V3``/``-V2`` with their nonces); Twilio signs every callback with
``X-Twilio-Signature``. Both with the account's auth token.

Call control: a call is *live* from its create (``place``) until it ends, just before its
hang-up callback. A ``<Pause>`` or ``<Wait>`` holds it for its ``length`` (at most
``MAX_HOLD`` seconds), and a REST request may act on it meanwhile: ``transfer`` makes the
carrier fetch a new document (kind ``transfer``) as the real ones do, ``hang_up`` ends it,
``cancel`` ends one that was not answered yet. ``on_end`` tells the mock how the call ended
before the hang-up callback goes out, so that its record exists by the time the app hears of
the end, as on the real carriers.

Destinations that never answer (digits, with or without ``+``), so that a test can make a call
end as a real one may:

- ``UNANSWERED`` (``+14155550199``) rings until the call is canceled or hung up, or until its
  ring timeout (the create's ``ring_timeout``/``Timeout``, at most ``MAX_HOLD`` seconds):
  then it ends ``no-answer``, like a phone nobody picks up;
- ``BUSY`` (``+14155550198``) ends at once ``busy``, without ringing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import aiohttp
import defusedxml.ElementTree as ElementTree  # type: ignore[import-untyped]

from proxy.callbacks import signatures

Style = Literal["plivo", "twilio"]
# Bounds: a demo or test call never loops forever between documents, nor holds forever.
MAX_DOCUMENTS = 20
TIMEOUT = 10.0
MAX_HOLD = 60.0
# Destinations (digits, no "+") that never answer: one rings until canceled or its ring
# timeout, the other is busy.
UNANSWERED = "14155550199"
BUSY = "14155550198"


@dataclass
class LiveCall:
    """A call the carrier is running: what it is doing, and what REST requests asked of it."""

    call_id: str
    state: str = "ringing"  # ringing, in-progress, then completed, canceled, no-answer or busy
    commands: asyncio.Queue[tuple[str, str, str]] = field(default_factory=asyncio.Queue)
    # The carrier's clock: when the call was placed, answered (None: never) and ended.
    started: datetime | None = None
    answered: datetime | None = None
    ended: datetime | None = None


@dataclass
class Delivery:
    """One callback the carrier made, and what the app (or the proxy) answered."""

    kind: str
    url: str
    method: str
    params: dict[str, str]
    status: int = 0
    body: bytes = b""


@dataclass
class CarrierLog:
    deliveries: list[Delivery] = field(default_factory=list)
    # Elements of the documents the carrier ran, in order: what a caller heard and did.
    executed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)


class Carrier:
    """Makes one provider's callbacks, signed with ``auth_token``."""

    def __init__(
        self,
        style: Style,
        auth_token: str,
        digits: str = "1234",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.style = style
        self.auth_token = auth_token
        self.digits = digits
        self.clock = clock or (lambda: datetime.now(UTC))
        self.log = CarrierLog()
        self.tasks: set[asyncio.Task[None]] = set()
        self.live: dict[str, LiveCall] = {}

    def spawn(self, work: asyncio.Future[None] | asyncio.Task[None] | object) -> None:
        """Run a callback sequence after the REST answer has gone out."""
        assert asyncio.iscoroutine(work)
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    # -- sending -------------------------------------------------------------------------------

    async def send(
        self, kind: str, url: str, method: str, params: Mapping[str, str], *, voice: bool
    ) -> Delivery:
        method = method.upper() if method.upper() in ("GET", "POST") else "POST"
        pairs = list(params.items())
        delivery = Delivery(kind, url, method, dict(params))
        body: bytes | None = None
        target = url
        if method == "GET":
            parts = urlsplit(url)
            query = "&".join(q for q in (parts.query, urlencode(pairs)) if q)
            target = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
            headers = self._sign(target, method, pairs, voice=voice, get=True)
        else:
            body = urlencode(pairs).encode()
            headers = self._sign(url, method, pairs, voice=voice, get=False)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            timeout = aiohttp.ClientTimeout(total=TIMEOUT)
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.request(method, target, data=body, headers=headers) as reply,
            ):
                delivery.status = reply.status
                delivery.body = await reply.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.log.errors.append(f"{kind}: {type(exc).__name__}")
        self.log.deliveries.append(delivery)
        return delivery

    def _sign(
        self, url: str, method: str, pairs: list[tuple[str, str]], *, voice: bool, get: bool
    ) -> dict[str, str]:
        if self.style == "twilio":
            return signatures.twilio_headers(self.auth_token, url, [] if get else pairs)
        nonce = signatures.new_nonce()
        if voice:
            return {
                signatures.PLIVO_V3: signatures.plivo_v3_signature(
                    self.auth_token, url, method, [] if get else pairs, nonce
                ),
                signatures.PLIVO_V3_NONCE: nonce,
            }
        return {
            signatures.PLIVO_V2: signatures.plivo_v2_signature(self.auth_token, url, nonce),
            signatures.PLIVO_V2_NONCE: nonce,
        }

    # -- messages ------------------------------------------------------------------------------

    async def message_status(
        self, url: str, method: str, base: Mapping[str, str], states: list[str]
    ) -> None:
        """Status callbacks for one message, in order; Twilio sends none for ``queued``."""
        for state in states:
            params = dict(base)
            params["MessageStatus" if self.style == "twilio" else "Status"] = state
            if self.style == "twilio":
                params["SmsStatus"] = state
            await self.send("message-status", url, method, params, voice=False)
        self.log.done.set()

    # -- calls ---------------------------------------------------------------------------------

    def place(self, call_id: str) -> LiveCall:
        """The call is live from now (its create), before ``run_call`` starts on it: a REST
        request right after the create finds it ringing."""
        call = self.live.get(call_id)
        if call is None:
            call = LiveCall(call_id, started=self.clock())
            self.live[call_id] = call
        return call

    async def run_call(
        self,
        answer: tuple[str, str],
        base: Mapping[str, str],
        *,
        ring: tuple[str, str] | None = None,
        hangup: tuple[str, str] | None = None,
        final: Mapping[str, str] | None = None,
        call_id: str | None = None,
        destination: str = "",
        ring_timeout: float | None = None,
        on_end: Callable[[LiveCall], Mapping[str, str]] | None = None,
    ) -> str:
        """Ring, answer, run the documents, hang up: the callbacks of one outbound call.
        ``call_id`` makes the call live for REST call control while it runs. ``on_end`` hears
        how the call ended before the hang-up callback goes out, and may add to its
        parameters. The call's final state: ``completed``, ``canceled``, ``no-answer`` or
        ``busy``."""
        call = self.place(call_id or str(uuid.uuid4()))
        number = destination.lstrip("+")
        try:
            if number == BUSY:
                call.state = "busy"  # no ringing, no answer: straight to the hang-up
            else:
                await self._ring_and_answer(call, number, answer, base, ring, ring_timeout)
        finally:
            self.live.pop(call.call_id, None)
            call.ended = self.clock()
            unanswered = call.state in _UNANSWERED_STATES
            call.state = call.state if unanswered else "completed"
            told = dict(on_end(call)) if on_end is not None else {}
            if hangup is not None:
                params = {**base, **(final or {}), **self._status(call.state), **told}
                if unanswered:
                    params.update({k: "0" for k in _DURATIONS if k in params})
                await self.send("hangup", *hangup, params, voice=True)
            self.log.done.set()
        return call.state

    async def _ring_and_answer(
        self,
        call: LiveCall,
        number: str,
        answer: tuple[str, str],
        base: Mapping[str, str],
        ring: tuple[str, str] | None,
        ring_timeout: float | None,
    ) -> None:
        if ring is not None:
            await self.send("ring", *ring, {**base, **self._status("ringing")}, voice=True)
        if number == UNANSWERED:
            # Ends unanswered: canceled (or hung up) by a REST request, or nobody picks up.
            command = await self._hold(call, MAX_HOLD if ring_timeout is None else ring_timeout)
            call.state = "canceled" if command is not None else "no-answer"
            return
        call.state = "in-progress"
        call.answered = self.clock()
        await self._run_documents(answer, base, call)

    def transfer(self, call_id: str, url: str, method: str) -> bool:
        """Make an answered call fetch ``url`` next (Plivo's transfer, Twilio's redirect);
        False when there is no such call in progress."""
        if self.state(call_id) != "in-progress":
            return False
        return self._command(call_id, ("transfer", url, method.upper() or "POST"))

    def hang_up(self, call_id: str) -> bool:
        return self._command(call_id, ("hangup", "", ""))

    def cancel(self, call_id: str) -> bool:
        """End a call that is still ringing; False once it was answered (or is over)."""
        call = self.live.get(call_id)
        if call is None or call.state != "ringing":
            return False
        return self._command(call_id, ("cancel", "", ""))

    def state(self, call_id: str) -> str | None:
        call = self.live.get(call_id)
        return call.state if call is not None else None

    def _command(self, call_id: str, command: tuple[str, str, str]) -> bool:
        call = self.live.get(call_id)
        if call is None:
            return False
        call.commands.put_nowait(command)
        return True

    async def _hold(self, call: LiveCall, seconds: float) -> tuple[str, str, str] | None:
        """Wait up to ``seconds`` for a command; the command, or None when none came."""
        try:
            async with asyncio.timeout(min(seconds, MAX_HOLD)):
                return await call.commands.get()
        except TimeoutError:
            return None

    def _status(self, state: str) -> dict[str, str]:
        if self.style == "plivo" and state == "canceled":
            return {"CallStatus": "cancel"}
        return {"CallStatus": state}

    async def _run_documents(
        self, first: tuple[str, str], base: Mapping[str, str], call: LiveCall
    ) -> None:
        url, method = first
        params = {**base, **self._status("in-progress")}
        kind = "answer"
        for _ in range(MAX_DOCUMENTS):
            delivery = await self.send(kind, url, method, params, voice=True)
            if not 200 <= delivery.status < 300:
                self.log.errors.append(f"{kind}: the app answered {delivery.status}")
                return
            try:
                root = ElementTree.fromstring(delivery.body)
            except Exception as exc:
                self.log.errors.append(f"{kind}: unreadable document ({type(exc).__name__})")
                return
            if root.tag != "Response":
                self.log.errors.append(f"{kind}: root element {root.tag}")
                return
            step = await self._execute(root, url, call)
            if step is None:
                return
            url, method, extra, kind = step
            params = {**base, **self._status("in-progress"), **extra}
        self.log.errors.append("too many documents")

    async def _execute(
        self, root: object, document_url: str, call: LiveCall
    ) -> tuple[str, str, dict[str, str], str] | None:
        """Run a document's elements; the next request (URL, method, params, kind) or None.
        A command that arrived meanwhile (a transfer, a hang-up) is obeyed between elements,
        and at once during a pause."""
        known = _TWIML if self.style == "twilio" else _PLIVO_XML
        for element in list(root):  # type: ignore[call-overload]
            if not call.commands.empty():
                return self._obey(call.commands.get_nowait())
            tag = element.tag
            if tag not in known:
                self.log.errors.append(f"unknown element {tag}")
                return None
            self.log.executed.append(tag)
            for child in list(element):
                if child.tag not in known and child.tag not in _NESTED:
                    self.log.errors.append(f"unknown element {child.tag} in {tag}")
                    return None
                self.log.executed.append(f"{tag}/{child.tag}")
            if tag in ("Hangup", "Reject"):
                return None
            if tag in ("Pause", "Wait"):
                command = await self._hold(call, _length(element.get("length")))
                if command is not None:
                    return self._obey(command)
                continue
            if tag == "Redirect":
                target = urljoin(document_url, (element.text or "").strip())
                return target, element.get("method", "POST"), {}, "redirect"
            result = self._action(element, document_url)
            if result is not None:
                return result
        if not call.commands.empty():
            return self._obey(call.commands.get_nowait())
        return None

    def _obey(self, command: tuple[str, str, str]) -> tuple[str, str, dict[str, str], str] | None:
        what, url, method = command
        self.log.executed.append(f"({what})")
        if what == "transfer":
            return url, method, {}, "transfer"
        return None  # a hang-up (a cancel once answered is a hang-up too)

    def _action(
        self, element: object, document_url: str
    ) -> tuple[str, str, dict[str, str], str] | None:
        tag = element.tag  # type: ignore[attr-defined]
        get = element.get  # type: ignore[attr-defined]
        action = get("action")
        if tag in ("Gather", "GetDigits", "GetInput"):
            if self.style == "twilio" and not action:
                action = document_url  # Twilio's default: the current document
            if not action:
                return None
            result = {"Digits": self.digits}
            if self.style == "plivo" and tag == "GetInput":
                result["InputType"] = "dtmf"
            return urljoin(document_url, action), get("method", "POST"), result, "action"
        if tag == "Record" and action:
            recording = uuid.uuid4()
            if self.style == "twilio":
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
            if self.style == "twilio":
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
# How a call that was never answered ends; what it reports as lasting: nothing.
_UNANSWERED_STATES = frozenset({"canceled", "no-answer", "busy"})
_DURATIONS = ("Duration", "BillDuration", "CallDuration")


def _length(value: str | None) -> float:
    """A Pause or Wait length in seconds: 1 by default, as both providers do."""
    try:
        return max(0.0, float(value)) if value else 1.0
    except ValueError:
        return 1.0


# Children that only appear inside another element (Dial's targets, a message body).
_NESTED = frozenset({"Number", "User", "Client", "Sip", "Conference", "Body", "Media"})
