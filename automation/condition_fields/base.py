"""What a condition field module declares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from automation.ports import Repository, TicketLike


@dataclass(frozen=True)
class ConditionField:
    name: str  # "tag", or a prefix ending in "." ("prop.") for a family of fields
    help: str  # the field in words, for errors: "tag", "prop.NAME (a custom property)"
    values: Callable[[Repository, str, TicketLike], set[str]]  # the ticket's, folded
    # A test's values as the desk spells them (raises ValueError saying why); None: any text.
    spell: Callable[[Repository, str, list[Any]], list[str]] | None = None

    def handles(self, field: str) -> bool:
        if self.name.endswith("."):
            return field.startswith(self.name) and len(field) > len(self.name)
        return field == self.name
