"""What every section of the config schema shares: the strict base, the provider style names,
and the checks more than one section makes.

``extra="forbid"`` everywhere: a misspelt key is an error, never ignored. ``frozen``: a loaded
config is read by every request and never changed under them.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict

Style = Literal["twilio", "plivo"]

# An alias name, as callbacks record it and routes resolve it.
ALIAS_PATTERN = r"^[a-z][a-z0-9_-]{0,31}$"


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def readable_file(path: str | None) -> str | None:
    if path is not None and not os.path.isfile(path):
        raise ValueError(f"no such file: {path}")
    return path
