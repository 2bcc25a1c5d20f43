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
import random
import sys
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import Engine, Table, create_engine, event, func, insert, select, text, update
from sqlalchemy.engine import Connection

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
    path: Path, *, tickets: int = 100_000, seed: int = 1, replace: bool = False
) -> dict[str, int]:
    """Create a Deskline SQLite database at `path` with `tickets` tickets; returns row counts.

    Synchronous: it runs its own event loop for the migrations and settings (in a helper thread
    when the caller is inside a running loop). `path` must not exist unless `replace` is set.
    Deterministic for a seed, except that dates are relative to now.
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
    ids = _run(_configure(path))
    engine = _bulk_engine(path)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "PRAGMA defer_foreign_keys=ON"
            )  # links both ways, checked at commit
            _write(conn, ids, tickets, random.Random(seed))
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


def _write(
    conn: Any, ids: dict[str, Any], tickets: int, rng: random.Random, *, link_later: bool = False
) -> None:
    """All bulk rows. `link_later`: conversations are written without their ticket and linked
    after the tickets (for foreign keys checked at once, as PostgreSQL's are)."""
    now = datetime.now(UTC)
    start = now - timedelta(days=DAYS)
    span = (now - start).total_seconds()
    channel, pipeline = ids["channel"], ids["pipeline"]
    statuses: dict[str, tuple[int, str]] = ids["statuses"]
    reps: list[int] = ids["reps"]

    contacts = max(1, int(tickets * CONTACTS_PER_TICKET))
    people = []
    for i in range(1, contacts + 1):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        people.append((name, f"customer{i}@c{i % 997}.example"))
    _insert(
        conn,
        m.Contact,
        (
            {"id": i, "email": addr, "name": name, "bouncing_until": None, "created_at": start}
            for i, (name, addr) in enumerate(people, start=1)
        ),
    )

    labels = _statuses(rng, tickets, list(statuses))
    # Creation times sorted so that ids grow with time, as on a real desk.
    created = sorted(start + timedelta(seconds=rng.uniform(0, span * 0.999)) for _ in labels)
    rows = []
    for n, (label, born) in enumerate(zip(labels, created, strict=True), start=1):
        status_id, state = statuses[label]
        contact = rng.randrange(contacts) + 1
        subject = f"{rng.choice(SUBJECTS)} {rng.choice(DETAILS)}".strip().format(
            browser=rng.choice(BROWSERS), n=rng.randint(1000, 99999)
        )
        left = (now - born).total_seconds()
        touched = born if label == "New" else born + timedelta(seconds=rng.uniform(0, left))
        rows.append((n, label, status_id, state, contact, subject, born, touched))

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
        "thread_reason": "no In-Reply-To, References or [#N] token matched: new thread",
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


def _build(target: str, *, tickets: int, seed: int, replace: bool) -> dict[str, int]:
    if not normalize_url(target).startswith("postgresql"):
        return build_big_desk(Path(target), tickets=tickets, seed=seed, replace=replace)
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
    started = time.perf_counter()
    try:
        counts = _build(args.path, tickets=args.tickets, seed=args.seed, replace=args.replace)
    except (FileExistsError, ValueError, DatabaseError) as exc:
        print(f"bigdesk: {exc}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - started
    width = max(len(k) for k in counts)
    for key, value in counts.items():
        print(f"{key:<{width}}  {value:>9,}")
    print(f"{'seconds':<{width}}  {seconds:>9.1f}")
    print(f"\ndeskline --db {args.path} tickets --status New | head")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
