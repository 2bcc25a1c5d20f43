"""Read models of the terminal app: windows of big lists, the reading pane, the ticket record.

Lists are sorted newest activity first by (updated_at, id) and read in windows: keyset after a known
row when the window continues one already on screen, an offset only for jumps (`G`, far pages).
Every filter has an index in models.py that starts with its equality column, then (updated_at, id).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, func, literal, or_, select, text, tuple_, union_all
from sqlalchemy.orm import Session, aliased

from automation.search.query import parse
from mail.quote import split_quoted
from storage import models as m
from storage import search
from storage.queries import outbox_row, timeline_row

SortKey = tuple[datetime, int]
INBOX_FILTERS = ("open", "mine", "unassigned", "closed", "all")


@dataclass(frozen=True)
class InboxFilter:
    view: str = "open"  # one of INBOX_FILTERS
    user_id: int | None = None  # whose "mine"
    channel_id: int | None = None
    search: str = ""


@dataclass(frozen=True)
class Window:
    """Which rows to read: `limit` rows from `offset`, or the rows right after `after` (keyset)."""

    offset: int = 0
    limit: int = 100
    after: SortKey | None = None
    total: int | None = None  # the list's length when known: a far offset reads from the end


def one_snapshot(session: Session) -> None:
    """Make the rest of this read transaction see one snapshot, so a list's count, a row's
    index and its pages agree. SQLite's read transactions already do (WAL); PostgreSQL's default
    READ COMMITTED takes a new snapshot per statement. Call it before the first read."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))


# --- inbox ---------------------------------------------------------------------------------------

_assignee = aliased(m.User)


def _last_mail_at(conversation: Any) -> Any:
    """When the newest email a person wrote in a conversation was sent (its Date for received
    mail): the inbox's age, as a mail reader shows a thread's date. Internal notes are not mail,
    and automated email (an acknowledgement, held as old mail on an import or sent) does not
    date the conversation: it was written now for mail of days ago."""
    x = m.Message
    return (
        select(func.max(x.sent_at))
        .where(x.conversation_id == conversation.id, _written_by_a_person(x))
        .scalar_subquery()
    )


def _written_by_a_person(x: Any) -> Any:
    """An email (no note) a customer or a rep wrote, not one the automation sent."""
    return and_(x.direction != "note", or_(x.sent_from.is_(None), x.sent_from != "automation"))


def _inbox_select(f: InboxFilter, session: Session, *, awake: bool = True) -> Select[Any]:
    c = m.Conversation
    query = select(c.id).select_from(c)
    if f.view == "open":
        query = query.where(c.state == "open")
    elif f.view == "closed":
        query = query.where(c.state == "closed")
    elif f.view == "mine":
        query = query.where(c.assignee_id == f.user_id, c.state == "open")
    elif f.view == "unassigned":
        query = query.where(c.assignee_id.is_(None), c.state == "open")
    if awake and f.view in _AWAKE_VIEWS:  # a snoozed one is out of them (SPEC D23)
        query = query.where(
            or_(c.snoozed_until.is_(None), c.snoozed_until <= _dt(datetime.now(UTC)))
        )
    if f.channel_id is not None:
        query = query.where(c.channel_id == f.channel_id)
    if f.search.strip():
        # The search language of `deskline search` (D19); the screen checked it first.
        searched = search.conversation_conditions(
            session, parse(f.search), viewer_id=f.user_id, now=datetime.now(UTC)
        )
        query = query.outerjoin(m.Ticket, m.Ticket.id == c.ticket_id).where(*searched)
    return query


_AWAKE_VIEWS = ("open", "mine", "unassigned")
SNOOZED_BY_ID = 5000


def inbox_count(session: Session, f: InboxFilter) -> int:
    """The filtered list's length. In the views that leave snoozed conversations out, all of the
    view's conversations less its snoozed ones: the first count reads only an index (state,
    updated_at, id), the second the few snoozed rows, where one count with the wake-up test
    read every row of a million-conversation inbox (issue 16)."""

    def count(query: Select[Any]) -> int:
        return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)

    if f.view not in _AWAKE_VIEWS:
        return count(_inbox_select(f, session))
    c = m.Conversation
    every = _inbox_select(f, session, awake=False)
    asleep = select(c.id).where(c.snoozed_until > _dt(datetime.now(UTC)))
    ids = session.scalars(asleep.limit(SNOOZED_BY_ID + 1)).all()
    # By id when they are few (SQLite's planner, without statistics, would otherwise walk the
    # view's index and read every row to test its wake-up time).
    snoozed = every.where(c.id.in_(ids if len(ids) <= SNOOZED_BY_ID else asleep))
    return count(every) - (count(snoozed) if ids else 0)


def inbox_rows(session: Session, f: InboxFilter, window: Window) -> list[dict[str, Any]]:
    c = m.Conversation
    ids = _windowed(_inbox_select(f, session), c.updated_at, c.id, window)
    query = (
        select(
            c.id,
            c.subject,
            c.state,
            c.updated_at,
            c.automated,
            c.source,
            c.ticket_id,
            m.Contact.email,
            m.Contact.name,
            _assignee.name,
            m.Status.label,
            m.Channel.name,
            m.Status.state,
            _last_mail_at(c),
        )
        .join(m.Channel, m.Channel.id == c.channel_id)
        .outerjoin(m.Contact, m.Contact.id == c.contact_id)
        .outerjoin(_assignee, _assignee.id == c.assignee_id)
        .outerjoin(m.Ticket, m.Ticket.id == c.ticket_id)
        .outerjoin(m.Status, m.Status.id == m.Ticket.status_id)
        .where(c.id.in_(ids))
        .order_by(c.updated_at.desc(), c.id.desc())
    )
    return [
        {
            "id": row[0],
            "subject": row[1],
            "state": row[2],
            "sort": (row[3], row[0]),
            "updated_at": row[3],
            "automated": row[4],
            "source": row[5],
            "ticket": row[6],
            "contact": row[7],
            "contact_name": row[8],
            "assignee": row[9],
            "status": row[10],
            "channel": row[11],
            # open / closed, like "state" (SPEC D6: the Open view says when the ticket is closed)
            "ticket_state": str(row[12]).lower() if row[12] is not None else None,
            "last_mail_at": row[13],
        }
        for row in session.execute(query)
    ]


def inbox_index_of(session: Session, f: InboxFilter, conversation_id: int) -> int | None:
    """Where a conversation now sits in the filtered list (None: no longer in it)."""
    c = m.Conversation
    query = _inbox_select(f, session)
    if session.scalar(query.where(c.id == conversation_id)) is None:
        return None
    updated = session.scalar(select(c.updated_at).where(c.id == conversation_id))
    if updated is None:
        return None
    ahead = query.where(tuple_(c.updated_at, c.id) > tuple_(_dt(updated), conversation_id))
    return int(session.scalar(select(func.count()).select_from(ahead.subquery())) or 0)


def _windowed(query: Select[Any], updated: Any, ident: Any, window: Window) -> Any:
    """The ids of one window as a subquery (keyset when `after` is known, else offset). An
    offset past the middle of a list of known length is read from the list's end, in the
    index's other direction (`G` on a million rows skips a hundred of them, not a million)."""
    if window.after is not None:
        query = query.where(tuple_(updated, ident) < tuple_(_dt(window.after[0]), window.after[1]))
    elif window.total is not None and window.offset > window.total // 2:
        limit = max(0, min(window.limit, window.total - window.offset))
        from_end = window.total - window.offset - limit
        ascending = query.order_by(updated.asc(), ident.asc()).offset(from_end).limit(limit)
        return ascending.scalar_subquery()
    else:
        query = query.offset(window.offset)
    return query.order_by(updated.desc(), ident.desc()).limit(window.limit).scalar_subquery()


def _dt(value: datetime) -> Any:
    return literal(value, type_=m.UTCDateTime())


def channels(session: Session) -> list[dict[str, Any]]:
    return [
        {"id": ch.id, "name": ch.name, "kind": ch.kind, "address": ch.address}
        for ch in session.scalars(select(m.Channel).order_by(m.Channel.id))
    ]


# --- board ---------------------------------------------------------------------------------------


def pipelines(session: Session) -> list[dict[str, Any]]:
    return [
        {
            "id": p.id,
            "name": p.name,
            "statuses": [
                {"id": s.id, "label": s.label, "state": s.state, "position": s.position}
                for s in p.statuses
            ],
        }
        for p in session.scalars(select(m.Pipeline).order_by(m.Pipeline.id))
    ]


def status_counts(session: Session, pipeline_id: int) -> dict[int, int]:
    """Tickets per status of a pipeline, read from the maintained counts (SPEC B8.6), so a
    refresh of a million-ticket board reads a few rows instead of counting them."""
    kept = _kept_counts().subquery()
    rows = session.execute(
        select(kept.c.status_id, func.sum(kept.c.tickets))
        .where(kept.c.pipeline_id == pipeline_id)
        .group_by(kept.c.status_id)
    )
    return {status_id: int(count) for status_id, count in rows if count}


def column_count(session: Session, status_id: int, only: Any = None) -> int:
    """A column's tickets; `only` (a subquery of ticket ids: a search) counts those."""
    if only is not None:
        t = m.Ticket
        found = select(func.count()).where(t.status_id == status_id, t.id.in_(only))
        return int(session.scalar(found) or 0)
    kept = _kept_counts().subquery()
    return int(
        session.scalar(select(func.sum(kept.c.tickets)).where(kept.c.status_id == status_id)) or 0
    )


def _kept_counts() -> Any:
    """The counts table plus the changes PostgreSQL's writers appended and nobody has folded
    into it yet (storage/repository/board_counts.py); on SQLite the changes table is empty."""
    b, c = m.BoardCount, m.BoardCountChange
    return union_all(
        select(b.pipeline_id, b.status_id, b.tickets),
        select(c.pipeline_id, c.status_id, c.delta.label("tickets")),
    )


def _ticket_mail_at(ticket: Any) -> Any:
    """When the newest email a person wrote in a ticket's conversations was sent (its Date for
    received mail): a board card's age, as the inbox dates a conversation (`_last_mail_at`)."""
    x, c = m.Message, m.Conversation
    return (
        select(func.max(x.sent_at))
        .join(c, c.id == x.conversation_id)
        .where(c.ticket_id == ticket.id, _written_by_a_person(x))
        .scalar_subquery()
    )


def column_rows(
    session: Session, status_id: int, window: Window, only: Any = None
) -> list[dict[str, Any]]:
    t = m.Ticket
    owner = aliased(m.User)
    cards = select(t.id).where(t.status_id == status_id)
    if only is not None:
        cards = cards.where(t.id.in_(only))
    ids = _windowed(cards, t.updated_at, t.id, window)
    query = (
        select(
            t.id,
            t.subject,
            t.updated_at,
            t.created_at,
            t.priority,
            t.source,
            m.Contact.email,
            m.Contact.name,
            owner.name,
            t.snoozed_until,
            _ticket_mail_at(t),  # last, as row[-1]
        )
        .outerjoin(m.Contact, m.Contact.id == t.contact_id)
        .outerjoin(owner, owner.id == t.owner_id)
        .where(t.id.in_(ids))
        .order_by(t.updated_at.desc(), t.id.desc())
    )
    return [
        {
            "id": row[0],
            "subject": row[1],
            "sort": (row[2], row[0]),
            "updated_at": row[2],
            "created_at": row[3],
            "priority": row[4],
            "source": row[5],
            "contact": row[6],
            "contact_name": row[7],
            "owner": row[8],
            "last_mail_at": row[-1],
            "snoozed_until": row[9],
        }
        for row in session.execute(query)
    ]


def ticket_status_id(session: Session, number: int) -> int | None:
    """The status a ticket is in now (the board follows a moved card to its column)."""
    return session.scalar(select(m.Ticket.status_id).where(m.Ticket.id == number))


def column_index_of(
    session: Session, status_id: int, ticket_id: int, only: Any = None
) -> int | None:
    t = m.Ticket
    row = session.execute(select(t.status_id, t.updated_at).where(t.id == ticket_id)).first()
    if row is None or row[0] != status_id:
        return None
    ahead = select(func.count()).where(
        t.status_id == status_id, tuple_(t.updated_at, t.id) > tuple_(_dt(row[1]), ticket_id)
    )
    if only is not None:
        ahead = ahead.where(t.id.in_(only))
    return int(session.scalar(ahead) or 0)


# --- reading pane and ticket record --------------------------------------------------------------


def conversation_view(session: Session, conversation_id: int) -> dict[str, Any] | None:
    conv = session.get(m.Conversation, conversation_id)
    if conv is None:
        return None
    ticket = conv.ticket
    messages = list(
        session.scalars(
            select(m.Message)
            .where(m.Message.conversation_id == conversation_id)
            .order_by(m.Message.id)
        )
    )
    deliveries = _deliveries(session, [x.message_id for x in messages if x.message_id])
    return {
        "id": conv.id,
        "subject": conv.subject,
        "state": conv.state,
        "source": conv.source,
        "channel": conv.channel.name,
        "contact": conv.contact.email if conv.contact else None,
        "contact_name": conv.contact.name if conv.contact else "",
        "assignee": conv.assignee.name if conv.assignee else None,
        "automated": conv.automated,
        "ticket": _ticket_brief(ticket) if ticket else None,
        "messages": [_message_view(x, deliveries.get(x.message_id or "")) for x in messages],
    }


def _ticket_brief(ticket: m.Ticket) -> dict[str, Any]:
    return {
        "number": ticket.id,
        "subject": ticket.subject,
        "status": ticket.status.label,
        "state": ticket.status.state,
        "pipeline": ticket.pipeline.name,
        "owner": ticket.owner.name if ticket.owner else None,
        "priority": ticket.priority,
    }


def _deliveries(session: Session, message_ids: list[str]) -> dict[str, dict[str, Any]]:
    if not message_ids:
        return {}
    rows = session.scalars(select(m.OutboxMail).where(m.OutboxMail.message_id.in_(message_ids)))
    return {row.message_id: outbox_row(row) for row in rows}


def _message_view(message: m.Message, delivery: dict[str, Any] | None) -> dict[str, Any]:
    visible, quoted = split_quoted(message.body_text or "")
    return {
        "id": message.id,
        "direction": message.direction,
        "from": message.from_addr,
        "from_name": message.from_name,
        "to": message.to_addrs,
        "subject": message.subject,
        "sent_at": message.sent_at,
        "sent_from": message.sent_from,
        "author": message.author.name if message.author else None,
        "automated": message.automated_kind,
        "automated_reason": message.automated_reason,
        "template": message.template_name,
        "text": visible,
        "quoted": quoted,
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size}
            for a in message.attachments
        ],
        "delivery": delivery,
    }


def _properties(session: Session, ticket: m.Ticket) -> list[tuple[str, str, bool]]:
    """(name, value or "", required) of every property defined (issue 13)."""
    values = {v.property_id: v.value for v in ticket.property_values}
    defs = session.scalars(select(m.PropertyDef).order_by(m.PropertyDef.name))
    return [(p.name, values.get(p.id, ""), p.required_to_close) for p in defs]


def ticket_record(session: Session, number: int) -> dict[str, Any] | None:
    ticket = session.get(m.Ticket, number)
    if ticket is None:
        return None
    conversations = session.scalars(
        select(m.Conversation).where(m.Conversation.ticket_id == number).order_by(m.Conversation.id)
    )
    events = list(
        session.scalars(
            select(m.TimelineEvent)
            .where(m.TimelineEvent.ticket_id == number)
            .order_by(m.TimelineEvent.id)
        )
    )
    summaries = {e.id: e.summary for e in events}
    timeline = []
    for event in events:
        row = timeline_row(event)
        row["at"] = event.at
        row["cause_summary"] = summaries.get(event.cause_id) if event.cause_id else None
        timeline.append(row)
    brief = _ticket_brief(ticket)
    brief.update(
        contact=ticket.contact.email if ticket.contact else None,
        contact_name=ticket.contact.name if ticket.contact else "",
        source=ticket.source,
        channel=ticket.channel.name if ticket.channel else None,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        reopened=ticket.reopened,
        origin=ticket.origin_conversation_id,
        status_id=ticket.status_id,
        pipeline_id=ticket.pipeline_id,
        snoozed_until=ticket.snoozed_until,
        tags=[t.tag for t in ticket.tags],
        properties=_properties(session, ticket),
    )
    return {
        "ticket": brief,
        "conversations": [
            {
                "id": c.id,
                "subject": c.subject,
                "state": c.state,
                "association": c.association,
                "source": c.source,
                "updated_at": c.updated_at,
            }
            for c in conversations
        ],
        "timeline": timeline,
    }


def events_since(session: Session, ticket_id: int, after_event_id: int) -> list[dict[str, Any]]:
    """Timeline events of a ticket after a known one: what a change just caused."""
    e = m.TimelineEvent
    rows = session.scalars(
        select(e).where(e.ticket_id == ticket_id, e.id > after_event_id).order_by(e.id)
    )
    return [timeline_row(x) for x in rows]


def last_event_id(session: Session) -> int:
    return int(session.scalar(select(func.max(m.TimelineEvent.id))) or 0)


def users_and_teams(session: Session) -> dict[str, list[dict[str, Any]]]:
    return {
        "users": [
            {"id": u.id, "name": u.name, "email": u.email, "admin": u.is_admin}
            for u in session.scalars(select(m.User).order_by(m.User.name))
        ],
        "teams": [
            {"id": t.id, "name": t.name}
            for t in session.scalars(select(m.Team).order_by(m.Team.name))
        ],
    }


def draft(session: Session, user_id: int, scope: str) -> str | None:
    row = session.get(m.Draft, (user_id, scope))
    return row.body if row is not None else None


def change_marker_query() -> Select[Any]:
    """A value that changes whenever anything the screens show changes, in one statement. The
    bookkeeping of sessions (presence heartbeats, drafts) is not part of it: a heartbeat
    reloads no screen (issue 14)."""
    parts = [
        select(func.max(m.TimelineEvent.id)),
        select(func.max(m.Message.id)),
        select(func.max(m.DomainEvent.id)),
        select(func.max(m.OutboxMail.id)),
        select(func.count()).where(m.OutboxMail.state.in_(("queued", "sending", "handed"))),
        select(func.max(m.Template.updated_at)),
        select(func.count()).select_from(m.WorkflowAction),
        select(func.max(m.SettingsChange.id)),  # every settings change (SPEC S11)
        select(func.max(m.Notification.id)),  # a task come due tells its owner, nothing else
    ]
    return select(*(p.scalar_subquery() for p in parts))


def change_marker(session: Session) -> tuple[Any, ...]:
    """`change_marker_query`'s value (PostgreSQL; SQLite runs `change_marker_sqlite` on the
    app's watch connection when `PRAGMA data_version` moved, see app.backend)."""
    return tuple(session.execute(change_marker_query()).one())


def change_marker_sqlite() -> str:
    """The same statement as SQLite text, for a plain sqlite3 connection (microseconds)."""
    from sqlalchemy.dialects import sqlite

    compiled = change_marker_query().compile(
        dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}
    )
    return str(compiled)


def tasks_for(session: Session, user_id: int, *, done: bool = False) -> list[dict[str, Any]]:
    """A user's tasks, soonest due first (open ones, or the done ones)."""
    t = m.Task
    query = (
        select(t.id, t.title, t.due_at, t.done_at, t.ticket_id, m.Ticket.subject)
        .join(m.Ticket, m.Ticket.id == t.ticket_id)
        .where(t.user_id == user_id)
        .where(t.done_at.is_not(None) if done else t.done_at.is_(None))
        .order_by(t.due_at, t.id)
        .limit(500)
    )
    return [
        {
            "id": r[0],
            "title": r[1],
            "due_at": r[2],
            "done_at": r[3],
            "ticket": r[4],
            "subject": r[5],
        }
        for r in session.execute(query)
    ]
