"""A live count beside each saved view in the `f` picker (issue 13, SPEC D19, D20): the picker
opens at once, each count is read off the screen thread and filled in as it arrives, keys work
while a count is still running; counting stops past the cap ("10,000+")."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from automation import saved_views
from automation.search.query import parse
from storage import search
from storage.database import Database
from tests.helpers import Desk, make_mail


async def _desk(desk: Desk) -> Desk:
    for subject in ("Invoice overdue", "Second invoice", "Printer on fire"):
        await desk.receive(make_mail(subject=subject, body=f"About: {subject}.")[0])
    return desk


async def test_count_hits_counts_conversations_and_tickets_up_to_the_cap(db: Database) -> None:
    """Same counts on SQLite and PostgreSQL; past `cap` it stops at cap + 1."""
    desk = await _desk(await Desk.create(db, received=False))

    def count(typed: str, **kw: Any) -> Any:
        query = parse(typed)
        return desk.db.query(
            lambda s: search.count_hits(s, query, viewer_id=None, now=search.m.utcnow(), **kw)
        )

    assert await count("invoice") == 2
    assert await count("invoice", tickets=True) == 2
    assert await count("printer -fire") == 0
    assert await count("to:support@help.example") == 3
    assert await count("to:support@help.example", cap=1) == 2  # "1+": stopped at two
    await desk.db.close()


async def test_count_hits_of_many_matches_walks_the_index_newest_first(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over the relevance limit the count comes from the newest-first walk: the same counts,
    the filters and `-` words applied, tickets counted once each (SQLite and PostgreSQL)."""
    desk = await _desk(await Desk.create(db, received=False))
    monkeypatch.setattr(search, "RELEVANCE_LIMIT", 1)  # every word now matches "too many"

    def count(typed: str, **kw: Any) -> Any:
        query = parse(typed)
        return desk.db.query(
            lambda s: search.count_hits(s, query, viewer_id=None, now=search.m.utcnow(), **kw)
        )

    assert await count("invoice") == 2
    assert await count("invoice -second") == 1
    assert await count("to:support@help.example", tickets=True) == 3
    assert await count("to:support@help.example", cap=1) == 2
    assert await count("to:support@help.example is:closed") == 0
    await desk.db.close()


@pytest.mark.sqlite_only
async def test_the_picker_fills_in_counts_without_blocking_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.screens.inbox import InboxScreen
    from app.screens.views_picker import ViewsPicker
    from tests.app_helpers import make_app, ready, screen_text, wait_for

    path = tmp_path / "desk.db"
    desk = await _desk(await Desk.create(Database(f"sqlite+aiosqlite:///{path}"), received=False))

    def save(repo: Any, me: Any) -> None:
        saved_views.save_view(repo, me, "Bills", "invoice")
        saved_views.save_view(repo, me, "Ghosts", "owner:nobody")  # a name gone since

    await desk.as_user("rita", save)
    release = threading.Event()
    counting = search.count_hits

    def slow_count(*args: Any, **kw: Any) -> int:
        release.wait(10)  # the first count holds the backend thread until the keys were pressed
        return counting(*args, **kw)

    monkeypatch.setattr(search, "count_hits", slow_count)
    app = make_app(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert isinstance(app.screen, InboxScreen)
        await pilot.press("f")
        picker = await wait_for(pilot, lambda: isinstance(app.screen, ViewsPicker) and app.screen)
        options = picker.query_one("OptionList")
        start = options.highlighted
        await pilot.press("j", "j")  # the counts are not in yet: the keys still move
        await wait_for(pilot, lambda: options.highlighted == start + 2, what="the cursor")
        assert not picker.counts
        release.set()
        await wait_for(pilot, lambda: len(picker.counts) == 2, what="the counts")
        labels = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert any(label.startswith("★ Bills") and label.endswith(" · 2") for label in labels)
        assert any("Ghosts" in label and label.endswith("cannot run") for label in labels)
        assert "Bills" in screen_text(app)
        await pilot.press("end", "k", "enter")  # Bills (the list ends with Ghosts)
        inbox = app.screen
        await wait_for(pilot, lambda: inbox.selection.search == "invoice", what="the view")
    await desk.db.close()


@pytest.mark.sqlite_only
async def test_the_board_picker_counts_tickets(tmp_path: Path) -> None:
    from app.screens.board import BoardScreen
    from app.screens.views_picker import ViewsPicker
    from tests.app_helpers import make_app, ready, wait_for

    path = tmp_path / "desk.db"
    desk = await _desk(await Desk.create(Database(f"sqlite+aiosqlite:///{path}"), received=False))
    await desk.as_user(
        "rita", lambda repo, me: saved_views.save_view(repo, me, "Fires", "fire", list_name="board")
    )
    app = make_app(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("2")
        await wait_for(pilot, lambda: isinstance(app.screen, BoardScreen))
        await pilot.press("f")
        picker = await wait_for(pilot, lambda: isinstance(app.screen, ViewsPicker) and app.screen)
        await wait_for(pilot, lambda: picker.counts.get(1) == "1", what="the count")
        assert str(picker.query_one("OptionList").get_option_at_index(1).prompt).endswith(" · 1")
    await desk.db.close()
