"""structlog set-up: one line per request, JSON or console, secrets scrubbed from every value."""

from __future__ import annotations

import functools
import logging
import sys
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
    for key in event:
        if _is_secret_key(key):
            event[key] = "[secret]"
    return event


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


def configure(fmt: str = "json", level: str = "info", stream: Any = None) -> None:
    """One line per event. Loggers are cached on first use: a bound logger is built once,
    not per request (structlog's own advice for hot paths)."""
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_dumps)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_keys,
            structlog.processors.format_exc_info,
            renderer,
            scrub_line,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            getattr(logging, level.upper(), logging.INFO)
        ),
        logger_factory=structlog.WriteLoggerFactory(stream or sys.stdout),
        cache_logger_on_first_use=True,
    )


def get_logger() -> Any:
    return structlog.get_logger("dialect")
