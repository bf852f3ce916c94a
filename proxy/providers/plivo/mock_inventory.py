"""The Plivo-style mock's inventory: numbers to search and buy, as Plivo's PhoneNumber objects.

The same fictional ranges the Twilio-style mock sells (NANP 555 ranges, Ofcom's drama ranges):
numbers that reach no one, so a demo or a test can rent them freely. Kept apart from the
numbers' routes (``mock_numbers``): it is data.
"""

from __future__ import annotations

from typing import Any


def number_inventory() -> dict[str, dict[str, Any]]:
    """Numbers to search and buy, as Plivo's PhoneNumber objects (the Twilio-style mock's
    fictional ranges)."""

    def entry(number: str, kind: str, sub: str, city: str | None, **kw: Any) -> dict[str, Any]:
        us = number.startswith("1")
        return {
            "city": city,
            "country": "UNITED STATES" if us else "UNITED KINGDOM",
            "lata": kw.get("lata"),
            "mms_enabled": kw.get("mms", us),
            "mms_rate": "0.00000",
            "monthly_rental_rate": "0.80000" if kind != "tollfree" else "1.00000",
            "number": number,
            "prefix": number[1:4] if us else number[2:5],
            "rate_center": kw.get("rate_center"),
            "region": kw.get("region", "UNITED STATES" if us else "UNITED KINGDOM"),
            "resource_uri": None,  # filled with the account's path when answered
            "restriction": kw.get("restriction"),
            "restriction_text": kw.get("restriction_text"),
            "setup_rate": "0.00000",
            "sms_enabled": kw.get("sms", True),
            "sms_rate": "0.00000",
            "sub_type": sub,
            "type": kind,
            "voice_enabled": True,
            "voice_rate": "0.00500",
        }

    sf = {"lata": 722, "rate_center": "SNFC CNTRL", "region": "California, UNITED STATES"}
    ny = {"lata": 132, "rate_center": "NWYRCYZN01", "region": "New York, UNITED STATES"}
    found = [
        entry(f"1415555{n:04d}", "fixed", "local", "SAN FRANCISCO", **sf) for n in range(200, 220)
    ]
    found += [entry(f"1212555{n:04d}", "fixed", "local", "NEW YORK", **ny) for n in range(300, 310)]
    found += [
        entry(f"1833555{n:04d}", "tollfree", "tollfree", None, mms=False) for n in range(400, 410)
    ]
    london = {
        "region": "London, UNITED KINGDOM",
        "restriction": "city-address",
        "sms": False,
        "restriction_text": "A local address in the city of the number is required.",
    }
    found += [
        entry(f"44207946{n:04d}", "fixed", "local", "LONDON", **london) for n in range(100, 110)
    ]
    mobile = {
        "restriction": "country-address",
        "mms": False,
        "restriction_text": "An address in the country of the number is required.",
    }
    found += [
        entry(f"44770090{n:04d}", "mobile", "mobile", None, **mobile) for n in range(1100, 1110)
    ]
    return {e["number"]: e for e in found}
