"""The per-request bodies of the steps most routes run, as closures built in compiled code.

Steps are pydantic models, which must stay ordinary Python classes; what a step does per
request need not. Each step's ``fast_apply`` decides its parameters once and hands them to a
factory here; the closure that comes back is compiled with this module (see setup.py), so a
request runs the step without entering the interpreter. Every closure covers the common case
only and hands anything unusual to the step's own ``apply`` (``slow``), which raises the
step's own error: behaviour is the step's, only the speed is this module's. The unit tests
run each step both ways.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Sequence
from typing import Any

from proxy.engine.exchange import Exchange
from proxy.pipeline.converters import ConversionError
from proxy.pipeline.paths import MISSING

StepFn = Callable[[Exchange, Any], Any]
Getter = Callable[[Exchange, Any], Any]

# Values deepcopy would return as they are: copying them is a call for nothing (the fused
# pipelines share this list).
ATOMIC = (str, int, float, bool, type(None))
# RFC 3986 unreserved characters: what quote(..., safe="") leaves as it is.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]+")


def guarded(holds: Callable[[Exchange, Any], bool], apply: StepFn) -> StepFn:
    """A step under its ``when`` condition."""

    def run(ex: Exchange, doc: Any) -> Any:
        return apply(ex, doc) if holds(ex, doc) else doc

    return run


def fused_document(pipeline: Callable[[Exchange, Any, str, int | None], Any]) -> StepFn:
    """A fused pipeline (``use``) called on the whole document."""

    def run(ex: Exchange, doc: Any) -> Any:
        return pipeline(ex, doc, "", None)

    return run


def select_keys(keys: Sequence[str], default: Any, skip_missing: bool, slow: StepFn) -> StepFn:
    """``select`` on the document itself: a new dict with exactly ``keys``, in order."""
    wanted = tuple(keys)

    def select(ex: Exchange, doc: Any) -> Any:
        if not isinstance(doc, dict):
            return slow(ex, doc)
        if skip_missing:
            return {k: doc[k] for k in wanted if k in doc}
        return {k: doc.get(k, default) for k in wanted}

    return select


def convert_key(
    key: str,
    fn: Callable[[Any], Any],
    failure: Callable[[Exchange, Any, ConversionError, tuple[Any, ...]], Exception],
    slow: StepFn,
) -> StepFn:
    """``convert`` of one top-level key."""
    where = (key,)

    def convert(ex: Exchange, doc: Any) -> Any:
        if not isinstance(doc, dict):
            return slow(ex, doc)
        if key in doc:
            try:
                doc[key] = fn(doc[key])
            except ConversionError as exc:
                raise failure(ex, doc, exc, where) from None
        return doc

    return convert


def set_key(top: str, if_missing: bool, source: Getter, slow: StepFn) -> StepFn:
    """``set`` of one top-level key (``slow`` raises the step's error for a non-object)."""

    def set_value(ex: Exchange, doc: Any) -> Any:
        if not isinstance(doc, dict):
            return slow(ex, doc)
        if not (if_missing and doc.get(top) is not None):
            doc[top] = source(ex, doc)
        return doc

    return set_value


def reference(from_context: bool, segments: Sequence[Any], slow: Getter) -> Getter:
    """``Ref.get``: the value at a path of keys and indexes, in the request context (``$…``)
    or the document; MISSING where there is none. A path with a wildcard stays ``slow``."""
    steps = tuple(segments)
    if not all(isinstance(seg, str | int) for seg in steps):
        return slow

    def get(ex: Exchange, doc: Any) -> Any:
        data = ex.context() if from_context else doc
        for seg in steps:
            if isinstance(seg, str):
                if not isinstance(data, dict) or seg not in data:
                    return MISSING
                data = data[seg]
            elif isinstance(data, list) and -len(data) <= seg < len(data):
                data = data[seg]
            else:
                return MISSING
        return data

    return get


def copied(get: Getter) -> Getter:
    """A reference's value as ``set`` stores it: MISSING as None, anything mutable copied."""

    def value(ex: Exchange, doc: Any) -> Any:
        found = get(ex, doc)
        if found is MISSING:
            return None
        return found if type(found) in ATOMIC else copy.deepcopy(found)

    return value


def rewrite_path(
    template: Sequence[str | Getter],
    alternatives: Sequence[Sequence[str | Getter]],
    method: str | None,
    slow: StepFn,
) -> StepFn:
    """``rewrite_path`` when every value is a non-empty string of unreserved characters (a
    SID, a UUID, an auth id): nothing to escape or refuse. Any other value goes to ``slow``,
    which escapes it or refuses it with the step's own message."""
    main = list(template)
    others = [list(t) for t in alternatives]

    def rewrite(ex: Exchange, doc: Any) -> Any:
        path = _render(main, ex, doc)
        rendered = [_render(t, ex, doc) for t in others]
        if path is None or None in rendered:
            return slow(ex, doc)
        ex.upstream_path = path
        ex.upstream_alternatives = [p for p in rendered if p is not None]
        if method is not None:
            ex.upstream_method = method
        return doc

    return rewrite


def _render(parts: list[str | Getter], ex: Exchange, doc: Any) -> str | None:
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        value = part(ex, doc)
        if not isinstance(value, str) or value in (".", "..") or not _UNRESERVED.fullmatch(value):
            return None
        out.append(value)
    return "".join(out)
