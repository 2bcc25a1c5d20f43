"""Typing a search in the inbox's `/` never waits for the desk (issue 13, SPEC D19): the query
is checked and run off the screen thread, keys go on being handled while it runs, and a newer
search replaces one still running (its result is never shown)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from storage import search
from tests.app_helpers import make_app, ready, seeded_desk, wait_for
from widgets.lists import ConversationList

pytestmark = pytest.mark.sqlite_only


async def test_keys_go_on_while_a_search_runs_and_a_newer_one_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "desk.db"
    desk = await seeded_desk(path, ["Printer on fire", "Invoice is wrong"])
    release = threading.Event()
    checking = search.problem
    seen: list[str] = []

    def slow_problem(session: Any, typed: str, **kw: Any) -> str | None:
        seen.append(typed)
        if typed == "printer":
            release.wait(10)  # the first search holds the desk's thread
        return checking(session, typed, **kw)

    monkeypatch.setattr(search, "problem", slow_problem)
    app = make_app(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        inbox = app.screen
        rows = inbox.query_one(ConversationList)
        box = inbox.query_one("#search", Input)
        await pilot.press("slash", *"printer", "enter")
        await wait_for(pilot, lambda: seen == ["printer"], what="the first search to start")
        await pilot.press("ctrl+u", *"invoice")  # typed while the first one runs
        await wait_for(pilot, lambda: box.value == "invoice", what="the keys to be handled")
        await pilot.press("enter")
        release.set()
        await wait_for(pilot, lambda: inbox.selection.search == "invoice", what="the newer one")
        await wait_for(pilot, lambda: rows.loaded and rows.total == 1, what="its hits")
        assert rows.current is not None and rows.current["subject"] == "Invoice is wrong"
        await pilot.pause(0.3)
        assert inbox.selection.search == "invoice"  # the older search never came back
    await desk.db.close()
