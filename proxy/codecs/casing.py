"""Key casing: the conventions the providers' APIs and SDKs use (snake, camel, Pascal).

Twilio's XML and CSV use PascalCase names for the fields its JSON writes in snake_case, and a
sidecar in front of a service written for another SDK may need keys re-cased either way. Every
function here works on the words of a name, so any casing converts to any other.

Names are only re-cased when they look like identifiers (letters, digits, ``_`` and ``-``).
Anything else, such as Twilio's range filters ``DateSent>`` or ``StartTime<``, carries meaning in
its punctuation and is returned unchanged rather than mangled.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_IDENTIFIER = re.compile(r"[A-Za-z0-9_\-]+")

# One word: an acronym run that stops before a capitalised word ("HTTP" in "HTTPServer"), a
# capitalised or lower-case word, or a bare acronym. Digits stay with the word they follow, so
# "mp3_url" and "Mp3Url" agree, and lower-case letters with the digits they follow ("1st").
_WORD = re.compile(r"[A-Z]+\d*(?=[A-Z][a-z])|[A-Z]?[a-z]+\d*|[A-Z]+\d*|\d+[a-z]*")


def split_words(name: str) -> list[str]:
    """The lower-cased words of ``name``, whatever its casing; [] for a name with none."""
    return [word.lower() for word in _WORD.findall(name)]


def _recase(name: str, join: Callable[[list[str]], str]) -> str:
    if not _IDENTIFIER.fullmatch(name):
        return name
    words = split_words(name)
    return join(words) if words else name


def to_snake(name: str) -> str:
    """``NumSegments`` → ``num_segments``; ``messageUUID`` → ``message_uuid``."""
    return _recase(name, "_".join)


def to_camel(name: str) -> str:
    """``num_segments`` → ``numSegments``."""
    return _recase(name, lambda words: words[0] + "".join(w.capitalize() for w in words[1:]))


def to_pascal(name: str) -> str:
    """``num_segments`` → ``NumSegments``; acronyms become words (``uri`` → ``Uri``), as Twilio's
    XML and CSV spell them."""
    return _recase(name, lambda words: "".join(w.capitalize() for w in words))


CASINGS: dict[str, Callable[[str], str]] = {
    "snake": to_snake,
    "camel": to_camel,
    "pascal": to_pascal,
}


def _copy_into(value: Any, walk: bool, pending: list[tuple[Any, Any]]) -> Any:
    """An empty container to fill later for a dict or list that must be walked, else ``value``."""
    if walk and isinstance(value, dict | list):
        target: dict[Any, Any] | list[Any] = {} if isinstance(value, dict) else []
        pending.append((value, target))
        return target
    return value


def recase_keys(data: Any, casing: Callable[[str], str], *, deep: bool = True) -> Any:
    """A copy of ``data`` with every dict key passed through ``casing``.

    Lists are always walked, so a list of records is re-cased record by record. With
    ``deep=False`` only the outermost dicts are re-cased: their values are kept as they are (and
    shared with the input). Non-string keys are kept. When two keys re-case to the same name the
    later value wins, at the position of the first.

    The walk uses an explicit stack rather than recursion: bodies come from clients and upstreams,
    and a deeply nested one must not be able to exhaust Python's recursion limit.
    """
    pending: list[tuple[Any, Any]] = []
    result = _copy_into(data, True, pending)
    while pending:
        source, target = pending.pop()
        if isinstance(source, dict):
            for key, value in source.items():
                new_key = casing(key) if isinstance(key, str) else key
                target[new_key] = _copy_into(value, deep, pending)
        else:
            target.extend(_copy_into(item, True, pending) for item in source)
    return result


_UNCHANGED_ENDINGS = ("ss", "us", "is")
_ES_ENDINGS = ("sses", "xes", "zzes", "ches", "shes")


def singular(plural: str) -> str:
    """The English singular of an element name, for naming the items of a list.

    ``Messages`` → ``Message``, ``Entries`` → ``Entry``, ``Addresses`` → ``Address``. Words that
    are not plurals by their spelling (``Status``, ``Address``, ``Media``) are returned as they
    are, and so is a name this cannot judge. Twilio names some collections ``…List``
    (``media_list``), whose items are the stem: ``MediaList`` → ``Media``.
    """
    lower = plural.lower()
    if len(plural) > 4 and plural.endswith("List"):
        return plural[:-4]
    if lower.endswith(_UNCHANGED_ENDINGS) or not lower.endswith("s") or len(plural) < 2:
        return plural
    if lower.endswith("ies") and len(plural) > 3:
        return plural[:-3] + ("Y" if plural[-3].isupper() else "y")
    if lower.endswith(_ES_ENDINGS):
        return plural[:-2]
    return plural[:-1]
