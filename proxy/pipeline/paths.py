"""A small path language for addressing data inside bodies.

``objects[*].sid``, ``message_uuid[0]``, ``subresource_uris.media``, ``["DateSent>"]``.
Paths are compiled once when the config loads; at request time they only walk dicts and lists.
Keeping the language this small is deliberate: every path a user writes can be read at a glance,
and an error can always say exactly which concrete location (``objects[3].sid``) was wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from proxy.pipeline.rules import MISSING, Missing, reader

__all__ = ["MISSING", "WILDCARD", "DataPath", "Missing"]


class _Wildcard:
    def __repr__(self) -> str:
        return "[*]"


WILDCARD = _Wildcard()
Segment = str | int | _Wildcard

_TOKEN = re.compile(
    r"""
    (?P<name>[^.\[\]"']+)            # bare key
  | \[(?P<index>-?\d+)\]             # list index
  | \[(?P<star>\*)\]                 # every item
  | \[(?P<q>["'])(?P<quoted>.*?)(?P=q)\]   # quoted key
  | (?P<dot>\.)
    """,
    re.VERBOSE,
)


def render_path(segments: str | tuple[Segment, ...]) -> str:
    return segments if isinstance(segments, str) else _render(segments)


def _render(segments: tuple[Segment, ...]) -> str:
    out = ""
    for seg in segments:
        if isinstance(seg, _Wildcard):
            out += "[*]"
        elif isinstance(seg, int):
            out += f"[{seg}]"
        elif re.fullmatch(r"[A-Za-z0-9_\-$]+", seg):
            out += ("." if out else "") + seg
        else:
            out += f'["{seg}"]'
    return out


@dataclass(frozen=True, slots=True)
class DataPath:
    """A compiled path. The empty path (``""`` or ``"."``) addresses the whole document."""

    text: str
    segments: tuple[Segment, ...]
    top_key: str | None = field(init=False, default=None, compare=False)
    # Known once: ``get`` runs for every reference of every request.
    has_wildcard: bool = field(init=False, default=False, compare=False)
    _read: Any = field(init=False, default=None, compare=False, repr=False)

    @classmethod
    def parse(cls, text: str) -> DataPath:
        if text in ("", "."):
            return cls(text="", segments=())
        segments: list[Segment] = []
        pos = 0
        expect_key = True
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:
                raise ValueError(f"bad path {text!r} at character {pos}")
            if m.group("dot") is not None:
                if expect_key:
                    raise ValueError(f"bad path {text!r}: empty key at character {pos}")
                expect_key = True
            elif m.group("name") is not None:
                if not expect_key:
                    raise ValueError(f"bad path {text!r}: missing '.' at character {pos}")
                segments.append(m.group("name"))
                expect_key = False
            elif m.group("index") is not None:
                segments.append(int(m.group("index")))
                expect_key = False
            elif m.group("star") is not None:
                segments.append(WILDCARD)
                expect_key = False
            else:
                segments.append(m.group("quoted"))
                expect_key = False
            pos = m.end()
        if expect_key:
            raise ValueError(f"bad path {text!r}: ends with '.'")
        return cls(text=text, segments=tuple(segments))

    def __str__(self) -> str:
        return self.text

    def __post_init__(self) -> None:
        # The key, when the path is one plain key (``sid``): steps then skip the walk.
        one = self.segments[0] if len(self.segments) == 1 else None
        object.__setattr__(self, "top_key", one if isinstance(one, str) else None)
        object.__setattr__(self, "has_wildcard", WILDCARD in self.segments)

    def child(self, key: str) -> DataPath:
        segs = (*self.segments, key)
        return DataPath(text=_render(segs), segments=segs)

    # -- reading ---------------------------------------------------------------------------

    def get(self, data: Any, default: Any = MISSING) -> Any:
        """The single value at this path, or ``default``. A wildcard takes the first match;
        any other path reads as ``rules.read`` says."""
        if self.has_wildcard:
            for value, _ in self.find(data):
                return value
            return default
        read = self._read
        if read is None:
            segments = tuple(s for s in self.segments if isinstance(s, str | int))
            read = reader(segments)
            object.__setattr__(self, "_read", read)
        value = read(data)
        return default if value is MISSING else value

    def find(self, data: Any) -> Iterator[tuple[Any, str]]:
        """Every existing value at this path, with the concrete path it was found at."""
        yield from _find(data, self.segments, ())

    # -- writing ---------------------------------------------------------------------------

    def parents(
        self, data: Any, *, create: bool
    ) -> Iterator[tuple[Any, Segment, tuple[Segment, ...]]]:
        """Every container that holds (or would hold) the last segment, with its concrete path.

        With ``create`` missing dicts on the way are made, so ``set`` can build nested fields.
        The concrete path comes as segments; ``render_path`` makes text of it, which only an
        error needs (rendering every slot was a measurable share of a pipeline's time).
        """
        if not self.segments:
            raise ValueError("the whole document has no parent")
        *head, last = self.segments
        for container, where in _walk(data, tuple(head), (), create):
            if isinstance(last, _Wildcard):
                # A trailing [*] addresses every item: yield each index as its own slot.
                if isinstance(container, list):
                    for i in range(len(container)):
                        yield container, i, (*where, i)
                continue
            yield container, last, (*where, last)


def _find(
    data: Any, segs: tuple[Segment, ...], where: tuple[Segment, ...]
) -> Iterator[tuple[Any, str]]:
    if not segs:
        yield data, _render(where)
        return
    seg, rest = segs[0], segs[1:]
    if isinstance(seg, _Wildcard):
        if isinstance(data, list):
            for i, item in enumerate(data):
                yield from _find(item, rest, (*where, i))
        return
    if isinstance(seg, int):
        if isinstance(data, list) and -len(data) <= seg < len(data):
            yield from _find(data[seg], rest, (*where, seg))
        return
    if isinstance(data, dict) and seg in data:
        yield from _find(data[seg], rest, (*where, seg))


def _walk(
    data: Any, segs: tuple[Segment, ...], where: tuple[Segment, ...], create: bool
) -> Iterator[tuple[Any, tuple[Segment, ...]]]:
    if not segs:
        if isinstance(data, dict | list):
            yield data, where
        return
    seg, rest = segs[0], segs[1:]
    if isinstance(seg, _Wildcard):
        if isinstance(data, list):
            for i, item in enumerate(data):
                yield from _walk(item, rest, (*where, i), create)
        return
    if isinstance(seg, int):
        if isinstance(data, list) and -len(data) <= seg < len(data):
            yield from _walk(data[seg], rest, (*where, seg), create)
        return
    if not isinstance(data, dict):
        return
    if seg not in data or data[seg] is None:
        if not create:
            return
        data[seg] = {}
    yield from _walk(data[seg], rest, (*where, seg), create)


def has_slot(parent: Any, key: Segment) -> bool:
    """Whether ``parent[key]`` exists (a dict key, or an index inside a list)."""
    if isinstance(parent, dict):
        return isinstance(key, str) and key in parent
    if isinstance(parent, list):
        return isinstance(key, int) and -len(parent) <= key < len(parent)
    return False


def assign(parent: Any, key: Segment, value: Any) -> bool:
    """Set ``parent[key]``; False where no such slot can exist (a list index out of range)."""
    if isinstance(parent, dict) and isinstance(key, str):
        parent[key] = value
        return True
    if isinstance(parent, list) and isinstance(key, int) and -len(parent) <= key < len(parent):
        parent[key] = value
        return True
    return False
