"""`prop.NAME`: a custom property's value ("prop.region is EMEA", "prop.seats is empty")."""

from __future__ import annotations

from typing import Any

from automation import property_types
from automation.condition_fields.base import ConditionField
from automation.ports import PropertyDefLike, Repository, TicketLike

PREFIX = "prop."


def _prop(repo: Repository, field: str) -> PropertyDefLike | None:
    return repo.property_def(field[len(PREFIX) :])


def _values(repo: Repository, field: str, ticket: TicketLike) -> set[str]:
    prop = _prop(repo, field)
    if prop is None:
        return set()  # removed since: the ticket has no value of it
    value = repo.ticket_property_values(ticket.id).get(prop.id)
    return {value.casefold()} if value is not None else set()


def _spell(repo: Repository, field: str, wanted: list[Any]) -> list[str]:
    prop = _prop(repo, field)
    if prop is None:
        known = ", ".join(PREFIX + p.name for p in repo.property_defs()) or "none defined yet"
        raise ValueError(f"no property {field[len(PREFIX) :]!r} (properties: {known})")
    kind = property_types.find(prop.kind)
    if kind is None:
        raise ValueError(f"{prop.name} has a type this version does not know ({prop.kind})")
    try:
        return [kind.parse(str(value), list(prop.choices or ())) for value in wanted]
    except property_types.BadValue as exc:
        raise ValueError(f"{field}: {exc}") from None


FIELD = ConditionField(PREFIX, "prop.NAME (a custom property)", _values, _spell)
