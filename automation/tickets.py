"""Ticket creation (R-C1..R-C4, E13) and status changes (R-T6, R-T8, E5, E8)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from automation import close_rules, snooze
from automation.events import MAX_DEPTH, Actor, StatusEntered, Timeline
from automation.ports import (
    ConversationLike,
    MessageLike,
    Repository,
    StatusLike,
    TicketLike,
    UserLike,
)

CUSTOMER_REPLY = "customer reply"  # the reason R-T2 gives; R-T2.3 names it on the timeline
LIVE_SOURCES_EXCLUDED = frozenset({"chat", "messenger"})  # R-A8, E9
SOURCES = ("email", "chat", "messenger", "form")  # a ticket's source: its channel's kind


def create_ticket_for_new_conversation(
    repo: Repository, message: MessageLike, *, cause_id: int | None, run_actions: bool = True
) -> TicketLike | None:
    """R-C1: a new inbound conversation on a channel with ticket automation on opens a ticket.

    Call it only for the first message of a conversation (R-C3: a message that belongs to an
    existing conversation never creates a second ticket).
    """
    conversation = repo.conversation(message.conversation_id)
    if conversation.ticket_id is not None or message.direction != "inbound":
        return None
    channel = conversation.channel
    if not channel.ticket_automation:
        return None  # R-C2: inbox only; a rep can create one by hand
    if message.automated_kind is not None:
        bulk = message.automated_kind in ("bulk", "list")
        if not (bulk and channel.bulk_opens_tickets):
            return None  # R-C4
    if message.automated_kind == "own":
        return None
    actor = Actor("system", None, f"channel {channel.name}")
    replied_at = message.sent_at if message.automated_kind is None else None
    return open_ticket(
        repo, conversation, actor, cause_id=cause_id, run_actions=run_actions, replied_at=replied_at
    )


def open_ticket(
    repo: Repository,
    conversation: ConversationLike,
    actor: Actor,
    *,
    cause_id: int | None,
    run_actions: bool = True,
    replied_at: datetime | None = None,
) -> TicketLike:
    """A ticket for a conversation, in the first status of its channel's pipeline (R-C1)."""
    pipeline = repo.pipeline(conversation.channel.pipeline_id)
    first = repo.statuses(pipeline.id)[0]
    start = TicketStart(
        subject=conversation.subject or "(no subject)",
        status=first,
        contact_id=conversation.contact_id,
        channel_id=conversation.channel_id,
        source=conversation.source,
        conversation=conversation,
        last_customer_reply_at=replied_at or repo.last_inbound_at(conversation.id),
    )
    return start_ticket(
        repo,
        start,
        actor,
        cause_id=cause_id,
        depth=0,
        run_actions=run_actions,
        summary=lambda number: f"Ticket #{number} created in {pipeline.name} / {first.label}",
        data={"pipeline": pipeline.name, "status": first.label, "origin": conversation.id},
    )


@dataclass(frozen=True)
class TicketStart:
    """What a new ticket starts with. With a `conversation`, the ticket is that conversation's
    (its origin) and takes the conversation's timeline along."""

    subject: str
    status: StatusLike
    contact_id: int | None
    channel_id: int | None
    source: str
    conversation: ConversationLike | None = None
    last_customer_reply_at: datetime | None = None
    priority: str | None = None  # default: the database's
    owner_id: int | None = None


def start_ticket(
    repo: Repository,
    start: TicketStart,
    actor: Actor,
    *,
    cause_id: int | None,
    depth: int,
    run_actions: bool,
    summary: Callable[[int], str],
    data: dict[str, Any],
) -> TicketLike:
    """Add the ticket, say so on the timeline (`summary` of its number), and let its status's
    actions run at `depth` (R-A1, R-T8)."""
    conversation = start.conversation
    ticket = repo.add_ticket(
        subject=start.subject,
        pipeline_id=start.status.pipeline_id,
        status_id=start.status.id,
        contact_id=start.contact_id,
        channel_id=start.channel_id,
        source=start.source,
        origin_conversation_id=conversation.id if conversation else None,
        last_customer_reply_at=start.last_customer_reply_at,
    )
    if start.priority is not None:
        ticket.priority = start.priority
    if start.owner_id is not None:
        ticket.owner_id = start.owner_id
    if conversation is not None:
        conversation.ticket_id = ticket.id
        conversation.association = "origin"
        repo.attach_conversation_timeline(conversation.id, ticket.id)
    event_id = repo.add_timeline(
        Timeline.TICKET_CREATED,
        actor,
        ticket_id=ticket.id,
        conversation_id=conversation.id if conversation else None,
        cause_id=cause_id,
        summary=summary(ticket.id),
        data=data,
    )
    if run_actions:
        repo.emit(StatusEntered(ticket.id, start.status.id, depth=depth, cause_id=event_id))
    return ticket


def depth_capped(
    repo: Repository,
    ticket: TicketLike,
    actor: Actor,
    cause_id: int | None,
    depth: int,
    not_done: str,
    **data: Any,
) -> bool:
    """R-T8/E8: a change deeper than MAX_DEPTH is not made, and the timeline says what was not."""
    if depth <= MAX_DEPTH:
        return False
    repo.add_timeline(
        Timeline.DEPTH_CAP,
        actor,
        ticket_id=ticket.id,
        cause_id=cause_id,
        summary=f"{not_done}: automation chain cut at depth {MAX_DEPTH}",
        data={**data, "depth": depth},
    )
    return True


def change_status(
    repo: Repository,
    ticket: TicketLike,
    status: StatusLike,
    actor: Actor,
    *,
    cause_id: int | None,
    depth: int,
    reason: str = "",
) -> int | None:
    """Move a ticket; returns the timeline event id, or None when nothing changed.

    The new status's actions run through a `StatusEntered` event (R-A1, R-T8). A change at a depth
    over the cap is not applied and the timeline says so (E8).
    """
    if status.id == ticket.status_id:
        return None
    if depth_capped(
        repo, ticket, actor, cause_id, depth, f"Not moved to {status.label}", status=status.label
    ):
        return None
    old = ticket.status
    now = repo.now()
    ticket.status_id = status.id
    ticket.status = status
    ticket.updated_at = now
    event_id = repo.add_timeline(
        Timeline.STATUS_CHANGED,
        actor,
        ticket_id=ticket.id,
        cause_id=cause_id,
        summary=f"Status {old.label} → {status.label}" + (f" ({reason})" if reason else ""),
        data={"from": old.label, "to": status.label, "depth": depth, "reason": reason},
    )
    if status.state == "CLOSED":
        ticket.closed_at = now
        snooze.closed(repo, actor, ticket=ticket, cause_id=event_id)  # SPEC D23
        close_rules.note_if_missing(repo, ticket, actor, event_id)  # SPEC D21
    elif old.state == "CLOSED":
        event_id = _reopen(repo, ticket, actor, event_id, reason)
    repo.emit(StatusEntered(ticket.id, status.id, depth=depth, cause_id=event_id))
    return event_id


def _reopen(repo: Repository, ticket: TicketLike, actor: Actor, cause_id: int, why: str) -> int:
    """E5: any move from a CLOSED to an OPEN status reopens the ticket for good (R-T2.2)."""
    ticket.reopened = True
    ticket.closed_at = None
    if ticket.origin_conversation_id is not None:
        repo.conversation(ticket.origin_conversation_id).state = "open"
    by = why if why == CUSTOMER_REPLY else actor.name
    return repo.add_timeline(
        Timeline.REOPENED,
        actor,
        ticket_id=ticket.id,
        cause_id=cause_id,
        summary=f"Reopened by {by}",
        data={"by": by},
    )


def skips_live_sources(ticket: TicketLike) -> bool:
    return ticket.source in LIVE_SOURCES_EXCLUDED


PRIORITIES = ("low", "normal", "high", "urgent")


def set_owner(
    repo: Repository, ticket: TicketLike, owner: UserLike | None
) -> tuple[str | None, str | None]:
    """The ticket's owner and its origin conversation's assignee; returns (old, new) names."""
    old = ticket.owner.name if ticket.owner else None
    ticket.owner_id = owner.id if owner else None
    ticket.owner = owner
    ticket.updated_at = repo.now()
    if ticket.origin_conversation_id is not None:
        repo.conversation(ticket.origin_conversation_id).assignee_id = ticket.owner_id
    return old, owner.name if owner else None


def record_property(
    repo: Repository,
    actor: Actor,
    ticket: TicketLike,
    name: str,
    old: object,
    new: object,
    cause_id: int | None = None,
) -> int:
    return repo.add_timeline(
        Timeline.PROPERTY_CHANGED,
        actor,
        ticket_id=ticket.id,
        cause_id=cause_id,
        summary=f"{name.capitalize()}: {old or '(none)'} → {new or '(none)'}",
        data={"property": name, "from": old, "to": new},
    )
