"""One exchange as the inspector keeps it: captured while it runs, redacted once when it ends.

``Capture`` is the request's observer (``tracecontext.Observer``): the pool reports each
outbound call to it (upstream calls, and for a callback the app's request and answer), the
engine fills its step trace, and the generation hands it the answer. ``render`` then turns it
into two JSON documents, the summary the list shows and the detail an opened exchange shows,
each redacted exactly as the log lines are (``proxy.ops.logs``): a field named like a
credential (``Authorization``…) is ``[secret]`` whatever it holds, and every configured secret
is cut out of the rendered text wherever it appears. Nothing else of an exchange is ever
served; the request itself is kept apart, unredacted, for replay only.

Bodies are kept up to ``BODY_LIMIT`` bytes each, trace values up to ``VALUE_LIMIT`` bytes of
JSON, and a detail over its share of the history (``render``'s budget) keeps shorter bodies and
fewer trace rows: the history's bytes are spent on many exchanges rather than one large page.
"""

from __future__ import annotations

import base64
import binascii
import shlex
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import orjson

from proxy.http.messages import Request, Response
from proxy.ops.logs import redact_keys, scrub_line
from proxy.ops.tracecontext import TraceContext
from proxy.pipeline.trace import StepTrace

BODY_LIMIT = 64 * 1024
VALUE_LIMIT = 2048
# Header names that carry credentials besides those the log's rule names (``authorization``,
# ``password``, ``secret``, ``token``): cookies and a proxy's credentials.
_CREDENTIAL_HEADERS = frozenset({"proxy-authorization", "cookie", "set-cookie"})
# What curl writes itself, or what would make the copied command differ from a fresh request.
_NOT_FOR_CURL = frozenset({"host", "content-length", "connection", "accept-encoding"})
SECRET = "[secret]"  # noqa: S105 - the marker the logs write, not a password


class CallCapture:
    """One outbound request of the exchange and its answer (or why there was none)."""

    __slots__ = (
        "elapsed",
        "error",
        "method",
        "origin",
        "response",
        "sent",
        "started",
        "target",
        "traceparent",
    )

    def __init__(self, method: str, origin: str, target: str, traceparent: str) -> None:
        self.method, self.origin, self.target = method, origin, target
        self.traceparent = traceparent
        self.started = time.perf_counter()
        self.elapsed = 0.0
        self.sent = b""
        self.response: Any = None
        self.error: str | None = None

    def ended(self, sent: bytes, response: Any, error: BaseException | None) -> None:
        self.elapsed = time.perf_counter() - self.started
        self.sent, self.response = sent, response
        if error is not None:
            text = str(error)
            self.error = f"{type(error).__name__}: {text}" if text else type(error).__name__


class Capture:
    """What the inspector learns of one exchange while it runs."""

    def __init__(
        self,
        request: Request,
        kind: str,
        done: Callable[[Capture, TraceContext, Response], None],
        replay_of: int | None = None,
    ) -> None:
        self.request = request
        self.kind = kind  # "request" (a route) or "callback"
        self.replay_of = replay_of
        self.done = done
        self.time = datetime.now(UTC)
        self.started = time.perf_counter()
        self.calls: list[CallCapture] = []
        self.steps = StepTrace()

    # -- tracecontext.Observer ---------------------------------------------------------------

    def call(self, method: str, origin: str, target: str, traceparent: str) -> CallCapture:
        call = CallCapture(method, origin, target, traceparent)
        self.calls.append(call)
        return call

    def finished(self, trace: TraceContext, response: Any) -> None:
        self.done(self, trace, response)


def render(
    capture: Capture,
    ident: int,
    trace: TraceContext,
    response: Response,
    elapsed: float,
    budget: int,
) -> tuple[bytes, bytes]:
    """The summary and the detail of a finished exchange, as served: JSON, redacted. A detail
    over ``budget`` bytes (its share of the history) keeps shorter bodies and the trace rows
    that fit, and says how many it left out."""
    summary, detail = _documents(capture, ident, trace, response, elapsed, BODY_LIMIT)
    served = _served(detail)
    if len(served) <= budget:
        return _served(summary), served
    summary, detail = _documents(capture, ident, trace, response, elapsed, max(1024, budget // 8))
    rows, detail["trace"] = detail["trace"], []
    used = len(_served(detail)) + 64
    kept = []
    for row in rows:
        used += len(orjson.dumps(row, default=str)) + 1
        if used > budget:
            break
        kept.append(row)
    detail["trace"], detail["trace_cut"] = kept, len(rows) - len(kept)
    return _served(summary), _served(detail)


def _documents(
    capture: Capture,
    ident: int,
    trace: TraceContext,
    response: Response,
    elapsed: float,
    body_limit: int,
) -> tuple[dict[str, Any], dict[str, Any]]:
    request = capture.request
    path, _, query = request.target.partition("?")
    shown_path = unquote(path) + (f"?{query}" if query else "")
    calls = [_call(c, body_limit) for c in capture.calls]
    route = trace.route if capture.kind == "request" else "callback"
    summary = {
        "id": ident,
        "kind": capture.kind,
        "time": capture.time.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "method": request.method,
        "path": shown_path,
        "route": route,
        "status": response.status,
        "latency_ms": round(elapsed * 1000, 2),
        "calls": [
            {"method": c["method"], "url": c["url"], "status": c.get("status")} for c in calls
        ],
        "error": trace.error,
        "replay_of": capture.replay_of,
    }
    host = request.headers.get("Host") or "127.0.0.1"
    url = f"{request.scheme}://{host}{request.target}"
    headers = list(request.headers.items())
    steps = capture.steps
    detail = {
        **summary,
        "trace_id": trace.trace_id,
        "traceparent": trace.header,
        "client": {
            "method": request.method,
            "url": url,
            "headers": _headers(headers),
            "body": _body(request.body, body_limit),
            "curl": curl(request.method, url, headers, request.body),
        },
        "upstream": calls,
        "response": {
            "status": response.status,
            "headers": _headers(response.headers.items()),
            "body": _body(response.body, body_limit),
        },
        "trace": [_row(row) for row in steps.rows],
        "trace_unseen": steps.unseen,
        "trace_cut": 0,
    }
    return summary, detail


def _served(document: Any) -> bytes:
    """JSON as the log renders it, scrubbed by the log's own processor."""
    text = orjson.dumps(document, default=str).decode()
    return str(scrub_line(None, "", text)).encode()


def _headers(pairs: Iterable[tuple[str, str]]) -> list[list[str]]:
    out = []
    for name, value in pairs:
        # The log's rule for a field named like a credential, one header at a time.
        shown = redact_keys(None, "", {name: value})[name]
        if name.lower() in _CREDENTIAL_HEADERS:
            shown = SECRET
        out.append([name, str(shown)])
    return out


def _body(raw: bytes, limit: int) -> dict[str, Any]:
    """A body as text, cut at ``limit``; bytes that are not text are only counted."""
    size = len(raw)
    cut = raw[:limit]
    if b"\0" in cut:
        return {"size": size, "text": None}
    text = cut.decode("utf-8", errors="replace")
    return {"size": size, "text": text, "cut": size > limit}


def _call(call: CallCapture, body_limit: int) -> dict[str, Any]:
    head, _, body = call.sent.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")[1:] if head else []
    headers = [(n, v.strip()) for n, _, v in (line.partition(":") for line in lines) if n]
    url = call.origin + call.target
    out: dict[str, Any] = {
        "method": call.method,
        "url": url,
        "traceparent": call.traceparent,
        "headers": _headers(headers),
        "body": _body(body, body_limit),
        "curl": curl(call.method, url, headers, body),
        "latency_ms": round(call.elapsed * 1000, 2),
        "error": call.error,
    }
    response = call.response
    if response is not None:
        out["status"] = response.status
        out["reply"] = {
            "headers": _headers(response.headers.items()),
            "body": _body(response.body, body_limit),
        }
    return out


def _row(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "changes": [_bounded(change) for change in row["changes"]]}


def _bounded(change: dict[str, Any]) -> dict[str, Any]:
    """A change whose values are at most VALUE_LIMIT bytes of JSON (a larger one is shown cut,
    as text, and marked)."""
    out = dict(change)
    for side in ("before", "after"):
        if side in out:
            shown = orjson.dumps(out[side], default=str)
            if len(shown) > VALUE_LIMIT:
                out[side] = shown[:VALUE_LIMIT].decode("utf-8", errors="ignore") + "…"
                out["cut"] = True
    return out


def curl(method: str, url: str, headers: Iterable[tuple[str, str]], body: bytes) -> str:
    """The request as a curl command, credentials replaced by ``[secret]``: what was sent,
    for a person to edit and run (Basic credentials keep their user name)."""
    parts = ["curl"]
    if method == "HEAD":
        parts.append("--head")
    elif method != ("POST" if body else "GET"):
        parts += ["-X", method]
    parts.append(shlex.quote(url))
    for name, value in headers:
        low = name.lower()
        if low in _NOT_FOR_CURL:
            continue
        if low == "authorization":
            user = _basic_user(value)
            if user is not None:
                parts += ["-u", shlex.quote(f"{user}:{SECRET}")]
                continue
            value = SECRET
        elif low in _CREDENTIAL_HEADERS or redact_keys(None, "", {name: value})[name] == SECRET:
            value = SECRET
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    if body:
        parts += ["--data-binary", shlex.quote(body[:BODY_LIMIT].decode("utf-8", "replace"))]
    return " ".join(parts)


def _basic_user(value: str) -> str | None:
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, _ = base64.b64decode(token.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user if sep and user.isprintable() else None
