"""What makes the app's screens read again (issue 14, the SSH door at 30 sessions): another
session's heartbeat (presence, SPEC D22: bookkeeping) is no change of what the screens show;
mail stored, a ticket moved or a settings change (SPEC S11) is. On an SQLite file every commit
moves `PRAGMA data_version`, so before this each session's 5 s heartbeat made every other
session reload its screen. Real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from app.backend import Backend
from automation import admin
from storage import views
from storage.database import Database
from tests.helpers import Desk, make_mail


async def test_a_heartbeat_reloads_no_screen_but_a_change_does(db_url: str) -> None:
    desk = await Desk.create(Database(db_url), received=False)
    backend = Backend(db_url, as_user="rita")
    backend.start()
    try:
        await backend.open()
        assert await backend.changed() is False  # the first look only takes the marker
        for beat in range(3):  # another session's heartbeats, as the coordinator writes them
            await desk.store(
                lambda repo: repo.beat(
                    "other-session", 1, ticket_id=None, conversation_id=None, replying_since=None
                )
            )
            assert await backend.changed() is False, f"heartbeat {beat} reloaded the screens"
        await desk.store(lambda repo: repo.leave("other-session"))
        assert await backend.changed() is False
        await desk.receive(make_mail(subject="Printer on fire")[0])
        assert await backend.changed() is True  # new mail shows
        assert await backend.changed() is False  # once
        await desk.move(1, "Waiting on us")
        assert await backend.changed() is True
        await desk.admin(lambda repo, me: admin.add_team(repo, me, "Billing", []))
        assert await backend.changed() is True  # a settings change (S11) shows too
    finally:
        await backend.close()
        await desk.db.close()


async def test_a_write_is_carried_through_when_its_caller_is_cancelled(db_url: str) -> None:
    """A screen closing cancels its workers; a write it had asked for still commits (a draft,
    a notification marked read). The cancellation lands while the write's own function runs
    on the backend's thread."""
    desk = await Desk.create(Database(db_url), received=False)
    backend = Backend(db_url, as_user="rita")
    backend.start()
    try:
        me = (await backend.open()).id
        started = threading.Event()

        def slow_save(repo: Any) -> None:
            started.set()
            time.sleep(0.3)  # the caller is cancelled meanwhile
            repo.save_draft(me, "conversation:1:reply", "Kept whole")

        writing = asyncio.create_task(backend.store(slow_save))
        await asyncio.to_thread(started.wait, 5)
        writing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await writing
        await asyncio.sleep(0.6)
        saved = await desk.db.query(lambda s: views.draft(s, me, "conversation:1:reply"))
        assert saved == "Kept whole"
    finally:
        await backend.close()
        await desk.db.close()
