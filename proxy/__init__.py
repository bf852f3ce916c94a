"""Dialect: a reverse proxy that translates between telephony provider API styles."""

__version__ = "0.1.0"
