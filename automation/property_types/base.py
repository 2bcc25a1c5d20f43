"""What a custom property type declares."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


class BadValue(ValueError):
    """A value the type cannot take; the message says why, in one line."""


@dataclass(frozen=True)
class PropertyType:
    kind: str  # stored in property_defs.kind: never change it
    help: str  # what a value looks like, for errors and the dialog
    parse: Callable[[str, Sequence[str]], str]  # typed text (and the choices) -> stored text
    value: Callable[[str], Any]  # stored text -> JSON / template value
    show: Callable[[str], str] = str  # stored text -> one line for people
