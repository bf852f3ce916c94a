"""Shared helpers for steps that edit the objects found at an ``at:`` path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from proxy.pipeline.paths import DataPath
from proxy.pipeline.step import StepFailure


def objects_at(
    doc: Any, at: DataPath, *, required: bool = False
) -> Iterator[tuple[dict[str, Any], str]]:
    """The dicts found at ``at`` (the document itself for the empty path)."""
    found = False
    for value, where in at.find(doc):
        if isinstance(value, dict):
            found = True
            yield value, where
        elif value is not None:
            raise StepFailure(f"expected an object, found {type(value).__name__}", where)
    if required and not found:
        raise StepFailure("no object found", at.text)
