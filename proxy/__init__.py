"""Dialect: a reverse proxy that translates between telephony provider API styles."""

__version__ = "0.1.0"

# First, before anything compiled can be imported: a compiled build older than its source must
# not run silently (see proxy.runtime.build_info).
from proxy.runtime import build_info as _build_info

_build_info.guard()
