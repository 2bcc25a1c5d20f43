"""Properties required before a ticket closes (SPEC D21).

A person's close of a ticket missing a required property is refused, naming it. Anything else
that closes it (an automation, a merge, an undo, a status removed by an admin) passes, and the
timeline says which required properties were empty.
"""

from __future__ import annotations

from automation.events import Actor, Timeline
from automation.ports import Repository, TicketLike


def missing_required(repo: Repository, ticket: TicketLike) -> list[str]:
    """The names of the required properties this ticket has no value for."""
    values = repo.ticket_property_values(ticket.id)
    return [p.name for p in repo.property_defs() if p.required_to_close and p.id not in values]


def refusal(repo: Repository, ticket: TicketLike) -> str | None:
    """D21: why a person may not close this ticket yet (None: they may)."""
    missing = missing_required(repo, ticket)
    if not missing:
        return None
    names = ", ".join(missing)
    needs = "needs the property" if len(missing) == 1 else "needs the properties"
    return f"ticket #{ticket.id} {needs} {names} before it can close (set it with set-property)"


def note_if_missing(
    repo: Repository, ticket: TicketLike, actor: Actor, cause_id: int | None
) -> int | None:
    """D21: a close that is not a person's passes; the timeline names what was empty."""
    missing = missing_required(repo, ticket)
    if not missing:
        return None
    return repo.add_timeline(
        Timeline.CLOSED_WITHOUT,
        actor,
        ticket_id=ticket.id,
        cause_id=cause_id,
        summary=f"Closed without the required {', '.join(missing)}",
        data={"missing": missing},
    )


def quiet_move_line(
    repo: Repository,
    ticket: TicketLike,
    actor: Actor,
    was: str,
    *,
    cause_id: int | None,
    reason: str,
    why: str,
) -> int:
    """The timeline line of a status the ticket was given without status actions (a merge, an
    undo): "Status was → now (why)", and when it closes, D21's note of what was left empty."""
    now = ticket.status.label
    moved = repo.add_timeline(
        Timeline.STATUS_CHANGED,
        actor,
        ticket_id=ticket.id,
        cause_id=cause_id,
        summary=f"Status {was} → {now} ({why})",
        data={"from": was, "to": now, "depth": 0, "reason": reason},
    )
    if ticket.status.state == "CLOSED":
        note_if_missing(repo, ticket, actor, moved)
    return moved
