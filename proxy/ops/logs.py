"""structlog set-up: one line per request, JSON or console, secrets scrubbed from every value."""

from __future__ import annotations

import asyncio
import atexit
import functools
import logging
import sys
import time
from collections.abc import Iterable, MutableMapping
from typing import Any

import orjson
import structlog

_SECRETS: list[str] = []
_ESCAPED: list[str] = []  # secrets whose JSON spelling differs (a quote, a backslash)
_SECRET_KEYS = frozenset({"authorization", "password", "secret", "token"})


def set_secrets(values: Iterable[str]) -> None:
    """Remember the configured secrets; any log value containing one is scrubbed."""
    _SECRETS[:] = sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)
    escaped = (orjson.dumps(v).decode()[1:-1] for v in _SECRETS)
    _ESCAPED[:] = [e for e, v in zip(escaped, _SECRETS, strict=True) if e != v]


@functools.lru_cache(maxsize=1024)
def _is_secret_key(key: str) -> bool:
    return key.lower() in _SECRET_KEYS


def redact_keys(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Fields named like credentials are never written, whatever they hold."""
    for key in _secret_keys(tuple(event)):
        event[key] = "[secret]"
    return event


@functools.lru_cache(maxsize=256)
def _secret_keys(keys: tuple[str, ...]) -> tuple[str, ...]:
    # Events of one kind have the same keys (the request line always): decided once per set.
    return tuple(key for key in keys if _is_secret_key(key))


def scrub_line(_: Any, __: str, line: Any) -> Any:
    """Configured secrets are cut out of the rendered line, wherever in it they appear.

    Scrubbing the one rendered string costs a substring search per secret; walking every
    value of every event before rendering cost more than the rest of the log line together.
    Both the raw and the JSON-escaped spelling of a secret are searched for.
    """
    for secret in _SECRETS:
        if secret in line:
            line = line.replace(secret, "[secret]")
    for secret in _ESCAPED:
        if secret in line:
            line = line.replace(secret, "[secret]")
    return line


def _dumps(event: Any, **_: Any) -> str:
    # orjson: a request line in about a tenth of the standard library's time.
    return orjson.dumps(event, default=repr).decode()


_SECOND: list[Any] = [-1, ""]


def add_timestamp(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """ISO 8601 UTC with microseconds, as structlog's TimeStamper writes it, for a third of its
    cost: the date and time of day are formatted once per second."""
    now = time.time()
    second = int(now)
    if second != _SECOND[0]:
        _SECOND[:] = [second, time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second))]
    event["timestamp"] = f"{_SECOND[1]}{int((now - second) * 1e6):06d}Z"
    return event


class BufferedLines:
    """A structlog logger that writes the lines of one event-loop turn together.

    Under load a proxy logs a line per request; writing and flushing each one is a system call
    per request. Lines logged while the loop runs are joined and written once, at the end of
    the current turn (``call_soon``), so no line waits longer than the requests around it;
    outside a running loop, and at exit, every line is written at once.
    """

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.lines: list[str] = []
        self.scheduled = False

    def msg(self, message: str) -> None:
        self.lines.append(message)
        if self.scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self.scheduled = True
        loop.call_soon(self.flush)

    # The names structlog calls by level; each writes the same way.
    def debug(self, message: str) -> None:
        self.msg(message)

    def info(self, message: str) -> None:
        self.msg(message)

    def warning(self, message: str) -> None:
        self.msg(message)

    def error(self, message: str) -> None:
        self.msg(message)

    def exception(self, message: str) -> None:
        self.msg(message)

    def log(self, message: str) -> None:
        self.msg(message)

    def flush(self) -> None:
        self.scheduled = False
        if not self.lines:
            return
        text = "\n".join(self.lines) + "\n"
        self.lines.clear()
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stream must not break a request
            pass


# The logger and processors the per-request line goes through (see ``log_request``); None
# while info lines are filtered out.
_REQUEST_CHAIN: list[Any] = [None]
_BUFFER: list[BufferedLines | None] = [None]
# Whether the chain is the JSON one: its processors are then applied inline (see log_request).
_JSON_LINES: list[bool] = [False]


def _flush_at_exit() -> None:
    buffer = _BUFFER[0]
    if buffer is not None:
        buffer.flush()


atexit.register(_flush_at_exit)


def configure(
    fmt: str = "json", level: str = "info", stream: Any = None, *, buffered: bool = False
) -> None:
    """One line per event. Loggers are cached on first use: a bound logger is built once,
    not per request (structlog's own advice for hot paths). ``buffered`` (the server's
    choice) writes the lines of one event-loop turn together."""
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_dumps)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    processors = [
        structlog.processors.add_log_level,
        add_timestamp,
        redact_keys,
        structlog.processors.format_exc_info,
        renderer,
        scrub_line,
    ]
    _flush_at_exit()  # lines of the previous set-up go out before its stream is replaced
    out = stream or sys.stdout
    logger: Any
    if buffered:
        logger = _BUFFER[0] = BufferedLines(out)
    else:
        _BUFFER[0] = None
        logger = structlog.WriteLogger(out)
    threshold = getattr(logging, level.upper(), logging.INFO)
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=lambda *_: logger,
        cache_logger_on_first_use=True,
    )
    _REQUEST_CHAIN[0] = (processors, logger) if threshold <= logging.INFO else None
    _JSON_LINES[0] = fmt == "json"


def log_request(event: dict[str, Any]) -> None:
    """The per-request info line, through the same processors as every other line.

    Called once per request, so it skips what a bound logger adds around the processors
    (context merging, level filtering by method, keyword packing): the same line, scrubbed
    and rendered alike, for about half the CPU.
    """
    chain = _REQUEST_CHAIN[0]
    if chain is None:
        return
    processors, logger = chain
    if structlog.get_config()["processors"] is not processors:
        # structlog was set up by someone else since (a test capturing lines): go its way.
        fields = {k: v for k, v in event.items() if k != "event"}
        get_logger().info(event["event"], **fields)
        return
    if _JSON_LINES[0]:
        # The JSON chain's steps in its order, called directly: structlog's add_log_level,
        # then ours; format_exc_info has nothing to do for a line without exc_info.
        event["level"] = "info"
        add_timestamp(logger, "info", event)
        redact_keys(logger, "info", event)
        logger.msg(scrub_line(logger, "info", _dumps(event)))
        return
    line: Any = event
    try:
        for processor in processors:
            line = processor(logger, "info", line)
    except structlog.DropEvent:  # a processor dropped it, as structlog allows
        return
    logger.msg(line)


def get_logger() -> Any:
    return structlog.get_logger("dialect")
