"""``local_time``: give a time written without an offset the offset of the zone it was written in.

Plivo writes its times with their offset (``2017-05-22 21:36:14+05:30``), except a live call's
``session_start``: ``2017-05-22 13:17:49.050872``, in the account's own time zone. The
converters read a time without an offset as UTC, so such a time first gets the offset its zone
had at that moment, summer time included (``2017-05-22 13:17:49.050872+05:30``); ``rfc2822_gmt``
and the other converters then read it exactly. A time that has an offset already, and an absent,
null or empty value, are left as they are; anything else that is not a time fails the step
(``error`` chooses the client error).

``zone``: an IANA zone name (``Asia/Kolkata``), ``UTC``, a fixed offset (``+05:30``), or a
reference to one: ``$upstream.timezone`` is the zone of the upstream account the request is made
with (``accounts[].upstream.timezone``, checked when the config loads). A literal zone the
machine does not know is a config error.

Example::

    - {op: local_time, at: session_start, zone: $upstream.timezone}
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import PrivateAttr, field_validator

from proxy.engine.exchange import Exchange
from proxy.pipeline.paths import MISSING, DataPath, assign, has_slot
from proxy.pipeline.step import Ref, Step, StepFailure, compiled, parse_path
from proxy.steps.convert import ErrorSpec

_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})")
_NAMED_UTC = frozenset({"UTC", "Z", "GMT", "ETC/UTC"})


@lru_cache(maxsize=64)
def zone_named(name: str) -> tzinfo:
    """The zone ``name`` stands for: an IANA name, ``UTC`` or ``±HH:MM``; ``ValueError`` when
    it is none of these (or the machine has no data for it)."""
    text = name.strip()
    if text.upper() in _NAMED_UTC:
        return UTC  # without the zone database: a container may not ship it
    fixed = _OFFSET.fullmatch(text)
    if fixed is not None:
        sign, hours, minutes = fixed.groups()
        if int(hours) > 23 or int(minutes) > 59:
            raise ValueError(f"{name!r} is not a UTC offset (±HH:MM)")
        offset = timedelta(hours=int(hours), minutes=int(minutes))
        return timezone(-offset if sign == "-" else offset)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not a time zone: an IANA name (Asia/Kolkata), UTC or ±HH:MM"
        ) from None


def with_offset(value: str, zone: tzinfo) -> str:
    """``value`` with the offset ``zone`` had at that time, in the same form; a time that has
    an offset already is returned as it is. ``ValueError`` for text that is not a time."""
    text = value.strip()
    try:
        if len(text) < 16:  # a date alone is not a moment
            raise ValueError
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("not a time (YYYY-MM-DD HH:MM[:SS[.ffffff]])") from None
    if parsed.tzinfo is not None:
        return value
    offset = parsed.replace(tzinfo=zone).utcoffset() or timedelta()
    sign = "-" if offset < timedelta() else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


class LocalTime(Step):
    op: Literal["local_time"]
    at: str
    zone: str
    error: ErrorSpec | None = None
    _at: DataPath = PrivateAttr()
    _zone: Ref | None = PrivateAttr(default=None)

    @field_validator("zone")
    @classmethod
    def _known(cls, v: str) -> str:
        if not v.startswith("$"):
            zone_named(v)  # a ValueError is a config problem, with its location
        return v

    def model_post_init(self, _: Any) -> None:
        compiled(self, "_at", parse_path(self.at))
        if not self._at.segments:
            raise ValueError("'local_time' needs a non-empty 'at'")
        compiled(self, "_zone", Ref(self.zone) if self.zone.startswith("$") else None)

    def apply(self, ex: Exchange, doc: Any) -> Any:
        zone: tzinfo | None = None
        for parent, key, where in self._at.parents(doc, create=False):
            if not has_slot(parent, key):
                continue
            value = parent[key]
            if value is None or value == "":
                continue
            if zone is None:  # the zone once, and only for a document that has a time
                zone = self._zone_of(ex, doc)
            try:
                if not isinstance(value, str):
                    raise ValueError(f"expected a time, found {type(value).__name__}")
                assign(parent, key, with_offset(value, zone))
            except ValueError as exc:
                if self.error is not None:
                    raise self.error.failure(ex, doc, str(exc), where) from None
                raise StepFailure(str(exc), where) from None
        return doc

    def _zone_of(self, ex: Exchange, doc: Any) -> tzinfo:
        if self._zone is None:
            return zone_named(self.zone)
        name = self._zone.get(ex, doc)
        if name is MISSING or name is None or name == "":
            return UTC  # no account (offline, ``dialect translate``): as the converters read it
        try:
            return zone_named(str(name))
        except ValueError as exc:
            raise StepFailure(str(exc), self.zone) from None
