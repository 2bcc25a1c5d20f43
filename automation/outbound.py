"""Queue outgoing email into the transactional outbox (SPEC §6 outbound, §7).

Every row is written in the transaction of the change that caused it and already carries its final
Message-ID, In-Reply-To, References, `[#N]` subject token and, for automated mail,
`Auto-Submitted`. Mail a safety rule holds back is stored as `held` with its reason, never dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta

from automation import chat, undo
from automation.events import Actor, Timeline
from automation.ports import (
    ChannelLike,
    ContactLike,
    ConversationLike,
    Repository,
    TicketLike,
)
from mail.attach import MAX_SEND_BYTES, MAX_SEND_SETTING
from mail.classify import is_never_notify_address
from mail.compose import (
    HeaderInjectionError,
    OutgoingAttachment,
    OutgoingMail,
    build_message,
    make_message_id,
    trim_references,
    with_ticket_token,
)
from mail.parse import Address


class MailRefused(ValueError):
    """A person's email that cannot be queued as asked (too big, say); the message is one line
    for the person, and nothing was written."""


@dataclass(frozen=True)
class Recipients:
    """Who a person's email goes to (D16): To and Cc are headers, Bcc only the envelope's."""

    to: tuple[Address, ...]
    cc: tuple[Address, ...] = ()
    bcc: tuple[Address, ...] = ()

    @property
    def envelope(self) -> list[str]:
        return list(dict.fromkeys(a.addr for a in (*self.to, *self.cc, *self.bcc)))


def max_send_bytes(repo: Repository) -> int:
    return int(repo.setting(MAX_SEND_SETTING, MAX_SEND_BYTES))


def check_size(repo: Repository, raw: bytes) -> None:
    """D15: the limit is on the encoded message, attachments included, checked before
    anything is queued."""
    limit = max_send_bytes(repo)
    if len(raw) > limit:
        raise MailRefused(
            f"the email is {len(raw):,} bytes encoded, over the limit of {limit:,}: "
            "remove an attachment or send a link"
        )


@dataclass(frozen=True)
class Queued:
    outbox_id: int
    message_row_id: int | None
    timeline_id: int
    state: str


def channel_domain(channel: ChannelLike | None) -> str:
    if channel is not None and channel.address and "@" in channel.address:
        return channel.address.rsplit("@", 1)[1]
    return "deskline.invalid"


def thread_headers(
    repo: Repository, conversation: ConversationLike
) -> tuple[str | None, tuple[str, ...]]:
    """Reply to the newest customer message of the thread (else its newest message)."""
    parent = repo.last_message_for_reply(conversation.id)
    if parent is None or not parent.message_id:
        return None, ()
    refs = trim_references([*parent.references, parent.message_id])
    return parent.message_id, refs


def _build(mail: OutgoingMail) -> tuple[bytes, str | None]:
    """The email's bytes, or why it cannot be built (an address that is not valid, say): such
    mail is held with that reason rather than lost or crashing the action."""
    try:
        return build_message(mail), None
    except HeaderInjectionError as exc:
        return b"", f"cannot build the email: {exc}"


# SPEC §7 (defaults from Zammad): (at most N automated emails, in M minutes)
PER_TICKET_LIMITS = ((10, 10), (15, 30), (25, 60), (50, 180), (100, 600))
PER_RECIPIENT_LIMITS = ((30, 10), (60, 30), (120, 60), (240, 180), (360, 600))


def loop_limit_reason(repo: Repository, recipient: str, ticket_id: int | None) -> str | None:
    """Graduated windows per ticket and recipient, and per recipient across tickets, so two
    auto-responders can never loop, fast or slow. The limits are settings."""
    per_ticket = repo.setting("loop_limits_per_ticket", PER_TICKET_LIMITS)
    per_recipient = repo.setting("loop_limits_per_recipient", PER_RECIPIENT_LIMITS)
    longest = max(minutes for _, minutes in (*per_ticket, *per_recipient))
    now = repo.now()
    sent = repo.recent_automated_mail(recipient, now - timedelta(minutes=longest))
    for limit, minutes in per_ticket:
        since = now - timedelta(minutes=minutes)
        count = sum(1 for tid, at in sent if tid == ticket_id and at >= since)
        if ticket_id is not None and count >= limit:
            return (
                f"loop protection: {count} automated emails to {recipient} on ticket "
                f"#{ticket_id} in {minutes} minutes (limit {limit})"
            )
    for limit, minutes in per_recipient:
        since = now - timedelta(minutes=minutes)
        count = sum(1 for _, at in sent if at >= since)
        if count >= limit:
            return (
                f"loop protection: {count} automated emails to {recipient} in {minutes} "
                f"minutes (limit {limit})"
            )
    return None


def hold_reason(
    repo: Repository,
    recipient: str,
    *,
    automated: bool,
    contact: ContactLike | None = None,
    ticket_id: int | None = None,
) -> str | None:
    """SPEC §7: never-notify addresses, our own addresses, recipients that bounced recently,
    and the loop limits."""
    if not recipient:
        return "no recipient address"
    if recipient in repo.own_addresses():
        return f"{recipient} is one of Deskline's own addresses"
    if automated and is_never_notify_address(recipient):
        return (
            f"{recipient} is a never-notify address (mail daemon, postmaster, abuse, root or "
            "no-reply): it gets no automated email"
        )
    if contact is None or contact.email != recipient:
        contact = repo.contact_by_email(recipient)
    if (
        automated
        and contact is not None
        and contact.bouncing_until is not None
        and contact.bouncing_until > repo.now()
    ):
        until = f"{contact.bouncing_until:%Y-%m-%d}"
        return f"mail to {recipient} bounced recently (blocked until {until})"
    if automated:
        return loop_limit_reason(repo, recipient, ticket_id)
    return None


# --- old mail (SPEC D1) ------------------------------------------------------------------------

OLD_MAIL = "old mail"  # the hold reason: `deskline held release --reason "old mail" --all`
OLD_MAIL_HOURS = 24
OLD_MAIL_SETTING = "old_mail_hours"


def old_mail_hours(repo: Repository) -> int:
    return int(repo.setting(OLD_MAIL_SETTING, OLD_MAIL_HOURS))


def old_mail_hold(repo: Repository, cause_id: int | None) -> str | None:
    """D1: every email caused by a message that was old when it was stored is held, however
    many steps and delays later: its chain of causes still leads back to that message (E8),
    whose timeline line says it was old (`automation.ingest`)."""
    if cause_id is None:
        return None
    root = repo.cause_root(cause_id)
    kinds = (Timeline.MESSAGE_RECEIVED, Timeline.SPLIT)  # B3.2: a split of an old message
    if root is not None and root.type in kinds and root.data.get("old_mail"):
        return OLD_MAIL
    return None


# --- how many emails were queued and held (the import and sync summaries) ---------------------


@dataclass
class MailTally:
    queued: int = 0
    held: int = 0

    def add(self, other: MailTally) -> None:
        self.queued += other.queued
        self.held += other.held


_TALLY: ContextVar[MailTally | None] = ContextVar("deskline_mail_tally", default=None)


@contextmanager
def collecting(into: ContextVar[MailTally | None]) -> Iterator[MailTally]:
    """A new tally in `into` for the block (in this task or thread, and what it calls)."""
    tally = MailTally()
    token = into.set(tally)
    try:
        yield tally
    finally:
        into.reset(token)


def counting_mail() -> AbstractContextManager[MailTally]:
    """Count the emails queued and held inside the block. The block should be one
    transaction's work: its caller drops the tally when the transaction fails."""
    return collecting(_TALLY)


def _count(state: str) -> None:
    tally = _TALLY.get()
    if tally is None:
        return
    if state == "held":
        tally.held += 1
    else:
        tally.queued += 1


def queue_conversation_mail(
    repo: Repository,
    *,
    ticket: TicketLike | None,
    conversation: ConversationLike,
    subject: str,
    body: str,
    actor: Actor,
    kind: str,  # reply (a rep's email) or automated (status action)
    sent_from: str,  # ticket / contact / automation
    cause_id: int | None,
    template_name: str | None = None,
    extra_hold: str | None = None,
    wait_seconds: int | None = None,
    recipients: Recipients | None = None,
    attachments: tuple[OutgoingAttachment, ...] = (),
    forwarded_reason: str | None = None,
    html: str | None = None,
) -> Queued:
    """An email to the conversation's contact, stored as an outbound message of the thread.

    `wait_seconds`: the undo window of a person's own email (D2); by default, mail waits as
    long as the person's change it descends from asks (none for mail no person caused).
    `recipients`: a person's To, Cc and Bcc (D16; automated mail never has them);
    `attachments`: files sent with it, whose encoded size is checked first (D15)."""
    if chat.is_chat(conversation):  # C4: a chat gets the message live, never by email
        row, timeline_id = chat.deliver_rep_message(
            repo,
            ticket=ticket,
            conversation=conversation,
            body=body,
            actor=actor,
            sent_from=sent_from,
            cause_id=cause_id,
            template_name=template_name,
        )
        return Queued(0, row, timeline_id, "live")
    channel = conversation.channel
    if channel.kind == "form":  # C2: a form's thread is answered through its email channel
        channel = repo.reply_channel(channel) or channel
    contact = conversation.contact
    recipient = contact.email if contact is not None else ""
    if recipients is None or automated_kind(kind):
        recipients = Recipients((Address(recipient, contact.name if contact else ""),))
    elif recipients.to:
        recipient = recipients.to[0].addr
    in_reply_to, references = thread_headers(repo, conversation)
    automated = kind == "automated"
    number = ticket.id if ticket is not None else None
    message_id = make_message_id(
        channel_domain(channel), repo.secret(), f"t{number}" if number else f"c{conversation.id}"
    )
    full_subject = with_ticket_token(subject, number) if number else subject
    raw, unbuildable = _build(
        OutgoingMail(
            from_addr=Address(channel.address or "", channel.name),
            to=recipients.to,
            subject=full_subject,
            text=body,
            message_id=message_id,
            in_reply_to=in_reply_to,
            references=references,
            auto_submitted="auto-replied" if automated else None,
            loop_marker=repo.instance_id(),
            cc=recipients.cc,
            attachments=attachments,
            html=None if automated else html,  # D18: a rep's Markdown reply only
        )
    )
    check_size(repo, raw)
    held = (
        unbuildable
        or _first_hold(repo, recipients, automated=automated, contact=contact, ticket_id=number)
        or extra_hold
        or old_mail_hold(repo, cause_id)
    )
    wait = _wait(repo, held, wait_seconds, cause_id)
    message_row_id = repo.add_outbound_message(
        conversation=conversation,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=list(references),
        from_addr=channel.address or "",
        from_name=channel.name,
        to=[a.addr for a in recipients.to],
        subject=full_subject,
        body=body,
        sent_from=sent_from,
        author_user_id=actor.id if actor.kind == "user" else None,
        template_name=template_name,
        cc=[a.addr for a in recipients.cc],
        bcc=[a.addr for a in recipients.bcc],
        attachments=[(a.filename, a.content_type, a.data) for a in attachments],
        forwarded_reason=forwarded_reason,
    )
    if recipients.cc or len(recipients.to) > 1:  # E10: who was in copy may answer in the thread
        repo.add_participants(conversation.id, [a.addr for a in (*recipients.to, *recipients.cc)])
    outbox_id = repo.add_outbox(
        message_row_id=message_row_id,
        ticket_id=number,
        channel_id=channel.id,
        kind=kind,
        template_name=template_name,
        message_id=message_id,
        mail_from=channel.address or "",
        rcpt_to=recipients.envelope if recipient else [recipient],
        subject=full_subject,
        raw=raw,
        held_reason=held,
        not_before=undo.not_before(repo, wait),
    )
    conversation.updated_at = repo.now()
    state = "held" if held else "queued"
    _count(state)
    timeline_id = repo.add_timeline(
        Timeline.MAIL_HELD if held else Timeline.MAIL_QUEUED,
        actor,
        ticket_id=number,
        conversation_id=conversation.id,
        message_row_id=message_row_id,
        cause_id=cause_id,
        summary=(
            f"Email “{full_subject}” to {_who(recipients) if recipient else '(nobody)'} "
            + (f"held: {held}" if held else "queued" + _waits(wait))
        ),
        data={
            "outbox_id": outbox_id,
            "message_id": message_id,
            "to": recipient,
            "template": template_name,
            "sent_from": sent_from,
            "held_reason": held,
            **({"wait_seconds": wait} if wait else {}),
            **_copies(recipients, attachments),
        },
    )
    return Queued(outbox_id, message_row_id, timeline_id, state)


def automated_kind(kind: str) -> bool:
    return kind != "reply"


def _first_hold(
    repo: Repository,
    recipients: Recipients,
    *,
    automated: bool,
    contact: ContactLike | None,
    ticket_id: int | None,
) -> str | None:
    """The first recipient's reason to hold, as for one recipient (SPEC §7); a person's Cc and
    Bcc are checked as they typed them (validated by mail.recipients), our own addresses
    excepted (D16)."""
    addresses = [a.addr for a in (*recipients.to, *recipients.cc, *recipients.bcc)]
    if not addresses:
        return "no recipient address"
    first, rest = addresses[0], addresses[1:]
    reason = hold_reason(repo, first, automated=automated, contact=contact, ticket_id=ticket_id)
    if reason:
        return reason
    own = repo.own_addresses()
    for addr in rest:
        if addr in own:
            return f"{addr} is one of Deskline's own addresses"
    return None


def _who(recipients: Recipients) -> str:
    shown = ", ".join(a.addr for a in recipients.to)
    if recipients.cc:
        shown += " (cc " + ", ".join(a.addr for a in recipients.cc) + ")"
    if recipients.bcc:
        shown += " (bcc " + ", ".join(a.addr for a in recipients.bcc) + ")"
    return shown


def _copies(
    recipients: Recipients, attachments: tuple[OutgoingAttachment, ...]
) -> dict[str, object]:
    """The timeline's record of a person's To, Cc, Bcc (D16: Bcc is shown here, never in a
    header) and attached files."""
    found: dict[str, object] = {}
    if len(recipients.to) > 1:
        found["to_all"] = [a.addr for a in recipients.to]
    if recipients.cc:
        found["cc"] = [a.addr for a in recipients.cc]
    if recipients.bcc:
        found["bcc"] = [a.addr for a in recipients.bcc]
    if attachments:
        found["attachments"] = [
            {"name": a.filename, "content_type": a.content_type, "size": len(a.data)}
            for a in attachments
        ]
    return found


def _wait(
    repo: Repository, held: str | None, wait_seconds: int | None, cause_id: int | None
) -> int:
    """D2: how long a queued email waits for an undo (held mail waits for a person anyway)."""
    if held:
        return 0
    if wait_seconds is not None:
        return wait_seconds
    return undo.inherited_window(repo, cause_id)


def _waits(wait: int) -> str:
    return f" (goes out in {wait} s unless undone)" if wait else ""


def queue_notification_mail(
    repo: Repository,
    *,
    ticket: TicketLike,
    recipient: str,
    recipient_name: str,
    subject: str,
    body: str,
    actor: Actor,
    cause_id: int | None,
) -> Queued:
    """An internal notification email to a user (R-A4): `Auto-Submitted: auto-generated`."""
    channel = ticket.channel
    sender = channel.address if channel is not None and channel.address else ""
    message_id = make_message_id(channel_domain(channel), repo.secret(), f"n{ticket.id}")
    full_subject = with_ticket_token(subject, ticket.id)
    raw, unbuildable = _build(
        OutgoingMail(
            from_addr=Address(sender or "deskline@localhost", "Deskline"),
            to=(Address(recipient, recipient_name),),
            subject=full_subject,
            text=body,
            message_id=message_id,
            in_reply_to=None,
            references=(),
            auto_submitted="auto-generated",
            loop_marker=repo.instance_id(),
        )
    )
    held = (
        unbuildable or hold_reason(repo, recipient, automated=True) or old_mail_hold(repo, cause_id)
    )
    wait = _wait(repo, held, None, cause_id)
    outbox_id = repo.add_outbox(
        message_row_id=None,
        ticket_id=ticket.id,
        channel_id=channel.id if channel is not None else None,
        kind="notification",
        template_name=None,
        message_id=message_id,
        mail_from=sender,
        rcpt_to=[recipient],
        subject=full_subject,
        raw=raw,
        held_reason=held,
        not_before=undo.not_before(repo, wait),
    )
    _count("held" if held else "queued")
    timeline_id = repo.add_timeline(
        Timeline.MAIL_HELD if held else Timeline.MAIL_QUEUED,
        actor,
        ticket_id=ticket.id,
        cause_id=cause_id,
        summary=f"Notification email to {recipient} "
        + (f"held: {held}" if held else "queued" + _waits(wait)),
        data={
            "outbox_id": outbox_id,
            "message_id": message_id,
            "to": recipient,
            **({"wait_seconds": wait} if wait else {}),
        },
    )
    return Queued(outbox_id, None, timeline_id, "held" if held else "queued")


@contextmanager
def uncounted_if_failed() -> Iterator[None]:
    """Around a savepoint: the emails counted inside are uncounted when it rolls back."""
    tally = _TALLY.get()
    if tally is None:
        yield
        return
    queued, held = tally.queued, tally.held
    try:
        yield
    except BaseException:
        tally.queued, tally.held = queued, held
        raise
