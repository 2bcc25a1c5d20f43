"""Read models of coordination: a person's notifications, their unread count, who else is on a
ticket or a conversation right now (SPEC D22), and what reached a conversation since a draft
began (the send check)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from storage import models as m
from storage.repository.coordination import PRESENCE_GONE_AFTER

NOTIFICATIONS_SHOWN = 500


def notifications_for(
    session: Session, user_id: int, *, unread: bool = False, limit: int = NOTIFICATIONS_SHOWN
) -> list[dict[str, Any]]:
    """A user's notifications, newest first."""
    n = m.Notification
    query = select(n).where(n.user_id == user_id)
    if unread:
        query = query.where(n.read_at.is_(None))
    rows = session.scalars(query.order_by(n.id.desc()).limit(limit))
    return [
        {
            "id": row.id,
            "kind": row.kind,
            "ticket": row.ticket_id,
            "text": row.text,
            "created_at": row.created_at,
            "read_at": row.read_at,
        }
        for row in rows
    ]


def unread(session: Session, user_id: int) -> tuple[int, int]:
    """How many unread notifications the user has, and the id of the newest one (0: none)."""
    n = m.Notification
    row = session.execute(
        select(func.count(), func.max(n.id)).where(n.user_id == user_id, n.read_at.is_(None))
    ).one()
    return int(row[0] or 0), int(row[1] or 0)


def present(
    session: Session,
    *,
    ticket_id: int | None,
    conversation_id: int | None,
    other_than: str,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Who else (another session) looks at this ticket or conversation now: name and, when
    they write a reply, since when. One entry per person, the replying one first."""
    p = m.Presence
    now = now or datetime.now(UTC)
    places = []
    if ticket_id is not None:
        places.append(p.ticket_id == ticket_id)
    if conversation_id is not None:
        places.append(p.conversation_id == conversation_id)
    if not places:
        return []
    query = (
        select(m.User.name, m.User.display_name, p.replying_since)
        .join(m.User, m.User.id == p.user_id)
        .where(or_(*places), p.session_id != other_than, p.beat_at > now - PRESENCE_GONE_AFTER)
        .order_by(p.replying_since.is_(None), m.User.name)
    )
    found: dict[str, dict[str, Any]] = {}
    for name, display, since in session.execute(query):
        found.setdefault(name, {"name": name, "display_name": display, "replying_since": since})
    return list(found.values())


def arrived_since(
    session: Session, since: datetime, *, conversation_id: int | None, ticket_id: int | None
) -> list[dict[str, Any]]:
    """Mail and notes newer than `since` in the conversation (or, with none, in the ticket's
    conversations): received, sent or still queued, by anyone. The warning before sending a
    draft begun at `since` (SPEC D22)."""
    x = m.Message
    if conversation_id is not None:
        where = x.conversation_id == conversation_id
    elif ticket_id is not None:
        ids = select(m.Conversation.id).where(m.Conversation.ticket_id == ticket_id)
        where = x.conversation_id.in_(ids.scalar_subquery())
    else:
        return []
    query = (
        select(x.id, x.direction, x.from_addr, x.from_name, x.subject, x.created_at, m.User.name)
        .outerjoin(m.User, m.User.id == x.author_user_id)
        .where(where, x.created_at > since)
        .order_by(x.id)
    )
    return [
        {
            "id": row.id,
            "direction": row.direction,
            "from": row.name or row.from_name or row.from_addr,
            "subject": row.subject,
            "at": row.created_at,
        }
        for row in session.execute(query)
    ]


def setting(session: Session, key: str) -> Any:
    """A setting's value (None when unset): a user's bell, say."""
    return session.scalar(select(m.Setting.value).where(m.Setting.key == key))
