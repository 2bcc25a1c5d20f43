"""Condition fields beyond the ticket's own (issue 13), one module each: `tag` (the ticket's
tags) and `prop.NAME` (a custom property). A module declares `FIELD = ConditionField(...)`;
`automation.conditions` asks `find` for a field it does not know itself.
"""

from __future__ import annotations

import importlib
import pkgutil

from automation.condition_fields.base import ConditionField

__all__ = ["ConditionField", "fields", "find"]

_FIELDS: list[ConditionField] = []


def fields() -> list[ConditionField]:
    return list(_FIELDS)


def find(name: str) -> ConditionField | None:
    return next((f for f in _FIELDS if f.handles(name)), None)


def _discover() -> None:
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found = getattr(module, "FIELD", None)
        if isinstance(found, ConditionField):
            _FIELDS.append(found)


_discover()
