"""A big help desk for UI benchmarks: 100,000 tickets in one pipeline, most of them in New.

    .venv/bin/python -m benchmarks.bigdesk PATH [--tickets 100000] [--seed 1] [--replace]
    .venv/bin/python -m benchmarks.bigdesk postgresql://USER@HOST:PORT/EMPTY_DB [--tickets ...]

The schema comes from the real migrations and the settings from the standard desk builder
(`runtime.standard.build_standard` through a runtime Desk: users, a team, one email channel, the
demo's status actions); the bulk rows are then written with SQLAlchemy Core `executemany` on one
synchronous SQLite connection, in one transaction, with foreign keys checked at commit. On
PostgreSQL (`build_big_desk_postgres`, an empty database) the same rows go through one asyncpg
connection (`run_sync`) in one transaction; its foreign keys are not deferrable, so
conversations get their ticket link by one UPDATE after the tickets, and the id sequences are
moved past the explicit ids at the end. This skips the ingestion path on purpose: it is a fixture
for screens (a board column of ~94,000 cards, an inbox of 100,000 conversations), not a test of
the engine; `benchmarks.import_bench` measures ingestion.

What it writes, per ticket: one contact-owned conversation (its origin thread, `association`
"origin", linked both ways), one inbound message with a Message-ID, the sender as participant,
and the two timeline events ingestion writes first ("message received", "ticket created").
Contacts are shared (about one per five tickets). Conversation states follow the ticket's status
(closed tickets have closed conversations), and timestamps are aware UTC datetimes spread over
the last 120 days, newest activity last.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import queue
import random
import sqlite3
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import Engine, Table, create_engine, event, func, insert, select, text, update
from sqlalchemy.engine import Connection

from automation.search.tokens import words
from runtime.desk import Desk
from runtime.standard import (
    CLOSED,
    RECEIVED,
    ChannelSpec,
    RepSpec,
    Setup,
    build_standard,
    notify_team,
)
from storage import models as m
from storage import search_index
from storage.database import Database, DatabaseError, normalize_url
from storage.repository import SqlRepository

T = TypeVar("T")

DOMAIN = "bigdesk.deskline.test"
SUPPORT = f"support@{DOMAIN}"
REPS = ("alice", "bob", "carol", "dave")
TEAM = "Tier 1"
SETUP = Setup(
    channels=(ChannelSpec("support", address=SUPPORT),),
    reps=tuple(RepSpec(name, name.title(), f"{name}@{DOMAIN}") for name in REPS),
    team=TEAM,
    actions=(RECEIVED, notify_team(TEAM), CLOSED),
)
# Share of tickets per status (the default pipeline); New must hold at least 90%.
SHARES = {"New": 0.94, "Waiting on contact": 0.025, "Waiting on us": 0.015, "Closed": 0.02}
CONTACTS_PER_TICKET = 0.2
CHUNK = 10_000  # rows per executemany call (keeps memory flat)
# Tables whose rows bigdesk writes with explicit ids (PostgreSQL: their sequences move past them).
EXPLICIT_IDS = (m.Contact, m.Conversation, m.Message, m.Ticket, m.TimelineEvent)
DAYS = 120
THREAD_REASON = "no In-Reply-To, References or [#N] token matched: new thread"


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST = _words(
    "Ana Ben Chloe Dmitri Emma Farid Grace Hiro Ines Jonas Kemal Lena Marco Nadia Oscar "
    "Priya Rosa Samir Tanja Umar Vera Wei Yusuf Zofia Aiko Bruno Carmen Diego Elif Felix"
)
LAST = _words(
    "Kowalska Okafor Martin Volkov Johansson Haddad Lee Tanaka Garcia Becker Yilmaz "
    "Schneider Rossi Ahmed Larsen Patel Dubois Silva Nasser Horvat Khan Moreau Chen Torres "
    "Nowak Sato"
)
SUBJECTS = (
    "Cannot log in after password reset",
    "Two-factor codes rejected",
    "CSV export is empty",
    "API returns 502 on /v2/orders",
    "Webhook deliveries time out",
    "How do I add a second admin?",
    "Invoice shows the wrong VAT",
    "Charged twice this month",
    "Please cancel our subscription",
    "Calendar shows meetings an hour late",
    "Mobile app crashes on attachments",
    "Cannot invite team members",
    "Reports page loads forever",
    "SSO login fails",
    "Deleted a project by mistake",
    "Notifications not arriving",
    "Import skipped comments",
    "Attachment upload fails",
    "Recurring tasks created twice",
    "Need a receipt for my order",
)
DETAILS = (
    "since this morning",
    "after the update",
    "for our whole team",
    "on {browser}",
    "again",
    "order #{n}",
    "ref {n}",
    "(urgent)",
    "",
    "",
)
BROWSERS = ("Safari", "Firefox", "Chrome", "Edge")
BODIES = (
    "Hi, {subject} — can you help? We have tried everything on our side.",
    "Hello, since yesterday: {subject}. It worked fine last week.",
    "Dear support, {subject}. Our team is blocked, please advise.",
    "Hi there, quick one: {subject}. Thanks!",
)
PRIORITIES = ("normal",) * 14 + ("low", "high", "high", "urgent")


def build_big_desk(
    path: Path,
    *,
    tickets: int = 100_000,
    seed: int = 1,
    replace: bool = False,
    now: datetime | None = None,
    bulk: bool = True,
    phases: dict[str, float] | None = None,
) -> dict[str, int]:
    """Create a Deskline SQLite database at `path` with `tickets` tickets; returns row counts.

    Synchronous: it runs its own event loop for the migrations and settings (in a helper thread
    when the caller is inside a running loop). `path` must not exist unless `replace` is set.
    Deterministic for a seed, except that dates are relative to `now` (default: now).
    `bulk` (the default) writes with `_write_bulk` (plain sqlite3, indexes made after the load);
    `bulk=False` with SQLAlchemy Core `_write`, the reference its test compares it with.
    `phases`, when given, gets the seconds each part of the build took.
    """
    path = Path(path)
    if tickets < 1:
        raise ValueError("tickets must be at least 1")
    sidecars = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    if path.exists():
        if not replace:
            raise FileExistsError(f"{path} exists (use replace=True / --replace)")
        for old in sidecars:
            old.unlink(missing_ok=True)
    began = time.perf_counter()
    ids = _run(_configure(path))
    taken = {"schema and settings (migrations)": time.perf_counter() - began}
    now = now or datetime.now(UTC)
    if bulk:
        taken.update(_write_bulk(path, ids, tickets, random.Random(seed), now))
    if phases is not None:
        phases.update(taken)
    engine = _bulk_engine(path)
    try:
        if not bulk:
            with engine.begin() as conn:
                conn.exec_driver_sql(
                    "PRAGMA defer_foreign_keys=ON"
                )  # links both ways, checked at commit
                _write(conn, ids, tickets, random.Random(seed), now=now)
        with engine.connect() as conn:
            return _counts(conn)
    finally:
        engine.dispose()


async def build_big_desk_postgres(
    url: str, *, tickets: int = 100_000, seed: int = 1
) -> dict[str, int]:
    """Fill the empty PostgreSQL database at `url` like `build_big_desk`; returns row counts.

    Same rows for the same seed (dates relative to now); the schema is migrated here.
    """
    if tickets < 1:
        raise ValueError("tickets must be at least 1")
    desk = Desk(Database(url))
    db = desk.db
    try:
        if await db.is_initialized():
            raise ValueError(f"{db.engine.url!r} is not empty (bigdesk needs a new database)")
        await db.migrate()
        ids = await desk.run(_settings)
        async with db.engine.begin() as conn:
            await conn.run_sync(_write_postgres, ids, tickets, random.Random(seed))
        async with db.engine.connect() as conn:
            return await conn.run_sync(_counts)
    finally:
        await desk.close()


def _write_postgres(
    conn: Connection, ids: dict[str, Any], tickets: int, rng: random.Random
) -> None:
    _write(conn, ids, tickets, rng, link_later=True)
    for model in EXPLICIT_IDS:
        table = _table(model).name
        conn.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}")
        )


def _run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _configure(path: Path) -> dict[str, Any]:
    desk = Desk(Database(str(path)))
    try:
        await desk.db.migrate()
        return await desk.run(_settings)
    finally:
        await desk.close()


def _settings(repo: SqlRepository) -> dict[str, Any]:
    built = build_standard(repo, SETUP)
    pipeline = repo.pipeline(built.pipeline_id)
    return {
        "channel": built.channels["support"],
        "pipeline": pipeline.id,
        "statuses": {s.label: (s.id, s.state) for s in repo.statuses(pipeline.id)},
        "reps": [u.id for u in built.reps],
        "names": {u.id: u.name for u in repo.users()},
        "admin": built.admin_id,
        "pipeline_name": pipeline.name,
    }


def _bulk_engine(path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{path.resolve()}")

    def pragmas(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # our BEGIN below, not the driver's
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=OFF")  # a fixture: a crash means build it again
        cursor.execute("PRAGMA cache_size=-262144")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    event.listen(engine, "connect", pragmas)
    event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    return engine


def _table(model: type[m.Base]) -> Table:
    return cast(Table, model.__table__)


def _statuses(rng: random.Random, tickets: int, labels: list[str]) -> list[str]:
    """Exact shares (rounded; New takes the rest), shuffled."""
    counts = {label: int(tickets * SHARES.get(label, 0.0)) for label in labels if label != "New"}
    counts["New"] = tickets - sum(counts.values())
    out = [label for label, n in counts.items() for _ in range(n)]
    rng.shuffle(out)
    return out


Row = tuple[int, str, int, str, int, str, datetime, datetime]


def _plan(
    ids: dict[str, Any], tickets: int, rng: random.Random, now: datetime
) -> tuple[datetime, list[tuple[str, str]], list[Row]]:
    """The desk's random draws, in one order for both writers: contacts (name, address), then
    one row per ticket (n, status label, status id, state, contact, subject, born, touched)."""
    start = now - timedelta(days=DAYS)
    span = (now - start).total_seconds()
    statuses: dict[str, tuple[int, str]] = ids["statuses"]
    contacts = max(1, int(tickets * CONTACTS_PER_TICKET))
    people = []
    for i in range(1, contacts + 1):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        people.append((name, f"customer{i}@c{i % 997}.example"))
    labels = _statuses(rng, tickets, list(statuses))
    # Creation times sorted so that ids grow with time, as on a real desk.
    created = sorted(start + timedelta(seconds=rng.uniform(0, span * 0.999)) for _ in labels)
    rows: list[Row] = []
    for n, (label, born) in enumerate(zip(labels, created, strict=True), start=1):
        status_id, state = statuses[label]
        contact = rng.randrange(contacts) + 1
        subject = f"{rng.choice(SUBJECTS)} {rng.choice(DETAILS)}".strip().format(
            browser=rng.choice(BROWSERS), n=rng.randint(1000, 99999)
        )
        left = (now - born).total_seconds()
        touched = born if label == "New" else born + timedelta(seconds=rng.uniform(0, left))
        rows.append((n, label, status_id, state, contact, subject, born, touched))
    return start, people, rows


def _write(
    conn: Any,
    ids: dict[str, Any],
    tickets: int,
    rng: random.Random,
    *,
    link_later: bool = False,
    now: datetime | None = None,
) -> None:
    """All bulk rows through SQLAlchemy Core (PostgreSQL; the reference for `_write_bulk`).
    `link_later`: conversations are written without their ticket and linked after the tickets
    (for foreign keys checked at once, as PostgreSQL's are)."""
    channel, pipeline = ids["channel"], ids["pipeline"]
    reps: list[int] = ids["reps"]
    start, people, rows = _plan(ids, tickets, rng, now or datetime.now(UTC))
    _insert(
        conn,
        m.Contact,
        (
            {"id": i, "email": addr, "name": name, "bouncing_until": None, "created_at": start}
            for i, (name, addr) in enumerate(people, start=1)
        ),
    )

    conversations = (_conversation(r, channel, reps) for r in rows)
    if link_later:
        conversations = ({**c, "ticket_id": None} for c in conversations)
    _insert(conn, m.Conversation, conversations)
    _insert(conn, m.Message, (_message(r, channel, people) for r in rows))
    _index(conn, (_message(r, channel, people) for r in rows))
    _insert(
        conn,
        m.Participant,
        ({"conversation_id": r[0], "address": people[r[4] - 1][1]} for r in rows),
    )
    _insert(conn, m.Ticket, (_ticket(r, rng, pipeline, channel, reps) for r in rows))
    if link_later:  # conversation n is ticket n's origin thread
        conv = _table(m.Conversation)
        conn.execute(update(conv).where(conv.c.id <= len(rows)).values(ticket_id=conv.c.id))
    _insert(
        conn,
        m.TimelineEvent,
        _timeline(
            rows, people, reps, ids["names"], ids["admin"], pipeline_name=ids["pipeline_name"]
        ),
    )


# The tables `_write_bulk` fills; their secondary indexes are dropped for the load and made
# again after it, as are the board-count triggers on tickets (the counts are taken at the end).
BULK_TABLES = (
    "contacts",
    "conversations",
    "messages",
    "participants",
    "tickets",
    "timeline_events",
)
BOARD_TRIGGERS = (
    "tickets_board_count_insert",
    "tickets_board_count_delete",
    "tickets_board_count_update",
)
BULK_CHUNK = 50_000  # tickets per round of executemany calls


def _around(template: str) -> tuple[str, str]:
    before, after = template.split("{subject}")
    return " ".join(words(before)), " ".join(words(after))


BODY_WORDS = tuple(_around(body) for body in BODIES)


def _stamp(at: datetime) -> str:
    """A datetime as SQLAlchemy stores `UTCDateTime` in SQLite (UTC, always microseconds)."""
    return at.astimezone(UTC).isoformat(" ", "microseconds")[:26]


def _write_bulk(
    path: Path, ids: dict[str, Any], tickets: int, rng: random.Random, now: datetime
) -> dict[str, float]:
    """The rows of `_write` (the same draws, the same stored values: its test compares the two
    files), written straight into SQLite for a million-ticket desk in under two minutes:
    plain sqlite3 `executemany` of tuples in one transaction, no journal and no fsync while the
    scratch file is built (a crash means build it again), the bulk tables' secondary indexes
    and board-count triggers dropped for the load and made again after it, the board counts
    taken once at the end (SPEC B8.6: the same as the triggers keep), then the journal back to
    WAL as the app expects. Returns the seconds per phase."""
    channel, pipeline = ids["channel"], ids["pipeline"]
    reps: list[int] = ids["reps"]
    names: dict[int, str] = ids["names"]
    admin: int = ids["admin"]
    pipeline_name: str = ids["pipeline_name"]
    began = time.perf_counter()
    start, people, rows = _plan(ids, tickets, rng, now)
    priorities = [rng.choice(PRIORITIES) for _ in rows]  # `_ticket`'s draw, in ticket order
    senders: dict[int, str] = {}
    clock: dict[str, float] = {}
    began = _tick(clock, "random draws", began)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        for pragma in (
            "journal_mode=OFF",
            "synchronous=OFF",
            "locking_mode=EXCLUSIVE",
            "cache_size=-524288",
            "temp_store=MEMORY",
            "threads=2",  # CREATE INDEX sorts in two threads
            "foreign_keys=OFF",  # checked by tests/test_bigdesk.py (foreign_key_check)
        ):
            conn.execute(f"PRAGMA {pragma}")
        marks = ",".join("?" * len(BULK_TABLES))
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({marks})",
            BULK_TABLES,
        ).fetchall()
        triggers = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN "
            f"({','.join('?' * len(BOARD_TRIGGERS))})",
            BOARD_TRIGGERS,
        ).fetchall()
        conn.execute("BEGIN")
        for name, _sql in [*indexes, *triggers]:
            kind = "INDEX" if (name, _sql) in indexes else "TRIGGER"
            conn.execute(f'DROP {kind} "{name}"')
        started = _stamp(start)
        conn.executemany(
            "INSERT INTO contacts (id, email, name, bouncing_until, created_at, unverified) "
            "VALUES (?, ?, ?, NULL, ?, 0)",
            ((i, addr, name, started) for i, (name, addr) in enumerate(people, start=1)),
        )
        event_id = 0
        batches: queue.Queue[Batch | None] = queue.Queue(maxsize=1)
        writes: dict[str, float] = {}
        writer = threading.Thread(target=_writer, args=(conn, batches, writes), daemon=True)
        writer.start()
        began = time.perf_counter()
        for first in range(0, len(rows), BULK_CHUNK):
            chunk = rows[first : first + BULK_CHUNK]
            event_id, batch = _bulk_chunk(
                chunk,
                priorities[first : first + BULK_CHUNK],
                people,
                channel=channel,
                pipeline=pipeline,
                reps=reps,
                names=names,
                admin=admin,
                pipeline_name=pipeline_name,
                event_id=event_id,
                senders=senders,
                clock=clock,
            )
            batches.put(batch)
        batches.put(None)
        writer.join()
        clock.update(writes)
        began = _tick(clock, "rows and inserts overlapped (wall)", began)
        for _name, sql in indexes:
            conn.execute(sql)
        began = _tick(clock, f"indexes after the load ({len(indexes)})", began)
        conn.execute("DELETE FROM board_counts")
        conn.execute(
            "INSERT INTO board_counts (pipeline_id, status_id, tickets) "
            "SELECT pipeline_id, status_id, count(*) FROM tickets GROUP BY pipeline_id, status_id"
        )
        for _name, sql in triggers:
            conn.execute(sql)
        conn.execute("COMMIT")
        conn.execute("PRAGMA locking_mode=NORMAL")
        conn.execute("PRAGMA journal_mode=WAL")
        _tick(clock, "board counts, commit", began)
    finally:
        conn.close()
    return clock


def _bulk_chunk(
    rows: list[Row],
    priorities: list[str],
    people: list[tuple[str, str]],
    *,
    channel: int,
    pipeline: int,
    reps: list[int],
    names: dict[int, str],
    admin: int,
    pipeline_name: str,
    event_id: int,
    senders: dict[int, str],
    clock: dict[str, float],
) -> tuple[int, Batch]:
    """One chunk of tickets' rows for every table; returns the last timeline event id and the
    rows to insert. `senders` caches a contact's sender words; `clock` adds up seconds."""
    began = time.perf_counter()
    conversations: list[tuple[Any, ...]] = []
    messages: list[tuple[Any, ...]] = []
    participants: list[tuple[Any, ...]] = []
    tickets: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    docs: list[tuple[Any, ...]] = []
    to_addrs = json.dumps([SUPPORT])
    # The search index's four fields as `search_index.document` makes them, from words worked
    # out once per template, contact and subject (the test compares the index's tables).
    recipients = " ".join(words(SUPPORT))
    created_data = json.dumps({"pipeline": pipeline_name, "status": "New", "origin": 0})[:-2]
    for (n, label, status_id, state, contact, subject, born, touched), priority in zip(
        rows, priorities, strict=True
    ):
        name, addr = people[contact - 1]
        domain = addr.split("@")[1]
        message_id = f"<big.{n}@{domain}>"
        owner = _owner(n, reps)
        at, moved = _stamp(born), _stamp(touched)
        closed = state == "CLOSED"
        answered = label != "New"
        conversations.append(
            (n, channel, contact, subject, "closed" if closed else "open", owner, n, at, moved)
        )
        body = BODIES[n % len(BODIES)].format(subject=subject.lower())
        body_text = f"{body}\n\n{name.split()[0]}\n"
        messages.append(
            (n, n, channel, message_id, addr, name, to_addrs, subject, at, at, body_text)
        )
        participants.append((n, addr))
        tickets.append(
            (
                n,
                subject,
                pipeline,
                status_id,
                owner,
                priority,
                contact,
                channel,
                n,
                at,
                moved,
                moved if answered else None,
                at,
                moved if answered else None,
                moved if closed else None,
            )
        )
        event_id += 1
        received = event_id
        events.append(
            (
                received,
                at,
                "message_received",
                n,
                n,
                n,
                "contact",
                contact,
                addr,
                None,
                f"Email: {subject}",
                f'{{"message_id": "{message_id}", "automated": null}}',
            )
        )
        event_id += 1
        events.append(
            (
                event_id,
                at,
                "ticket_created",
                n,
                n,
                None,
                "system",
                None,
                "channel support",
                received,
                f"Ticket #{n} created in {pipeline_name} / New",
                f"{created_data}{n}}}",
            )
        )
        if answered:
            event_id += 1
            actor = owner or admin
            events.append(
                (
                    event_id,
                    moved,
                    "status_changed",
                    n,
                    None,
                    None,
                    "user",
                    actor,
                    names[actor],
                    None,
                    f"Status New → {label}",
                    json.dumps({"from": "New", "to": label, "depth": 0, "reason": ""}),
                )
            )
        said = " ".join(words(subject))
        before, after = BODY_WORDS[n % len(BODIES)]
        sender = senders.get(contact)
        if sender is None:
            sender = senders[contact] = " ".join(words(f"{name} {addr}"))
        docs.append(
            (n, said, sender, recipients, f"{before} {said} {after} {name.split()[0].lower()}")
        )
    _tick(clock, "rows (Python)", began)
    return event_id, [
        ("conversations, messages", INSERT_CONVERSATION, conversations),
        ("conversations, messages", INSERT_MESSAGE, messages),
        ("search index (FTS5)", INSERT_DOCUMENT, docs),
        ("tickets, timeline, participants", INSERT_PARTICIPANT, participants),
        ("tickets, timeline, participants", INSERT_TICKET, tickets),
        ("tickets, timeline, participants", INSERT_EVENT, events),
    ]


INSERT_CONVERSATION = (
    "INSERT INTO conversations (id, channel_id, contact_id, source, subject, state, "
    "assignee_id, automated, ticket_id, association, created_at, updated_at) "
    "VALUES (?, ?, ?, 'email', ?, ?, ?, 0, ?, 'origin', ?, ?)"
)
INSERT_MESSAGE = (
    "INSERT INTO messages (id, conversation_id, channel_id, direction, message_id, "
    "in_reply_to, refs, from_addr, from_name, to_addrs, cc_addrs, bcc_addrs, subject, "
    "sent_at, created_at, body_text, body_html, raw, forwarded, forwarded_reason, "
    "automated_kind, automated_reason, sent_from, author_user_id, template_name, "
    "thread_reason, thread_conflict) VALUES (?, ?, ?, 'inbound', ?, NULL, '[]', ?, ?, ?, "
    "'[]', '[]', ?, ?, ?, ?, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, "
    f"'{THREAD_REASON}', NULL)"
)
INSERT_DOCUMENT = (
    f"INSERT INTO {search_index.TABLE} (rowid, {', '.join(search_index.FIELDS)}) "
    "VALUES (?, ?, ?, ?, ?)"
)
INSERT_PARTICIPANT = "INSERT INTO participants (conversation_id, address) VALUES (?, ?)"
INSERT_TICKET = (
    "INSERT INTO tickets (id, subject, pipeline_id, status_id, owner_id, priority, "
    "contact_id, channel_id, source, origin_conversation_id, reopened, created_at, "
    "updated_at, first_response_at, last_customer_reply_at, last_rep_reply_at, closed_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'email', ?, 0, ?, ?, ?, ?, ?, ?)"
)
INSERT_EVENT = (
    "INSERT INTO timeline_events (id, at, type, ticket_id, conversation_id, message_row_id, "
    "actor_kind, actor_id, actor_name, cause_id, summary, data) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
Batch = list[tuple[str, str, list[tuple[Any, ...]]]]


def _writer(
    conn: sqlite3.Connection, batches: queue.Queue[Batch | None], clock: dict[str, float]
) -> None:
    """Write each batch as it comes (a thread: sqlite3 lets go of the GIL while SQLite works,
    so the next chunk's rows are made meanwhile); None ends."""
    while (batch := batches.get()) is not None:
        for phase, sql, rows in batch:
            began = time.perf_counter()
            conn.executemany(sql, rows)
            _tick(clock, f"insert {phase}", began)


def _tick(clock: dict[str, float], phase: str, began: float) -> float:
    """Add the seconds since `began` to `phase`; returns now."""
    now = time.perf_counter()
    clock[phase] = clock.get(phase, 0.0) + now - began
    return now


def _owner(n: int, reps: list[int]) -> int | None:
    return None if n % 3 == 0 else reps[n % len(reps)]


def _conversation(row: tuple[Any, ...], channel: int, reps: list[int]) -> dict[str, Any]:
    n, _label, _status, state, contact, subject, born, touched = row
    return {
        "id": n,
        "channel_id": channel,
        "contact_id": contact,
        "source": "email",
        "subject": subject,
        "state": "closed" if state == "CLOSED" else "open",
        "assignee_id": _owner(n, reps),
        "automated": False,
        "ticket_id": n,
        "association": "origin",
        "created_at": born,
        "updated_at": touched,
    }


def _message(row: tuple[Any, ...], channel: int, people: list[tuple[str, str]]) -> dict[str, Any]:
    n, _label, _status, _state, contact, subject, born, _touched = row
    name, addr = people[contact - 1]
    body = BODIES[n % len(BODIES)].format(subject=subject.lower())
    return {
        "id": n,
        "conversation_id": n,
        "channel_id": channel,
        "direction": "inbound",
        "message_id": f"<big.{n}@{addr.split('@')[1]}>",
        "in_reply_to": None,
        "refs": [],
        "from_addr": addr,
        "from_name": name,
        "to_addrs": [SUPPORT],
        "cc_addrs": [],
        "subject": subject,
        "sent_at": born,
        "created_at": born,
        "body_text": f"{body}\n\n{name.split()[0]}\n",
        "body_html": None,
        "raw": None,
        "forwarded": False,
        "forwarded_reason": None,
        "automated_kind": None,
        "automated_reason": None,
        "sent_from": None,
        "author_user_id": None,
        "template_name": None,
        "thread_reason": THREAD_REASON,
        "thread_conflict": None,
    }


def _ticket(
    row: tuple[Any, ...], rng: random.Random, pipeline: int, channel: int, reps: list[int]
) -> dict[str, Any]:
    n, label, status_id, state, contact, subject, born, touched = row
    answered = label != "New"
    return {
        "id": n,
        "subject": subject,
        "pipeline_id": pipeline,
        "status_id": status_id,
        "owner_id": _owner(n, reps),
        "priority": rng.choice(PRIORITIES),
        "contact_id": contact,
        "channel_id": channel,
        "source": "email",
        "origin_conversation_id": n,
        "reopened": False,
        "created_at": born,
        "updated_at": touched,
        "first_response_at": touched if answered else None,
        "last_customer_reply_at": born,
        "last_rep_reply_at": touched if answered else None,
        "closed_at": touched if state == "CLOSED" else None,
    }


def _timeline(
    rows: list[tuple[Any, ...]],
    people: list[tuple[str, str]],
    reps: list[int],
    names: dict[int, str],
    admin_id: int,
    *,
    pipeline_name: str,
) -> Iterator[dict[str, Any]]:
    event_id = 0
    for n, label, _status, _state, contact, subject, born, touched in rows:
        addr = people[contact - 1][1]
        event_id += 1
        received = event_id
        yield {
            "id": received,
            "at": born,
            "type": "message_received",
            "ticket_id": n,
            "conversation_id": n,
            "message_row_id": n,
            "actor_kind": "contact",
            "actor_id": contact,
            "actor_name": addr,
            "cause_id": None,
            "summary": f"Email: {subject}",
            "data": {"message_id": f"<big.{n}@{addr.split('@')[1]}>", "automated": None},
        }
        event_id += 1
        yield {
            "id": event_id,
            "at": born,
            "type": "ticket_created",
            "ticket_id": n,
            "conversation_id": n,
            "message_row_id": None,
            "actor_kind": "system",
            "actor_id": None,
            "actor_name": "channel support",
            "cause_id": received,
            "summary": f"Ticket #{n} created in {pipeline_name} / New",
            "data": {"pipeline": pipeline_name, "status": "New", "origin": n},
        }
        if label != "New":  # one move by its owner (or an admin) to where it is now
            event_id += 1
            owner = _owner(n, reps)
            yield {
                "id": event_id,
                "at": touched,
                "type": "status_changed",
                "ticket_id": n,
                "conversation_id": None,
                "message_row_id": None,
                "actor_kind": "user",
                "actor_id": owner or admin_id,
                "actor_name": names[owner or admin_id],
                "cause_id": None,
                "summary": f"Status New → {label}",
                "data": {"from": "New", "to": label, "depth": 0, "reason": ""},
            }


def _insert(conn: Any, model: type[m.Base], rows: Iterator[dict[str, Any]] | Any) -> None:
    statement = insert(_table(model))
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            conn.execute(statement, chunk)
            chunk = []
    if chunk:
        conn.execute(statement, chunk)


def _index(conn: Any, messages: Iterator[dict[str, Any]]) -> None:
    """The search index of the messages, as the repository writes it with each message."""
    chunk: list[search_index.Document] = []
    for row in messages:
        chunk.append(
            search_index.document(
                row["id"],
                subject=row["subject"],
                sender=[row["from_name"], row["from_addr"]],
                recipients=row["to_addrs"],
                body=row["body_text"],
            )
        )
        if len(chunk) >= CHUNK:
            search_index.index(conn, chunk)
            chunk = []
    search_index.index(conn, chunk)


def _counts(conn: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, model in (
        ("users", m.User),
        ("channels", m.Channel),
        ("contacts", m.Contact),
        ("conversations", m.Conversation),
        ("messages", m.Message),
        ("participants", m.Participant),
        ("tickets", m.Ticket),
        ("timeline_events", m.TimelineEvent),
    ):
        counts[name] = int(conn.scalar(select(func.count()).select_from(_table(model))) or 0)
    rows = conn.execute(
        select(m.Status.label, func.count(m.Ticket.id))
        .join(m.Ticket, m.Ticket.status_id == m.Status.id, isouter=True)
        .group_by(m.Status.id, m.Status.label)
        .order_by(m.Status.id)
    )
    for label, count in rows:
        counts[f"status {label}"] = int(count)
    return counts


def _build(
    target: str, *, tickets: int, seed: int, replace: bool, phases: dict[str, float]
) -> dict[str, int]:
    if not normalize_url(target).startswith("postgresql"):
        return build_big_desk(
            Path(target), tickets=tickets, seed=seed, replace=replace, phases=phases
        )
    if replace:
        raise ValueError("--replace is for SQLite files; give PostgreSQL a new database")
    return asyncio.run(build_big_desk_postgres(target, tickets=tickets, seed=seed))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bigdesk", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "path", help="the SQLite file to create, or a postgresql:// URL of an empty database"
    )
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--replace", action="store_true", help="replace an existing file")
    args = parser.parse_args(argv)
    started, cpu = time.perf_counter(), time.process_time()
    phases: dict[str, float] = {}
    try:
        counts = _build(
            args.path, tickets=args.tickets, seed=args.seed, replace=args.replace, phases=phases
        )
    except (FileExistsError, ValueError, DatabaseError) as exc:
        print(f"bigdesk: {exc}", file=sys.stderr)
        return 1
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    width = max(len(k) for k in [*counts, *phases])
    for key, value in counts.items():
        print(f"{key:<{width}}  {value:>9,}")
    print(f"{'seconds':<{width}}  {seconds:>9.1f}")
    print(f"{'CPU seconds':<{width}}  {cpu:>9.1f}")
    for phase, taken in phases.items():  # the bulk writer's parts (the middle ones overlap)
        print(f"{phase:<{width}}  {taken:>9.1f}")
    print(f"\ndeskline --db {args.path} tickets --status New | head")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
