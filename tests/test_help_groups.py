"""Issue 18 item 10: `?` shows the screen's own keys first, grouped by the kind of row they
act on (settings), leaves out Textual's generic keys, and G/End, g/Home scroll it."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.containers import VerticalScroll
from textual.widgets import Static

from app.screens.commands import words_match
from app.screens.help import HelpScreen
from app.screens.settings import SettingsScreen
from tests.app_helpers import make_app, ready, seeded_desk, wait_for
from tests.test_app_settings import open_settings

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "desk.db"


async def test_settings_help_groups_keys_by_row_and_scrolls_to_its_ends(db_path: Path) -> None:
    desk = await seeded_desk(db_path)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_settings(pilot)
        await pilot.press("question_mark")
        shown = await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen) and app.screen)
        text = str(list(shown.query(Static))[1].render())
        assert "On status rows" in text and "On action rows" in text
        assert text.index("On status rows") < text.index("All keys of this screen")
        status_part = text[
            text.index("On status rows") : text.index("\n\n", text.index("On status rows"))
        ]
        assert "add action" in status_part and "new status" in status_part
        assert "Scroll Left" not in text and "Scroll Right" not in text  # Textual's own keys
        scroll = shown.query_one(VerticalScroll)
        assert scroll.max_scroll_y > 0  # at 80x24 the keys do not fit: scrolling matters
        await pilot.press("G")
        await wait_for(pilot, lambda: scroll.scroll_y == scroll.max_scroll_y, what="the end")
        await pilot.press("g")
        await wait_for(pilot, lambda: scroll.scroll_y == 0, what="the start")
    await desk.db.close()


async def test_the_palette_finds_what_settings_rows_take_by_their_words(db_path: Path) -> None:
    """Issue 18 item 10: "template", "team", "wait", "pipeline" find commands, each saying what
    it does and where; choosing one goes to settings and names the key for that kind of row."""
    desk = await seeded_desk(db_path, ["Printer on fire"])
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        commands = list(app.get_system_commands(app.screen))
        for word in ("template", "team", "wait", "pipeline"):
            found = [c for c in commands if words_match(word, c.title, c.help)]
            assert found, word
            assert all(not c.help.startswith("key ") for c in found)
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"wait")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen), what="settings")
        await wait_for(pilot, lambda: app._notifications, what="the key to press")
        notices = [n.message for n in app._notifications]
        assert any("press a and pick: Wait" in text for text in notices), notices
    await desk.db.close()
