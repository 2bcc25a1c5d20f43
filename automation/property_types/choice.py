"""Choice: one of the property's choices, spelled as the admin spelled it."""

from __future__ import annotations

from collections.abc import Sequence

from automation.property_types.base import BadValue, PropertyType


def _parse(typed: str, choices: Sequence[str]) -> str:
    wanted = " ".join(typed.split()).casefold()
    for choice in choices:
        if choice.casefold() == wanted:
            return choice
    raise BadValue(f"{typed.strip()!r} is not one of {', '.join(choices) or '(no choices)'}")


TYPE = PropertyType("choice", "one of its choices", _parse, str)
