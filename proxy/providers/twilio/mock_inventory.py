"""The Twilio-style mock's inventory: fictional numbers to search and buy, as Twilio's
AvailablePhoneNumbers entries, by country and type.

NANP 555-02xx/03xx/04xx and Ofcom's drama ranges: numbers that reach no one, so a demo or a test
can buy them freely. Kept apart from the numbers' routes (``mock_numbers``): it is data.
"""

from __future__ import annotations

from typing import Any

# The types of AvailablePhoneNumbers the inventory is keyed by, with the country.
AVAILABLE_TYPES = ("Local", "Mobile", "TollFree")


def friendly(number: str) -> str:
    """Twilio's friendly form of a number: ``(415) 555-0100`` in North America."""
    if number.startswith("+1") and len(number) == 12:
        return f"({number[2:5]}) {number[5:8]}-{number[8:]}"
    return number


def number_inventory() -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Fictional numbers to search and buy: NANP 555-02xx/03xx/04xx, Ofcom's drama ranges."""

    def entry(number: str, locality: str | None, region: str, **kw: Any) -> dict[str, Any]:
        country = "US" if number.startswith("+1") else "GB"
        return {
            "friendly_name": friendly(number),
            "phone_number": number,
            "lata": kw.get("lata"),
            "locality": locality,
            "rate_center": kw.get("rate_center"),
            "latitude": kw.get("latitude"),
            "longitude": kw.get("longitude"),
            "region": region,
            "postal_code": kw.get("postal_code"),
            "iso_country": country,
            "address_requirements": kw.get("address_requirements", "none"),
            "beta": False,
            "capabilities": {
                "voice": True,
                "sms": kw.get("sms", True),
                "mms": kw.get("mms", True),
                "fax": False,
            },
        }

    sf = {
        "lata": "722",
        "rate_center": "SNFC CNTRL",
        "latitude": 37.77,
        "longitude": -122.39,
        "postal_code": "94105",
    }
    ny = {
        "lata": "132",
        "rate_center": "NWYRCYZN01",
        "latitude": 40.71,
        "longitude": -74.0,
        "postal_code": "10007",
    }
    return {
        ("US", "Local"): [
            entry(f"+1415555{n:04d}", "San Francisco", "CA", **sf) for n in range(200, 220)
        ]
        + [entry(f"+1212555{n:04d}", "New York", "NY", **ny) for n in range(300, 310)],
        ("US", "TollFree"): [
            entry(f"+1833555{n:04d}", None, "US", mms=False) for n in range(400, 410)
        ],
        ("US", "Mobile"): [],
        ("GB", "Local"): [
            entry(
                f"+44207946{n:04d}",
                "London",
                "England",
                address_requirements="local",
                sms=False,
                mms=False,
            )
            for n in range(100, 110)
        ],
        ("GB", "Mobile"): [
            entry(f"+44770090{n:04d}", None, "GB", address_requirements="any", mms=False)
            for n in range(1100, 1110)
        ],
        ("GB", "TollFree"): [],
    }
