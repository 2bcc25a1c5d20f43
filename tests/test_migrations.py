"""Migrations: the models and the Alembic history describe the same schema, and an upgrade keeps
what an older database holds."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from storage.database import Database, alembic_config
from storage.models import Base
from storage.search_index import include_object

pytestmark = pytest.mark.sqlite_only


def _upgrade(url: str, revision: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    engine.dispose()


def test_models_match_the_migrations(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/schema.db"
    _upgrade(url, "head")
    engine = create_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == [], "a model changed without a migration: run alembic revision --autogenerate"


async def test_upgrade_keeps_existing_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _upgrade(f"sqlite:///{path}", "0001")
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO pipelines (id, name, position) VALUES (1, 'Old', 0)")
        conn.execute(
            "INSERT INTO channels (id, name, kind, address, pipeline_id, ticket_automation, "
            "bulk_opens_tickets, created_at) VALUES (1, 'support', 'email', 's@x.example', 1, 1, "
            "0, '2026-01-01 00:00:00')"
        )
    db = Database(str(path))
    await db.migrate()
    channel = await db.run(lambda repo: repo.channel_by_name("support"))
    await db.close()
    assert (channel.address, channel.imap_folder, channel.smtp_tls) == (
        "s@x.example",
        "INBOX",
        "starttls",
    )


def test_head_revision_constant_is_the_newest_migration() -> None:
    from alembic.script import ScriptDirectory

    from storage.database import HEAD_REVISION

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD_REVISION


async def test_upgrade_to_0007_keeps_mail_and_enrollments_and_adds_undo(tmp_path: Path) -> None:
    # 0007 (undo, SPEC D3/D4): a person's actions table, undone enrollments, and an outbox state
    # long enough for "cancelled"; rows written before stay as they were.
    path = tmp_path / "old.db"
    _upgrade(f"sqlite:///{path}", "0006")
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO pipelines (id, name, position) VALUES (1, 'Old', 0)")
        conn.execute(
            "INSERT INTO outbox (id, kind, message_id, mail_from, rcpt_to, subject, raw, state, "
            "attempts, next_attempt_at, created_at) VALUES (1, 'reply', '<a@x>', 's@x.example', "
            "'[\"c@x.example\"]', 'Hi', x'00', 'queued', 0, '2026-01-01 00:00:00', "
            "'2026-01-01 00:00:00')"
        )
    db = Database(str(path))
    await db.migrate()

    def cancel(repo: Any) -> tuple[str, list[Any], Any]:
        row = repo.outbox_row(1)
        row.state = "cancelled"
        return row.subject, repo.outbox_rows_locked([1]), repo.latest_person_action(1)

    subject, rows, action = await db.run(cancel)
    state = await db.run(lambda repo: repo.outbox_row(1).state)
    await db.close()
    assert (subject, len(rows), action, state) == ("Hi", 1, None, "cancelled")
    with sqlite3.connect(path) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(enrollments)")}
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert "undone_at" in columns and "person_actions" in tables
