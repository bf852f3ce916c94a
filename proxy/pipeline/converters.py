"""Named value converters for the ``convert`` step.

Each converter is a small, pure function of one value, looked up by name in the explicit table
``CONVERTERS`` and built once when the config loads (with its arguments validated then). ``None``
passes through unchanged unless a converter says otherwise. Provider knowledge stays in
``proxy.providers``; converters are thin named wrappers around it. This module is the one
catalogue: the table below (rendered into docs/steps.md), the registry and ``build_converter``;
the converters themselves live with their kind: ``converters_time``, ``converters_ids`` (phone
numbers and identifiers), ``converters_amounts``, ``converters_types``, ``converters_text``
(lists and text), all built from ``converter_kit``.

| name | example |
|---|---|
| ``rfc2822_gmt`` | ``"2017-05-22 21:36:14+05:30"`` → ``"Mon, 22 May 2017 16:06:14 +0000"`` |
| ``plivo_time`` | ``"Thu, 01 May 2025 12:00:00 +0000"`` → ``"2025-05-01 12:00:00+00:00"`` |
| ``plivo_time_filter`` | ``"2025-05-01T10:30:00Z"`` → ``"2025-05-01 10:30:00"`` (UTC) |
| ``twilio_time_filter`` | ``"2025-05-01 10:30"`` → ``"2025-05-01T10:30:00Z"`` |
| ``ago`` ``{days, hours}`` | a timestamp → that timestamp minus the interval |
| ``e164`` ``{lenient?}`` | ``"14155550100"`` → ``"+14155550100"``; SIP URIs, sender IDs kept |
| ``plivo_number`` | ``"+14155550100"`` → ``"14155550100"`` |
| ``twilio_sid`` ``{prefix}`` | a UUID → ``"SM" + 32 hex`` |
| ``uuid_from_sid`` ``{prefixes?}`` | ``"SM" + 32 hex`` → the hyphenated UUID |
| ``digits_sid`` ``{prefix}`` / ``digits_from_sid`` | ``"+1415…"`` → ``"PN00…1415…"``; back |
| ``scale`` ``{by, places}`` | ``"345100.00000"`` → ``"345"`` with ``by: 0.001`` (ms to s) |
| ``epoch_ms`` / ``to_epoch_ms`` | ``"1407235163907.000"`` → its instant; an instant → ms |
| ``string`` / ``integer`` / ``boolean`` | type changes (``""`` → None for integer) |
| ``decimal_string`` ``{places, negate}`` | ``"0.0025"`` → ``"-0.00250"`` with ``negate: true`` |
| ``plivo_error_code`` | ``"000"`` / ``""`` → None; ``"30"`` → 30 |
| ``as_list`` / ``first`` / ``count`` | ``"a"`` → ``["a"]``; ``["a","b"]`` → ``"a"``; → 2 |
| ``single_or_list`` | ``["a"]`` → ``"a"``; ``["a","b"]`` unchanged (Plivo's ``request_uuid``) |
| ``split`` / ``join`` ``{sep: "<"}`` | ``"a<b"`` ⇄ ``["a","b"]`` |
| ``sms_segments`` | message text → SMS segment count (GSM-7 160/153, UCS-2 70/67) |
| ``lower`` / ``upper`` | case |
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from proxy.pipeline.converter_args import (
    AgoArgs,
    DecimalArgs,
    E164Args,
    ScaleArgs,
    SepArgs,
    SidArgs,
    UuidArgs,
)
from proxy.pipeline.converter_kit import ConversionError, Converter, cached_text, none_safe
from proxy.pipeline.converters_amounts import decimal_string, scale
from proxy.pipeline.converters_ids import (
    digits_from_sid,
    digits_sid,
    e164,
    plivo_number_converter,
    twilio_sid,
    uuid_from_sid,
)
from proxy.pipeline.converters_text import (
    as_list,
    count,
    first,
    join,
    single_or_list,
    sms_segments,
    split,
)
from proxy.pipeline.converters_time import (
    ago,
    from_epoch_ms,
    plivo_filter,
    plivo_time_converter,
    rfc2822_converter,
    to_epoch_ms,
    twilio_filter,
)
from proxy.pipeline.converters_types import boolean, integer, plivo_error_code, string_converter

# What other modules import from here: the registry, its builder and the converters' error.
__all__ = ["CONVERTERS", "ConversionError", "Converter", "ConverterSpec", "build_converter"]


@dataclass(frozen=True)
class ConverterSpec:
    name: str
    summary: str
    args: type[BaseModel] | None
    build: Callable[[Any], Converter]


def _plain(fn: Callable[[Any], Any]) -> Callable[[Any], Converter]:
    return lambda _args: none_safe(fn)


CONVERTERS: Mapping[str, ConverterSpec] = {
    spec.name: spec
    for spec in (
        ConverterSpec("rfc2822_gmt", "timestamp → RFC 2822 in GMT", None, rfc2822_converter),
        ConverterSpec(
            "plivo_time", "timestamp → YYYY-MM-DD HH:MM:SS+00:00", None, plivo_time_converter
        ),
        ConverterSpec(
            "plivo_time_filter", "timestamp → UTC YYYY-MM-DD HH:MM:SS", None, _plain(plivo_filter)
        ),
        ConverterSpec(
            "twilio_time_filter",
            "timestamp → UTC YYYY-MM-DDTHH:MM:SSZ",
            None,
            _plain(twilio_filter),
        ),
        ConverterSpec("ago", "timestamp minus {days, hours}", AgoArgs, ago),
        ConverterSpec("e164", "phone number → +E.164 {lenient?}", E164Args, e164),
        ConverterSpec("plivo_number", "+E.164 → digits", None, plivo_number_converter),
        ConverterSpec("twilio_sid", "UUID → prefix + 32 hex", SidArgs, twilio_sid),
        ConverterSpec("uuid_from_sid", "SID → UUID", UuidArgs, uuid_from_sid),
        ConverterSpec("digits_sid", "number → prefix + 32 digits", SidArgs, digits_sid),
        ConverterSpec("digits_from_sid", "SID of digits → number", UuidArgs, digits_from_sid),
        ConverterSpec("scale", "number times by → fixed-point string", ScaleArgs, scale),
        ConverterSpec("epoch_ms", "epoch milliseconds → timestamp", None, _plain(from_epoch_ms)),
        ConverterSpec("to_epoch_ms", "timestamp → epoch milliseconds", None, _plain(to_epoch_ms)),
        ConverterSpec("string", "number/bool → string", None, string_converter),
        ConverterSpec(
            "integer", "string → integer", None, lambda _a: cached_text(none_safe(integer))
        ),
        ConverterSpec("boolean", "text → boolean", None, _plain(boolean)),
        ConverterSpec("decimal_string", "number → fixed-point string", DecimalArgs, decimal_string),
        ConverterSpec(
            "plivo_error_code",
            "Plivo error code → int or None",
            None,
            lambda _a: cached_text(none_safe(plivo_error_code)),
        ),
        ConverterSpec("as_list", "scalar → [scalar]", None, lambda _a: as_list),
        ConverterSpec("first", "list → first item", None, _plain(first)),
        ConverterSpec("count", "list → length", None, lambda _a: count),
        ConverterSpec("single_or_list", "[x] → x; longer lists stay", None, _plain(single_or_list)),
        ConverterSpec("split", "text → list on sep", SepArgs, split),
        ConverterSpec("join", "list → text joined by sep", SepArgs, join),
        ConverterSpec("sms_segments", "text → SMS segments", None, _plain(sms_segments)),
        ConverterSpec("lower", "text → lower case", None, _plain(lambda v: str(v).lower())),
        ConverterSpec("upper", "text → upper case", None, _plain(lambda v: str(v).upper())),
    )
}


def build_converter(name: str, args: Mapping[str, Any] | None) -> Converter:
    """Builds a converter at load time; a ValueError here becomes a config problem."""
    spec = CONVERTERS.get(name)
    if spec is None:
        raise ValueError(f"unknown converter {name!r}; known: {', '.join(sorted(CONVERTERS))}")
    if spec.args is None:
        if args:
            raise ValueError(f"converter {name!r} takes no arguments")
        return spec.build(None)
    try:
        model = spec.args.model_validate(dict(args or {}))
    except ValidationError as exc:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'args'}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(f"converter {name!r}: {detail}") from None
    return spec.build(model)
