"""The CLI's lists page (issue 19 item 12, SPEC D7): `tickets`, `conversations`, `outbox`,
`held` and `failed` say when they are cut, continue from a cursor that never repeats or skips a
row while rows are added, and keep one documented order each, newest first."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from storage import pages
from storage.database import Database
from storage.pages import UnknownFilter
from tests.helpers import Desk, make_mail
from tests.test_cli import SUPPORT, Cli

START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """A desk holding more than a page of every list (rows written straight to the file)."""
    cli = Cli(tmp_path_factory.mktemp("lists"))
    cli.run("init")
    cli.run("channel", "add", "support", "--address", SUPPORT)
    with sqlite3.connect(cli.db) as conn:
        _tickets(conn, 1005)
        _conversations(conn, 1002)
        _outbox(conn, 1003)
        _failures(conn, 1001)
    return cli


def _at(minutes: float) -> str:
    return (START + timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M:%S.%f")


def _tickets(conn: sqlite3.Connection, count: int) -> None:
    pipeline, status = conn.execute("SELECT pipeline_id, id FROM statuses LIMIT 1").fetchone()
    conn.executemany(
        "INSERT INTO tickets (subject, pipeline_id, status_id, priority, source, reopened, "
        "created_at, updated_at) VALUES (?, ?, ?, 'normal', 'email', 0, ?, ?)",
        [(f"Ticket {n}", pipeline, status, _at(n), _at(n)) for n in range(count)],
    )


def _conversations(conn: sqlite3.Connection, count: int) -> None:
    # Activity runs against the ids: the list must follow the activity.
    conn.executemany(
        "INSERT INTO conversations (channel_id, source, subject, state, automated, created_at, "
        "updated_at) VALUES (1, 'email', ?, 'open', 0, ?, ?)",
        [(f"Thread {n}", _at(0), _at(count - n)) for n in range(count)],
    )


def _outbox(conn: sqlite3.Connection, count: int) -> None:
    rows = []
    for n in range(count):
        # The first row is the newest: creation time, not the id, orders the outbox.
        created = _at(10_000 if n == 0 else n)
        state = "held" if n % 2 else "queued"
        rows.append((f"<o{n}@x>", f'["c{n}@x.example"]', f"Mail {n}", state, created, created))
    conn.executemany(
        "INSERT INTO outbox (kind, message_id, mail_from, rcpt_to, subject, raw, state, "
        "attempts, next_attempt_at, created_at) VALUES ('automated', ?, 'help@acme.example', ?, "
        "?, x'00', ?, 0, ?, ?)",
        rows,
    )


def _failures(conn: sqlite3.Connection, count: int) -> None:
    conn.executemany(
        "INSERT INTO import_failures (channel_id, source, reason, raw, created_at) "
        "VALUES (1, ?, 'broken', x'0102', ?)",
        [(f"box#{n}", _at(n)) for n in range(count)],
    )


def _json(cli: Cli, *args: str) -> dict[str, Any]:
    return dict(json.loads(cli.run(*args, "--json").stdout))


def test_tickets_page_by_number_with_a_cursor_that_survives_new_tickets(big: Cli) -> None:
    first = _json(big, "tickets")
    numbers = [row["number"] for row in first["tickets"]]
    assert len(numbers) == 1000 and first["total"] == 1005
    assert numbers == sorted(numbers, reverse=True) and numbers[0] == 1005  # newest number first
    assert first["next"]

    text = big.run("tickets")  # text: the rows on stdout, one line on stderr with the flag
    assert len(text.stdout.splitlines()) == 1001  # the header and 1,000 rows
    [notice] = text.stderr.splitlines()
    assert "1000 of 1005" in notice and f"--after {first['next']}" in notice

    with sqlite3.connect(big.db) as conn:  # tickets arrive between the two pages
        _tickets(conn, 3)
    rest = _json(big, "tickets", "--after", first["next"])
    assert [row["number"] for row in rest["tickets"]] == [5, 4, 3, 2, 1]
    assert rest["next"] is None and rest["total"] == 1008

    every = _json(big, "tickets", "--all")
    assert len(every["tickets"]) == 1008 and every["next"] is None

    bad = big.run("tickets", "--after", "not-a-cursor", ok=False)
    assert bad.returncode == 1 and "not a cursor" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_outbox_held_conversations_and_failed_keep_their_orders(big: Cli) -> None:
    outbox = _json(big, "outbox")
    assert outbox["total"] == 1003 and len(outbox["outbox"]) == 1000
    created = [row["created_at"] for row in outbox["outbox"]]
    assert created == sorted(created, reverse=True)
    assert outbox["outbox"][0]["subject"] == "Mail 0"  # the newest mail is on the first page

    held = _json(big, "held", "--limit", "2")
    assert [row["subject"] for row in held["outbox"]] == ["Mail 1001", "Mail 999"]
    assert held["total"] == 501 and held["next"]
    more = _json(big, "held", "--limit", "2", "--after", held["next"])
    assert [row["subject"] for row in more["outbox"]] == ["Mail 997", "Mail 995"]

    conversations = _json(big, "conversations", "--limit", "3")
    assert [row["subject"] for row in conversations["conversations"]] == [
        "Thread 0",
        "Thread 1",
        "Thread 2",
    ]
    assert conversations["total"] == 1002

    failed = _json(big, "failed")
    assert failed["version"] == 1 and failed["total"] == 1001
    assert [row["source"] for row in failed["failed"][:2]] == ["box#1000", "box#999"]
    assert failed["failed"][0]["size"] == 2 and failed["next"]


def test_an_empty_list_is_one_whole_page(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    cli.run("init")
    empty = _json(cli, "failed")
    assert empty == {"version": 1, "failed": [], "total": 0, "next": None}


async def test_pages_walk_every_list_on_both_databases(db: Database) -> None:
    desk = await Desk.create(db)
    for n in range(5):
        await desk.receive(make_mail(sender=f"c{n}@x.example", subject=f"Case {n}")[0])

    async def walk(fn, key: str, **filters: object) -> list[object]:
        seen, after = [], None
        while True:
            page = await desk.query(lambda s, cursor=after: fn(s, after=cursor, limit=2, **filters))
            assert page.total == 5 and len(page.rows) <= 2
            seen += [row[key] for row in page.rows]
            if page.next is None:
                return seen
            after = page.next

    assert await walk(pages.ticket_page, "number") == [5, 4, 3, 2, 1]
    assert await walk(pages.ticket_page, "number", status="new") == [5, 4, 3, 2, 1]
    assert await walk(pages.conversation_page, "subject") == [f"Case {n}" for n in (4, 3, 2, 1, 0)]
    outbox = await walk(pages.outbox_page, "id")
    assert outbox == sorted(outbox, reverse=True) and len(set(outbox)) == 5
    with pytest.raises(UnknownFilter, match="statuses: New"):
        await desk.query(lambda s: pages.ticket_page(s, status="Nope"))
