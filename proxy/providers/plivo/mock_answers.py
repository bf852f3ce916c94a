"""How the Plivo-style mock's resources answer: the mock's own errors and bodies, a list's
``limit``/``offset`` window and ``meta``, the filters several lists share, URLs made absolute
on the host asked, new ids, and the account every resource answers for (``MockAccount``).

One definition for every list (messages and calls in ``mock``, recordings and numbers in the
modules ``mock_resources`` routes to), so that each refuses a bad ``limit``, a bad ``services``
or a bad time filter in the same words, and links its pages in the same ``meta``.
The error and body makers are the mock's own (``mock``): one of each.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from proxy.providers.plivo import rest as plivo

_SERVICES = ("voice", "sms", "mms")
_FILTER_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?")


class PlivoAnswers:
    """``fail(status, text)`` makes the mock's own error, ``respond(status, body)`` its answer
    (with an ``api_id``) and ``read_json(request)`` its strict JSON body."""

    def __init__(
        self,
        fail: Callable[[int, str], Exception],
        respond: Callable[[int, dict[str, Any]], web.Response],
        read_json: Callable[[web.Request], Awaitable[dict[str, Any]]],
    ) -> None:
        self.fail, self.respond, self.read_json = fail, respond, read_json

    def window(self, q: Any) -> tuple[int, int]:
        """``limit`` (1-20, default 20) and ``offset`` (from 0), or the mock's 400."""
        limit, offset = self._integer(q, "limit", "20"), self._integer(q, "offset", "0")
        if not 1 <= limit <= plivo.MAX_LIMIT:
            raise self.fail(400, "limit should be between 1 and 20")
        if offset < 0:
            raise self.fail(400, "offset should be a non-negative integer")
        return limit, offset

    def _integer(self, q: Any, name: str, default: str) -> int:
        try:
            return int(q.get(name, default))
        except ValueError:
            raise self.fail(400, f"{name} must be an integer") from None

    def services(self, q: Any) -> list[str]:
        wanted = [s for s in q["services"].split(",") if s]
        if not wanted or any(s not in _SERVICES for s in wanted):
            raise self.fail(400, "services must be voice, sms or mms, separated by commas")
        return wanted

    def filter_time(self, value: str) -> datetime:
        """A time filter's value: UTC ``YYYY-MM-DD HH:MM[:ss[.uuuuuu]]``, as Plivo takes it; a
        well-shaped time that is no time (month 13) is refused the same way."""
        try:
            if _FILTER_TIME.fullmatch(value):
                return datetime.fromisoformat(value).replace(tzinfo=UTC)
        except ValueError:
            pass
        raise self.fail(
            400, f"'{value}' is not a valid time filter, use YYYY-MM-DD HH:MM[:ss[.uuuuuu]]"
        )

    def time_bounds(self, q: Any, key: str) -> list[tuple[str, datetime]]:
        """The bounds ``key__gt``, ``__gte``, ``__lt``, ``__lte`` and ``key`` itself (``eq``)
        set on a list, each to be checked with ``holds``; none when the query sets none."""
        bounds = [
            (op, self.filter_time(q[f"{key}__{op}"]))
            for op in ("gt", "gte", "lt", "lte")
            if f"{key}__{op}" in q
        ]
        if key in q:
            bounds.append(("eq", self.filter_time(q[key])))
        return bounds

    def page(
        self,
        request: web.Request,
        objects: list[dict[str, Any]],
        total: int,
        limit: int,
        offset: int,
    ) -> web.Response:
        filters = [(k, v) for k, v in request.query.items() if k not in ("limit", "offset")]
        meta = plivo.list_meta(
            request.path,
            limit=limit,
            offset=offset,
            total_count=total,
            has_next=offset + limit < total,
            filters=filters,
        )
        return self.respond(200, {"meta": meta, "objects": objects})


@dataclass(frozen=True)
class MockAccount:
    """What each resource of the mock shares: the account's ``auth_id``, the mock's clock, how
    it writes a time (``fmt(dt, micro)``, in the account's own UTC offset) and its answers."""

    auth_id: str
    clock: Callable[[], datetime]
    fmt: Callable[[datetime, bool], str]
    answers: PlivoAnswers


def new_uuid(rng: random.Random | None) -> str:
    """A Plivo id (a version 4 UUID), from ``rng`` when seeding, random otherwise."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4)) if rng else str(uuid.uuid4())


def digits(number: str) -> str:
    """A number as Plivo writes it: without its ``+``."""
    return number.lstrip("+")


def absolute(record: dict[str, Any], key: str, host: str) -> dict[str, Any]:
    """A copy of ``record`` with its root-relative URL ``key`` on ``host`` (the host asked)."""
    out = dict(record)
    if isinstance(out.get(key), str) and out[key].startswith("/"):
        out[key] = host + out[key]
    return out


def holds(value: datetime, op: str, bound: datetime) -> bool:
    """Plivo's comparison filters: ``name__gt``, ``__gte``, ``__lt``, ``__lte``, and ``name``
    itself (``eq``), which matches to the second."""
    if op == "eq":
        return value.replace(microsecond=0) == bound.replace(microsecond=0)
    return {"gt": value > bound, "gte": value >= bound, "lt": value < bound, "lte": value <= bound}[
        op
    ]
