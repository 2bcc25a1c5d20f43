"""Files attached to a draft (SPEC D18, D15): kept with the draft until it is sent or dropped, so
a closed composer or a crash loses none."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage import models as m


def listed(session: Session, user_id: int, scope: str) -> list[tuple[int, str, str, bytes]]:
    """(id, name, type, bytes) in the order they were attached."""
    rows = session.execute(
        select(
            m.DraftAttachment.id,
            m.DraftAttachment.filename,
            m.DraftAttachment.content_type,
            m.DraftAttachment.data,
        )
        .where(m.DraftAttachment.user_id == user_id, m.DraftAttachment.scope == scope)
        .order_by(m.DraftAttachment.id)
    )
    return [(row.id, row.filename, row.content_type, bytes(row.data)) for row in rows]


def add(
    session: Session,
    user_id: int,
    scope: str,
    filename: str,
    content_type: str,
    data: bytes,
    *,
    added_at: datetime,
) -> int:
    """A file kept with the draft; `added_at` from the desk's clock (`repo.now()`)."""
    row = m.DraftAttachment(
        user_id=user_id,
        scope=scope,
        filename=filename,
        content_type=content_type,
        data=data,
        added_at=added_at,
    )
    session.add(row)
    session.flush()
    return row.id


def remove(session: Session, user_id: int, attachment_id: int) -> None:
    session.execute(
        delete(m.DraftAttachment).where(
            m.DraftAttachment.id == attachment_id, m.DraftAttachment.user_id == user_id
        )
    )


def clear(session: Session, user_id: int, scope: str) -> None:
    """The draft was sent (or dropped): its files go with it, in the same transaction."""
    session.execute(
        delete(m.DraftAttachment).where(
            m.DraftAttachment.user_id == user_id, m.DraftAttachment.scope == scope
        )
    )
