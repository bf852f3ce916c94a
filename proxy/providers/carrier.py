"""What a carrier does after a create: the callbacks the strict mocks make, signed like the
real provider's, and the calls it keeps live meanwhile.

The built-in mocks stand for Plivo and Twilio in ``dialect demo`` and in the tests, so besides
answering REST calls they call back the way the providers do: a created message gets signed
status callbacks, a created call rings, fetches its answer URL and runs the call-control
documents it gets (``carrier_documents``), and reports the end of the call.

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
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp

from proxy.callbacks import signatures
from proxy.providers.carrier_documents import run_documents

Style = Literal["plivo", "twilio"]
# Bounds: a callback never waits forever for the app, nor a call holds forever.
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
                params = {**base, **(final or {}), **self.call_status(call.state), **told}
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
            await self.send("ring", *ring, {**base, **self.call_status("ringing")}, voice=True)
        if number == UNANSWERED:
            # Ends unanswered: canceled (or hung up) by a REST request, or nobody picks up.
            command = await self.hold(call, MAX_HOLD if ring_timeout is None else ring_timeout)
            call.state = "canceled" if command is not None else "no-answer"
            return
        call.state = "in-progress"
        call.answered = self.clock()
        await run_documents(self, answer, base, call)

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

    async def hold(self, call: LiveCall, seconds: float) -> tuple[str, str, str] | None:
        """Wait up to ``seconds`` for a command; the command, or None when none came."""
        try:
            async with asyncio.timeout(min(seconds, MAX_HOLD)):
                return await call.commands.get()
        except TimeoutError:
            return None

    def call_status(self, state: str) -> dict[str, str]:
        """A callback's ``CallStatus``: Plivo says ``cancel`` where Twilio says ``canceled``."""
        if self.style == "plivo" and state == "canceled":
            return {"CallStatus": "cancel"}
        return {"CallStatus": state}


# How a call that was never answered ends; what it reports as lasting: nothing.
_UNANSWERED_STATES = frozenset({"canceled", "no-answer", "busy"})
_DURATIONS = ("Duration", "BillDuration", "CallDuration")
