"""What a user does to tickets: each service writes its change, its timeline event and its domain
events in the caller's one transaction (SPEC E2). The engine reacts after commit.

Each change is recorded as the person's action (`automation.undo`): undoable for the undo window,
during which the mail it causes waits (D2, D3). `send_now` skips the window.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Concatenate, ParamSpec, TypeVar

from automation import close_rules, notifications, snooze, undo
from automation.engine import process_local
from automation.events import Actor, EmailSent, Timeline
from automation.outbound import queue_conversation_mail
from automation.ports import (
    ConversationLike,
    Repository,
    StatusLike,
    TicketLike,
    UserLike,
)
from automation.recipients import Addressing, resolve
from automation.tickets import PRIORITIES, change_status, open_ticket, record_property, set_owner
from mail.classify import strip_subject_prefixes
from mail.markdown import to_html

P = ParamSpec("P")
R = TypeVar("R")


def in_order(
    change: Callable[Concatenate[Repository, P], R],
) -> Callable[Concatenate[Repository, P], R]:
    """E6: when one command makes several changes, each is evaluated against the ticket as the
    ones before it left it. Before this change, the events this transaction emitted so far (a
    reply's R-T1, a status entered and its status actions) are handled, in order; the first
    change of a command has none, and the engine handles this one's after the commit."""

    @functools.wraps(change)
    def in_turn(repo: Repository, *args: P.args, **kwargs: P.kwargs) -> R:
        process_local(repo)
        return change(repo, *args, **kwargs)

    return in_turn


class DomainError(Exception):
    """A request that cannot be carried out; the message is shown to the user as is."""


def actor_of(user: UserLike) -> Actor:
    return Actor("user", user.id, user.name)


def get_ticket(repo: Repository, number: int) -> TicketLike:
    ticket = repo.ticket(number)
    if ticket is None:
        raise DomainError(f"no ticket #{number}")
    if ticket.merged_into_id is not None:  # SPEC B3.1: writes go to the survivor
        raise DomainError(
            f"ticket #{number} was merged into #{ticket.merged_into_id}: "
            f"act on #{ticket.merged_into_id}"
        )
    return ticket


def get_conversation(repo: Repository, conversation_id: int) -> ConversationLike:
    conversation = repo.conversation_or_none(conversation_id)
    if conversation is None:
        raise DomainError(f"no conversation {conversation_id}")
    return conversation


def find_status(repo: Repository, ticket: TicketLike, label: str) -> StatusLike:
    statuses = repo.statuses(ticket.pipeline_id)
    for status in statuses:
        if status.label.casefold() == label.strip().casefold():
            return status
    names = ", ".join(s.label for s in statuses)
    raise DomainError(f"no status {label!r} in {ticket.pipeline.name} (statuses: {names})")


@in_order
def move_ticket(
    repo: Repository, user: UserLike, number: int, label: str, *, send_now: bool = False
) -> int | None:
    """A rep moves a ticket (board, CLI): its status actions run (R-A1); no trigger fires."""
    ticket = get_ticket(repo, number)
    status = find_status(repo, ticket, label)
    if status.id == ticket.status_id:
        raise DomainError(f"ticket #{number} is already in {status.label}")
    return _status_change(repo, user, ticket, status, "move", send_now=send_now)


@in_order
def close_ticket(
    repo: Repository, user: UserLike, number: int, *, send_now: bool = False
) -> int | None:
    ticket = get_ticket(repo, number)
    closed = [s for s in repo.statuses(ticket.pipeline_id) if s.state == "CLOSED"]
    if not closed:
        raise DomainError(f"{ticket.pipeline.name} has no closed status")
    if ticket.status.state == "CLOSED":
        raise DomainError(f"ticket #{number} is already closed ({ticket.status.label})")
    return _status_change(repo, user, ticket, closed[0], "close", send_now=send_now)


@in_order
def reopen_ticket(
    repo: Repository, user: UserLike, number: int, *, send_now: bool = False
) -> int | None:
    ticket = get_ticket(repo, number)
    if ticket.status.state != "CLOSED":
        raise DomainError(f"ticket #{number} is not closed")
    first_open = next(s for s in repo.statuses(ticket.pipeline_id) if s.state == "OPEN")
    return _status_change(repo, user, ticket, first_open, "reopen", send_now=send_now)


_STATUS_SUMMARIES = {
    "move": "#{number} moved to {label}",
    "close": "#{number} closed",
    "reopen": "#{number} reopened",
}


def _status_change(
    repo: Repository,
    user: UserLike,
    ticket: TicketLike,
    status: StatusLike,
    kind: str,
    *,
    send_now: bool,
) -> int | None:
    """A person's status change, recorded for undo; its status actions run after commit."""
    if status.state == "CLOSED" and (refused := close_rules.refusal(repo, ticket)):
        raise DomainError(refused)  # SPEC D21: only a person's close is held back
    start = undo.before(repo, ticket=ticket)
    event_id = change_status(repo, ticket, status, actor_of(user), cause_id=None, depth=0)
    summary = _STATUS_SUMMARIES[kind].format(number=ticket.id, label=status.label)
    seconds = undo.window(repo, send_now=send_now)
    undo.record(repo, user, start, kind=kind, summary=summary, event_id=event_id, seconds=seconds)
    return event_id


@in_order
def reply(
    repo: Repository,
    user: UserLike,
    number: int,
    body: str,
    *,
    from_contact_record: bool = False,
    conversation_id: int | None = None,
    send_now: bool = False,
    addressing: Addressing | None = None,
    markdown: bool = False,
) -> int:
    """A rep's email to the contact, into the chosen thread (default: the origin, E3), with
    the thread's others in Cc and any Bcc and files the rep chose (`addressing`, D15, D16).

    From the ticket record it fires R-T1 through the engine; from the contact record it does not.
    It waits the undo window unless `send_now` (D2). Returns the outbox id.
    """
    ticket = get_ticket(repo, number)
    conversation = _reply_conversation(repo, ticket, conversation_id)
    if not body.strip():
        raise DomainError("the reply is empty")
    sent_from = "contact" if from_contact_record else "ticket"
    subject = "Re: " + strip_subject_prefixes(conversation.subject or ticket.subject)
    start = undo.before(repo, ticket=ticket)
    email = Email(subject, body, sent_from, undo.window(repo, send_now=send_now), addressing)
    if markdown:  # D18: opt-in, sent with a text/html alternative
        email = replace(email, html=to_html(body))
    return _send(repo, user, start, conversation, email, "reply", f"reply on #{number}")


@in_order
def compose(
    repo: Repository,
    user: UserLike,
    number: int,
    subject: str,
    body: str,
    *,
    send_now: bool = False,
    addressing: Addressing | None = None,
    markdown: bool = False,
) -> int:
    """A new email thread composed on the ticket (E4): associated with it, sent from the ticket
    record, so it fires R-T1. It waits the undo window unless `send_now`. Returns the outbox
    id. `addressing`: Cc, Bcc and files (a new thread has no default Cc)."""
    ticket = get_ticket(repo, number)
    start = undo.before(repo, ticket=ticket)
    if ticket.contact is None:
        raise DomainError(f"ticket #{number} has no contact to write to")
    channel = ticket.channel
    if channel is None or not channel.address:
        raise DomainError(f"ticket #{number} has no email channel to write from")
    if not body.strip():
        raise DomainError("the email is empty")
    subject = " ".join(subject.split()) or ticket.subject
    conversation = repo.add_conversation(
        channel=channel, contact=ticket.contact, subject=subject, automated=False
    )
    conversation.ticket_id = ticket.id
    conversation.association = "composed"
    repo.flush()
    email = Email(subject, body, "ticket", undo.window(repo, send_now=send_now), addressing)
    if markdown:  # D18: opt-in, sent with a text/html alternative
        email = replace(email, html=to_html(body))
    return _send(
        repo, user, start, conversation, email, "compose", f"email “{subject}” on #{number}"
    )


@dataclass(frozen=True)
class Email:
    """A person's email: what it says, which record it is sent from (E3), how long it waits."""

    subject: str
    body: str
    sent_from: str  # ticket / contact
    wait_seconds: int  # the undo window (D2)
    addressing: Addressing | None = None  # Cc, Bcc, files (D15, D16)
    html: str | None = None  # a Markdown reply's text/html (D18)


def _send(
    repo: Repository,
    user: UserLike,
    start: undo.Before,
    conversation: ConversationLike,
    email: Email,
    kind: str,
    summary: str,
) -> int:
    """Queue a user's email; the engine decides on R-T1 from its sent-from flag (E3)."""
    ticket = start.ticket
    assert ticket is not None
    queued = queue_conversation_mail(
        repo,
        ticket=ticket,
        conversation=conversation,
        subject=email.subject,
        body=email.body,
        actor=actor_of(user),
        kind="reply",
        sent_from=email.sent_from,
        cause_id=None,
        wait_seconds=email.wait_seconds,
        recipients=resolve(repo, conversation, email.addressing),
        attachments=email.addressing.attachments if email.addressing else (),
        html=email.html,
    )
    now = repo.now()
    if ticket.first_response_at is None:
        ticket.first_response_at = now
    ticket.last_rep_reply_at = now
    ticket.updated_at = now
    assert queued.message_row_id is not None
    repo.emit(EmailSent(queued.message_row_id, cause_id=queued.timeline_id))
    undo.record(
        repo,
        user,
        start,
        kind=kind,
        summary=summary,
        event_id=queued.timeline_id,
        seconds=email.wait_seconds,
    )
    return queued.outbox_id


@in_order
def email_conversation(
    repo: Repository,
    user: UserLike,
    conversation_id: int,
    body: str,
    *,
    send_now: bool = False,
    addressing: Addressing | None = None,
) -> int:
    """A rep's email from the contact record into a conversation (E3, D5): with a ticket it is
    a contact-record reply; without one, no status moves anywhere. Like every person's email it
    waits the undo window unless `send_now` (D2). Returns the outbox id."""
    conversation = get_conversation(repo, conversation_id)
    if conversation.ticket_id is not None:
        return reply(
            repo,
            user,
            conversation.ticket_id,
            body,
            from_contact_record=True,
            conversation_id=conversation.id,
            send_now=send_now,
            addressing=addressing,
        )
    if not body.strip():
        raise DomainError("the email is empty")
    start = undo.before(repo, conversation=conversation)
    seconds = undo.window(repo, send_now=send_now)
    queued = queue_conversation_mail(
        repo,
        ticket=None,
        conversation=conversation,
        subject="Re: " + strip_subject_prefixes(conversation.subject or ""),
        body=body,
        actor=actor_of(user),
        kind="reply",
        sent_from="contact",
        cause_id=None,
        wait_seconds=seconds,
        recipients=resolve(repo, conversation, addressing),
        attachments=addressing.attachments if addressing else (),
    )
    assert queued.message_row_id is not None
    repo.emit(EmailSent(queued.message_row_id, cause_id=queued.timeline_id))
    summary = f"email to the contact of conversation {conversation.id}"
    undo.record(
        repo,
        user,
        start,
        kind="email",
        summary=summary,
        event_id=queued.timeline_id,
        seconds=seconds,
    )
    return queued.outbox_id


def _reply_conversation(
    repo: Repository, ticket: TicketLike, conversation_id: int | None
) -> ConversationLike:
    if conversation_id is None:
        if ticket.origin_conversation_id is None:
            raise DomainError(f"ticket #{ticket.id} has no conversation to reply in")
        return repo.conversation(ticket.origin_conversation_id)
    conversation = get_conversation(repo, conversation_id)
    if conversation.ticket_id != ticket.id:
        raise DomainError(f"conversation {conversation_id} is not associated with #{ticket.id}")
    return conversation


@in_order
def add_note(repo: Repository, user: UserLike, number: int, body: str) -> int:
    """An internal note: on the timeline, never mailed, fires no trigger (R-T1)."""
    ticket = get_ticket(repo, number)
    if not body.strip():
        raise DomainError("the note is empty")
    conversation_id = ticket.origin_conversation_id
    message_id = None
    if conversation_id is not None:
        message_id = repo.add_note_message(conversation_id, user.id, body).id
    told = notifications.mentions(repo, user, ticket.id, ticket.subject, body)
    return repo.add_timeline(
        Timeline.NOTE,
        actor_of(user),
        ticket_id=ticket.id,
        conversation_id=conversation_id,
        message_row_id=message_id,
        summary=f"Note: {body.strip().splitlines()[0][:120]}",
        data={"body": body, **({"mentioned": told} if told else {})},
    )


@in_order
def assign(repo: Repository, user: UserLike, number: int, owner_name: str | None) -> int:
    ticket = get_ticket(repo, number)
    owner = None
    if owner_name:
        owner = repo.user_by_name(owner_name)
        if owner is None:
            raise DomainError(f"no user {owner_name!r}")
    start = undo.before(repo, ticket=ticket)
    old, new = set_owner(repo, ticket, owner)
    if old != new:
        notifications.assigned(repo, user, owner, ticket.id, ticket.subject)
    return _property_changed(repo, user, start, "owner", old, new)


@in_order
def set_priority(repo: Repository, user: UserLike, number: int, priority: str) -> int:
    ticket = get_ticket(repo, number)
    if priority not in PRIORITIES:
        raise DomainError(f"priority must be one of {', '.join(PRIORITIES)}")
    start = undo.before(repo, ticket=ticket)
    old, ticket.priority = ticket.priority, priority
    return _property_changed(repo, user, start, "priority", old, priority)


@in_order
def set_subject(repo: Repository, user: UserLike, number: int, subject: str) -> int:
    ticket = get_ticket(repo, number)
    subject = " ".join(subject.split())
    if not subject:
        raise DomainError("the subject is empty")
    start = undo.before(repo, ticket=ticket)
    old, ticket.subject = ticket.subject, subject
    return _property_changed(repo, user, start, "subject", old, subject)


_PROPERTY_SUMMARIES = {
    "owner": "#{number} assigned to {new}",
    "priority": "#{number} priority {new}",
    "subject": "#{number} subject changed",
}


def _property_changed(
    repo: Repository, user: UserLike, start: undo.Before, name: str, old: object, new: object
) -> int:
    ticket = start.ticket
    assert ticket is not None
    event_id = record_property(repo, actor_of(user), ticket, name, old, new)
    summary = _PROPERTY_SUMMARIES[name].format(number=ticket.id, new=new or "nobody")
    seconds = undo.window(repo)
    undo.record(repo, user, start, kind=name, summary=summary, event_id=event_id, seconds=seconds)
    return event_id


@in_order
def create_ticket_by_hand(repo: Repository, user: UserLike, conversation_id: int) -> TicketLike:
    """R-C2 / E13: the conversation becomes the new ticket's origin, full automation follows."""
    conversation = get_conversation(repo, conversation_id)
    if conversation.ticket_id is not None:
        raise DomainError(
            f"conversation {conversation_id} already belongs to ticket #{conversation.ticket_id}"
        )
    return open_ticket(repo, conversation, actor_of(user), cause_id=None)


@in_order
def assign_conversation(
    repo: Repository, user: UserLike, conversation_id: int, owner_name: str | None
) -> int:
    """Inbox assign: the ticket's owner when there is a ticket, else the conversation's."""
    conversation = get_conversation(repo, conversation_id)
    if conversation.ticket_id is not None:
        return assign(repo, user, conversation.ticket_id, owner_name)
    owner = repo.user_by_name(owner_name) if owner_name else None
    if owner_name and owner is None:
        raise DomainError(f"no user {owner_name!r}")
    start = undo.before(repo, conversation=conversation)
    old = repo.user(conversation.assignee_id)
    conversation.assignee_id = owner.id if owner else None
    conversation.updated_at = repo.now()
    event_id = repo.add_timeline(
        Timeline.PROPERTY_CHANGED,
        actor_of(user),
        conversation_id=conversation.id,
        summary=f"Assignee: {old.name if old else '(none)'} → {owner.name if owner else '(none)'}",
        data={"property": "assignee", "from": old.name if old else None, "to": owner_name},
    )
    summary = f"conversation {conversation.id} assigned to {owner_name or 'nobody'}"
    _conversation_change(repo, user, start, "conversation_assign", summary, event_id)
    return event_id


def _conversation_change(
    repo: Repository, user: UserLike, start: undo.Before, kind: str, summary: str, event_id: int
) -> None:
    seconds = undo.window(repo)
    undo.record(repo, user, start, kind=kind, summary=summary, event_id=event_id, seconds=seconds)


@in_order
def close_conversation(
    repo: Repository, user: UserLike, conversation_id: int, *, send_now: bool = False
) -> int | None:
    """Inbox close: closes the ticket when there is one (its status actions run), else the
    conversation alone."""
    conversation = get_conversation(repo, conversation_id)
    if conversation.ticket_id is not None:
        return close_ticket(repo, user, conversation.ticket_id, send_now=send_now)
    if conversation.state == "closed":
        raise DomainError(f"conversation {conversation_id} is already closed")
    start = undo.before(repo, conversation=conversation)
    conversation.state = "closed"
    conversation.updated_at = repo.now()
    event_id = repo.add_timeline(
        Timeline.PROPERTY_CHANGED,
        actor_of(user),
        conversation_id=conversation.id,
        summary="Conversation closed",
        data={"property": "state", "from": "open", "to": "closed"},
    )
    snooze.closed(repo, actor_of(user), conversation=conversation, cause_id=event_id)
    summary = f"conversation {conversation.id} closed"
    _conversation_change(repo, user, start, "conversation_close", summary, event_id)
    return event_id


@in_order
def complete_task(repo: Repository, user: UserLike, task_id: int) -> int:
    """A person marks a task done; the ticket's timeline says who."""
    task = repo.task(task_id)
    if task is None:
        raise DomainError(f"no task {task_id}")
    if task.done_at is not None:
        raise DomainError(f"task {task_id} is done already")
    task.done_at = repo.now()
    return repo.add_timeline(
        Timeline.TASK_DONE,
        actor_of(user),
        ticket_id=task.ticket_id,
        summary=f"Task “{task.title}” done",
        data={"task_id": task.id},
    )
