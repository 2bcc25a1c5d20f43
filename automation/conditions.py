"""Enrollment conditions of editable workflows (SPEC R-A5/R-A7, issue "Workflows").

A condition is a JSON tree: {"all": [...]} (AND), {"any": [...]} (OR), or a test
{"field": F, "op": OP, "value": V}. Fields: pipeline, status, source, channel, priority,
owner, team (the owner's teams), contact (address), contact_domain. Ops: is, is_not, in,
not_in, is_empty, is_not_empty. Names compare case-insensitively.

The fields of CHOSEN_FIELDS take a value of a fixed set (the desk's pipelines, statuses,
channels, users and teams, the sources and priorities): `check_values` refuses any other value,
naming the valid ones, and spells each value as the desk does (issue 18: "priority is hihg" was
stored and never matched). Contact and contact domain take any text.
"""

from __future__ import annotations

from typing import Any

from automation import condition_fields
from automation.ports import AdminRepository, Repository, TicketLike
from automation.tickets import PRIORITIES, SOURCES

FIELDS = (
    "pipeline",
    "status",
    "source",
    "channel",
    "priority",
    "owner",
    "team",
    "contact",
    "contact_domain",
)
OPS = ("is", "is_not", "in", "not_in", "is_empty", "is_not_empty")
CHOSEN_FIELDS = ("pipeline", "status", "source", "channel", "priority", "owner", "team")
LIST_OPS = ("in", "not_in")  # their value is a list
EMPTY_OPS = ("is_empty", "is_not_empty")  # they take no value


class ConditionError(ValueError):
    """A condition tree that cannot be read; the message says where."""


def check(tree: Any) -> None:
    """Raise ConditionError for anything `matches` could not evaluate."""
    if not isinstance(tree, dict):
        raise ConditionError("a condition is an object")
    groups = [key for key in ("all", "any") if key in tree]
    if groups:
        items = tree[groups[0]]
        if len(groups) > 1 or not isinstance(items, list):
            raise ConditionError('a group is {"all": [...]} or {"any": [...]}')
        for item in items:
            check(item)
        return
    field = tree.get("field")
    if field not in FIELDS and not (isinstance(field, str) and condition_fields.find(field)):
        extra = ", ".join(f.help for f in condition_fields.fields())  # issue 13: tag, prop.NAME
        raise ConditionError(f"field must be one of {', '.join(FIELDS)}, {extra}")
    if tree.get("op", "is") not in OPS:
        raise ConditionError(f"op must be one of {', '.join(OPS)}")


def known_values(repo: AdminRepository) -> dict[str, list[str]]:
    """The values each field of CHOSEN_FIELDS can take on this desk, in the desk's order."""
    pipelines = list(repo.pipelines())
    statuses = [s.label for p in pipelines for s in repo.statuses(p.id)]
    users = list(repo.users())
    return {
        "pipeline": [p.name for p in pipelines],
        "status": list(dict.fromkeys(statuses)),
        "source": list(SOURCES),
        "channel": [c.name for c in repo.channels()],
        "priority": list(PRIORITIES),
        "owner": [u.name for u in users],
        "team": sorted((team.name for team in repo.teams()), key=_norm),
    }


def check_values(repo: AdminRepository, tree: dict[str, Any]) -> dict[str, Any]:
    """The tree with each value of a CHOSEN_FIELDS test spelled as the desk spells it; a value
    the desk does not have raises ConditionError naming the valid ones. Run `check` first."""
    return with_known_values(_spelled_extra(repo, tree), known_values(repo))


def _spelled_extra(repo: Repository, tree: dict[str, Any]) -> dict[str, Any]:
    """The values of tag and prop.NAME tests in their stored form (issue 13)."""
    for key in ("all", "any"):
        if key in tree:
            return {**tree, key: [_spelled_extra(repo, item) for item in tree[key]]}
    field, op = str(tree.get("field")), str(tree.get("op", "is"))
    extra = condition_fields.find(field)
    if extra is None or extra.spell is None or op in EMPTY_OPS:
        return tree
    wanted = _listed(tree.get("value"))
    if not wanted:
        raise ConditionError(f"{field} {op.replace('_', ' ')} needs a value")
    try:
        values = extra.spell(repo, field, wanted)
    except ValueError as exc:
        raise ConditionError(str(exc)) from None
    return {**tree, "value": values if op in LIST_OPS else values[0]}


def with_known_values(tree: dict[str, Any], known: dict[str, list[str]]) -> dict[str, Any]:
    """`check_values` on given sets of values (pure)."""
    for key in ("all", "any"):
        if key in tree:
            return {**tree, key: [with_known_values(item, known) for item in tree[key]]}
    field, op = tree.get("field"), str(tree.get("op", "is"))
    if field not in CHOSEN_FIELDS or op in EMPTY_OPS:
        return tree
    valid = known.get(str(field), [])
    spelled = {_norm(name): name for name in valid}
    wanted = _listed(tree.get("value"))
    if not wanted:
        raise ConditionError(f"{field} {op.replace('_', ' ')} needs a value{_one_of(valid)}")
    unknown = [v for v in wanted if _norm(v) not in spelled]
    if unknown:
        raise ConditionError(f"unknown {field} {str(unknown[0]).strip()!r}{_one_of(valid)}")
    values = [spelled[_norm(v)] for v in wanted]
    return {**tree, "value": values if op in LIST_OPS else values[0]}


def _one_of(valid: list[str]) -> str:
    if not valid:
        return ": the desk has none yet"
    return f": pick one of {', '.join(valid)}"


def _listed(value: Any) -> list[Any]:
    values = value if isinstance(value, list) else [value]
    return [v for v in values if v is not None and str(v).strip()]


def matches(repo: Repository, tree: dict[str, Any] | None, ticket: TicketLike) -> bool:
    if not tree:
        return True
    if "all" in tree:
        return all(matches(repo, item, ticket) for item in tree["all"])
    if "any" in tree:
        return any(matches(repo, item, ticket) for item in tree["any"])
    if "field" not in tree:
        return True  # only the legacy source keys (see actions.applies_to_source)
    values = _values(repo, str(tree["field"]), ticket)
    op = str(tree.get("op", "is"))
    if op == "is_empty":
        return not values
    if op == "is_not_empty":
        return bool(values)
    wanted = tree.get("value")
    wanted_set = {_norm(v) for v in (wanted if isinstance(wanted, list) else [wanted])}
    hit = bool(values & wanted_set)
    return hit if op in ("is", "in") else not hit


def _values(repo: Repository, field: str, ticket: TicketLike) -> set[str]:
    if (extra := condition_fields.find(field)) is not None:
        return {_norm(value) for value in extra.values(repo, field, ticket)}
    contact = ticket.contact.email if ticket.contact else None
    single: dict[str, str | None] = {
        "pipeline": ticket.pipeline.name,
        "status": ticket.status.label,
        "source": ticket.source,
        "channel": ticket.channel.name if ticket.channel else None,
        "priority": ticket.priority,
        "owner": ticket.owner.name if ticket.owner else None,
        "contact": contact,
        "contact_domain": contact.rpartition("@")[2] if contact else None,
    }
    if field == "team":
        if ticket.owner is None:
            return set()
        return {_norm(team.name) for team in repo.teams_of(ticket.owner.id)}
    value = single.get(field)
    return {_norm(value)} if value else set()


def _norm(value: Any) -> str:
    return str(value).strip().casefold()


def describe(tree: dict[str, Any] | None) -> str:
    """The condition in words, for the editor and `deskline workflow show`."""
    if not tree:
        return "always"
    for key, word in (("all", " and "), ("any", " or ")):
        if key in tree:
            parts = [describe(item) for item in tree[key]]
            if not parts:
                return "always" if key == "all" else "never"  # as `matches` decides
            return "(" + word.join(parts) + ")" if len(parts) > 1 else "".join(parts)
    if "field" not in tree:
        return "always"
    op = str(tree.get("op", "is")).replace("_", " ")
    if op in ("is empty", "is not empty"):
        return f"{tree['field']} {op}"
    value = tree.get("value")
    shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return f"{tree['field']} {op} {shown}"
