"""The CLI's lists, a page at a time (D7): tickets, conversations, the outbox and failed messages.

Each list has one documented order, newest first, with the id last so no two rows tie:

- tickets: by number, descending;
- conversations: by last activity (`updated_at`), descending, then id;
- outbox (and held mail): by creation time, descending, then id;
- failed messages: by creation time, descending, then id.

A page ends with a cursor (`Page.next`), the sort key of its last row. The next page starts
strictly after that key (keyset pagination), so rows inserted meanwhile, which sort before it,
never make a row repeat or go missing. A conversation whose activity changes moves to the top.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session, defer, selectinload

from storage import models as m
from storage.queries import conversation_summary, failure_row, outbox_row, ticket_row

DEFAULT_LIMIT = 1000

Rows = Callable[[Session, Sequence[Any]], list[dict[str, Any]]]


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    total: int  # rows in the whole list, with its filters
    next: str | None  # the cursor after the last row; None: the list ends with this page


class UnknownFilter(ValueError):
    """A filter naming nothing that exists; the message lists what does."""


class BadCursor(ValueError):
    """An `--after` value that is not a cursor of this list."""


@dataclass(frozen=True)
class _Order:
    kind: str  # the list's name, carried in its cursors
    model: type[m.Base]
    keys: tuple[str, ...]  # sort columns, all descending; the id last

    def columns(self) -> list[Any]:
        return [getattr(self.model, key) for key in self.keys]


TICKETS = _Order("tickets", m.Ticket, ("id",))
CONVERSATIONS = _Order("conversations", m.Conversation, ("updated_at", "id"))
OUTBOX = _Order("outbox", m.OutboxMail, ("created_at", "id"))
FAILED = _Order("failed", m.ImportFailure, ("created_at", "id"))


def ticket_page(
    session: Session,
    *,
    status: str | None = None,
    pipeline: str | None = None,
    after: str | None = None,
    limit: int | None = DEFAULT_LIMIT,
) -> Page:
    """Tickets, newest number first; an unknown status or pipeline is an error that lists
    the known ones."""
    _check_ticket_filters(session, status, pipeline)
    query = select(m.Ticket).options(
        selectinload(m.Ticket.tags), selectinload(m.Ticket.property_values)
    )
    if status is not None:
        query = query.join(m.Status, m.Ticket.status_id == m.Status.id).where(
            func.lower(m.Status.label) == status.strip().lower()
        )
    if pipeline is not None:
        query = query.join(m.Pipeline, m.Ticket.pipeline_id == m.Pipeline.id).where(
            m.Pipeline.name == pipeline
        )
    return _paged(session, query, TICKETS, after, limit, _tickets)


def conversation_page(
    session: Session,
    *,
    automated: bool | None = None,
    snoozed_at: datetime | None = None,
    only_snoozed: bool = False,
    after: str | None = None,
    limit: int | None = DEFAULT_LIMIT,
) -> Page:
    """Conversations; with `snoozed_at` (now) the ones snoozed past it are left out, as the
    inbox leaves them out (SPEC D23), or only they are listed (`only_snoozed`)."""
    query = select(m.Conversation)
    if automated is not None:
        query = query.where(m.Conversation.automated == automated)
    if snoozed_at is not None:
        until = m.Conversation.snoozed_until
        awake = or_(until.is_(None), until <= snoozed_at)
        query = query.where(until > snoozed_at if only_snoozed else awake)
    return _paged(session, query, CONVERSATIONS, after, limit, _conversations)


def outbox_page(
    session: Session,
    *,
    state: str | None = None,
    after: str | None = None,
    limit: int | None = DEFAULT_LIMIT,
) -> Page:
    query = select(m.OutboxMail).options(defer(m.OutboxMail.raw))
    if state is not None:
        query = query.where(m.OutboxMail.state == state)
    return _paged(session, query, OUTBOX, after, limit, _outbox)


def failed_page(
    session: Session, *, after: str | None = None, limit: int | None = DEFAULT_LIMIT
) -> Page:
    query = select(m.ImportFailure).options(defer(m.ImportFailure.raw))
    return _paged(session, query, FAILED, after, limit, _failures)


# --- one page of any list -------------------------------------------------------------------


def _paged(
    session: Session,
    query: Select[Any],
    order: _Order,
    after: str | None,
    limit: int | None,
    rows: Rows,
) -> Page:
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    columns = order.columns()
    if after is not None:
        key = [
            literal(value, type_=col.type)
            for value, col in zip(_decode(order, after), columns, strict=True)
        ]
        query = query.where(tuple_(*columns) < tuple_(*key))
    query = query.order_by(*(col.desc() for col in columns))
    if limit is not None:
        query = query.limit(limit + 1)
    found = list(session.scalars(query))
    more = limit is not None and len(found) > limit
    if more:
        found = found[:limit]
    cursor = _encode(order, found[-1]) if more else None
    return Page(rows(session, found), total, cursor)


def _encode(order: _Order, item: Any) -> str:
    key = [getattr(item, name) for name in order.keys]
    return pack_cursor(order.kind, key)


def _decode(order: _Order, cursor: str) -> list[Any]:
    key = unpack_cursor(order.kind, cursor, len(order.keys))
    try:
        return [
            datetime.fromisoformat(value) if isinstance(value, str) else int(value) for value in key
        ]
    except (TypeError, ValueError):
        raise bad_cursor(order.kind, cursor) from None


def pack_cursor(kind: str, key: Sequence[Any]) -> str:
    """A list's cursor: its name and the sort key of the last row shown, as URL-safe text."""
    plain = [value.isoformat() if isinstance(value, datetime) else value for value in key]
    data = json.dumps([kind, *plain], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def unpack_cursor(kind: str, cursor: str, size: int) -> list[Any]:
    """The `size` key values of a cursor of the list `kind`; BadCursor for anything else."""
    try:
        padded = cursor.strip() + "=" * (-len(cursor.strip()) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError):
        raise bad_cursor(kind, cursor) from None
    if not isinstance(data, list) or data[:1] != [kind] or len(data) != size + 1:
        raise bad_cursor(kind, cursor)
    return data[1:]


def bad_cursor(kind: str, cursor: str) -> BadCursor:
    return BadCursor(
        f"--after {cursor!r} is not a cursor of `deskline {kind}`: give the one the "
        "previous page ended with"
    )


# --- rows -----------------------------------------------------------------------------------


def _tickets(_session: Session, tickets: Sequence[Any]) -> list[dict[str, Any]]:
    return [ticket_row(t) for t in tickets]


def _conversations(session: Session, conversations: Sequence[Any]) -> list[dict[str, Any]]:
    ids = [c.id for c in conversations]
    counts = dict(
        session.execute(
            select(m.Message.conversation_id, func.count())
            .where(m.Message.conversation_id.in_(ids))
            .group_by(m.Message.conversation_id)
        ).all()
    )
    return [conversation_summary(c, counts.get(c.id, 0)) for c in conversations]


def _outbox(_session: Session, rows: Sequence[Any]) -> list[dict[str, Any]]:
    return [outbox_row(row) for row in rows]


def _failures(session: Session, failures: Sequence[Any]) -> list[dict[str, Any]]:
    ids = [f.id for f in failures]
    sizes: dict[int, int] = dict(
        session.execute(
            select(m.ImportFailure.id, func.length(m.ImportFailure.raw)).where(
                m.ImportFailure.id.in_(ids)
            )
        ).all()
    )
    return [failure_row(f, int(sizes.get(f.id) or 0)) for f in failures]


def _check_ticket_filters(session: Session, status: str | None, pipeline: str | None) -> None:
    pipelines = list(
        session.scalars(select(m.Pipeline).order_by(m.Pipeline.position, m.Pipeline.id))
    )
    chosen = pipelines
    if pipeline is not None:
        chosen = [p for p in pipelines if p.name == pipeline]
        if not chosen:
            known = ", ".join(p.name for p in pipelines) or "none yet"
            raise UnknownFilter(f"no pipeline {pipeline!r} (pipelines: {known})")
    if status is None:
        return
    labels = list(dict.fromkeys(s.label for p in chosen for s in p.statuses))
    if status.strip().casefold() not in {label.casefold() for label in labels}:
        where = f" in {pipeline}" if pipeline is not None else ""
        known = ", ".join(labels) or "none yet"
        raise UnknownFilter(f"no status {status!r}{where} (statuses: {known})")
