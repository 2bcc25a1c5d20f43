"""Workflow runs: enrollments, action runs, delayed steps and tasks."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, insert, select

from storage import models as m
from storage.repository.base import RepositoryBase

_ENROLLED = (
    select(m.Enrollment.__table__.c.id)
    .where(
        m.Enrollment.__table__.c.workflow_id == bindparam("workflow"),
        m.Enrollment.__table__.c.ticket_id == bindparam("ticket"),
        m.Enrollment.__table__.c.undone_at.is_(None),  # E7: an undone one does not count
    )
    .limit(1)
)


_INSERT_RUN = insert(cast(Table, m.ActionRun.__table__)).returning(
    cast(Table, m.ActionRun.__table__).c.id
)


class RunsMixin(RepositoryBase):
    """Enrollments, action runs, delayed steps and tasks."""

    def enrollment_exists(self, workflow_id: int, ticket_id: int) -> bool:
        found = self._read(_ENROLLED, workflow=workflow_id, ticket=ticket_id).first()
        return found is not None

    def add_enrollment(self, workflow_id: int, ticket_id: int, cause_id: int | None) -> int:
        return self._insert(
            m.Enrollment,
            workflow_id=workflow_id,
            ticket_id=ticket_id,
            cause_event_id=cause_id,
            at=self.now(),
        )

    def add_action_run(
        self,
        enrollment_id: int,
        action_id: int,
        ticket_id: int,
        state: str,
        detail: str,
        depth: int,
    ) -> int:
        table = cast(Table, m.ActionRun.__table__)
        return self._batched_insert(
            table,
            _INSERT_RUN,
            {
                "enrollment_id": enrollment_id,
                "action_id": action_id,
                "ticket_id": ticket_id,
                "state": state,
                "detail": detail,
                "depth": depth,
                "at": self.now(),
            },
        )

    def action_run(self, run_id: int) -> m.ActionRun | None:
        return self.session.get(m.ActionRun, run_id)

    def add_scheduled_step(
        self,
        *,
        workflow_id: int,
        ticket_id: int,
        enrollment_id: int,
        next_position: int,
        after_action_id: int | None,
        due_at: datetime,
        depth: int,
        cause_id: int | None,
    ) -> int:
        return self._insert(
            m.ScheduledStep,
            workflow_id=workflow_id,
            ticket_id=ticket_id,
            enrollment_id=enrollment_id,
            next_position=next_position,
            after_action_id=after_action_id,
            due_at=due_at,
            depth=depth,
            cause_id=cause_id,
            created_at=self.now(),
        )

    def due_steps(self, now: datetime, limit: int) -> list[m.ScheduledStep]:
        """Steps whose delay is over, oldest due first; locked like pending events (PostgreSQL
        skips rows another engine holds)."""
        self.session.flush()
        return list(
            self.session.scalars(
                select(m.ScheduledStep)
                .where(m.ScheduledStep.done_at.is_(None), m.ScheduledStep.due_at <= now)
                .order_by(m.ScheduledStep.due_at, m.ScheduledStep.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )

    def add_task(
        self,
        *,
        ticket_id: int,
        user_id: int | None,
        title: str,
        due_at: datetime,
        workflow_id: int | None,
    ) -> int:
        return self._insert(
            m.Task,
            ticket_id=ticket_id,
            user_id=user_id,
            title=title,
            due_at=due_at,
            workflow_id=workflow_id,
            created_at=self.now(),
        )

    def task(self, task_id: int) -> m.Task | None:
        return self.session.get(m.Task, task_id)
