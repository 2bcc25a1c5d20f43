"""Date: a calendar day, written 2026-12-31."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from automation.property_types.base import BadValue, PropertyType


def _parse(typed: str, choices: Sequence[str]) -> str:
    try:
        return date.fromisoformat(typed.strip()).isoformat()
    except ValueError:
        raise BadValue(f"{typed.strip()!r} is not a date: write it as 2026-12-31") from None


TYPE = PropertyType("date", "a date, e.g. 2026-12-31", _parse, str)
