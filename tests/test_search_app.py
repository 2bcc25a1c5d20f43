"""The inbox's `/` speaks the search language of `deskline search` (SPEC D19): words in the
bodies, filters, and a query it cannot read is named while the text stays in the box."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from automation import services
from tests.app_helpers import make_app, ready, seeded_desk, wait_for
from tests.helpers import make_mail
from widgets.conversation_view import ConversationView
from widgets.lists import ConversationList

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "desk.db"


async def test_slash_searches_bodies_and_filters_and_names_a_mistake(db_path: Path) -> None:
    desk = await seeded_desk(db_path, ["Printer on fire", "Invoice is wrong"])
    parcel = make_mail(subject="Question", body="My parcel went to the neighbour")
    await desk.receive(parcel[0])
    await desk.move(1, "Closed")
    app = make_app(db_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        rows = app.screen.query_one(ConversationList)
        await pilot.press("f", "end", "enter")  # All: open and closed
        await wait_for(pilot, lambda: rows.loaded and rows.total == 3, what="all")
        await pilot.press("slash", *"neighbour", "enter")  # a word of a body, not a subject
        await wait_for(pilot, lambda: rows.loaded and rows.total == 1, what="body word")
        assert rows.current is not None and rows.current["subject"] == "Question"
        pane = app.screen.query_one(ConversationView)
        await wait_for(pilot, lambda: pane.view and pane.view["subject"] == "Question")
        shown = pane._render()
        marked = [shown.plain[span.start : span.end] for span in shown.spans if span.style]
        assert "neighbour" in marked  # the word found is marked in the message

        await pilot.press("slash", "ctrl+u", *"ticket:closed", "enter")
        await wait_for(pilot, lambda: rows.loaded and rows.total == 1, what="closed tickets")
        assert rows.current is not None and rows.current["subject"] == "Printer on fire"

        box = app.screen.query_one("#search", Input)
        await pilot.press("slash", "ctrl+u", *"stauts:open", "enter")
        await wait_for(pilot, lambda: app._notifications, what="the message")
        messages = [n.message for n in app._notifications]
        assert any("did you mean status:" in text for text in messages)
        assert box.display and box.has_focus and box.value == "stauts:open"
        assert app.screen.selection.search == "ticket:closed"  # the list kept the last search
    await desk.db.close()


async def test_a_search_of_a_name_the_desk_lacks_lists_the_known_ones(db_path: Path) -> None:
    desk = await seeded_desk(db_path, ["Printer on fire"])
    await desk.as_user("rita", lambda repo, u: services.assign(repo, u, 1, "rita"))
    app = make_app(db_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        rows = app.screen.query_one(ConversationList)
        await pilot.press("slash", *"owner:me", "enter")
        await wait_for(pilot, lambda: rows.loaded and rows.total == 1, what="mine")
        await pilot.press("slash", "ctrl+u", *"status:Nope", "enter")
        await wait_for(pilot, lambda: app._notifications, what="the message")
        assert any("statuses: New" in n.message for n in app._notifications)
    await desk.db.close()
