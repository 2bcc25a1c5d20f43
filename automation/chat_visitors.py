"""Live chat, the visitor's side (SPEC C3-C6): a visitor arrives, writes, leaves a message while
nobody is online, asks for the transcript.

A visitor's message is an inbound message of the chat channel stored by the one ingest path
(`automation.ingest.ingest_message`, B8.2): it is written as a small RFC 5322 message from the
visitor's own address (`automation.chat.visitor_address`), replying to the chat's last message
so that the threading rules continue the chat, and parsed like any mail. So the conversation,
the contact, the timeline's "message received" and the engine's `MessageReceived` (R-C1 opens a
ticket when the channel's ticket automation is on; E9 keeps the built-in workflows and the two
triggers away from it; a cloned workflow with source chat applies) are exactly an email's.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from automation.chat import (
    CHAT_DOMAIN,
    ChatError,
    ChatRepository,
    ChatVisitorLike,
    clean_email,
    clean_name,
    clean_text,
    visitor_address,
)
from automation.events import Actor, Timeline
from automation.ingest import ingest_message
from automation.outbound import channel_domain, hold_reason
from mail.compose import HeaderInjectionError, OutgoingMail, build_message, make_message_id
from mail.parse import Address, parse_message

CHAT_MESSAGE_BYTES = 10_000  # C5


@dataclass(frozen=True)
class Written:
    conversation_id: int
    message_row_id: int
    new_chat: bool


def arrive(
    repo: ChatRepository,
    channel_id: int,
    token_hash: str,
    *,
    name: str,
    email: str,
    address: str,
) -> ChatVisitorLike:
    """A new visitor (C3): name and email as typed (unverified), known from now on by the hash
    of its cookie's token. Its contact is made when it first writes."""
    channel = repo.channel(channel_id)
    if channel.kind != "chat":
        raise ChatError(f"{channel.name} is not a chat channel")
    return repo.add_chat_visitor(
        channel_id=channel_id,
        token_hash=token_hash,
        name=clean_name(name) or "Visitor",
        email=clean_email(email),
        address=address[:100],
    )


def write(
    repo: ChatRepository, visitor_id: int, text: str, *, limit_bytes: int = CHAT_MESSAGE_BYTES
) -> Written:
    """The visitor's message: into its open chat, or a new chat when it has none (the last one
    ended, C3)."""
    text = clean_text(text, limit_bytes)
    visitor = repo.chat_visitor(visitor_id)
    if visitor is None:
        raise ChatError("unknown visitor")
    channel = repo.channel(visitor.channel_id)
    contact_address = visitor_address(visitor.id)
    if visitor.contact_id is None:
        contact = repo.add_unverified_contact(contact_address, visitor.name)
        visitor.contact_id = contact.id
    chat = repo.open_chat_of(visitor.id)
    earlier = repo.chat_thread_ids(chat.conversation_id) if chat is not None else []
    raw = _visitor_mail(repo, visitor, contact_address, channel.name, text, earlier)
    result = ingest_message(repo, channel, parse_message(raw), raw)
    if result.conversation_id is None or result.message_row_id is None:
        raise ChatError("the message was not stored")  # a duplicate id: never with a fresh one
    if chat is None:
        repo.add_chat(result.conversation_id, visitor.id)
    elif chat.conversation_id != result.conversation_id:  # the threading rules must agree
        raise ChatError("the message did not continue its chat")
    repo.touch_chat_visitor(visitor.id)
    return Written(result.conversation_id, result.message_row_id, chat is None)


def _visitor_mail(
    repo: ChatRepository,
    visitor: ChatVisitorLike,
    address: str,
    channel_name: str,
    text: str,
    earlier: list[str],
) -> bytes:
    mail = EmailMessage(policy=SMTP)
    local, _, domain = address.partition("@")
    mail["From"] = HeaderAddress(display_name=visitor.name, username=local, domain=domain)
    mail["To"] = HeaderAddress(
        display_name="", username=f"chat-{visitor.channel_id}", domain=domain
    )
    # The subject is ours: no text of the visitor's, so no [#N] token can steer the threading.
    mail["Subject"] = f"Chat on {clean_name(channel_name)}"
    mail["Date"] = format_datetime(repo.now())
    mail["Message-ID"] = f"<chat.v{visitor.id}.{secrets.token_hex(10)}@{CHAT_DOMAIN}>"
    if earlier:
        mail["In-Reply-To"] = earlier[-1]
        mail["References"] = " ".join(earlier[-10:])
    mail.set_content(text)
    return mail.as_bytes()


# --- nobody online (C6) -------------------------------------------------------------------------


def leave_message(
    repo: ChatRepository,
    channel_id: int,
    *,
    name: str,
    email: str,
    text: str,
    limit_bytes: int = CHAT_MESSAGE_BYTES,
) -> Written:
    """C6: while nobody is online the widget takes a message that becomes a ticket like a form
    (C2): an inbound email from the address given, on the chat channel's reply-through email
    channel, always a new conversation. Without a reply-through channel it is refused (nobody
    could answer it)."""
    address = clean_email(email)
    if address is None:
        raise ChatError("give your email address so that we can answer")
    text = clean_text(text, limit_bytes)
    settings = repo.chat_settings(channel_id)
    reply_channel = (
        repo.channel_or_none(settings.reply_channel_id)
        if settings is not None and settings.reply_channel_id is not None
        else None
    )
    if reply_channel is None or reply_channel.kind != "email":
        raise ChatError("messages cannot be left here now")
    mail = EmailMessage(policy=SMTP)
    local, _, domain = address.partition("@")
    mail["From"] = HeaderAddress(display_name=clean_name(name), username=local, domain=domain)
    if reply_channel.address:
        mail["To"] = reply_channel.address
    chat_channel = repo.channel(channel_id)
    first_line = clean_name(text.strip().splitlines()[0])[:60].replace("[", "(").replace("]", ")")
    mail["Subject"] = f"Message left on {clean_name(chat_channel.name)}: {first_line}"
    mail["Date"] = format_datetime(repo.now())
    mail["Message-ID"] = f"<chat-offline.{secrets.token_hex(10)}@{CHAT_DOMAIN}>"
    mail.set_content(text)
    raw = mail.as_bytes()
    result = ingest_message(repo, reply_channel, parse_message(raw), raw)
    if result.conversation_id is None or result.message_row_id is None:
        raise ChatError("the message was not stored")
    return Written(result.conversation_id, result.message_row_id, True)


# --- the transcript (C4) ------------------------------------------------------------------------


def send_transcript(repo: ChatRepository, visitor_id: int, conversation_id: int) -> int:
    """C4: the chat's transcript to the email the visitor gave, through the chat channel's
    reply-through email channel; held like any automated email when a safety rule says so
    (§7). Returns the outbox id."""
    visitor = repo.chat_visitor(visitor_id)
    chat = repo.chat(conversation_id)
    if visitor is None or chat is None or chat.visitor_id != visitor_id:
        raise ChatError("no such chat")
    if not visitor.email:
        raise ChatError("give an email address first")
    settings = repo.chat_settings(visitor.channel_id)
    channel = (
        repo.channel_or_none(settings.reply_channel_id)
        if settings is not None and settings.reply_channel_id is not None
        else None
    )
    if channel is None or not channel.address:
        raise ChatError("transcripts cannot be emailed from here")
    conversation = repo.conversation(conversation_id)
    lines = []
    for message in repo.chat_transcript(conversation_id):
        who = message.from_name if message.direction == "inbound" else _rep_name(message)
        lines.append(
            f"[{message.sent_at:%Y-%m-%d %H:%M} UTC] {who}:\n{message.body_text.strip()}\n"
        )
    subject = f"Your chat with {channel.name}"
    message_id = make_message_id(channel_domain(channel), repo.secret(), f"chat{conversation_id}")
    try:
        raw = build_message(
            OutgoingMail(
                from_addr=Address(channel.address, channel.name),
                to=(Address(visitor.email, visitor.name),),
                subject=subject,
                text="\n".join(lines),
                message_id=message_id,
                in_reply_to=None,
                references=(),
                auto_submitted="auto-replied",
                loop_marker=repo.instance_id(),
            ),
            now=repo.now(),
        )
        held = hold_reason(repo, visitor.email, automated=True)
    except HeaderInjectionError as exc:
        raw, held = b"", f"cannot build the email: {exc}"
    outbox_id = repo.add_outbox(
        message_row_id=None,
        ticket_id=conversation.ticket_id,
        channel_id=channel.id,
        kind="automated",
        template_name=None,
        message_id=message_id,
        mail_from=channel.address,
        rcpt_to=[visitor.email],
        subject=subject,
        raw=raw,
        held_reason=held,
    )
    repo.add_timeline(
        Timeline.MAIL_HELD if held else Timeline.MAIL_QUEUED,
        Actor("contact", visitor.contact_id, visitor.name),
        ticket_id=conversation.ticket_id,
        conversation_id=conversation_id,
        summary=f"Chat transcript to {visitor.email} (unverified) "
        + (f"held: {held}" if held else "queued"),
        data={
            "outbox_id": outbox_id,
            "message_id": message_id,
            "to": visitor.email,
            "transcript": True,
            "held_reason": held,
        },
    )
    return outbox_id


def _rep_name(message: object) -> str:
    author = getattr(message, "author", None)
    if author is not None:
        return str(author.display_name or author.name)
    return str(getattr(message, "from_name", "") or "Support")
