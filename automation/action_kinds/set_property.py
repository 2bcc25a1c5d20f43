"""Set the ticket's priority, owner or subject (SPEC R-A5)."""

from __future__ import annotations

import argparse
from typing import Any

from automation import property_types
from automation.action_kinds.base import (
    ActionFailed,
    ActionFields,
    ActionKind,
    ActionSkipped,
    CliFlags,
    CliOption,
    SettingsError,
    Step,
)
from automation.action_kinds.form import USERS, Choice, Pick, Question, Text
from automation.ports import AdminRepository, PropertyDefLike, Repository
from automation.tickets import PRIORITIES, record_property, set_owner

SET_PROPERTY = "set_property"
PROPERTIES = ("priority", "owner", "subject")


def _config(repo: AdminRepository, fields: ActionFields) -> dict[str, Any]:
    """Priority (low…urgent), owner (a user name, "" for nobody), subject (text)."""
    name, value = fields.get("property_name"), fields.get("value")
    if name == "priority":
        if value not in PRIORITIES:
            raise SettingsError(f"priority must be one of {', '.join(PRIORITIES)}")
        return {"property": name, "value": value}
    if name == "owner":
        if not value:
            return {"property": name, "value": None}
        found = repo.user_by_name(value)
        if found is None:
            raise SettingsError(f"no user {value!r}")
        return {"property": name, "value": found.id}
    if name == "subject":
        text = " ".join((value or "").split())
        if not text:
            raise SettingsError("the new subject is empty")
        return {"property": name, "value": text}
    prop = repo.property_def(name or "")  # issue 13: a custom property ("" clears it)
    if prop is not None:
        return {"property": prop.name, "custom": True, "value": _stored(prop, value)}
    customs = [p.name for p in repo.property_defs()]
    raise SettingsError(f"the property must be one of {', '.join([*PROPERTIES, *customs])}")


def _stored(prop: PropertyDefLike, value: str | None) -> str | None:
    kind = property_types.find(prop.kind)
    if not (value or "").strip() or kind is None:
        return None
    try:
        return kind.parse(value or "", list(prop.choices or ()))
    except property_types.BadValue as exc:
        raise SettingsError(f"{prop.name}: {exc}") from None


def _run_custom(step: Step, name: str, value: Any) -> str:
    """A custom property (issue 13): set or cleared, a timeline line like a person's."""
    repo, ticket = step.repo, step.ticket
    prop = repo.property_def(name)
    if prop is None:
        raise ActionFailed(f"the property {name} was removed")
    new = None if value is None else str(value)
    old = repo.ticket_property_values(ticket.id).get(prop.id)
    if old == new:
        raise ActionSkipped(f"{name} is already {new or '(none)'}")
    repo.set_ticket_property_value(ticket.id, prop.id, new)
    ticket.updated_at = repo.now()
    record_property(repo, step.actor, ticket, name, old, new, step.cause_id)
    return f"{name} set to {new or '(none)'}"


def _describe(repo: Repository, config: dict[str, Any]) -> str:
    name, value = config.get("property"), config.get("value")
    if name == "owner":
        user = repo.user(value) if value is not None else None
        value = user.name if user else "nobody"
    return f"Set {name} to {value}"


def _run(step: Step) -> str:
    """A value equal to the current one is a skip."""
    repo, ticket = step.repo, step.ticket
    name, value = step.config.get("property"), step.config.get("value")
    old: str | None
    if step.config.get("custom"):
        return _run_custom(step, str(name), value)
    if name == "priority":
        if value not in PRIORITIES:
            raise ActionFailed(f"priority {value!r} is not one of {', '.join(PRIORITIES)}")
        old = ticket.priority
        if old == value:
            raise ActionSkipped(f"priority is already {value}")
        ticket.priority = str(value)
    elif name == "owner":
        owner = repo.user(value) if value is not None else None
        if value is not None and owner is None:
            raise ActionFailed("its user no longer exists")
        if ticket.owner_id == (owner.id if owner else None):
            raise ActionSkipped("the ticket has that owner already")
        old, value = set_owner(repo, ticket, owner)
    elif name == "subject":
        text = " ".join(str(value or "").split())
        if not text:
            raise ActionFailed("the new subject is empty")
        old, value = ticket.subject, text
        if old == value:
            raise ActionSkipped("the subject is already that")
        ticket.subject = text
    else:
        raise ActionFailed(f"cannot set {name!r} (only {', '.join(PROPERTIES)})")
    ticket.updated_at = repo.now()
    record_property(repo, step.actor, ticket, str(name), old, value, step.cause_id)
    return f"{name} set to {value or '(none)'}"


def _from_args(value: str, args: argparse.Namespace) -> ActionFields:
    name, sep, new = value.partition("=")
    if not sep:
        raise SettingsError("--set is PROPERTY=VALUE, e.g. priority=high, owner=rita, subject=…")
    return {"property_name": name.strip(), "value": new.strip()}


def _choice(name: str, label: str, question: Question) -> Choice:
    return Choice(
        f"set:{name}",
        label,
        said=lambda fields: f"set {name} to {fields['value'] or 'nobody'}",
        questions=(question,),
        preset={"property_name": name},
        stored={"property": name},
    )


KIND = ActionKind(
    id=SET_PROPERTY,
    order=30,
    choices=(
        _choice(
            "priority",
            "Set the priority",
            Pick("value", "Priority", first=tuple((p, p) for p in PRIORITIES)),
        ),
        _choice(
            "owner", "Set the owner", Pick("value", "Owner", source=USERS, first=(("Nobody", ""),))
        ),
        _choice("subject", "Set the subject", Text("value", "New subject")),
    ),
    config=_config,
    describe=_describe,
    run=_run,
    cli=CliFlags(
        CliOption(
            ("--set",),
            {
                "metavar": "PROPERTY=VALUE",
                "help": "set a property: priority=low|normal|high|urgent, owner=NAME (owner= for "
                "nobody), subject=TEXT, or a custom property NAME=VALUE (NAME= clears it)",
            },
        ),
        fields=_from_args,
    ),
)
