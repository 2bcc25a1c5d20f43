"""The stored mail of a desk, as it arrived and as it was sent, for `deskline export` (B6.1).

Received messages keep their raw bytes; sent mail is the outbox's bytes of every email SMTP
accepted. Oldest first (received by arrival, sent by its sending time), read in batches so a
big desk is never held in memory.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mail.mailbox_out import OutMessage
from storage import models as m

BATCH = 200


def stored_mail(
    session: Session,
    *,
    ticket: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Iterator[OutMessage]:
    """Every received and sent message in the window, oldest first."""
    return heapq.merge(
        _received(session, ticket, since, until),
        _sent(session, ticket, since, until),
        key=lambda message: message.at,
    )


def _received(
    session: Session, ticket: int | None, since: datetime | None, until: datetime | None
) -> Iterator[OutMessage]:
    x = m.Message
    query = select(x.id, x.from_addr, x.created_at, x.raw).where(
        x.direction == "inbound", x.raw.is_not(None)
    )
    if ticket is not None:
        conversations = select(m.Conversation.id).where(m.Conversation.ticket_id == ticket)
        query = query.where(x.conversation_id.in_(conversations))
    if since is not None:
        query = query.where(x.created_at >= since)
    if until is not None:
        query = query.where(x.created_at < until)
    for row_id, sender, at, raw in _batched(session, query.order_by(x.created_at, x.id)):
        yield OutMessage(raw or b"", sender, at, f"{_stamp(at)}-in-{row_id}")


def _sent(
    session: Session, ticket: int | None, since: datetime | None, until: datetime | None
) -> Iterator[OutMessage]:
    o = m.OutboxMail
    query = select(o.id, o.mail_from, o.sent_at, o.raw).where(o.state == "sent")
    if ticket is not None:
        query = query.where(o.ticket_id == ticket)
    if since is not None:
        query = query.where(o.sent_at >= since)
    if until is not None:
        query = query.where(o.sent_at < until)
    for row_id, sender, at, raw in _batched(session, query.order_by(o.sent_at, o.id)):
        when = at or datetime.min
        yield OutMessage(raw, sender, when, f"{_stamp(when)}-out-{row_id}")


def _batched(session: Session, query: Any) -> Iterator[Any]:
    result = session.execute(query.execution_options(yield_per=BATCH))
    for row in result:
        yield tuple(row)


def _stamp(at: datetime) -> str:
    return at.strftime("%Y%m%dT%H%M%S")
