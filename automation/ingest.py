"""Store one parsed inbound message: dedupe, thread, classify, record why.

SPEC §6, §7, R-C3, R-C4.

Import of .eml/Maildir/mbox and live IMAP share this path (SPEC E1). Ticket creation and triggers
are the engine's reaction to the `MessageReceived` event written here; historical imports create
tickets directly and raise no event, so no trigger fires and no mail is queued.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from automation import snooze
from automation.events import Actor, MessageReceived, Timeline
from automation.outbound import old_mail_hours
from automation.ports import (
    ChannelLike,
    ConversationLike,
    MessageLike,
    Repository,
    StoredMessageRef,
    UserLike,
)
from automation.threading import ThreadMatch, resolve_thread
from automation.tickets import create_ticket_for_new_conversation
from mail.parse import ParsedMail

BOUNCE_BLOCK = timedelta(days=61)  # rules.md #19: 60 full days after a permanent bounce


@dataclass(frozen=True)
class IngestResult:
    outcome: str  # stored / duplicate
    message_row_id: int | None = None
    conversation_id: int | None = None
    threaded: bool = False  # joined an existing conversation or ticket
    automated: bool = False
    own_mail: bool = False


def ingest_message(
    repo: Repository,
    channel: ChannelLike,
    mail: ParsedMail,
    raw: bytes,
    *,
    historical: bool = False,
    unthreaded: str | None = None,
) -> IngestResult:
    """`unthreaded`: the message always starts a new conversation, for this reason (a web
    form's: an unverified sender never threads into an existing one, SPEC C2)."""
    if repo.message_exists(channel.id, mail.message_id):
        return IngestResult("duplicate")
    sender = mail.sender.addr if mail.sender else ""
    own_mail = _is_own_mail(repo, mail, sender)
    bounce_target = None if unthreaded else _bounced_message(repo, mail)
    if unthreaded:
        match = ThreadMatch(None, None, unthreaded)
    elif bounce_target is not None:
        match = ThreadMatch(
            repo.conversation(bounce_target.conversation_id),
            None,
            f"bounce of our message {bounce_target.message_id}: attached to its conversation",
        )
    elif own_mail and historical:
        # B6.1: our own sent mail, read back from an export, goes back to its thread, outgoing
        match = resolve_thread(repo, mail, sender, ours=True)
    elif own_mail:
        match = ThreadMatch(None, None, "sent from one of Deskline's own addresses: not threaded")
    else:
        match = resolve_thread(repo, mail, sender)
    ours_back = own_mail and historical and match.conversation is not None
    user = repo.user_by_email(sender) if sender else None
    conversation = match.conversation or _new_conversation(
        repo, channel, mail, sender, match, own=own_mail
    )
    automated_kind, automated_reason = (None, None) if ours_back else _automation(mail, own_mail)
    if automated_kind is None and user is None and not ours_back:
        conversation.state = "open"
    conversation.updated_at = repo.now()
    message = repo.add_inbound_message(
        conversation=conversation,
        channel_id=channel.id,
        mail=mail,
        raw=raw,
        thread_reason=match.reason,
        thread_conflict=match.conflict,
        author_user_id=user.id if user else None,
        forwarded_reason=_forward_reason(mail, match),
        automated_kind=automated_kind,
        automated_reason=automated_reason,
        sent_by_us=ours_back,
    )
    automated = automated_kind is not None
    if user is None and sender and not own_mail:
        repo.add_participants(
            conversation.id,
            [sender, *(a.addr for a in mail.cc)],
            new=match.conversation is None,
        )
    old = not historical and is_old_mail(repo, mail)
    cause = _record_received(repo, conversation, message, user, old=old, source=channel.kind)
    if not historical and not automated and user is None and not own_mail:
        actor = Actor("contact", conversation.contact_id, message.from_addr)
        snooze.customer_wrote(repo, conversation, actor, cause)  # SPEC D23
    if mail.bounce is not None and mail.bounce.permanent and bounce_target is not None:
        _mark_bouncing(repo, conversation, mail, cause)
    if historical:
        if match.conversation is None:
            create_ticket_for_new_conversation(repo, message, cause_id=cause, run_actions=False)
    else:
        repo.emit(MessageReceived(message.id, cause, new_conversation=match.conversation is None))
    return IngestResult(
        "stored",
        message.id,
        conversation.id,
        threaded=match.conversation is not None or match.ticket is not None,
        automated=automated,
        own_mail=own_mail,
    )


def is_old_mail(repo: Repository, mail: ParsedMail) -> bool:
    """D1: stored more than `old_mail_hours` after its Date, by the desk's clock (a replay's
    too). A message with no Date, or one dated in the future, counts from its arrival: now."""
    if mail.date is None:
        return False
    return repo.now() - mail.date > timedelta(hours=old_mail_hours(repo))


def _automation(mail: ParsedMail, own_mail: bool) -> tuple[str | None, str | None]:
    if own_mail:
        return "own", "sent by this Deskline instance (loop marker or own address)"
    if mail.automated is not None:
        return mail.automated.kind, mail.automated.reason
    return None, None


def _forward_reason(mail: ParsedMail, match: ThreadMatch) -> str | None:
    """SPEC §6 and E11: prefix or inline marker anywhere; an rfc822 part only on a first message."""
    if mail.forwarded:
        return mail.forwarded
    if mail.has_rfc822_part and match.conversation is None:
        return "carries a message/rfc822 part on the thread's first message"
    if match.in_reply_to_forward:
        return "a reply to a forwarded message (In-Reply-To names it)"
    return None


def _is_own_mail(repo: Repository, mail: ParsedMail, sender: str) -> bool:
    if mail.loop_marker and mail.loop_marker == repo.instance_id():
        return True
    return bool(sender) and sender in repo.own_addresses()


def _bounced_message(repo: Repository, mail: ParsedMail) -> StoredMessageRef | None:
    """A bounce of our own outbound mail goes to the ticket whose mail bounced (R-C4)."""
    if mail.bounce is None:
        return None
    ids = [mail.bounce.original_message_id] if mail.bounce.original_message_id else []
    ids += [*mail.in_reply_to, *reversed(mail.references)]
    found = repo.messages_by_message_id([i for i in ids if i])
    for mid in ids:
        message = found.get(mid)
        if message is not None and message.direction == "outbound":
            return message
    return None


def _new_conversation(
    repo: Repository,
    channel: ChannelLike,
    mail: ParsedMail,
    sender: str,
    match: ThreadMatch,
    *,
    own: bool,
) -> ConversationLike:
    contact = None
    if sender and not own and repo.user_by_email(sender) is None:
        contact = repo.upsert_contact(sender, mail.sender.name if mail.sender else "")
    conversation = repo.add_conversation(
        channel=channel,
        contact=contact,
        subject=mail.subject,
        automated=mail.automated is not None or own,
    )
    if match.ticket is not None:  # token match: a new conversation on that ticket (E4)
        conversation.ticket_id = match.ticket.id
        conversation.association = "token"
    return conversation


def _record_received(
    repo: Repository,
    conversation: ConversationLike,
    message: MessageLike,
    user: UserLike | None,
    *,
    old: bool,
    source: str = "email",
) -> int:
    if user is not None:
        actor = Actor("user", user.id, user.name)
        kind = Timeline.MESSAGE_SENT
    else:
        actor = Actor("contact", conversation.contact_id, message.from_addr)
        kind = Timeline.MESSAGE_RECEIVED
    data: dict[str, Any] = {
        "message_id": message.message_id,
        "thread_reason": message.thread_reason,
        "thread_conflict": message.thread_conflict,
        "automated": message.automated_kind,
        "automated_reason": message.automated_reason,
        "forwarded": message.forwarded_reason,
    }
    word = "Form" if source == "form" else "Email"  # the timeline names the source (C2)
    summary = f"{word if user is None else word + ' from a user'}: {message.subject}"
    if old:  # D1: the email this message causes is held (automation.outbound.old_mail_hold)
        data["old_mail"] = True
        summary += f" (old mail, dated {message.sent_at:%Y-%m-%d}: the email it causes is held)"
    return repo.add_timeline(
        kind,
        actor,
        ticket_id=conversation.ticket_id,
        conversation_id=conversation.id,
        message_row_id=message.id,
        summary=summary,
        data=data,
    )


def _mark_bouncing(
    repo: Repository, conversation: ConversationLike, mail: ParsedMail, cause: int
) -> None:
    assert mail.bounce is not None
    until = repo.now() + BOUNCE_BLOCK
    for addr, action, status in mail.bounce.recipients:
        if action != "failed":
            continue
        contact = repo.contact_by_email(addr)
        if contact is None:
            continue
        contact.bouncing_until = until
        repo.add_timeline(
            Timeline.BOUNCE,
            Actor.system("mail delivery"),
            ticket_id=conversation.ticket_id,
            conversation_id=conversation.id,
            cause_id=cause,
            summary=f"Mail to {addr} bounced ({status or 'failed'}): no automated mail to it "
            f"until {until:%Y-%m-%d}",
            data={"recipient": addr, "status": status, "until": until.isoformat()},
        )
