"""Search prefix indexes (issue 16): SQLite's index is built with two- and three-character
prefix indexes, and migration 0018 rebuilds an index made before them from the messages, so
what a search finds is unchanged."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from storage import search_index
from storage.database import Database
from tests.helpers import Desk, make_mail
from tests.test_search import find

pytestmark = pytest.mark.sqlite_only


async def test_an_old_index_is_rebuilt_with_prefix_indexes_by_the_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    desk = await Desk.create(Database(str(path)))
    await desk.receive(make_mail(subject="Invoice overdue", body="the printer jammed")[0])
    await desk.receive(make_mail(subject="Password reset", body="cannot log in")[0])
    before = [await find(desk, q) for q in ("inv*", "pr*", "jam*", "password")]
    await desk.db.close()
    # The desk as 0017 left it: an index without prefix indexes, no board counts yet.
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("DROP TABLE message_search")
        conn.execute(
            "CREATE VIRTUAL TABLE message_search USING fts5(subject, sender, recipients, body, "
            "content='', tokenize='unicode61 remove_diacritics 0')"
        )
        for name in ("insert", "delete", "update"):
            conn.execute(f"DROP TRIGGER tickets_board_count_{name}")
        conn.execute("DROP TABLE board_counts")
        conn.execute("DROP TABLE board_count_changes")  # 0020's
        conn.execute("DROP TABLE web_rate_counts")  # 0019's
        conn.execute("UPDATE alembic_version SET version_num = '0017'")
        conn.commit()
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert not search_index.has_prefix_index(conn)
    desk = Desk(Database(str(path)))
    await desk.db.migrate()
    with engine.connect() as conn:
        assert search_index.has_prefix_index(conn)
    engine.dispose()
    assert [await find(desk, q) for q in ("inv*", "pr*", "jam*", "password")] == before
    assert before[0] == ["Invoice overdue"] and before[2] == ["Invoice overdue"]
    await desk.db.close()
