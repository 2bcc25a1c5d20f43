"""A person's actions, kept so that they can be undone (SPEC D2, D3), and what undo needs: the
timeline after an action, its mail (locked), its enrollments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update

from storage import models as m
from storage.repository.base import RepositoryBase

_ACTIONS = cast(Table, m.PersonAction.__table__)
_WINDOW_OF = (
    select(_ACTIONS.c.window_seconds)
    .where(_ACTIONS.c.event_id == bindparam("event"))
    .order_by(_ACTIONS.c.id.desc())
    .limit(1)
)


class ActionsMixin(RepositoryBase):
    """Person actions (`automation.undo`), and the rows their undo reads and changes."""

    def add_person_action(
        self,
        *,
        user_id: int,
        kind: str,
        summary: str,
        ticket_id: int | None,
        conversation_id: int | None,
        event_id: int | None,
        at: datetime,
        window_seconds: int,
        undo_until: datetime,
        before: dict[str, Any],
        after: dict[str, Any],
    ) -> int:
        return self._insert(
            m.PersonAction,
            user_id=user_id,
            kind=kind,
            summary=summary,
            ticket_id=ticket_id,
            conversation_id=conversation_id,
            event_id=event_id,
            at=at,
            window_seconds=window_seconds,
            undo_until=undo_until,
            before=before,
            after=after,
        )

    def action_window(self, event_id: int) -> int | None:
        """The undo window of the person's action whose own timeline line is `event_id`, or
        None when that line is no person's action."""
        found = self._read(_WINDOW_OF, event=event_id).scalar()
        return int(found) if found is not None else None

    def latest_person_action(self, user_id: int) -> m.PersonAction | None:
        """The user's newest action that was not undone, locked for this transaction."""
        self.session.flush()
        return self.session.scalar(
            select(m.PersonAction)
            .where(m.PersonAction.user_id == user_id, m.PersonAction.undone_at.is_(None))
            .order_by(m.PersonAction.id.desc())
            .limit(1)
            .with_for_update()
        )

    def timeline_from(
        self, event_id: int, *, ticket_id: int | None, conversation_id: int | None
    ) -> list[m.TimelineEvent]:
        """The ticket's timeline (or, without a ticket, the conversation's) from an event on."""
        event = m.TimelineEvent
        where = (
            event.ticket_id == ticket_id
            if ticket_id is not None
            else event.conversation_id == conversation_id
        )
        return list(
            self.session.scalars(
                select(event).where(where, event.id >= event_id).order_by(event.id)
            )
        )

    def pending_events_since(self, since: datetime) -> list[m.DomainEvent]:
        """Unhandled events written since then, locked (an engine handling one is waited for;
        SQLite has one writer anyway)."""
        self.session.flush()
        event = m.DomainEvent
        return list(
            self.session.scalars(
                select(event)
                .where(event.processed_at.is_(None), event.created_at >= since)
                .order_by(event.id)
                .with_for_update()
            )
        )

    def outbox_rows_locked(self, outbox_ids: Sequence[int]) -> list[m.OutboxMail]:
        """These emails, locked: a sender claims nothing of them until this transaction ends,
        and a claim it made first is seen (PostgreSQL waits for it; SQLite has one writer)."""
        if not outbox_ids:
            return []
        return list(
            self.session.scalars(
                select(m.OutboxMail)
                .where(m.OutboxMail.id.in_(list(outbox_ids)))
                .order_by(m.OutboxMail.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        )

    def undo_enrollments(self, enrolled_event_ids: Sequence[int]) -> list[int]:
        """The enrollments written with these "enrolled" timeline events no longer count (E7),
        and their delayed steps will not run. Returns the enrollment ids."""
        if not enrolled_event_ids:
            return []
        now = self.now()
        enrollment = cast(Table, m.Enrollment.__table__)
        ids = [
            int(row_id)
            for row_id in self.session.connection()
            .execute(
                update(enrollment)
                .where(
                    enrollment.c.cause_event_id.in_(list(enrolled_event_ids)),
                    enrollment.c.undone_at.is_(None),
                )
                .values(undone_at=now)
                .returning(enrollment.c.id)
            )
            .scalars()
        ]
        if ids:
            steps = cast(Table, m.ScheduledStep.__table__)
            self.session.connection().execute(
                update(steps)
                .where(steps.c.enrollment_id.in_(ids), steps.c.done_at.is_(None))
                .values(done_at=now)
            )
        return sorted(ids)
