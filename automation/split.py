"""Split a message off into a new ticket, and attach a conversation to a ticket (SPEC B3.2).

Split: the message, and the replies to it in its thread (In-Reply-To or References naming one
of them), move to a new conversation that becomes the origin of a new ticket, as a ticket made
by hand from a conversation is (R-C2, E13): the first status's actions run. The split is a
person's change, so the email it causes waits the undo window (D2); when the message is old
(D1: older than `old_mail_hours` now) that email is held. The first message of a conversation
is not split: the whole conversation is attached or made a ticket instead.

Attach: a conversation joins another ticket (E4: associated `attached`). A ticket's origin
conversation is never attached elsewhere (the tickets are merged instead). Both moves are said
on the timelines of both tickets.
"""

from __future__ import annotations

from datetime import timedelta

from automation.events import Actor, Timeline
from automation.outbound import old_mail_hours
from automation.ports import ConversationLike, MessageLike, Repository, TicketLike, UserLike
from automation.services import DomainError, get_conversation, get_ticket, in_order
from automation.tickets import open_ticket

ATTACHED = "attached"


class SplitError(DomainError):
    """The split or attach cannot be made; the message says why."""


def _moving(messages: list[MessageLike], first: MessageLike) -> list[MessageLike]:
    """`first` and every later message of the thread replying to one already taken."""
    ids = {first.message_id} if first.message_id else set()
    taken = [first]
    for message in messages:
        if message.id == first.id or message.id < first.id:
            continue
        parents = [getattr(message, "in_reply_to", None), *(message.references or [])]
        if any(p in ids for p in parents if p):
            taken.append(message)
            if message.message_id:
                ids.add(message.message_id)
    return taken


@in_order
def split_message(repo: Repository, user: UserLike, message_row_id: int) -> TicketLike:
    """The new ticket made of message `message_row_id` and the replies to it."""
    try:
        message = repo.message(message_row_id)
    except Exception:  # the repository's "no such row"
        raise SplitError(f"no message {message_row_id}") from None
    if message.direction != "inbound":
        raise SplitError(f"message {message_row_id} is not a received message: only those split")
    old = repo.conversation(message.conversation_id)
    if old.ticket_id is not None:
        get_ticket(repo, old.ticket_id)  # a merged ticket's thread is refused naming its survivor
    thread = list(repo.conversation_messages(old.id))
    if thread and thread[0].id == message.id:
        raise SplitError(
            f"message {message_row_id} starts conversation {old.id}: attach the conversation "
            "to a ticket, or make a ticket of it, instead"
        )
    moving = _moving(thread, message)
    contact = None
    if message.from_addr and repo.user_by_email(message.from_addr) is None:
        contact = repo.upsert_contact(message.from_addr, getattr(message, "from_name", ""))
    new = repo.add_conversation(
        channel=old.channel,
        contact=contact,
        subject=message.subject,
        automated=message.automated_kind is not None,
    )
    repo.flush()
    for moved in moving:
        moved.conversation_id = new.id
    repo.move_message_lines([m.id for m in moving], new.id)
    actor = Actor("user", user.id, user.name)
    is_old = repo.now() - message.sent_at > timedelta(hours=old_mail_hours(repo))
    data = {
        "message": message.id,
        "messages": [m.id for m in moving],
        "from_conversation": old.id,
        "from_ticket": old.ticket_id,
        "conversation": new.id,
    }
    if is_old:
        data["old_mail"] = True  # D1: the email the new ticket causes is held
    cause = repo.add_timeline(
        Timeline.SPLIT,
        actor,
        ticket_id=old.ticket_id,
        conversation_id=new.id if old.ticket_id is None else None,
        message_row_id=message.id,
        summary=f"Message “{message.subject}” split off by {user.name} "
        f"({len(moving)} message{'s' if len(moving) != 1 else ''})",
        data=data,
    )
    ticket = open_ticket(repo, new, actor, cause_id=cause)  # R-C2 / E13; D2 through the cause
    repo.add_timeline(
        Timeline.SPLIT,
        actor,
        ticket_id=ticket.id,
        cause_id=cause,
        summary="Split from "
        + (f"#{old.ticket_id}" if old.ticket_id is not None else f"conversation {old.id}")
        + f" by {user.name}",
        data={**data, "ticket": ticket.id},
    )
    return ticket


@in_order
def attach_conversation(
    repo: Repository, user: UserLike, conversation_id: int, number: int
) -> ConversationLike:
    conversation = get_conversation(repo, conversation_id)
    ticket = get_ticket(repo, number)
    if conversation.ticket_id == ticket.id:
        raise SplitError(f"conversation {conversation_id} is already on ticket #{number}")
    if conversation.ticket_id is not None:
        owner = repo.ticket(conversation.ticket_id)
        if owner is not None and owner.origin_conversation_id == conversation.id:
            raise SplitError(
                f"conversation {conversation_id} is the origin of ticket #{owner.id}: merge "
                f"the tickets instead (deskline ticket merge {owner.id} --into {number})"
            )
    was = conversation.ticket_id
    conversation.ticket_id = ticket.id
    conversation.association = ATTACHED
    conversation.updated_at = repo.now()
    actor = Actor("user", user.id, user.name)
    data = {"conversation": conversation.id, "ticket": ticket.id, "from_ticket": was}
    line = repo.add_timeline(
        Timeline.CONVERSATION_ATTACHED,
        actor,
        ticket_id=ticket.id,
        conversation_id=conversation.id,
        summary=f"Conversation {conversation.id} attached by {user.name}"
        + (f" (from #{was})" if was is not None else ""),
        data=data,
    )
    if was is not None:
        repo.add_timeline(
            Timeline.CONVERSATION_ATTACHED,
            actor,
            ticket_id=was,
            cause_id=line,
            summary=f"Conversation {conversation.id} moved to #{ticket.id} by {user.name}",
            data=data,
        )
    return conversation
