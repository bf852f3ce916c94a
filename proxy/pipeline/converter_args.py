"""The arguments of the converters that take some (``convert: {with: {name: {args}}}``).

Validated by pydantic when the config loads, so a wrong argument is a config problem with a
path, never a request-time surprise. Kept apart from the converters (the registry in
``proxy.pipeline.converters``, the families in ``converters_*``): those run compiled (see
setup.py), and pydantic models must stay ordinary Python classes. Each family imports the
arguments of its own converters from here.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgoArgs(_Args):
    days: float = 0
    hours: float = 0


class E164Args(_Args):
    # lenient: an impossible number gets its "+" and is left for the upstream to refuse
    # (a Plivo send lists refused destinations instead of failing the whole request).
    lenient: bool = False


class SidArgs(_Args):
    prefix: str = Field(pattern=r"^[A-Z]{2}$")


class UuidArgs(_Args):
    prefixes: list[str] | None = None


class DecimalArgs(_Args):
    places: int = Field(default=5, ge=0, le=12)
    negate: bool = False


class SepArgs(_Args):
    sep: str = Field(default="<", min_length=1)


class ScaleArgs(_Args):
    # Plivo's recording times are milliseconds (``"345100.00000"``), Twilio's seconds (``"345"``).
    by: Decimal
    places: int = Field(default=0, ge=0, le=12)
