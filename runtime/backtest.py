"""Backtest (SPEC B2.1): replay the desk's recorded inbound mail and rep actions of a window
twice, on two scratch copies of the desk, once under its own rules and once under a file's
(automation as code), on a simulated clock, and compare what each would have done. The two
replays run side by side, each in a process of its own (issue 15: 10,000 messages in under a
minute on two cores).

The copies are made with the backup's machinery (SQLite's online backup API, runtime.backup),
in a private temporary directory removed afterwards; the real desk is only read. Each copy
forgets what happened from the start of the window on (tickets, threads, messages, timeline,
emails, events, enrollments, tasks made since then) and loses its channels' secret references,
so nothing can resolve a secret; nothing is sent (no sender runs, no transport is made) and no
socket is opened (a replay's process refuses every outgoing connection). The replay then
stores each recorded inbound message at the time it arrived and makes each recorded rep action
(a move, close or reopen; a reply) at the time it was made, running the automation it causes
and every delayed step that falls due in between, as the engine would have.

PostgreSQL desks are refused with a one-line reason: a copy of one would be a second
PostgreSQL database (pg_dump into a server the backtest would have to create or be given). The
way there is a SQLite desk made from it: `automation export` then `automation apply` on a fresh
SQLite desk, and `export --format mbox` then `import --historical` (the rep actions of the
PostgreSQL desk are then not replayed).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import create_engine, delete, func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from automation import services
from automation.as_code.apply import apply as apply_rules
from automation.backtest import BacktestReport, Outcome, compare, rule_counts
from automation.engine import process_due, process_local, process_pending
from automation.events import Timeline
from automation.importer import PENDING_PER_MESSAGE, ImportSummary, Prepared, prepare, store_batch
from mail.sources import RawItem
from runtime.backup import BackupError, backup
from runtime.desk import Desk
from storage import models as m
from storage.database import Database, normalize_url


class BacktestError(Exception):
    """The backtest cannot run; the message says why."""


class SimulatedClock:
    """The time the replay's changes see; the replay sets it to each recorded step's time."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class Step:
    at: datetime
    kind: str  # message / status / reply
    key: str = ""  # the ticket's first Message-ID (status, reply)
    channel_id: int = 0
    raw: bytes = b""
    user: str = ""
    status: str = ""
    body: str = ""


REPLAYED = {"move": "status", "close": "status", "reopen": "status", "reply": "reply"}


async def backtest(
    url: str, rules: dict[str, Any], since: datetime, until: datetime
) -> BacktestReport:
    """The differences between the desk's rules and `rules` (a checked automation file)."""
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() != "sqlite":
        raise BacktestError(
            "backtest replays on private SQLite copies and refuses a PostgreSQL desk: make a "
            "SQLite desk of it (automation export/apply, export --format mbox, import "
            "--historical) and backtest that"
        )
    source = Path(parsed.database or "")
    report = BacktestReport(since.isoformat(), until.isoformat())
    steps, skipped, admin = await recorded(url, since, until)
    report.skipped = skipped
    report.messages = sum(1 for s in steps if s.kind == "message")
    report.actions = len(steps) - report.messages
    with tempfile.TemporaryDirectory(prefix="deskline-backtest-") as scratch:
        replays = await _replay_both(source, Path(scratch), steps, since, until, admin, rules)
    (current, counts, said), (changed, file_counts, _) = replays
    report.skipped += said  # said once, for the replay under the desk's rules
    report.tickets = len(set(current) | set(changed))
    report.differences = compare(current, changed)
    report.rules = rule_counts(counts, file_counts)
    return report


Replayed = tuple[dict[str, Outcome], dict[str, int], list[str]]


async def recorded(url: str, since: datetime, until: datetime) -> tuple[list[Step], list[str], str]:
    """What the window holds to replay: its steps in order, the rep actions not replayed (and
    why), and the admin whose name applies a file's rules."""
    db = Database(normalize_url(url))
    try:
        return await db.query(lambda s: _recorded(s, since, until))
    finally:
        await db.close()


async def _replay_both(
    source: Path,
    scratch: Path,
    steps: list[Step],
    since: datetime,
    until: datetime,
    admin: str,
    rules: dict[str, Any],
) -> list[Replayed]:
    """The two replays, under the desk's rules and under the file's, side by side in two
    processes of their own (issue 15: each is a whole import of the window, and the two share
    nothing but the recorded steps)."""
    loop = asyncio.get_running_loop()
    # spawn: this process may hold database threads a fork would copy mid-flight
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        replays = [
            loop.run_in_executor(
                pool, replay_copy, source, scratch / f"{name}.db", steps, since, until, admin, own
            )
            for name, own in (("current", None), ("file", rules))
        ]
        try:
            return list(await asyncio.gather(*replays))
        except BackupError as exc:
            raise BacktestError(f"cannot copy the desk: {exc}") from exc


def replay_copy(
    source: Path,
    copy: Path,
    steps: list[Step],
    since: datetime,
    until: datetime,
    admin: str,
    rules: dict[str, Any] | None,
) -> Replayed:
    """In a replay's own process: copy the desk, forget the window and replay it; what the
    replay found, and the recorded steps it could not make. The process opens no connection."""
    refuse_connections()
    backup(f"sqlite:///{source}", copy)
    _forget_since(copy, since)
    said: list[str] = []
    outcomes, counts = asyncio.run(_replay(copy, steps, since, until, admin, rules, said))
    return outcomes, counts, said


class ConnectionRefused(OSError):
    """A replay tried to open a connection (B2.1: it opens none)."""


def refuse_connections() -> None:
    """From now on this process refuses every outgoing connection: a replay sends nothing and
    reaches no server, whatever its rules say (B2.1)."""

    def refuse(self: socket.socket, address: Any) -> None:
        raise ConnectionRefused(f"a backtest opens no connection (to {address!r})")

    socket.socket.connect = refuse  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign,assignment]


async def window_of_last(url: str, count: int, until: datetime) -> datetime | None:
    """Where the window of the last `count` received messages before `until` begins (the
    oldest of them arrived then); None when there is none."""
    newest = _replayable(until).limit(count).subquery()
    db = Database(normalize_url(url))
    try:
        return await db.query(lambda s: s.scalar(select(func.min(newest.c.created_at))))
    finally:
        await db.close()


def _replayable(until: datetime) -> Any:
    """The received messages a replay stores (they kept their bytes), newest first."""
    return (
        select(m.Message.created_at)
        .where(
            m.Message.direction == "inbound",
            m.Message.raw.is_not(None),
            m.Message.created_at < until,
        )
        .order_by(m.Message.created_at.desc(), m.Message.id.desc())
    )


# --- what was recorded ------------------------------------------------------------------------


def _recorded(
    session: Session, since: datetime, until: datetime
) -> tuple[list[Step], list[str], str]:
    steps: list[Step] = []
    inbound = session.scalars(
        select(m.Message)
        .where(
            m.Message.direction == "inbound",
            m.Message.raw.is_not(None),
            m.Message.created_at >= since,
            m.Message.created_at < until,
        )
        .order_by(m.Message.created_at, m.Message.id)
    )
    for message in inbound:
        steps.append(
            Step(
                message.created_at, "message", channel_id=message.channel_id, raw=message.raw or b""
            )
        )
    skipped: list[str] = []
    actions = session.scalars(
        select(m.PersonAction)
        .where(m.PersonAction.at >= since, m.PersonAction.at < until)
        .order_by(m.PersonAction.at, m.PersonAction.id)
    )
    for action in actions:
        step = _action_step(session, action)
        if isinstance(step, str):
            skipped.append(f"{action.summary}: {step}")
        else:
            steps.append(step)
    steps.sort(key=lambda s: (s.at, s.kind != "message"))
    admin = session.scalar(select(m.User.name).where(m.User.is_admin).order_by(m.User.id))
    return steps, skipped, admin or ""


def _action_step(session: Session, action: m.PersonAction) -> Step | str:
    kind = REPLAYED.get(action.kind)
    if kind is None:
        return f"a {action.kind} is not replayed"
    if action.undone_at is not None:
        return "undone"
    if action.ticket_id is None or action.event_id is None:
        return "not on a ticket"
    key = _key(session, action.ticket_id)
    if key is None:
        return "its ticket has no first message"
    user = session.get(m.User, action.user_id)
    name = user.name if user is not None else ""
    if kind == "status":
        line = session.scalar(
            select(m.TimelineEvent)
            .where(
                m.TimelineEvent.ticket_id == action.ticket_id,
                m.TimelineEvent.type == Timeline.STATUS_CHANGED,
                m.TimelineEvent.id <= action.event_id,
            )
            .order_by(m.TimelineEvent.id.desc())
            .limit(1)
        )
        if line is None:
            return "its status change is not on the timeline"
        return Step(action.at, kind, key=key, user=name, status=str(line.data.get("to")))
    message = session.scalar(
        select(m.Message)
        .where(m.Message.direction == "outbound", m.Message.author_user_id == action.user_id)
        .where(m.Message.created_at >= action.at)
        .join(m.Conversation, m.Conversation.id == m.Message.conversation_id)
        .where(m.Conversation.ticket_id == action.ticket_id)
        .order_by(m.Message.id)
        .limit(1)
    )
    if message is None:
        return "its email is not stored"
    return Step(action.at, kind, key=key, user=name, body=message.body_text)


def _key(session: Session, ticket_id: int) -> str | None:
    ticket = session.get(m.Ticket, ticket_id)
    if ticket is None or ticket.origin_conversation_id is None:
        return None
    return session.scalar(
        select(m.Message.message_id)
        .where(m.Message.conversation_id == ticket.origin_conversation_id)
        .order_by(m.Message.id)
        .limit(1)
    )


# --- the scratch copy -------------------------------------------------------------------------


def _forget_since(path: Path, since: datetime) -> None:
    """The copy as the desk stood when the window began (rows made since are gone), without
    secret references."""
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.execute(update(m.Channel).values(imap_secret=None, smtp_secret=None))
            for model, column in (
                (m.Ticket, m.Ticket.created_at),
                (m.Conversation, m.Conversation.created_at),
                (m.Message, m.Message.created_at),
                (m.TimelineEvent, m.TimelineEvent.at),
                (m.OutboxMail, m.OutboxMail.created_at),
                (m.DomainEvent, m.DomainEvent.created_at),
                (m.PersonAction, m.PersonAction.at),
                (m.Enrollment, m.Enrollment.at),
                (m.Task, m.Task.created_at),
                (m.ActionRun, m.ActionRun.at),
            ):
                conn.execute(delete(model).where(column >= since))
            _drop_orphans(conn)
            # what was still to happen when the copy was taken is not part of the replay
            conn.execute(
                update(m.DomainEvent)
                .where(m.DomainEvent.processed_at.is_(None))
                .values(processed_at=since)
            )
            conn.execute(
                update(m.OutboxMail)
                .where(m.OutboxMail.state.in_(("queued", "held")))
                .values(state="cancelled")
            )
    finally:
        engine.dispose()


_PARENTS = {
    "ticket_id": m.Ticket.id,
    "conversation_id": m.Conversation.id,
    "message_row_id": m.Message.id,
    "enrollment_id": m.Enrollment.id,
}


def _drop_orphans(conn: Any) -> None:
    """Rows that hang off a row made since are gone with it; a thread older than the window
    whose ticket is newer stays, without its ticket (as it was when the window began)."""
    conn.execute(
        update(m.Conversation)
        .where(
            m.Conversation.ticket_id.is_not(None),
            m.Conversation.ticket_id.not_in(select(m.Ticket.id)),
        )
        .values(ticket_id=None, association=None)
    )
    for table in m.Base.metadata.sorted_tables:
        for column, parent in _PARENTS.items():
            if column in table.c and table.name not in ("tickets",):
                col = table.c[column]
                conn.execute(delete(table).where(col.is_not(None), col.not_in(select(parent))))


# --- the replay -------------------------------------------------------------------------------


BATCH = 500  # recorded messages stored in one transaction of the private copy


async def _replay(
    path: Path,
    steps: list[Step],
    since: datetime,
    until: datetime,
    admin: str,
    rules: dict[str, Any] | None,
    skipped: list[str],
) -> tuple[dict[str, Outcome], dict[str, int]]:
    clock = SimulatedClock(since)
    db = Database(f"sqlite:///{path}", clock=clock)
    desk = Desk(db)
    try:
        if rules is not None:
            await desk.act_as(admin, lambda repo, user: apply_rules(repo, user, rules))
        for group in _groups(steps):
            if group[0].kind == "message":
                # Consecutive recorded messages of one channel go in one transaction; the clock
                # moves to each message's time before it is stored, and the delayed steps due
                # by then run first, as the engine would have run them (B2.1).
                # A private copy no one else writes: its templates render inside the
                # transaction (D10 keeps a shared desk's write lock short; here none is shared).
                await _store_run(db, clock, group)
                await desk.drain()
                continue
            step = group[0]
            clock.now = max(clock.now, step.at)
            await desk.drain()  # delayed steps due before it
            try:
                await _step(desk, step)
            except services.DomainError as exc:
                skipped.append(f"{step.kind} on {step.key} at {step.at:%H:%M}: {exc}")
        clock.now = max(clock.now, until)
        await desk.drain()
        return await db.query(lambda s: (_outcomes(s, since), _rule_counts(s, since)))
    finally:
        await db.close()


def _groups(steps: list[Step]) -> list[list[Step]]:
    """Runs of up to BATCH consecutive messages of one channel; each rep action alone."""
    groups: list[list[Step]] = []
    for step in steps:
        last = groups[-1] if groups else None
        if (
            step.kind == "message"
            and last is not None
            and last[0].kind == "message"
            and last[0].channel_id == step.channel_id
            and len(last) < BATCH
        ):
            last.append(step)
        else:
            groups.append([step])
    return groups


async def _store_run(db: Database, clock: SimulatedClock, group: list[Step]) -> None:
    """Store a run of recorded messages in one transaction (one synchronous connection: ~2x),
    first without savepoints; if anything in it fails, the run is rolled back and stored
    again with a savepoint per message and event, as the importer does (issue 16)."""
    start = clock.now
    try:
        await db.run_bulk(_Timed(clock, group, isolate=False).store)
    except Exception:
        clock.now = start  # the rolled-back run moved the clock
        await db.run_bulk(_Timed(clock, group, isolate=True).store)


class _Timed:
    """A run of recorded messages, parsed on the way, each at its recorded time: before a
    message is stored the clock moves to its time and the workflow steps due by then run (and
    the events they raise), inside the run's transaction."""

    def __init__(self, clock: SimulatedClock, steps: list[Step], *, isolate: bool) -> None:
        self.clock = clock
        self.steps = steps
        self.isolate = isolate
        self.repo: Any = None

    def store(self, repo: Any) -> ImportSummary:
        self.repo = repo
        items = cast(Sequence[Prepared], self)  # store_batch only iterates it, once
        return store_batch(
            repo, self.steps[0].channel_id, items, historical=False, isolate=self.isolate
        )

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, n: int) -> Prepared:  # pragma: no cover - store_batch iterates
        return _prepared(self.steps[n])

    def __iter__(self) -> Iterator[Prepared]:
        for step in self.steps:
            if step.at > self.clock.now:
                self.clock.now = step.at
                while process_due(self.repo, BATCH, isolate=self.isolate):
                    # the events the steps raised, before the message (E6): inline ones
                    # without savepoints, queued ones each in its own
                    process_local(self.repo, isolate=self.isolate)
                    process_pending(self.repo, PENDING_PER_MESSAGE)
            yield _prepared(step)


def _prepared(step: Step) -> Prepared:
    return prepare(RawItem("backtest", step.at, 0, lambda: step.raw, len(step.raw)))


async def _step(desk: Desk, step: Step) -> None:
    number = await desk.db.query(lambda s: _number(s, step.key))
    if number is None:
        raise services.DomainError(f"no ticket for {step.key} in the replay")
    change: Callable[[Any, Any], Any]
    if step.kind == "status":
        status = step.status
        change = lambda repo, user: services.move_ticket(repo, user, number, status)  # noqa: E731
    else:
        body = step.body
        change = lambda repo, user: services.reply(  # noqa: E731
            repo, user, number, body, send_now=True
        )
    await desk.act_as(step.user, change)


def _number(session: Session, key: str) -> int | None:
    first = session.scalar(select(m.Message).where(m.Message.message_id == key).limit(1))
    if first is None:
        return None
    return session.scalar(
        select(m.Ticket.id).where(m.Ticket.origin_conversation_id == first.conversation_id)
    )


def _outcomes(session: Session, since: datetime) -> dict[str, Outcome]:
    """Every ticket the window touched, as the replay left it: a query per aspect for all of
    them (not one per ticket: a window of 10,000 tickets would be 80,000 queries)."""
    touched = (
        select(m.TimelineEvent.ticket_id)
        .where(m.TimelineEvent.at >= since, m.TimelineEvent.ticket_id.is_not(None))
        .distinct()
        .scalar_subquery()
    )
    tickets = session.execute(
        select(
            m.Ticket.id,
            m.Ticket.subject,
            m.Ticket.owner_id,
            m.Ticket.priority,
            m.Ticket.origin_conversation_id,
        )
        .where(m.Ticket.id.in_(touched))
        .order_by(m.Ticket.id)
    ).all()
    keys = _first_message_ids(session, [t.origin_conversation_id for t in tickets])
    aspects = _aspects(session, touched, since)
    owners: dict[int, str] = {i: n for i, n in session.execute(select(m.User.id, m.User.name))}
    found: dict[str, Outcome] = {}
    for ticket in tickets:
        key = keys.get(ticket.origin_conversation_id)
        if key is None:
            continue
        got = {name: tuple(rows.get(ticket.id, ())) for name, rows in aspects.items()}
        found[key] = Outcome(
            key,
            ticket.subject,
            got["path"],
            got["emails"],
            got["tasks"],
            tags=got["tags"],
            properties=got["properties"],
            owner=(owners.get(ticket.owner_id, "") if ticket.owner_id is not None else "",),
            priority=(str(ticket.priority or ""),),
            notes=got["notes"],
        )
    return found


def _first_message_ids(session: Session, conversations: list[int | None]) -> dict[int, str]:
    """The Message-ID of each conversation's first message (a ticket's key)."""
    wanted = [c for c in conversations if c is not None]
    first = (
        select(func.min(m.Message.id))
        .where(m.Message.conversation_id.in_(wanted))
        .group_by(m.Message.conversation_id)
        .scalar_subquery()
    )
    rows = session.execute(
        select(m.Message.conversation_id, m.Message.message_id).where(m.Message.id.in_(first))
    )
    return {conversation: mid for conversation, mid in rows if mid is not None}


def _aspects(session: Session, touched: Any, since: datetime) -> dict[str, dict[int, list[str]]]:
    """Per aspect of an outcome, per ticket, its values in order."""
    line, outbox = m.TimelineEvent, m.OutboxMail
    path = session.execute(
        select(line.ticket_id, line.type, line.data)
        .where(
            line.ticket_id.in_(touched),
            line.at >= since,
            line.type.in_((Timeline.TICKET_CREATED, Timeline.STATUS_CHANGED)),
        )
        .order_by(line.id)
    )
    emails = session.execute(
        select(outbox.ticket_id, outbox.template_name, outbox.kind, outbox.subject, outbox.state)
        .where(outbox.ticket_id.in_(touched), outbox.created_at >= since)
        .order_by(outbox.id)
    )
    tasks = session.execute(
        select(m.Task.ticket_id, m.Task.title)
        .where(m.Task.ticket_id.in_(touched), m.Task.created_at >= since)
        .order_by(m.Task.id)
    )
    tags = session.execute(
        select(m.TicketTag.ticket_id, m.TicketTag.tag)
        .where(m.TicketTag.ticket_id.in_(touched))
        .order_by(m.TicketTag.tag)
    )
    properties = session.execute(
        select(m.TicketProperty.ticket_id, m.PropertyDef.name, m.TicketProperty.value)
        .join(m.PropertyDef, m.PropertyDef.id == m.TicketProperty.property_id)
        .where(m.TicketProperty.ticket_id.in_(touched))
        .order_by(m.PropertyDef.name)
    )
    notes = session.execute(
        select(line.ticket_id, line.summary)
        .where(
            line.ticket_id.in_(touched),
            line.at >= since,
            line.type == Timeline.NOTE,
            line.actor_kind.in_(RULES),
        )
        .order_by(line.id)
    )
    return {
        "path": _grouped(
            (t, str(d.get("status" if k == Timeline.TICKET_CREATED else "to"))) for t, k, d in path
        ),
        "emails": _grouped(
            (t, f"{name or kind}: {subject} ({state})") for t, name, kind, subject, state in emails
        ),
        "tasks": _grouped((t, title) for t, title in tasks),
        "tags": _grouped((t, tag) for t, tag in tags),
        "properties": _grouped((t, f"{name}={value}") for t, name, value in properties),
        "notes": _grouped((t, summary) for t, summary in notes),
    }


def _grouped(rows: Iterable[tuple[Any, str]]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for ticket_id, value in rows:
        out.setdefault(ticket_id, []).append(value)
    return out


RULES = ("trigger", "workflow")
SKIPS = (Timeline.TRIGGER_SKIPPED, Timeline.ENROLLMENT_SKIPPED, Timeline.ACTION_SKIPPED)


def _rule_counts(session: Session, since: datetime) -> dict[str, int]:
    """Per trigger and workflow, the changes it made: its timeline lines (moves, emails,
    tags, notes, tasks...), not counting the lines saying it was skipped."""
    line = m.TimelineEvent
    rows = session.execute(
        select(line.actor_kind, line.actor_name, func.count())
        .where(line.at >= since, line.actor_kind.in_(RULES), line.type.not_in(SKIPS))
        .group_by(line.actor_kind, line.actor_name)
    )
    return {f"{kind}: {name}": int(count) for kind, name, count in rows}
