"""The settings history in the settings screen (SPEC S11, issue 14): `H` shows an admin every
settings change with who, when and before -> after, newest first, paged like the inbox, each
line cut with an ellipsis at 80x24 and the highlighted change whole below; a rep has no such
key. Pilot over a real SQLite file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static

from app.screens.help import HelpScreen
from app.screens.settings.history import ChangeList, SettingsHistoryScreen
from app.screens.settings.screen import SettingsScreen
from automation import admin
from tests.app_helpers import make_app, ready, screen_text, seeded_desk, wait_for
from tests.test_app_settings import open_settings
from widgets.row_list import PAGE

SIZE = (80, 24)
LONG = "Support for every customer of the north-western region, weekdays and weekends alike"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "desk.db"


def many_settings(repo: Any, user: Any) -> None:
    for n in range(PAGE + 30):  # more than one page of the list
        repo.set_setting(f"test.history.{n:03}", n)
        repo.session.flush()


async def open_history(pilot: Any) -> SettingsHistoryScreen:
    settings = await open_settings(pilot)
    assert isinstance(settings, SettingsScreen)
    await pilot.press("H")
    app = pilot.app
    await wait_for(
        pilot,
        lambda: (
            isinstance(app.screen, SettingsHistoryScreen)
            and app.screen.query_one(ChangeList).loaded
        ),
        what="the settings history",
    )
    assert isinstance(app.screen, SettingsHistoryScreen)
    return app.screen


async def test_s11_history_lists_changes_newest_first_paged_and_fits_80x24(db_path):
    desk = await seeded_desk(db_path)
    await desk.admin(many_settings)
    await desk.admin(lambda repo, me: admin.add_team(repo, me, "Billing", []))
    await desk.admin(lambda repo, me: admin.add_member(repo, me, "Billing", "rita"))
    await desk.admin(lambda repo, me: admin.rename_team(repo, me, "Billing", LONG))
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        history = await open_history(pilot)
        changes = history.query_one(ChangeList)
        assert changes.total >= PAGE + 33
        lines = screen_text(app).splitlines()
        assert len(lines) == 24 and all(len(text) <= 80 for text in lines)
        # newest first: the rename, cut with an ellipsis on its line, whole below
        # newest first: the rename, cut with an ellipsis on its line, whole below
        assert "team Support" in lines[2] and "team member Billing" in lines[3], lines
        assert "admin" in lines[2] and lines[2].rstrip().endswith("…"), lines[2]
        detail = str(history.query_one("#history-detail").render())
        assert f"name: Billing -> {LONG}" in detail.replace("\n", " ") and "admin" in detail
        await pilot.press("j")  # the member added, before -> after
        await wait_for(
            pilot,
            lambda: (
                "team member Billing / rita added"
                in str(history.query_one("#history-detail").render())
            ),
            what="the member's change below the list",
        )
        assert 'members: [] -> ["rita"]' in str(history.query_one("#history-detail").render())
        assert "Back" in lines[-1]
        # paged: the last row is the desk's first change (made by init), read from a later page
        await pilot.press("G")
        await wait_for(
            pilot,
            lambda: changes.current is not None and changes.current["id"] == 1,
            what="the oldest change",
        )
        assert changes.cursor == changes.total - 1 >= PAGE
        await wait_for(
            pilot,
            lambda: str(history.query_one("#history-detail").render()).startswith("20"),
            what="the oldest change below the list",
        )
        # escape goes back to the settings
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen), what="settings")
        # the key is in the palette and in `?` (the footer shows it when the row's keys leave
        # room, else `? more`)
        footer = screen_text(app).splitlines()[-1]
        assert "H History" in footer or "? more" in footer
        palette = [c.title for c in app.get_system_commands(app.screen)]
        assert any("History" in title for title in palette), palette
        await pilot.press("question_mark")
        help_screen = await wait_for(
            pilot, lambda: isinstance(app.screen, HelpScreen) and app.screen, what="help"
        )
        text = str(list(help_screen.query(Static))[1].render())
        assert "settings.history" in text and "History" in text
    await desk.db.close()


async def test_s11_history_is_an_admins(db_path):
    """A rep reads the settings but has no history key (the audit is an admin's, SPEC S5)."""
    desk = await seeded_desk(db_path)
    await desk.admin(lambda repo, me: admin.add_team(repo, me, "Billing", []))
    app = make_app(db_path, as_user="rita")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        settings = await open_settings(pilot)
        assert settings.check_action("history", ()) is False
        await pilot.press("H")
        await pilot.pause(0.3)
        assert isinstance(app.screen, SettingsScreen)
        assert "History" not in screen_text(app).splitlines()[-1]
    await desk.db.close()
