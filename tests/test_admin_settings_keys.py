"""Keys on the settings screen and its pick lists (issue 18 items 13, 14).

Pilot over a real SQLite file. Each test fails on the code before the change: no key jumped
between sections, `j` on the last row wrapped to the top, `G` did nothing in a pick list, a key
the highlighted row does not take did nothing and said nothing, `3` in the workflow editor
(opened from settings) left the editor on screen, and notices piled up without limit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.screens.dialogs import PickerScreen
from app.screens.settings import SettingsScreen
from app.screens.workflows import WorkflowsScreen
from tests.app_helpers import make_app, seeded_desk, wait_for
from tests.test_app_settings import go_to, key_of, open_settings

SIZE = (80, 24)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "desk.db"


def kind_of(screen: SettingsScreen) -> str:
    assert screen.item is not None
    return screen.item.kind


def messages(app: Any) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_section_keys_jump_between_sections(db_path):
    """`}` goes to the first row of the next section, `{` back to the one before."""
    desk = await seeded_desk(db_path)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        assert kind_of(screen) == "pipeline"
        seen = []
        for _ in range(20):
            await pilot.press("right_curly_bracket")
            await pilot.pause(0.05)
            if "This is the last section." in messages(app):
                break
            seen.append(kind_of(screen))
        assert seen[:6] == ["channel", "trigger", "status", "template", "branding", "limit"]
        assert kind_of(screen) == seen[-1]  # the last section: it stays, and says so
        await pilot.press(*["left_curly_bracket"] * (len(seen) - 3))
        await pilot.pause(0.05)
        assert kind_of(screen) == "status"
        await go_to(pilot, screen, key_of(screen, "status", {"status": "Closed"}))
        await pilot.press("left_curly_bracket")  # inside a section: its first row
        await pilot.pause(0.05)
        assert screen.item is not None and screen.item.data["status"] == "New"
    await desk.db.close()


async def test_j_on_the_last_row_stays_there(db_path):
    """`j` on the last row does not wrap to the first; `k` on the first stays too."""
    desk = await seeded_desk(db_path)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        last = screen.items[-1].key
        await go_to(pilot, screen, last)
        await pilot.press("j", "j")
        await pilot.pause(0.05)
        assert screen.item is not None and screen.item.key == last
        await go_to(pilot, screen, key_of(screen, "pipeline", {}))
        await pilot.press("k")
        await pilot.pause(0.05)
        assert kind_of(screen) == "pipeline"
    await desk.db.close()


async def test_G_and_g_in_a_pick_list(db_path):
    """`G` (and End) goes to the last choice of a pick list, `g` to the first; `j` at the end
    stays."""
    desk = await seeded_desk(db_path)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        await go_to(pilot, screen, "trigger:customer_replied")
        await pilot.press("t")
        picker = await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen) and app.screen)
        options = picker.query_one("OptionList")
        last = len(picker.choices) - 1
        await pilot.press("g")
        await pilot.pause(0.05)
        assert options.highlighted == 0
        await pilot.press("G")
        await pilot.pause(0.05)
        assert options.highlighted == last
        await pilot.press("j")
        await pilot.pause(0.05)
        assert options.highlighted == last
        await pilot.press("home", "end")
        await pilot.pause(0.05)
        assert options.highlighted == last
        await pilot.press("escape")
    await desk.db.close()


async def test_a_key_the_row_does_not_take_says_so(db_path):
    """`Y` (clone workflow) on an action row: one line says it does not apply, nothing
    changes; a rep pressing a change key hears that settings are read-only."""
    desk = await seeded_desk(db_path)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        await go_to(pilot, screen, key_of(screen, "action", {"status": "New"}))
        before = [row.key for row in screen.items]
        await pilot.press("Y")
        await wait_for(pilot, lambda: "Clone workflow does not apply to this row." in messages(app))
        assert [row.key for row in screen.items] == before
    app = make_app(db_path, as_user="rita")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        await go_to(pilot, screen, key_of(screen, "action", {"status": "New"}))
        await pilot.press("x")
        await wait_for(pilot, lambda: any("read-only" in m.lower() for m in messages(app)))
    await desk.db.close()


async def test_3_in_the_workflow_editor_shows_settings(db_path):
    """`3` in the workflow editor (opened with W from settings) goes back to settings."""
    desk = await seeded_desk(db_path)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        await open_settings(pilot)
        await pilot.press("W")
        await wait_for(pilot, lambda: isinstance(app.screen, WorkflowsScreen))
        await pilot.press("3")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen), what="settings")
        await pilot.press("2", "3")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
    await desk.db.close()


async def test_notices_do_not_pile_up(db_path):
    """Item 14: five notices in a row leave at most two on screen, the newest."""
    desk = await seeded_desk(db_path)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_settings(pilot)
        for n in range(5):
            app.notify(f"notice {n}")
        await pilot.pause(0.2)
        assert messages(app) == ["notice 3", "notice 4"]
        toasts = list(app.screen.query("Toast"))
        assert len(toasts) == 2
    await desk.db.close()
