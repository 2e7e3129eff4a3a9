"""Errors every layer raises and every face turns into exit status 2: input that cannot be read."""

from __future__ import annotations


class BadInput(ValueError):
    """Input that cannot be read; the message names the file and where."""


class NoAircraft(LookupError):
    """None of the requested aircraft has points in the data (exit status 1, not 2)."""
