"""Enrollment conditions of editable workflows (SPEC R-A5/R-A7, issue "Workflows").

A condition is a JSON tree: {"all": [...]} (AND), {"any": [...]} (OR), or a test
{"field": F, "op": OP, "value": V}. Fields: pipeline, status, source, channel, priority,
owner, team (the owner's teams), contact (address), contact_domain. Ops: is, is_not, in,
not_in, is_empty, is_not_empty. Names compare case-insensitively.
"""

from __future__ import annotations

from typing import Any

from automation.ports import Repository, TicketLike

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
    if tree.get("field") not in FIELDS:
        raise ConditionError(f"field must be one of {', '.join(FIELDS)}")
    if tree.get("op", "is") not in OPS:
        raise ConditionError(f"op must be one of {', '.join(OPS)}")


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
