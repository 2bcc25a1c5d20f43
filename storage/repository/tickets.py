"""Tickets: by number, by status, the newest, and new ones."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from storage import models as m
from storage.repository.base import RepositoryBase


class TicketsMixin(RepositoryBase):
    """Tickets (their conversations: `ConversationsMixin`)."""

    def ticket(self, number: int) -> m.Ticket | None:
        return self.session.get(m.Ticket, number)

    def preload_tickets(self, ids: list[int]) -> None:
        """Load these tickets with what actions read (contact, origin thread, owner) in three
        queries, so the per-ticket lookups that follow find them in the session."""
        if ids:
            self.session.scalars(
                select(m.Ticket)
                .where(m.Ticket.id.in_(ids))
                .options(
                    selectinload(m.Ticket.contact),
                    selectinload(m.Ticket.origin),
                    selectinload(m.Ticket.owner),
                )
            ).all()

    def add_ticket(
        self,
        *,
        subject: str,
        pipeline_id: int,
        status_id: int,
        contact_id: int | None,
        channel_id: int | None,
        source: str,
        origin_conversation_id: int | None,
        last_customer_reply_at: datetime | None = None,
    ) -> m.Ticket:
        now = self.now()
        ticket = m.Ticket(
            last_customer_reply_at=last_customer_reply_at,
            subject=subject,
            pipeline_id=pipeline_id,
            status_id=status_id,
            contact_id=contact_id,
            channel_id=channel_id,
            source=source,
            origin_conversation_id=origin_conversation_id,
            created_at=now,
            updated_at=now,
        )
        self.session.add(ticket)
        self.session.flush()
        return ticket

    def tickets_in_status(self, status_id: int) -> list[m.Ticket]:
        return list(
            self.session.scalars(
                select(m.Ticket).where(m.Ticket.status_id == status_id).order_by(m.Ticket.id)
            )
        )

    def stop_ticket_work(self, ticket_id: int) -> tuple[int, int]:
        """A merged ticket's waiting workflow steps and open tasks end (SPEC B3.1); returns how
        many of each."""
        now = self.now()
        steps = self.session.execute(
            update(m.ScheduledStep)
            .where(m.ScheduledStep.ticket_id == ticket_id, m.ScheduledStep.done_at.is_(None))
            .values(done_at=now)
            .execution_options(synchronize_session=False)
        )
        tasks = self.session.execute(
            update(m.Task)
            .where(m.Task.ticket_id == ticket_id, m.Task.done_at.is_(None))
            .values(done_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(steps, "rowcount", 0)), int(getattr(tasks, "rowcount", 0))

    def conversation_messages(self, conversation_id: int) -> list[m.Message]:
        """A thread's messages in the order they were stored (SPEC B3.2)."""
        return list(
            self.session.scalars(
                select(m.Message)
                .where(m.Message.conversation_id == conversation_id)
                .order_by(m.Message.id)
            )
        )

    def move_message_lines(self, message_row_ids: list[int], conversation_id: int) -> None:
        """The timeline lines of messages split off follow them to their new thread."""
        if message_row_ids:
            self.session.execute(
                update(m.TimelineEvent)
                .where(m.TimelineEvent.message_row_id.in_(message_row_ids))
                .values(conversation_id=conversation_id)
                .execution_options(synchronize_session=False)
            )

    def latest_ticket(self) -> m.Ticket | None:
        return self.session.scalar(select(m.Ticket).order_by(m.Ticket.id.desc()).limit(1))
