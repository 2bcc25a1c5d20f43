"""Number: an integer or a decimal (1, -2.5); stored in its shortest form (2.50 -> 2.5)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from automation.property_types.base import BadValue, PropertyType


def _parse(typed: str, choices: Sequence[str]) -> str:
    try:
        number = Decimal(typed.strip().replace("_", "x"))
    except InvalidOperation:
        raise BadValue(f"{typed.strip()!r} is not a number (e.g. 3 or 2.5)") from None
    if not number.is_finite() or abs(number) >= Decimal(10) ** 15:
        raise BadValue(f"{typed.strip()!r} is not a number this desk keeps")
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def _value(stored: str) -> int | float:
    number = Decimal(stored)
    return int(number) if number == number.to_integral_value() else float(number)


TYPE = PropertyType("number", "a number, e.g. 3 or 2.5", _parse, _value)
