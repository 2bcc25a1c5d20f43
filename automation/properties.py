"""Custom ticket properties (issue 13, SPEC D21): admins define them, reps and workflows set them.

A property has a name (lower case letters, digits and `_`, starting with a letter: it is also
`{{ ticket.properties.NAME }}` in templates and `prop:NAME=VALUE` in searches), a type
(`automation.property_types`: text, number, date, choice, checkbox) and may be required before
a person closes a ticket (`automation.close_rules`). Each change of a ticket's value is a
timeline line with its actor and cause.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from automation import property_types
from automation.admin.common import SettingsError, require_admin
from automation.close_rules import missing_required, refusal
from automation.events import Actor
from automation.ports import PropertyDefLike, Repository, TicketLike, UserLike
from automation.services import DomainError, actor_of, get_ticket
from automation.tickets import record_property

__all__ = [
    "PropertyError",
    "define_property",
    "missing_required",
    "parse_value",
    "refusal",
    "remove_property",
    "set_property",
    "set_property_value",
    "shown_values",
    "ticket_values",
]

MAX_NAME = 40
MAX_CHOICES = 50
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# The ticket's own fields (and what templates call them): a property cannot take their names.
RESERVED = frozenset(
    {
        "number",
        "subject",
        "priority",
        "owner",
        "status",
        "pipeline",
        "contact",
        "channel",
        "source",
        "tags",
        "properties",
        "created_at",
        "state",
        "team",
        "tag",
    }
)


class PropertyError(DomainError):
    """A property or value that cannot be; the message says why in one line."""


def check_name(typed: str) -> str:
    name = typed.strip().casefold()
    if not _NAME.match(name) or len(name) > MAX_NAME:
        raise SettingsError(
            f"a property name is a letter then letters, digits or _ (at most {MAX_NAME}): "
            f"{typed.strip()!r} is not one"
        )
    if name in RESERVED:
        raise SettingsError(f"{name!r} is a ticket field already: pick another name")
    return name


def define_property(
    repo: Repository,
    user: UserLike,
    name: str,
    kind: str,
    *,
    choices: Sequence[str] = (),
    required: bool = False,
) -> PropertyDefLike:
    """Admins define a property (its name is unique)."""
    require_admin(user)
    name = check_name(name)
    if property_types.find(kind) is None:
        raise SettingsError(f"a property type is one of {', '.join(property_types.kinds())}")
    if repo.property_def(name) is not None:
        raise SettingsError(f"a property {name!r} exists already")
    cleaned = list(dict.fromkeys(" ".join(c.split()) for c in choices if c.strip()))
    if kind == "choice":
        if not cleaned:
            raise SettingsError("a choice property needs its choices (--choice A --choice B)")
        if len(cleaned) > MAX_CHOICES:
            raise SettingsError(f"a choice property has at most {MAX_CHOICES} choices")
        if len({c.casefold() for c in cleaned}) < len(cleaned):
            raise SettingsError("two choices differ only in case")
    elif cleaned:
        raise SettingsError("only a choice property has choices")
    return repo.add_property_def(name, kind, cleaned, required)


def remove_property(repo: Repository, user: UserLike, name: str) -> int:
    """Admins remove a property and every ticket's value of it; returns how many had one."""
    require_admin(user)
    return repo.remove_property_def(find(repo, name))


def find(repo: Repository, name: str) -> PropertyDefLike:
    prop = repo.property_def(name)
    if prop is None:
        known = ", ".join(p.name for p in repo.property_defs()) or "none defined yet"
        raise PropertyError(f"no property {name.strip()!r} (properties: {known})")
    return prop


def parse_value(prop: PropertyDefLike, typed: str) -> str:
    """The stored form of a value as typed; PropertyError says why it cannot be."""
    kind = property_types.find(prop.kind)
    if kind is None:
        raise PropertyError(f"{prop.name} has a type this version does not know ({prop.kind})")
    try:
        return kind.parse(typed, list(prop.choices or ()))
    except property_types.BadValue as exc:
        raise PropertyError(f"{prop.name}: {exc}") from None


def set_property(
    repo: Repository, user: UserLike, number: int, name: str, typed: str | None
) -> str | None:
    """A person sets (typed None or empty: clears) a ticket's property; returns the value shown,
    None when cleared. Setting the value it has already changes nothing."""
    ticket = get_ticket(repo, number)
    return set_property_value(repo, actor_of(user), ticket, find(repo, name), typed)


def set_property_value(
    repo: Repository,
    actor: Actor,
    ticket: TicketLike,
    prop: PropertyDefLike,
    typed: str | None,
    cause_id: int | None = None,
) -> str | None:
    """Set or clear one value (a person's or a workflow's); its timeline line when it changed."""
    stored = parse_value(prop, typed) if typed is not None and typed.strip() else None
    old = repo.set_ticket_property_value(ticket.id, prop.id, stored)
    if old != stored:
        record_property(repo, actor, ticket, prop.name, old, stored, cause_id)
        ticket.updated_at = repo.now()
    return stored


def ticket_values(repo: Repository, ticket_id: int) -> dict[str, Any]:
    """Every defined property by name, with the ticket's value (JSON-typed) or None."""
    values = repo.ticket_property_values(ticket_id)
    return {p.name: _typed(p, values.get(p.id)) for p in repo.property_defs()}


def shown_values(repo: Repository, ticket_id: int) -> list[tuple[str, str, bool]]:
    """(name, value in words or "", required) of every defined property, for the record."""
    values = repo.ticket_property_values(ticket_id)
    return [(p.name, values.get(p.id, ""), p.required_to_close) for p in repo.property_defs()]


def _typed(prop: PropertyDefLike, stored: str | None) -> Any:
    if stored is None:
        return None
    kind = property_types.find(prop.kind)
    return kind.value(stored) if kind is not None else stored


def typed_values(defs: Sequence[Any], stored: dict[int, str]) -> dict[str, Any]:
    """`ticket_values` from rows already read (the read models' JSON)."""
    return {p.name: _typed(p, stored.get(p.id)) for p in defs}


def describe(prop: PropertyDefLike) -> str:
    """One line: its type, its choices, whether closing needs it."""
    kind = prop.kind + (f" ({', '.join(prop.choices)})" if prop.choices else "")
    return kind + (", required to close" if prop.required_to_close else "")
