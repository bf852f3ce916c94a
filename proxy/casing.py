"""Key casing: the conventions the providers' APIs and SDKs use (snake, camel, Pascal).

Twilio's XML and CSV use PascalCase names for the same fields its JSON writes in snake_case; a
sidecar in front of a service written for another SDK may need keys re-cased either way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_SIMPLE = re.compile(r"^[A-Za-z0-9_\-]+$")
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z]|\d|\b|_|-)|[A-Z]?[a-z]+|[A-Z]+|\d+")


def split_words(name: str) -> list[str]:
    return [w.lower() for w in _WORDS.findall(name)]


def to_snake(name: str) -> str:
    return "_".join(split_words(name)) if _SIMPLE.match(name) else name


def to_camel(name: str) -> str:
    if not _SIMPLE.match(name):
        return name
    words = split_words(name)
    return words[0] + "".join(w.capitalize() for w in words[1:]) if words else name


def to_pascal(name: str) -> str:
    if not _SIMPLE.match(name):
        return name
    return "".join(w.capitalize() for w in split_words(name)) or name


CASINGS: dict[str, Callable[[str], str]] = {
    "snake": to_snake,
    "camel": to_camel,
    "pascal": to_pascal,
}


def recase_keys(data: Any, casing: Callable[[str], str], *, deep: bool = True) -> Any:
    if isinstance(data, dict):
        return {
            (casing(k) if isinstance(k, str) else k): (recase_keys(v, casing) if deep else v)
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [recase_keys(v, casing, deep=deep) for v in data]
    return data


def singular(plural: str) -> str:
    """English singular for element names: Messages → Message, Entries → Entry."""
    low = plural.lower()
    if low.endswith(("us", "ss", "media", "data")):
        return plural
    if low.endswith("ies") and len(plural) > 3:
        return plural[:-3] + ("Y" if plural[-3].isupper() else "y")
    if low.endswith(("sses", "xes", "ches", "shes")):
        return plural[:-2]
    if low.endswith("s") and len(plural) > 1:
        return plural[:-1]
    return plural
