"""Custom property types, one module each (issue 13, SPEC D21).

A type module declares `TYPE = PropertyType(...)`: how a value typed by a person (CLI, dialog,
search, workflow) becomes its stored text, and how the stored text is shown and given to JSON
and templates. `automation.properties` asks `find` / `kinds`.
"""

from __future__ import annotations

from typing import Any

from automation.property_types.base import BadValue, PropertyType
from automation.property_types.checkbox import TYPE as CHECKBOX
from automation.property_types.choice import TYPE as CHOICE
from automation.property_types.date import TYPE as DATE
from automation.property_types.number import TYPE as NUMBER
from automation.property_types.text import TYPE as TEXT

_TYPES = {t.kind: t for t in (TEXT, NUMBER, DATE, CHOICE, CHECKBOX)}

__all__ = ["BadValue", "PropertyType", "find", "json_value", "kinds"]


def kinds() -> tuple[str, ...]:
    return tuple(_TYPES)


def find(kind: str) -> PropertyType | None:
    return _TYPES.get(kind)


def json_value(kind: str, stored: str) -> Any:
    """A stored value as JSON and templates get it (a type this version lacks: its text)."""
    found = _TYPES.get(kind)
    return found.value(stored) if found is not None else stored
