"""The converters of phone numbers and identifiers: E.164 and Plivo's bare digits, SIDs and UUIDs.

Numbers and identifiers recur across records and cost more to check than to look up, so most of
these cache their answers for strings (``cached_text``) or take the common form on a fast path
before the general one, which says what was wrong. The provider rules (what a SID is, how a UUID
becomes one) stay in ``proxy.providers.twilio.rest``.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import phonenumbers

from proxy.pipeline.converter_args import E164Args, SidArgs, UuidArgs
from proxy.pipeline.converter_kit import (
    ConversionError,
    Converter,
    cached_text,
    none_safe,
    short,
)
from proxy.providers.twilio import rest as twilio

# -- phone numbers -----------------------------------------------------------------------------

_PHONEISH = re.compile(r"^\+?[\d\s().\-]+$")
_NOT_DIGIT = re.compile(r"\D")


@functools.lru_cache(maxsize=8192)
def _e164_of(digits: str) -> str | None:
    """E.164 for a digit string, or None; cached, since the same numbers recur constantly and
    parsing one costs more than the rest of a record's translation."""
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # phonenumbers drops a national trunk prefix written after the country code (+44 0 20…).
    # Only a result that is itself stable counts: otherwise a second conversion would drop
    # another digit (+31 0 000000 → +31000000 → +3100000), and a number must not change
    # each time it passes through.
    if formatted[1:] != digits and _e164_of(formatted[1:]) != formatted:
        return None
    return formatted


def e164(args: E164Args | None) -> Converter:
    lenient = args.lenient if args else False

    def convert(value: Any) -> Any:
        text = str(value).strip()
        if not _PHONEISH.match(text):
            return value  # SIP URIs, client identifiers, alphanumeric sender IDs
        digits = _NOT_DIGIT.sub("", text)
        formatted = _e164_of(digits)
        if formatted is not None:
            return formatted
        if lenient:
            return "+" + digits if digits else value
        raise ConversionError(f"not a possible phone number: {short(value)}")

    return cached_text(none_safe(convert))


def _plivo_number(value: Any) -> Any:
    text = str(value).strip()
    if not _PHONEISH.match(text):
        return value
    return _NOT_DIGIT.sub("", text)


def plivo_number_converter(_args: None) -> Converter:
    return cached_text(none_safe(_plivo_number))


# -- identifiers -------------------------------------------------------------------------------


def twilio_sid(args: SidArgs) -> Converter:
    def convert(value: Any) -> Any:
        if twilio.is_sid(value, args.prefix):
            return value
        try:
            return twilio.sid_from_uuid(args.prefix, value)
        except ValueError as exc:
            raise ConversionError(str(exc)) from None

    general, prefix = none_safe(convert), args.prefix

    def fast(value: Any) -> Any:
        # A UUID (every record's): what sid_from_uuid answers, without the layers around it.
        if type(value) is str:
            sid = twilio.sid_of_uuid(prefix, value)
            if sid is not None:
                return sid
        return general(value)

    return fast


def uuid_from_sid(args: UuidArgs) -> Converter:
    def convert(value: Any) -> Any:
        try:
            return twilio.uuid_from_sid(value, args.prefixes)
        except ValueError as exc:
            raise ConversionError(str(exc)) from None

    general, prefixes = none_safe(convert), args.prefixes

    def fast(value: Any) -> Any:
        if type(value) is str:  # without the wrapper; a refusal is the general path's
            try:
                return twilio.uuid_from_sid(value, prefixes)
            except ValueError:
                pass
        return general(value)

    return fast


_DIGIT_ID = re.compile(r"^\+?([1-9][0-9]{0,31})$")
_DIGIT_SID = re.compile(r"^([A-Z]{2})0*([1-9][0-9]*)$")


def digits_sid(args: SidArgs) -> Converter:
    """A Plivo number, or a numeric Plivo id (an application), as a Twilio SID: the prefix and
    the digits zero-padded to 32. Digits are hex digits, so the SID is well formed, and the
    mapping is exact both ways without any state (Plivo addresses numbers by the number)."""
    prefix = args.prefix

    def convert(value: Any) -> Any:
        m = _DIGIT_ID.match(str(value).strip())
        if m is None:
            raise ConversionError(f"not a number that fits in a SID: {short(value)}")
        return prefix + m.group(1).rjust(32, "0")

    return cached_text(none_safe(convert))


def digits_from_sid(args: UuidArgs) -> Converter:
    """The number in a SID made by ``digits_sid``; any other SID (hex letters in it) is refused,
    so a foreign SID in a path reads as not found."""
    prefixes = args.prefixes

    def convert(value: Any) -> Any:
        text = str(value)
        m = _DIGIT_SID.match(text) if len(text) == 34 else None
        if m is None or (prefixes and m.group(1) not in prefixes):
            want = "/".join(prefixes) if prefixes else "two letters"
            raise ConversionError(
                f"not a SID made of a number ({want} + 32 digits): {short(value)}"
            )
        return m.group(2)

    return none_safe(convert)
