"""Text: one line, at most 200 characters, spaces made single."""

from __future__ import annotations

from collections.abc import Sequence

from automation.property_types.base import BadValue, PropertyType

MAX_TEXT = 200


def _parse(typed: str, choices: Sequence[str]) -> str:
    text = " ".join(typed.split())
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise BadValue("a text value has no control characters")
    if len(text) > MAX_TEXT:
        raise BadValue(f"a text value is at most {MAX_TEXT} characters")
    if not text:
        raise BadValue("the value is empty")
    return text


TYPE = PropertyType("text", "any text on one line", _parse, str)
