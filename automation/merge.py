"""Merge one ticket into another (SPEC B3.1, D21).

The survivor keeps its contact, status and owner. The absorbed ticket's conversations move to
the survivor: its origin thread is associated `merged` and counts as an origin for R-T2, and its
contact becomes a participant of the survivor's threads, so their replies and mail to either
ticket token reach the survivor (automation.threading follows `merged_into_id`). The absorbed
ticket closes with `merged_into_id` set and no status action or trigger runs; its waiting
workflow steps, open tasks and snooze stop. Later writes to it are refused naming the survivor
(`automation.services.get_ticket`). Required properties never block a merge (D21). Both
timelines say what happened.
"""

from __future__ import annotations

from dataclasses import dataclass

from automation import close_rules, snooze
from automation.events import Actor, Timeline
from automation.ports import Repository, TicketLike, UserLike
from automation.services import DomainError, in_order

MERGED = "merged"  # the association of the absorbed ticket's origin thread on the survivor
MAX_HOPS = 20  # a chain of merges followed to its end (never a loop: a survivor is not merged)


class MergeError(DomainError):
    """The merge cannot be made; the message says why."""


@dataclass(frozen=True)
class Merged:
    absorbed: int
    survivor: int
    conversations: tuple[int, ...]
    steps_stopped: int
    tasks_closed: int

    def describe(self) -> str:
        threads = len(self.conversations)
        return (
            f"Ticket #{self.absorbed} merged into #{self.survivor}: {threads} "
            f"conversation{'s' if threads != 1 else ''} moved, #{self.absorbed} closed"
        )


def survivor_of(repo: Repository, ticket: TicketLike) -> TicketLike:
    """Where a merged ticket lives on (itself when it was never merged)."""
    for _ in range(MAX_HOPS):
        target = getattr(ticket, "merged_into_id", None)
        if target is None:
            return ticket
        found = repo.ticket(target)
        if found is None:
            return ticket
        ticket = found
    return ticket


@in_order
def merge(repo: Repository, user: UserLike, absorbed_no: int, survivor_no: int) -> Merged:
    absorbed, survivor = repo.ticket(absorbed_no), repo.ticket(survivor_no)
    if absorbed is None:
        raise MergeError(f"no ticket #{absorbed_no}")
    if survivor is None:
        raise MergeError(f"no ticket #{survivor_no}")
    if absorbed.id == survivor.id:
        raise MergeError("a ticket cannot be merged into itself")
    for ticket in (absorbed, survivor):
        if ticket.merged_into_id is not None:
            raise MergeError(
                f"ticket #{ticket.id} was merged into #{ticket.merged_into_id} already"
            )
    actor = Actor("user", user.id, user.name)
    now = repo.now()
    moved = []
    origin = repo.conversation_or_none(absorbed.origin_conversation_id or 0)
    association = origin.association if origin is not None else None
    closed_at = absorbed.closed_at
    participants = [absorbed.contact.email] if absorbed.contact is not None else []
    for conversation in repo.ticket_conversations(absorbed.id):
        conversation.ticket_id = survivor.id
        if conversation.id == absorbed.origin_conversation_id:
            conversation.association = MERGED  # counts as an origin for R-T2 (B3.1)
        moved.append(conversation.id)
    added: dict[str, list[str]] = {}  # what un-merging takes away again
    if participants:
        for conversation in repo.ticket_conversations(survivor.id):
            if found := repo.add_participants(conversation.id, participants):
                added[str(conversation.id)] = found
    steps, tasks = repo.stop_ticket_work(absorbed.id)
    snooze.closed(repo, actor, ticket=absorbed)
    closed = next((s for s in repo.statuses(absorbed.pipeline_id) if s.state == "CLOSED"), None)
    old_label = absorbed.status.label
    if closed is not None and closed.id != absorbed.status_id:
        absorbed.status_id, absorbed.status = closed.id, closed  # no StatusEntered: no actions
    if absorbed.closed_at is None:
        absorbed.closed_at = now
    absorbed.merged_into_id = survivor.id
    absorbed.updated_at = survivor.updated_at = now
    result = Merged(absorbed.id, survivor.id, tuple(moved), steps, tasks)
    data = {
        "absorbed": absorbed.id,
        "survivor": survivor.id,
        "conversations": moved,
        "steps_stopped": steps,
        "tasks_closed": tasks,
        "association": association,  # what un-merging puts back (B3, B5)
        "participants_added": added,  # and what it takes away
        "closed_at": closed_at.isoformat() if closed_at is not None else None,
    }
    here = repo.add_timeline(
        Timeline.MERGED,
        actor,
        ticket_id=absorbed.id,
        summary=f"Merged into #{survivor.id} by {user.name}",
        data=data,
    )
    if closed is not None and old_label != closed.label:  # SPEC D21's note with it
        why = f"merged into #{survivor.id}"
        close_rules.quiet_move_line(
            repo, absorbed, actor, old_label, cause_id=here, reason="merged", why=why
        )
    repo.add_timeline(
        Timeline.MERGED,
        actor,
        ticket_id=survivor.id,
        cause_id=here,
        summary=f"Ticket #{absorbed.id} merged into this ticket by {user.name}",
        data=data,
    )
    return result
