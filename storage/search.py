"""Search: a `SearchQuery` run against the index and the desk (SPEC D19).

Hits are conversations (the inbox, `deskline search`) or their tickets (the board). The words of
a query are matched within one message; a conversation is a hit when one of its messages
matches, and no message of it has a `-` word. Filters test the conversation and its ticket.
Up to RELEVANCE_LIMIT hits come best first (SQLite's bm25, PostgreSQL's ts_rank, with the
subject weighing most); beyond that, newest first (the conversation of the newest matching
message first), not counted, and the page says so. Pages are slices of that order (the cursor
is a position).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    and_,
    exists,
    func,
    not_,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session, aliased, selectinload

from automation import property_types
from automation.search.query import (
    QueryError,
    SearchQuery,
    Term,
    date_bound,
    parse,
    prop_value,
)
from storage import models as m
from storage.pages import DEFAULT_LIMIT, bad_cursor, pack_cursor, unpack_cursor
from storage.queries import conversation_summary
from storage.search_index import TABLE

RELEVANCE_LIMIT = 10_000
_SQLITE_COLUMNS = {None: "", "subject": "subject : ", "from": "sender : ", "to": "recipients : "}
_PG_WEIGHTS = {None: "", "subject": "A", "from": "B", "to": "C"}


@dataclass(frozen=True)
class SearchPage:
    rows: list[dict[str, Any]]
    total: int | None  # None: over RELEVANCE_LIMIT matching messages, not counted
    next: str | None
    order: str  # "relevance" or "newest"


@dataclass(frozen=True)
class _Plan:
    statement: Select[Any]  # conversation ids, filtered
    score: Any  # the relevance column, or None for newest first
    counted: bool  # whether counting the hits is cheap enough to do
    newest: str | None = None  # over RELEVANCE_LIMIT matches: the expression walked newest first
    conditions: tuple[ColumnElement[bool], ...] = ()  # the filters and `-` words


def search_page(
    session: Session,
    query: SearchQuery,
    *,
    viewer_id: int | None = None,
    now: datetime,
    after: str | None = None,
    limit: int | None = DEFAULT_LIMIT,
) -> SearchPage:
    """One page of the conversations the query finds."""
    plan = _plan(session, query, viewer_id, now)
    start = _decode(after) if after else 0
    total = None
    if plan.newest is not None:  # many matches: walk the index newest first, a page's worth
        wanted = None if limit is None else start + limit + 1
        ids = [c for c, _ in _newest_hits(session, plan, wanted)][start:]
    elif plan.score is not None:  # at most RELEVANCE_LIMIT hits: all at once, counted
        ranked = list(session.scalars(plan.statement.order_by(plan.score.desc(), *_newest())))
        total = len(ranked)
        ids = ranked[start : None if limit is None else start + limit + 1]
    else:  # filters only
        statement = plan.statement.order_by(*_newest()).offset(start)
        if limit is not None:
            statement = statement.limit(limit + 1)
        ids = list(session.scalars(statement))
        total = int(
            session.scalar(select(func.count()).select_from(plan.statement.subquery())) or 0
        )
    more = limit is not None and len(ids) > limit
    ids = ids[:limit] if limit is not None else ids
    following = _encode(start + len(ids)) if more else None
    return SearchPage(_rows(session, ids), total, following, _order_name(plan))


def hits(
    session: Session, query: SearchQuery, *, viewer_id: int | None, now: datetime
) -> list[int]:
    """Every conversation id the query finds, best (or newest) first."""
    plan = _plan(session, query, viewer_id, now)
    order = _newest() if plan.score is None else (plan.score.desc(), *_newest())
    return list(session.scalars(plan.statement.order_by(*order)))


def ticket_hits(
    session: Session, query: SearchQuery, *, viewer_id: int | None, now: datetime
) -> set[int]:
    """The tickets of the conversations the query finds (the board's search)."""
    plan = _plan(session, query, viewer_id, now)
    tickets = plan.statement.with_only_columns(m.Conversation.ticket_id).where(
        m.Conversation.ticket_id.is_not(None)
    )
    return {int(t) for t in session.scalars(tickets) if t is not None}


def count_hits(
    session: Session,
    query: SearchQuery,
    *,
    viewer_id: int | None,
    now: datetime,
    tickets: bool = False,
    cap: int = RELEVANCE_LIMIT,
) -> int:
    """How many conversations (or their tickets) the query finds, counting no further than
    cap + 1: more than `cap` is "cap+" (a saved view's live count in the `f` picker)."""
    plan = _plan(session, query, viewer_id, now)
    if plan.newest is not None:  # many matches: walk the index newest first until past the cap
        walked = _newest_hits(session, plan, cap + 1, tickets=tickets)
        return len(walked)
    statement = plan.statement
    if tickets:
        statement = statement.with_only_columns(m.Conversation.ticket_id).where(
            m.Conversation.ticket_id.is_not(None)
        )
        statement = statement.distinct()
    found = select(func.count()).select_from(statement.limit(cap + 1).subquery())
    return int(session.scalar(found) or 0)


def ticket_ids(
    session: Session, query: SearchQuery, *, viewer_id: int | None, now: datetime
) -> Select[Any]:
    """The tickets of the conversations the query finds, as a subquery the board's columns
    select from (D19: the board's hits are tickets)."""
    plan = _plan(session, query, viewer_id, now)
    return plan.statement.with_only_columns(m.Conversation.ticket_id).where(
        m.Conversation.ticket_id.is_not(None)
    )


def _plan(session: Session, query: SearchQuery, viewer_id: int | None, now: datetime) -> _Plan:
    """Best first when few messages match (score them all); else newest first (`newest`: the
    index walked from the newest matching message, see _newest_hits), so a word in every
    message is as quick as a rare one. The statement finds the same hits for the lists that
    keep their own order (the board) and for counting."""
    dialect = session.get_bind().dialect.name
    statement = select(m.Conversation.id).outerjoin(
        m.Ticket, m.Conversation.ticket_id == m.Ticket.id
    )
    score, counted, newest = None, True, None
    rest = SearchQuery((), query.excluded, query.filters, query.text)
    conditions = tuple(conversation_conditions(session, rest, viewer_id=viewer_id, now=now))
    if query.groups:
        expression = _match_text(dialect, query.groups)
        if _few_matches(session, dialect, expression):
            matched = _matches(dialect, expression).subquery()
            statement = statement.join(matched, matched.c.conversation_id == m.Conversation.id)
            score = matched.c.score
        else:
            statement = statement.where(_has_message_matching(dialect, expression, "words"))
            counted, newest = False, expression
    for condition in conditions:
        statement = statement.where(condition)
    return _Plan(statement, score, counted, newest, conditions)


_FIRST_BATCH = 256  # matching messages read at first; each further batch four times more
_MAX_BATCH = 16_384


def _newest_hits(
    session: Session, plan: _Plan, wanted: int | None, *, tickets: bool = False
) -> list[tuple[int, int | None]]:
    """(conversation, ticket) of the hits of a query with many matches, newest first: the
    conversation of the newest matching message first (message ids grow with arrival), then
    the next one's, up to `wanted` (None: all). The index is read newest first in batches (an
    FTS5 doclist read backwards stops where the batch does, so a word in every message costs
    no more than a rare one), each batch's new conversations are tested against the filters
    and `-` words in one query, and reading stops once enough passed. With `tickets`, a
    conversation whose ticket is already in, or that has none, is left out."""
    assert plan.newest is not None
    dialect = session.get_bind().dialect.name
    found: list[tuple[int, int | None]] = []
    seen: set[int] = set()
    seen_tickets: set[int] = set()
    below, batch = None, _FIRST_BATCH
    while wanted is None or len(found) < wanted:
        rows = _newest_matches(session, dialect, plan.newest, below, batch)
        if not rows:
            break
        below = rows[-1][0]
        fresh = []
        for _, conversation in rows:
            if conversation not in seen:
                seen.add(conversation)
                fresh.append(conversation)
        if fresh:
            passing = _passing(session, plan, fresh)
            for conversation in fresh:
                if conversation not in passing:
                    continue
                ticket = passing[conversation]
                if tickets and (ticket is None or ticket in seen_tickets):
                    continue
                if ticket is not None:
                    seen_tickets.add(ticket)
                found.append((conversation, ticket))
        if len(rows) < batch:
            break
        batch = min(batch * 4, _MAX_BATCH)
    return found if wanted is None else found[:wanted]


def _newest_matches(
    session: Session, dialect: str, expression: str, below: int | None, batch: int
) -> list[tuple[int, int]]:
    """(message id, conversation id) of the newest `batch` matching messages older than
    `below`, newest first."""
    if dialect == "postgresql":
        older = "AND s.message_id < :below " if below is not None else ""
        sql = (
            f"SELECT s.message_id, msg.conversation_id FROM {TABLE} s "
            "JOIN messages msg ON msg.id = s.message_id "
            f"WHERE s.document @@ CAST(:q AS tsquery) {older}"
            "ORDER BY s.message_id DESC LIMIT :n"
        )
    else:  # FTS5 consumes ORDER BY rowid DESC and the rowid bound: no sort, no full read
        older = f"AND {TABLE}.rowid < :below " if below is not None else ""
        sql = (
            "SELECT hit.id, msg.conversation_id FROM "
            f"(SELECT rowid AS id FROM {TABLE} WHERE {TABLE} MATCH :q {older}"
            "ORDER BY rowid DESC LIMIT :n) hit "
            "JOIN messages msg ON msg.id = hit.id"
        )
    values: dict[str, Any] = {"q": expression, "n": batch}
    if below is not None:
        values["below"] = below
    rows = [(int(a), int(b)) for a, b in session.execute(text(sql), values)]
    return sorted(rows, reverse=True)


def _passing(session: Session, plan: _Plan, conversations: list[int]) -> dict[int, int | None]:
    """The conversations (with their ticket) that pass the plan's filters and `-` words."""
    statement = (
        select(m.Conversation.id, m.Conversation.ticket_id)
        .outerjoin(m.Ticket, m.Conversation.ticket_id == m.Ticket.id)
        .where(m.Conversation.id.in_(conversations), *plan.conditions)
    )
    return {int(c): (int(t) if t is not None else None) for c, t in session.execute(statement)}


def conversation_conditions(
    session: Session, query: SearchQuery, *, viewer_id: int | None, now: datetime
) -> list[ColumnElement[bool]]:
    """The query as conditions on a conversation (m.Conversation, its ticket outer-joined as
    m.Ticket), for lists that keep their own order (the inbox): the words as a set of
    conversations when few messages have them, else as a probe per conversation."""
    dialect = session.get_bind().dialect.name
    conditions: list[ColumnElement[bool]] = []
    if query.groups:
        expression = _match_text(dialect, query.groups)
        if _few_matches(session, dialect, expression):
            conditions.append(m.Conversation.id.in_(_matched_conversations(dialect, expression)))
        else:
            conditions.append(_has_message_matching(dialect, expression, "words"))
    if query.excluded:
        expression = _match_any(dialect, query.excluded)
        conditions.append(~_has_message_matching(dialect, expression, "excluded"))
    conditions.extend(_filters(session, query, viewer_id, now))
    return conditions


def _order_name(plan: _Plan) -> str:
    return "newest" if plan.score is None else "relevance"


def _newest() -> tuple[Any, ...]:
    return (m.Conversation.updated_at.desc(), m.Conversation.id.desc())


def _rows(session: Session, ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    found = session.scalars(  # channel and contact with the page, not one query per row
        select(m.Conversation)
        .where(m.Conversation.id.in_(ids))
        .options(selectinload(m.Conversation.channel), selectinload(m.Conversation.contact))
    )
    by_id = {c.id: c for c in found}
    counts = dict(
        session.execute(
            select(m.Message.conversation_id, func.count())
            .where(m.Message.conversation_id.in_(ids))
            .group_by(m.Message.conversation_id)
        ).all()
    )
    return [conversation_summary(by_id[i], counts.get(i, 0)) for i in ids if i in by_id]


# --- the full-text part -----------------------------------------------------------------------


def _matches(dialect: str, expression: str) -> Any:
    """(conversation_id, score) of the messages matching an index expression; higher is better."""
    if dialect == "postgresql":
        sql = (
            "SELECT msg.conversation_id AS conversation_id, "
            "max(ts_rank(s.document, CAST(:q AS tsquery))) AS score "
            f"FROM {TABLE} s JOIN messages msg ON msg.id = s.message_id "
            "WHERE s.document @@ CAST(:q AS tsquery) GROUP BY msg.conversation_id"
        )
    else:  # bm25 cannot sit inside an aggregate: score each message first
        sql = (
            "SELECT msg.conversation_id AS conversation_id, max(hit.score) AS score FROM "
            f"(SELECT rowid AS message_id, -bm25({TABLE}, 10.0, 4.0, 2.0, 1.0) AS score "
            f"FROM {TABLE} WHERE {TABLE} MATCH :q LIMIT -1) hit "  # LIMIT: not flattened
            "JOIN messages msg ON msg.id = hit.message_id GROUP BY msg.conversation_id"
        )
    return text(sql).bindparams(q=expression).columns(conversation_id=Integer, score=Float)


def _matched_conversations(dialect: str, expression: str) -> Any:
    """The conversations with a message matching an index expression, unscored (a list that
    keeps its own order needs no relevance)."""
    if dialect == "postgresql":
        sql = (
            f"SELECT msg.conversation_id FROM {TABLE} s JOIN messages msg ON msg.id = s.message_id "
            "WHERE s.document @@ CAST(:q AS tsquery)"
        )
    else:
        sql = (
            f"SELECT msg.conversation_id FROM {TABLE} JOIN messages msg ON msg.id = {TABLE}.rowid "
            f"WHERE {TABLE} MATCH :q"
        )
    return text(sql).bindparams(q=expression).columns(conversation_id=Integer)


def _few_matches(session: Session, dialect: str, expression: str) -> bool:
    """At most RELEVANCE_LIMIT messages match (reads no more than that many index entries)."""
    if dialect == "postgresql":
        sql = (
            f"SELECT count(*) FROM (SELECT 1 FROM {TABLE} "
            "WHERE document @@ CAST(:q AS tsquery) LIMIT :cap) hit"
        )
    else:
        sql = f"SELECT count(*) FROM (SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH :q LIMIT :cap)"
    found = session.scalar(text(sql), {"q": expression, "cap": RELEVANCE_LIMIT + 1})
    return int(found or 0) <= RELEVANCE_LIMIT


def _has_message_matching(dialect: str, expression: str, name: str) -> ColumnElement[bool]:
    """Some message of the conversation matches: one index probe per message (by its id)."""
    if dialect == "postgresql":
        probe = text(
            f"EXISTS (SELECT 1 FROM {TABLE} s WHERE s.message_id = msg_{name}.id "
            f"AND s.document @@ CAST(:q_{name} AS tsquery))"
        )
    else:
        probe = text(
            f"EXISTS (SELECT 1 FROM {TABLE} WHERE {TABLE} MATCH :q_{name} "
            f"AND {TABLE}.rowid = msg_{name}.id)"
        )
    message = aliased(m.Message, name=f"msg_{name}")
    return exists(
        select(message.id).where(
            message.conversation_id == m.Conversation.id,
            probe.bindparams(**{f"q_{name}": expression}),
        )
    )


def _match_text(dialect: str, groups: Sequence[Sequence[Term]]) -> str:
    joined = " & " if dialect == "postgresql" else " AND "
    return joined.join(_match_any(dialect, group, grouped=True) for group in groups)


def _match_any(dialect: str, terms: Sequence[Term], grouped: bool = False) -> str:
    parts = [_term(dialect, term) for term in terms]
    joined = (" | " if dialect == "postgresql" else " OR ").join(parts)
    return f"({joined})" if grouped and len(parts) > 1 else joined


def _term(dialect: str, term: Term) -> str:
    if dialect == "postgresql":
        weight = _PG_WEIGHTS[term.field]
        last = len(term.words) - 1
        lexemes = [
            f"'{word}'" + (":" + ("*" if term.prefix and i == last else "") + weight).rstrip(":")
            for i, word in enumerate(term.words)
        ]
        return "(" + " <-> ".join(lexemes) + ")"
    phrase = '"' + " ".join(term.words) + '"' + (" *" if term.prefix else "")
    return _SQLITE_COLUMNS[term.field] + phrase


# --- filters -----------------------------------------------------------------------------------


def _filters(
    session: Session, query: SearchQuery, viewer_id: int | None, now: datetime
) -> list[ColumnElement[bool]]:
    conditions = []
    for item in query.filters:
        condition = _condition(session, item.name, item.value, viewer_id, now)
        conditions.append(not_(condition) if item.negated else condition)
    return conditions


def _condition(
    session: Session, name: str, value: str, viewer_id: int | None, now: datetime
) -> ColumnElement[bool]:
    conversation, ticket = m.Conversation, m.Ticket
    owner = func.coalesce(ticket.owner_id, conversation.assignee_id)
    if name == "is":
        if value.lower() == "unassigned":
            return owner.is_(None)
        if value.lower() == "snoozed":  # SPEC D23: the conversation's or its ticket's time
            return or_(
                and_(conversation.snoozed_until.is_not(None), conversation.snoozed_until > now),
                and_(ticket.snoozed_until.is_not(None), ticket.snoozed_until > now),
            )  # never NULL, so -is:snoozed finds the rest
        return conversation.state == value.lower()
    if name == "ticket":
        closed = select(m.Status.id).where(m.Status.state == m.TicketState.CLOSED)
        return (
            ticket.status_id.in_(closed)
            if value.lower() == "closed"
            else and_(ticket.id.is_not(None), ticket.status_id.not_in(closed))
        )
    if name == "has":
        return exists(
            select(m.Attachment.id)
            .join(m.Message, m.Attachment.message_row_id == m.Message.id)
            .where(m.Message.conversation_id == conversation.id, m.Attachment.inline.is_(False))
        )
    if name in ("before", "after"):
        bound = date_bound(name, value, now)
        sent = m.Message.sent_at < bound if name == "before" else m.Message.sent_at >= bound
        return exists(
            select(m.Message.id).where(m.Message.conversation_id == conversation.id, sent)
        )
    if name == "owner":
        return owner == _user(session, value, viewer_id)
    if name == "status":
        return ticket.status_id.in_(_statuses(session, value))
    if name == "channel":
        return conversation.channel_id == _named(session, m.Channel, "channel", value)
    if name == "pipeline":
        return ticket.pipeline_id == _named(session, m.Pipeline, "pipeline", value)
    if name == "tag":  # a tag nobody uses finds nothing (tags are free words, not a fixed set)
        wanted = " ".join(value.split()).casefold()
        return exists(
            select(m.TicketTag.ticket_id).where(
                m.TicketTag.ticket_id == ticket.id, m.TicketTag.tag == wanted
            )
        )
    if name == "prop":
        return _property(session, value)
    raise QueryError(f"{name}: is not a filter")


def _property(session: Session, value: str) -> ColumnElement[bool]:
    """prop:NAME=VALUE (issue 13): the ticket's value of a custom property, read by its type
    (prop:seats=3.0 finds 3; a choice in any case)."""
    name, typed = prop_value(value)
    prop = session.scalar(select(m.PropertyDef).where(m.PropertyDef.name == name.casefold()))
    if prop is None:
        known = ", ".join(session.scalars(select(m.PropertyDef.name).order_by(m.PropertyDef.name)))
        raise QueryError(f"prop:{name} is not a property (properties: {known or 'none yet'})")
    kind = property_types.find(prop.kind)
    try:
        stored = kind.parse(typed, list(prop.choices or ())) if kind is not None else typed
    except property_types.BadValue as exc:
        raise QueryError(f"prop:{name}: {exc}") from None
    return exists(
        select(m.TicketProperty.ticket_id).where(
            m.TicketProperty.ticket_id == m.Ticket.id,
            m.TicketProperty.property_id == prop.id,
            m.TicketProperty.value == stored,
        )
    )


def _user(session: Session, value: str, viewer_id: int | None) -> int:
    if value.lower() == "me":
        if viewer_id is None:
            raise QueryError("owner:me needs to know who you are: run as a user (--as NAME)")
        return viewer_id
    users = list(session.scalars(select(m.User)))
    wanted = value.casefold()
    for user in users:
        names = {user.name.casefold(), (user.email or "").casefold(), user.display_name.casefold()}
        if wanted in names:
            return user.id
    known = ", ".join(sorted(u.name for u in users)) or "none yet"
    raise QueryError(f"owner:{value} is nobody here (users: me, {known})")


def _statuses(session: Session, value: str) -> list[int]:
    statuses = list(session.scalars(select(m.Status).order_by(m.Status.position)))
    found = [s.id for s in statuses if s.label.casefold() == value.casefold()]
    if not found:
        known = ", ".join(dict.fromkeys(s.label for s in statuses)) or "none yet"
        raise QueryError(f"status:{value} is not a status (statuses: {known})")
    return found


def _named(session: Session, model: Any, kind: str, value: str) -> int:
    rows = list(session.execute(select(model.id, model.name)).all())
    for row_id, name in rows:
        if name.casefold() == value.casefold():
            return int(row_id)
    known = ", ".join(sorted(name for _, name in rows)) or "none yet"
    raise QueryError(f"{kind}:{value} is not a {kind} ({kind}s: {known})")


# --- cursors -----------------------------------------------------------------------------------


def _encode(position: int) -> str:
    return pack_cursor("search", [position])


def _decode(cursor: str) -> int:
    [position] = unpack_cursor("search", cursor, 1)
    if not isinstance(position, int) or position < 0:
        raise bad_cursor("search", cursor)
    return position


def problem(session: Session, typed: str, *, viewer_id: int | None) -> str | None:
    """What is wrong with a search as typed (None: nothing), names checked against the desk."""
    try:
        conversation_conditions(session, parse(typed), viewer_id=viewer_id, now=m.utcnow())
    except QueryError as exc:
        return str(exc)
    return None
