"""Attribute values spelled the other dialect's way: numbers, digits, finishing keys, enumerations.

Pure functions of a value and the target dialect, driven by the tables, with no element or
notes in sight: each spelling rule is written once and serves every element that carries such a
value, in both directions.

May import: the standard library and ``tables``.
"""

from __future__ import annotations

import re
from typing import Final

from proxy.providers.documents import tables as t

_PHONE_STRIP: Final = str.maketrans("", "", t.PHONE_PUNCTUATION)
E164ISH = re.compile(r"\+?[0-9]{1,15}")
PLIVO_DIGITS = re.compile(r"[0-9]{1,15}")
SIP_USER = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


def plivo_phone(value: str) -> str:
    """A TwiML number written the Plivo way (no ``+``, no formatting); other values as is."""
    compact = value.strip().translate(_PHONE_STRIP)
    if E164ISH.fullmatch(compact):
        return compact.lstrip("+")
    return value.strip()


def twilio_phone(value: str) -> str:
    """A Plivo number written the TwiML way (``+`` for full international numbers)."""
    text = value.strip()
    if PLIVO_DIGITS.fullmatch(text) and len(text) >= t.E164_MIN_DIGITS:
        return "+" + text
    return text


def phone(value: str, target: str) -> str:
    """A number written the ``target`` dialect's way."""
    return plivo_phone(value) if target == t.PLIVO else twilio_phone(value)


def twilio_digits(digits: str) -> str:
    """Digits to send, with Plivo's one-second ``W`` spelled as TwiML's two half-second ``w``."""
    for twiml, plivo in t.DIGIT_WAITS:
        if twiml != plivo:
            digits = digits.replace(plivo, twiml)
    return digits


def finish_key(value: str, target: str) -> str:
    """A finishing key: TwiML's empty value is Plivo's ``none``."""
    for twiml, plivo in t.FINISH_KEY_NONE:
        if target == t.PLIVO and value == twiml:
            return plivo
        if target == t.TWILIO and value == plivo:
            return twiml
    return value


def pair_value(twiml_element: str, twiml_attribute: str, value: str, target: str) -> str:
    """A value through ``VALUE_PAIRS`` (either direction); unlisted values pass unchanged."""
    pairs = t.VALUE_PAIRS.get((twiml_element, twiml_attribute), ())
    if target == t.PLIVO:
        one_way = t.ONE_WAY_TWIML_VALUES.get((twiml_element, twiml_attribute), {})
        return dict(pairs).get(value, one_way.get(value, value))
    return {plivo: twiml for twiml, plivo in pairs}.get(value, value)
