"""`tag`: the ticket's tags ("tag is vip": the ticket has the tag vip; "tag is empty": none)."""

from __future__ import annotations

from typing import Any

from automation.condition_fields.base import ConditionField
from automation.ports import Repository, TicketLike
from automation.tag_rules import normalize


def _values(repo: Repository, field: str, ticket: TicketLike) -> set[str]:
    return set(repo.ticket_tags(ticket.id))


def _spell(repo: Repository, field: str, wanted: list[Any]) -> list[str]:
    return [normalize(str(value)) for value in wanted]  # TagError is a ValueError


FIELD = ConditionField("tag", "tag (the ticket has it)", _values, _spell)
