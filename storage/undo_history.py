"""What an undo over a time window reads (SPEC B5.1): the timeline since then, with the earlier
lines of the tickets written on since (a reverted close needs the time it was closed before),
and whose changes a rule or a workflow names."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from storage import models as m


def lines_since(session: Session, since: datetime) -> list[m.TimelineEvent]:
    event = m.TimelineEvent
    first = session.scalar(select(event.id).where(event.at >= since).order_by(event.id).limit(1))
    if first is None:
        return []
    touched = (
        select(event.ticket_id).where(event.id >= first, event.ticket_id.is_not(None)).distinct()
    )
    return list(
        session.scalars(
            select(event)
            .where(or_(event.id >= first, event.ticket_id.in_(touched)))
            .order_by(event.id)
        )
    )


def trigger_ids(session: Session, kind: str) -> frozenset[int]:
    """Every pipeline's trigger of this kind (email_sent, customer_replied)."""
    return frozenset(session.scalars(select(m.Trigger.id).where(m.Trigger.kind == kind)))


def workflow_exists(session: Session, workflow_id: int) -> bool:
    return session.get(m.Workflow, workflow_id) is not None


def line_with_history(
    session: Session, line_id: int
) -> tuple[m.TimelineEvent, list[m.TimelineEvent]] | None:
    """One timeline line, and the timeline since it (B5: undo from a timeline line)."""
    line = session.get(m.TimelineEvent, line_id)
    if line is None:
        return None
    first = line
    while first.cause_id is not None:  # from the change it is part of (a merge's first line)
        cause = session.get(m.TimelineEvent, first.cause_id)
        if cause is None:
            break
        first = cause
    return line, lines_since(session, min(line.at, first.at))
