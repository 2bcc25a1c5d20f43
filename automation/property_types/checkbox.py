"""Checkbox: yes or no (also true/false, on/off, 1/0)."""

from __future__ import annotations

from collections.abc import Sequence

from automation.property_types.base import BadValue, PropertyType

_YES = ("yes", "true", "on", "1", "y")
_NO = ("no", "false", "off", "0", "n")


def _parse(typed: str, choices: Sequence[str]) -> str:
    word = typed.strip().casefold()
    if word in _YES:
        return "yes"
    if word in _NO:
        return "no"
    raise BadValue(f"{typed.strip()!r} is not yes or no")


TYPE = PropertyType("checkbox", "yes or no", _parse, lambda stored: stored == "yes")
