"""Forward a stored message, with its attachments, to anyone (SPEC D17): an outgoing email in a
new conversation associated `forward` with the message's ticket, sent from `forward`. R-T1 fires
only when the ticket's contact is in To (automation.triggers); replies to it never fire R-T2
nor reopen the ticket. It waits the undo window like every person's email (D2)."""

from __future__ import annotations

from datetime import datetime

from automation import signatures, undo
from automation.events import EmailSent
from automation.outbound import Recipients, queue_conversation_mail
from automation.ports import Repository, UserLike
from automation.services import DomainError, actor_of, in_order
from mail.classify import strip_subject_prefixes
from mail.compose import OutgoingAttachment
from mail.model import Address
from mail.recipients import dedupe_addresses

SENT_FROM = "forward"
ASSOCIATION = "forward"


@in_order
def forward(
    repo: Repository,
    user: UserLike,
    message_row_id: int,
    to: tuple[Address, ...],
    *,
    note: str = "",
    cc: tuple[Address, ...] = (),
    bcc: tuple[Address, ...] = (),
    send_now: bool = False,
    signature: str | None = None,
) -> int:
    """Queue the forward; returns its outbox id. The addresses were checked by the caller
    (mail.recipients); an encoded message over the size limit is refused (D15)."""
    source = repo.forward_source(message_row_id)
    if source is None:
        raise DomainError(f"no message {message_row_id} to forward")
    to = dedupe_addresses(to)
    if not to:
        raise DomainError("a forward needs an address to send to (--to)")
    cc = dedupe_addresses(cc, without=[a.addr for a in to])
    bcc = dedupe_addresses(bcc, without=[a.addr for a in (*to, *cc)])
    original = repo.conversation(source["conversation_id"])
    channel = original.channel
    if channel is None or not channel.address or channel.kind != "email":
        raise DomainError(f"message {message_row_id} is not on an email channel to write from")
    ticket = repo.ticket(original.ticket_id) if original.ticket_id is not None else None
    start = undo.before(repo, ticket=ticket) if ticket else undo.before(repo, conversation=original)
    subject = "Fwd: " + (strip_subject_prefixes(source["subject"]) or "(no subject)")
    contact = repo.upsert_contact(to[0].addr, to[0].name)
    conversation = repo.add_conversation(
        channel=channel, contact=contact, subject=subject, automated=False
    )
    conversation.ticket_id = ticket.id if ticket is not None else None
    conversation.association = ASSOCIATION
    repo.flush()
    seconds = undo.window(repo, send_now=send_now)
    queued = queue_conversation_mail(
        repo,
        ticket=ticket,
        conversation=conversation,
        subject=subject,
        body=signatures.place(forward_text(note, source), signature),  # D18: before the quote
        actor=actor_of(user),
        kind="reply",
        sent_from=SENT_FROM,
        cause_id=None,
        wait_seconds=seconds,
        recipients=Recipients(to, cc, bcc),
        attachments=tuple(OutgoingAttachment(*a) for a in source["attachments"]),
        forwarded_reason=f"forwarded by {user.name} from message {message_row_id}",
    )
    if ticket is not None and ticket.contact is not None:
        if ticket.contact.email in {a.addr for a in to}:  # an email to the customer (R-T1)
            now = repo.now()
            ticket.first_response_at = ticket.first_response_at or now
            ticket.last_rep_reply_at = now
        ticket.updated_at = repo.now()
    assert queued.message_row_id is not None
    repo.emit(EmailSent(queued.message_row_id, cause_id=queued.timeline_id))
    where = f"#{ticket.id}" if ticket is not None else f"conversation {original.id}"
    undo.record(
        repo,
        user,
        start,
        kind="forward",
        summary=f"forward of message {message_row_id} on {where} to {to[0].addr}",
        event_id=queued.timeline_id,
        seconds=seconds,
    )
    return queued.outbox_id


def forward_text(note: str, source: dict[str, object]) -> str:
    """The rep's note, then the forwarded message as Gmail writes one (SPEC §6 marker)."""
    sent_at = source["sent_at"]
    when = sent_at.strftime("%a, %d %b %Y %H:%M UTC") if isinstance(sent_at, datetime) else ""
    sender = str(source["from_addr"])
    name = str(source["from_name"] or "")
    lines = [
        "---------- Forwarded message ---------",
        f"From: {name} <{sender}>" if name else f"From: {sender}",
        f"Date: {when}",
        f"Subject: {source['subject']}",
        f"To: {', '.join(str(a) for a in source['to'])}",  # type: ignore[attr-defined]
    ]
    if source["cc"]:
        lines.append(f"Cc: {', '.join(str(a) for a in source['cc'])}")  # type: ignore[attr-defined]
    head = (note.rstrip() + "\n\n") if note.strip() else ""
    return head + "\n".join(lines) + "\n\n" + str(source["body"] or "")
