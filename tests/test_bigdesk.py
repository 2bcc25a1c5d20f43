"""The big-desk benchmark fixture: a real, migrated Deskline SQLite file the read models and the
CLI accept, with every ticket linked to its origin thread (SPEC §1, R-C1)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from automation.search.query import parse
from benchmarks.bigdesk import BULK_TABLES, build_big_desk, main
from runtime.desk import Desk
from storage import models as m
from storage import queries, views
from storage.database import HEAD_REVISION, Database
from storage.search import search_page
from storage.search_index import include_object

pytestmark = pytest.mark.sqlite_only
TICKETS = 2000


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    path = tmp_path_factory.mktemp("bigdesk") / "big.db"
    return path, build_big_desk(path, tickets=TICKETS, seed=3)


def _sql(path: Path, query: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(query).fetchall()


def test_counts_match_the_database(big: tuple[Path, dict[str, int]]) -> None:
    """One conversation, one inbound message and one ticket per ticket; New holds >= 90%."""
    path, counts = big
    assert counts["tickets"] == counts["conversations"] == counts["messages"] == TICKETS
    assert counts["contacts"] == TICKETS // 5
    for table in ("tickets", "conversations", "messages", "contacts", "timeline_events"):
        assert _sql(path, f"SELECT count(*) FROM {table}") == [(counts[table],)]
    by_status = dict(
        _sql(
            path,
            "SELECT s.label, count(t.id) FROM statuses s LEFT JOIN tickets t "
            "ON t.status_id = s.id GROUP BY s.label",
        )
    )
    assert by_status == {
        label: counts[f"status {label}"]
        for label in ("New", "Waiting on contact", "Waiting on us", "Closed")
    }
    assert sum(by_status.values()) == TICKETS
    assert by_status["New"] >= 0.9 * TICKETS
    assert all(by_status[label] > 0 for label in by_status)  # every column has cards
    assert _sql(path, "SELECT count(DISTINCT pipeline_id) FROM tickets") == [(1,)]


def test_schema_is_migrated_and_consistent(big: tuple[Path, dict[str, int]]) -> None:
    """Built by the real migrations; no foreign key or integrity problem; conversation states
    follow ticket states; subjects and update times vary."""
    path, _ = big
    assert _sql(path, "SELECT version_num FROM alembic_version") == [(HEAD_REVISION,)]
    assert _sql(path, "PRAGMA foreign_key_check") == []
    assert _sql(path, "PRAGMA integrity_check") == [("ok",)]
    mismatched = _sql(
        path,
        "SELECT count(*) FROM tickets t JOIN statuses s ON s.id = t.status_id "
        "JOIN conversations c ON c.id = t.origin_conversation_id "
        "WHERE (s.state = 'CLOSED') != (c.state = 'closed')",
    )
    assert mismatched == [(0,)]
    assert _sql(path, "SELECT count(DISTINCT subject) > 50 FROM tickets") == [(1,)]
    assert _sql(path, "SELECT count(DISTINCT updated_at) > 0.9 * count(*) FROM tickets") == [(1,)]
    assert _sql(
        path,
        "SELECT count(*) FROM tickets t JOIN statuses s ON s.id = t.status_id "
        "WHERE (s.state = 'CLOSED') != (t.closed_at IS NOT NULL)",
    ) == [(0,)]


async def test_every_ticket_has_its_origin_conversation(big: tuple[Path, dict[str, int]]) -> None:
    """R-C1: each ticket's origin thread exists, points back at it as "origin", and holds the
    inbound message it was created from."""
    path, _ = big
    db = Database(str(path))

    def orphans(s: Session) -> int:
        t, c = m.Ticket, m.Conversation
        linked = (
            select(func.count())
            .select_from(t)
            .join(c, c.id == t.origin_conversation_id)
            .where(c.ticket_id == t.id, c.association == "origin")
            .where(
                select(m.Message.id)
                .where(m.Message.conversation_id == c.id, m.Message.direction == "inbound")
                .exists()
            )
        )
        return TICKETS - int(s.scalar(linked) or 0)

    try:
        assert await db.query(orphans) == 0
    finally:
        await db.close()


async def test_read_models_work_on_the_big_desk(big: tuple[Path, dict[str, int]]) -> None:
    """What `deskline tickets` and `deskline ticket show` read: lists page by keyset, details
    carry the thread and the timeline, timestamps come back as aware UTC."""
    path, counts = big
    db = Database(str(path))
    try:
        first = await db.query(lambda s: queries.list_tickets(s, limit=500))
        assert [r["number"] for r in first] == list(range(1, 501))
        after = await db.query(lambda s: queries.list_tickets(s, after_id=500, limit=500))
        assert after[0]["number"] == 501
        new = await db.query(lambda s: queries.list_tickets(s, status="New", limit=TICKETS))
        assert len(new) == counts["status New"]
        closed = await db.query(lambda s: queries.list_tickets(s, status="Closed"))
        assert closed and all(r["closed_at"] for r in closed)

        detail = await db.query(lambda s: queries.ticket_detail(s, closed[0]["number"]))
        assert detail is not None
        assert detail["ticket"]["origin_conversation"] == detail["conversations"][0]["id"]
        origin = detail["conversations"][0]
        assert origin["association"] == "origin" and origin["state"] == "closed"
        assert origin["messages"][0]["direction"] == "inbound"
        assert origin["messages"][0]["message_id"].startswith("<big.")
        assert [e["type"] for e in detail["timeline"]] == [
            "message_received",
            "ticket_created",
            "status_changed",
        ]
        created = datetime.fromisoformat(detail["ticket"]["created_at"])
        assert created.tzinfo is not None and created <= datetime.now(UTC)

        conversations = await db.query(lambda s: queries.list_conversations(s, limit=100))
        assert len(conversations) == 100 and all(c["messages"] == 1 for c in conversations)

        # the search index holds every message, as ingestion writes it
        subject = detail["ticket"]["subject"]
        query = parse(f'subject:"{subject}"')
        found = await db.query(lambda s: search_page(s, query, now=datetime.now(UTC)))
        assert detail["ticket"]["origin_conversation"] in {row["id"] for row in found.rows}
    finally:
        await db.close()


def test_cli_lists_the_big_desk(big: tuple[Path, dict[str, int]]) -> None:
    """The `deskline` command reads the file as it is."""
    path, counts = big
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "--db",
            str(path),
            "tickets",
            "--status",
            "Waiting on us",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DESKLINE_USER": ""},
    )
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["tickets"]
    assert len(rows) == counts["status Waiting on us"]
    assert {r["status"] for r in rows} == {"Waiting on us"}


def test_existing_file_is_kept_unless_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m benchmarks.bigdesk` prints the counts; it never overwrites a file silently."""
    path = tmp_path / "small.db"
    assert main([str(path), "--tickets", "20"]) == 0
    assert "tickets" in capsys.readouterr().out
    with pytest.raises(FileExistsError):
        build_big_desk(path, tickets=20)
    assert main([str(path), "--tickets", "20"]) == 1
    counts = build_big_desk(path, tickets=30, replace=True)
    assert counts["tickets"] == 30 and counts["status New"] >= 27


async def test_the_postgresql_build_has_the_same_rows(
    big: tuple[Path, dict[str, int]], pg_server: str
) -> None:
    """`delay_bench --pg` builds the same desk on PostgreSQL (one transaction, tickets linked
    to their conversations after the fact, id sequences moved past the explicit ids): same
    counts as the SQLite build for the same seed, and a new row gets a fresh id."""
    from benchmarks.bigdesk import build_big_desk_postgres
    from benchmarks.import_bench import fresh_postgres_database

    url = await fresh_postgres_database(pg_server)
    counts = await build_big_desk_postgres(url, tickets=TICKETS, seed=3)
    assert counts == big[1]
    db = Database(url)
    try:
        unlinked = await db.query(
            lambda s: s.scalar(
                select(func.count())
                .select_from(m.Ticket)
                .join(m.Conversation, m.Conversation.id == m.Ticket.origin_conversation_id)
                .where(m.Conversation.ticket_id.is_(None))
            )
        )
        assert unlinked == 0

        def new_contact(repo: Any) -> int:
            contact = repo.upsert_contact("new@x.example", "New")
            repo.session.flush()
            return int(contact.id)

        new_id = await db.run(new_contact)
        assert new_id > counts["contacts"]  # the sequence is past the explicit ids
    finally:
        await db.close()


def test_the_bulk_build_writes_what_the_reference_writes(tmp_path: Path) -> None:
    """The fast build (plain sqlite3, indexes and board-count triggers made after the load,
    issue 16 item 4) and the reference build through SQLAlchemy Core give the same rows in
    every bulk table, the same board counts (SPEC B8.6) and the same search index, byte for
    byte, for one seed and clock; the same indexes and triggers; the journal back to WAL."""
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    fast, slow = tmp_path / "bulk.db", tmp_path / "reference.db"
    phases: dict[str, float] = {}
    counts = build_big_desk(fast, tickets=1500, seed=5, now=now, phases=phases)
    assert build_big_desk(slow, tickets=1500, seed=5, now=now, bulk=False) == counts
    assert "indexes after the load (17)" in phases and all(v >= 0 for v in phases.values())
    shadow = ("message_search_data", "message_search_idx", "message_search_docsize")
    for table in (*BULK_TABLES, "board_counts", *shadow):
        query = f"SELECT * FROM {table} ORDER BY 1"
        assert _sql(fast, query) == _sql(slow, query), table
    schema = "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger')"
    assert sorted(_sql(fast, schema), key=str) == sorted(_sql(slow, schema), key=str)
    assert _sql(fast, "PRAGMA journal_mode") == [("wal",)]
    assert _sql(fast, "SELECT tickets FROM board_counts ORDER BY status_id") == [
        (counts[f"status {label}"],)
        for label in ("New", "Waiting on contact", "Waiting on us", "Closed")
    ]


async def test_the_bulk_build_is_a_desk_the_app_opens(big: tuple[Path, dict[str, int]]) -> None:
    """The app's schema check passes and the models match the file's schema (the migrations'
    comparison): the indexes made after the load are the migrations' own."""
    path, _ = big
    desk = await Desk.open(str(path), identify=False)
    try:
        await desk.check_schema()
    finally:
        await desk.close()
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": include_object})
            assert compare_metadata(context, m.Base.metadata) == []
    finally:
        engine.dispose()


@pytest.mark.parametrize("by_id", [5000, 10])
def test_far_windows_read_from_the_end_and_counts_skip_the_snoozed(
    big: tuple[Path, dict[str, int]], tmp_path: Path, by_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16 item 4: a window past the middle of a list of known length (`G`) reads from the
    list's end and gives the rows the plain offset gives; the inbox count that leaves snoozed
    conversations out (SPEC D23) equals a count with the wake-up test, snoozed ones present."""
    path, counts = big
    monkeypatch.setattr(views, "SNOOZED_BY_ID", by_id)  # snoozed ones by id, or by subquery
    copy = tmp_path / "copy.db"
    with closing(sqlite3.connect(path)) as src, closing(sqlite3.connect(copy)) as dst:
        src.backup(dst)
        dst.execute(
            "UPDATE conversations SET snoozed_until = '2999-01-01 00:00:00.000000' WHERE id % 7 = 0"
        )
        dst.execute(
            "UPDATE conversations SET snoozed_until = '2000-01-01 00:00:00.000000' "
            "WHERE id % 11 = 0"
        )
        dst.commit()
    engine = create_engine(f"sqlite:///{copy}")
    try:
        with Session(engine) as s:
            for view in ("open", "closed", "all", "unassigned"):
                f = views.InboxFilter(view=view)
                total = views.inbox_count(s, f)
                listed = len(views.inbox_rows(s, f, views.Window(0, counts["conversations"] + 1)))
                assert total == listed, view
                for offset in (total - 100, total - 30, total // 2 + 1):
                    plain = views.inbox_rows(s, f, views.Window(offset, 100))
                    far = views.inbox_rows(s, f, views.Window(offset, 100, total=total))
                    assert [r["id"] for r in far] == [r["id"] for r in plain], (view, offset)
            new = s.scalar(select(m.Status.id).where(m.Status.label == "New"))
            assert new is not None
            total = views.column_count(s, new)
            assert total == counts["status New"]
            plain = views.column_rows(s, new, views.Window(total - 100, 100))
            far = views.column_rows(s, new, views.Window(total - 100, 100, total=total))
            assert [r["id"] for r in far] == [r["id"] for r in plain] and len(far) == 100
    finally:
        engine.dispose()
