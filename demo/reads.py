"""What the demo reads back from its desk (plain Session functions for `Desk.query`): the message
a reply answers, the open tickets the feed picks from, channels and contacts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from demo.compose import LastMessage
from demo.config import SUPPORT
from storage import models as m


def last_message(session: Session, conversation_id: int) -> LastMessage | None:
    """The newest message of the conversation that has a Message-ID (notes have none)."""
    row = session.scalars(
        select(m.Message)
        .where(
            m.Message.conversation_id == conversation_id,
            m.Message.direction != "note",
            m.Message.message_id.is_not(None),
        )
        .order_by(m.Message.id.desc())
        .limit(1)
    ).first()
    if row is None or row.message_id is None:
        return None
    return LastMessage(
        conversation_id,
        row.message_id,
        list(row.references or []),
        row.subject,
        row.from_name,
        row.from_addr,
        row.sent_at,
        row.body_text,
    )


def last_of_thread(session: Session, message_id: str) -> LastMessage | None:
    """The newest message of the conversation that holds `message_id`."""
    conversation_id = session.scalar(
        select(m.Message.conversation_id).where(m.Message.message_id == message_id).limit(1)
    )
    return last_message(session, conversation_id) if conversation_id is not None else None


def channel_ids(session: Session) -> dict[str, int]:
    return {name: id_ for id_, name in session.execute(select(m.Channel.id, m.Channel.name))}


def email_channels(session: Session) -> list[Any]:
    """(id, name, address) of every email channel with an address."""
    return list(
        session.execute(
            select(m.Channel.id, m.Channel.name, m.Channel.address)
            .where(m.Channel.kind == "email", m.Channel.address.is_not(None))
            .order_by(m.Channel.id)
        )
    )


def chat_channel(session: Session) -> int | None:
    return session.scalar(select(m.Channel.id).where(m.Channel.kind == "chat").limit(1))


def channel_address(session: Session, channel_id: int) -> str:
    return session.scalar(select(m.Channel.address).where(m.Channel.id == channel_id)) or SUPPORT


def known_contacts(session: Session) -> list[tuple[str | None, str]]:
    """(name, address) of up to 500 contacts: a returning customer is one of them."""
    rows = session.execute(select(m.Contact.name, m.Contact.email).limit(500))
    return [(name, email) for name, email in rows]


def rep_name(session: Session, preferred: str) -> str:
    """`preferred` if there is such a user, else the first rep (else the first user)."""
    names = list(session.execute(select(m.User.name, m.User.is_admin).order_by(m.User.id)))
    if any(name == preferred for name, _ in names):
        return preferred
    return next((name for name, is_admin in names if not is_admin), names[0][0])


@dataclass(frozen=True)
class TicketRef:
    number: int
    status: str
    subject: str
    conversation_id: int
    channel_id: int
    contact_name: str
    contact_addr: str


def open_tickets(session: Session) -> list[TicketRef]:
    """Every open ticket of an email channel, oldest first."""
    t, s, c, k = m.Ticket, m.Status, m.Conversation, m.Contact
    rows = session.execute(
        select(t.id, s.label, t.subject, c.id, c.channel_id, k.name, k.email)
        .join(s, t.status_id == s.id)
        .join(c, t.origin_conversation_id == c.id)
        .join(k, t.contact_id == k.id)
        .join(m.Channel, c.channel_id == m.Channel.id)
        .where(s.state == m.TicketState.OPEN, m.Channel.kind == "email")
        .order_by(t.id)
    )
    return [TicketRef(*row) for row in rows]


def status_of(session: Session, number: int) -> str:
    label = session.scalar(
        select(m.Status.label)
        .join(m.Ticket, m.Ticket.status_id == m.Status.id)
        .where(m.Ticket.id == number)
    )
    return label or "?"


def ticket_of_message(session: Session, message_id: str) -> int | None:
    return session.scalar(
        select(m.Conversation.ticket_id)
        .join(m.Message, m.Message.conversation_id == m.Conversation.id)
        .where(m.Message.message_id == message_id)
        .limit(1)
    )
