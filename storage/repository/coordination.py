"""Snoozes that are due, notifications of people, tasks that came due, and presence (the
heartbeats of app sessions, SPEC D22: bookkeeping, never a domain event)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update

from storage import models as m
from storage.repository.base import RepositoryBase

PRESENCE_GONE_AFTER = timedelta(seconds=15)  # a session that stopped beating is gone


class CoordinationMixin(RepositoryBase):
    # --- snooze -----------------------------------------------------------------------------

    def snoozed_tickets_due(self, now: datetime, limit: int) -> Sequence[m.Ticket]:
        t = m.Ticket
        query = select(t).where(t.snoozed_until <= now).order_by(t.snoozed_until, t.id)
        return list(self.session.scalars(query.limit(limit)))

    def snoozed_conversations_due(self, now: datetime, limit: int) -> Sequence[m.Conversation]:
        """Lone conversations only: a ticket's conversations end with their ticket."""
        c = m.Conversation
        query = (
            select(c)
            .where(c.snoozed_until <= now, c.ticket_id.is_(None))
            .order_by(c.snoozed_until, c.id)
        )
        return list(self.session.scalars(query.limit(limit)))

    # --- notifications ----------------------------------------------------------------------

    def notify_user(self, user_id: int, ticket_id: int | None, text: str, kind: str) -> int:
        return self._insert(
            m.Notification,
            user_id=user_id,
            ticket_id=ticket_id,
            text=text,
            kind=kind,
            created_at=self.now(),
        )

    def mark_notifications_read(self, user_id: int, notification_id: int | None = None) -> int:
        """Mark one of the user's notifications read (all unread ones with None); how many."""
        n = m.Notification
        statement = update(n).where(n.user_id == user_id, n.read_at.is_(None))
        if notification_id is not None:
            statement = statement.where(n.id == notification_id)
        result = self.session.execute(statement.values(read_at=self.now()))
        return int(getattr(result, "rowcount", 0) or 0)

    def notification_exists(self, user_id: int, notification_id: int) -> bool:
        n = m.Notification
        query = select(n.id).where(n.id == notification_id, n.user_id == user_id)
        return self.session.scalar(query) is not None

    def tasks_come_due(self, now: datetime, limit: int) -> Sequence[m.Task]:
        t = m.Task
        query = (
            select(t)
            .where(
                t.done_at.is_(None),
                t.notified_at.is_(None),
                t.user_id.is_not(None),
                t.due_at <= now,
            )
            .order_by(t.due_at, t.id)
            .limit(limit)
        )
        return list(self.session.scalars(query))

    # --- presence ---------------------------------------------------------------------------

    def beat(
        self,
        session_id: str,
        user_id: int,
        *,
        ticket_id: int | None,
        conversation_id: int | None,
        replying_since: datetime | None,
    ) -> None:
        """This session's heartbeat: what it looks at now, and since when it writes a reply."""
        values: dict[str, Any] = {
            "user_id": user_id,
            "ticket_id": ticket_id,
            "conversation_id": conversation_id,
            "replying_since": replying_since,
            "beat_at": self.now(),
        }
        p = m.Presence
        found = self.session.execute(update(p).where(p.session_id == session_id).values(**values))
        if not getattr(found, "rowcount", 0):
            self._insert_presence(session_id, values)
        old = self.now() - PRESENCE_GONE_AFTER * 4
        self.session.execute(delete(p).where(p.beat_at < old))

    def _insert_presence(self, session_id: str, values: dict[str, Any]) -> None:
        self.session.add(m.Presence(session_id=session_id, **values))
        self.session.flush()

    def leave(self, session_id: str) -> None:
        self.session.execute(delete(m.Presence).where(m.Presence.session_id == session_id))

    def presence_count(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(m.Presence)) or 0)
