"""The converters of lists and text: one value and a list of them, separators, SMS segments.

Providers disagree on whether a repeated field is a list, a single value or a joined string
(Plivo's ``request_uuid``, its ``<``-separated destinations); these convert between the forms.
``sms_segments`` counts what a carrier would bill for a text, as GSM-7 or UCS-2.
"""

from __future__ import annotations

from typing import Any

from proxy.pipeline.converter_args import SepArgs
from proxy.pipeline.converter_kit import Converter, none_safe


def as_list(value: Any) -> Any:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def first(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return value[0] if value else None
    return value


def single_or_list(value: Any) -> Any:
    if isinstance(value, list | tuple) and len(value) == 1:
        return value[0]
    return value


def count(value: Any) -> Any:
    if value is None:
        return 0
    return len(value) if isinstance(value, list | tuple) else 1


def split(args: SepArgs) -> Converter:
    return none_safe(
        lambda v: v if isinstance(v, list) else [p for p in str(v).split(args.sep) if p]
    )


def join(args: SepArgs) -> Converter:
    return none_safe(lambda v: args.sep.join(str(p) for p in v) if isinstance(v, list) else v)


_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXT = set("^{}\\[~]|€\f")


def sms_segments(value: Any) -> Any:
    text = str(value)
    if all(c in _GSM7 or c in _GSM7_EXT for c in text):
        units = sum(2 if c in _GSM7_EXT else 1 for c in text)
        single, multi = 160, 153
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
    if units <= single:
        return 1
    return -(-units // multi)
