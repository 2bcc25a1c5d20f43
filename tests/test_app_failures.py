"""A read of the desk that fails (SQLite locked past its wait, a PostgreSQL server restarting)
is a one-line notice and the app goes on; a bug still ends the app with its traceback. The
failure is made on purpose at the app's backend: a real database does not fail one chosen read
on demand. It is the exception SQLAlchemy raises for a locked SQLite file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from textual.worker import WorkerFailed

from app.screens.notifications import NotificationsScreen
from tests.app_helpers import make_app, ready, screen_text, seeded_desk, wait_for

pytestmark = pytest.mark.sqlite_only


def _notices(app: Any) -> list[Any]:
    return list(app._notifications)


def _failing_once(app: Any, error: Exception) -> None:
    real = app.backend.query
    failed: list[bool] = []

    async def query(fn: Callable[..., Any]) -> Any:
        if not failed:
            failed.append(True)
            raise error
        return await real(fn)

    app.backend.query = query


async def test_a_failed_read_is_a_notice_and_the_app_goes_on(tmp_path: Path) -> None:
    desk = await seeded_desk(tmp_path / "desk.db", ["Printer on fire"])
    app = make_app(tmp_path / "desk.db", live_interval=3600)
    async with app.run_test(size=(110, 30)) as pilot:
        await ready(pilot)
        locked = OperationalError("SELECT …", {}, Exception("database is locked"))
        _failing_once(app, locked)
        await pilot.press("N")  # the list's first read fails
        [said] = await wait_for(pilot, lambda: _notices(app), what="the notice")
        assert said.title == "The desk did not answer"
        assert "is locked by another process" in str(said.message)
        assert "SELECT" not in str(said.message)  # one line, not the statement
        assert app.is_running
        await pilot.press("escape")
        await pilot.press("N")  # and again: it reads
        await wait_for(pilot, lambda: "0 unread" in screen_text(app), what="the list")
        assert isinstance(app.screen, NotificationsScreen)
    await desk.db.close()


async def test_a_bug_still_ends_the_app(tmp_path: Path) -> None:
    desk = await seeded_desk(tmp_path / "desk.db", ["Printer on fire"])
    app = make_app(tmp_path / "desk.db", live_interval=3600)
    with pytest.raises(WorkerFailed, match="a bug"):
        async with app.run_test(size=(110, 30)) as pilot:
            await ready(pilot)
            _failing_once(app, RuntimeError("a bug"))
            await pilot.press("N")
            await pilot.pause(1)
    assert app.return_code == 1
    await desk.db.close()
