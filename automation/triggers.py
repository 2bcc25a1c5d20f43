"""The two ticket status triggers (SPEC §3, R-T1..R-T8, E3..E10).

Each handler explains itself on the timeline: fired, or skipped with the reason (E12).
"""

from __future__ import annotations

from automation.events import Actor, EmailSent, MessageReceived, Timeline
from automation.ports import MessageLike, Repository, TicketLike, TriggerLike
from automation.tickets import (
    CUSTOMER_REPLY,
    change_status,
    create_ticket_for_new_conversation,
    skips_live_sources,
)

EMAIL_SENT = "email_sent"  # R-T1 "Email sent to customer"
CUSTOMER_REPLIED = "customer_replied"  # R-T2 "Customer replies to email"

TRIGGER_NAMES = {
    EMAIL_SENT: "Email sent to customer",
    CUSTOMER_REPLIED: "Customer replies to email",
}
DEFAULT_TARGETS = {EMAIL_SENT: "Waiting on contact", CUSTOMER_REPLIED: "Waiting on us"}


def on_message_received(repo: Repository, event: MessageReceived) -> None:
    message = repo.message(event.message_row_id)
    conversation = repo.conversation(message.conversation_id)
    if conversation.ticket_id is None:
        if event.new_conversation:
            create_ticket_for_new_conversation(repo, message, cause_id=event.cause_id)
        return
    if message.direction != "inbound":
        return  # E10: mail from a user's own address fires no trigger
    ticket = repo.ticket(conversation.ticket_id)
    assert ticket is not None
    now = message.sent_at
    if message.automated_kind is None:
        ticket.last_customer_reply_at = now
    _customer_replied(repo, ticket, message, event.cause_id)


def _customer_replied(
    repo: Repository, ticket: TicketLike, message: MessageLike, cause_id: int | None
) -> None:
    trigger = repo.trigger(ticket.pipeline_id, CUSTOMER_REPLIED)
    reason = _why_customer_reply_does_not_fire(repo, ticket, message, trigger)
    if reason is not None:
        _skipped(repo, ticket, trigger, CUSTOMER_REPLIED, reason, cause_id)
        return
    assert trigger is not None and trigger.target_status is not None
    _fire(repo, ticket, trigger, cause_id, CUSTOMER_REPLY)


def _why_customer_reply_does_not_fire(
    repo: Repository, ticket: TicketLike, message: MessageLike, trigger: TriggerLike | None
) -> str | None:
    if message.automated_kind is not None:
        return f"automated mail ({message.automated_kind}) never fires it"
    if skips_live_sources(ticket):
        return f"{ticket.source} tickets are excluded from triggers"
    if message.forwarded:
        return "the message is a forward or a reply to one"
    if repo.conversation(message.conversation_id).association == "forward":
        return "a reply in the thread of a forward"  # D17: never fires, never reopens
    common = _trigger_state(trigger)
    if common is not None:
        return common
    conversation_id = message.conversation_id
    merged_origin = repo.conversation(conversation_id).association == "merged"  # B3.1
    if conversation_id != ticket.origin_conversation_id and not merged_origin:
        if not ticket.reopened:
            return "not the ticket's origin thread"
        associated = {c.id for c in repo.ticket_conversations(ticket.id)}
        if conversation_id not in associated:
            return "the thread is not associated with the ticket"
    return None


def on_email_sent(repo: Repository, event: EmailSent) -> None:
    message = repo.message(event.message_row_id)
    conversation = repo.conversation(message.conversation_id)
    if conversation.ticket_id is None:
        return
    ticket = repo.ticket(conversation.ticket_id)
    assert ticket is not None
    trigger = repo.trigger(ticket.pipeline_id, EMAIL_SENT)
    reason = None
    contact = ticket.contact.email if ticket.contact is not None else None
    if message.sent_from == "forward" and contact not in (message.to_addrs or []):
        reason = "a forward to someone other than the contact"  # D17
    elif message.sent_from not in ("ticket", "forward"):
        reason = f"sent from the {message.sent_from} record, not the ticket record"
    elif skips_live_sources(ticket):
        reason = f"{ticket.source} tickets are excluded from triggers"
    else:
        reason = _trigger_state(trigger)
    if reason is not None:
        _skipped(repo, ticket, trigger, EMAIL_SENT, reason, event.cause_id)
        return
    assert trigger is not None
    _fire(repo, ticket, trigger, event.cause_id, "email sent to customer")


def _trigger_state(trigger: TriggerLike | None) -> str | None:
    if trigger is None or not trigger.enabled:
        return "the trigger is switched off"
    if trigger.target_status is None:
        return "the trigger is broken: its target status was removed"
    return None


def _fire(
    repo: Repository, ticket: TicketLike, trigger: TriggerLike, cause_id: int | None, why: str
) -> None:
    target = trigger.target_status
    assert target is not None
    actor = Actor("trigger", trigger.id, TRIGGER_NAMES[trigger.kind])
    if target.id == ticket.status_id:
        _skipped(repo, ticket, trigger, trigger.kind, f"already in {target.label}", cause_id)
        return
    fired = repo.add_timeline(
        Timeline.TRIGGER_FIRED,
        actor,
        ticket_id=ticket.id,
        cause_id=cause_id,
        summary=f"Trigger “{TRIGGER_NAMES[trigger.kind]}” fired: set status {target.label}",
        data={"trigger": trigger.kind, "target": target.label},
    )
    change_status(repo, ticket, target, actor, cause_id=fired, depth=1, reason=why)


def _skipped(
    repo: Repository,
    ticket: TicketLike,
    trigger: TriggerLike | None,
    kind: str,
    reason: str,
    cause_id: int | None,
) -> None:
    repo.add_timeline(
        Timeline.TRIGGER_SKIPPED,
        Actor("trigger", trigger.id if trigger else None, TRIGGER_NAMES[kind]),
        ticket_id=ticket.id,
        cause_id=cause_id,
        summary=f"Trigger “{TRIGGER_NAMES[kind]}” did not fire: {reason}",
        data={"trigger": kind, "reason": reason},
    )
