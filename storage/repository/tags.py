"""Tags on tickets (`automation.tags` keeps their rules)."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from storage import models as m
from storage.repository.base import RepositoryBase


class TagsMixin(RepositoryBase):
    def ticket_tags(self, ticket_id: int) -> list[str]:
        query = select(m.TicketTag.tag).where(m.TicketTag.ticket_id == ticket_id)
        return list(self.session.scalars(query.order_by(m.TicketTag.tag)))

    def add_ticket_tag(self, ticket_id: int, tag: str) -> bool:
        """Tag the ticket; False when it already had the tag."""
        if tag in self.ticket_tags(ticket_id):
            return False
        self.session.add(m.TicketTag(ticket_id=ticket_id, tag=tag, added_at=self.now()))
        self.session.flush()
        return True

    def remove_ticket_tag(self, ticket_id: int, tag: str) -> bool:
        """Untag the ticket; False when it did not have the tag."""
        gone = self.session.execute(
            delete(m.TicketTag).where(m.TicketTag.ticket_id == ticket_id, m.TicketTag.tag == tag)
        )
        return bool(getattr(gone, "rowcount", 0))

    def tag_counts(self) -> list[tuple[str, int]]:
        """Every tag in use with its number of tickets, the most used first."""
        query = (
            select(m.TicketTag.tag, func.count())
            .group_by(m.TicketTag.tag)
            .order_by(func.count().desc(), m.TicketTag.tag)
        )
        return [(tag, int(count)) for tag, count in self.session.execute(query)]
