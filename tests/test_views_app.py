"""Saved views and the board's search in the app (issue 13, SPEC D19, D20): V saves the search
shown as a view, f offers the saved views and runs one; the board's / shows only the cards of
the tickets the search finds, escape brings every card back; 80x24 fits."""

from __future__ import annotations

from pathlib import Path

import pytest

from automation import saved_views


async def _views(desk, user: str = "rita"):  # type: ignore[no-untyped-def]
    return await desk.as_user(
        user,
        lambda repo, u: [(v.name, v.query, v.list_name) for v in saved_views.views_of(repo, u)],
    )


@pytest.mark.sqlite_only
async def test_the_inbox_saves_and_runs_a_view(tmp_path: Path) -> None:
    from app.screens.dialogs import PickerScreen, PromptScreen
    from app.screens.inbox import InboxScreen
    from tests.app_helpers import make_app, ready, seeded_desk, wait_for

    path = tmp_path / "desk.db"
    desk = await seeded_desk(path, ["Printer on fire", "Invoice overdue"])
    app = make_app(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        inbox = app.screen
        assert isinstance(inbox, InboxScreen)
        await pilot.press("V")  # nothing searched yet: nothing to save
        await pilot.pause()
        assert not isinstance(app.screen, PromptScreen)
        await pilot.press("slash", *"invoice", "enter")
        await wait_for(pilot, lambda: inbox.selection.search == "invoice", what="the search")
        await pilot.press("V")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press(*"Bills", "enter")
        for _ in range(100):
            if await _views(desk):
                break
            await pilot.pause(0.05)
        assert await _views(desk) == [("Bills", "invoice", "inbox")]
        await pilot.press("escape")  # the search is cleared
        await wait_for(pilot, lambda: inbox.selection.search == "", what="cleared")
        await pilot.press("f")
        picker = await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen) and app.screen)
        assert any("Bills" in str(label) for label, _ in picker.choices)
        await pilot.press("end", "enter")
        await wait_for(pilot, lambda: inbox.selection.search == "invoice", what="the view")
    await desk.db.close()


@pytest.mark.sqlite_only
async def test_the_board_searches_with_the_index_and_saves_a_view(tmp_path: Path) -> None:
    from app.screens.board import BoardScreen
    from app.screens.dialogs import PromptScreen
    from tests.app_helpers import make_app, ready, screen_text, seeded_desk, wait_for

    path = tmp_path / "desk.db"
    desk = await seeded_desk(path, ["Printer on fire", "Invoice overdue"], received=False)
    app = make_app(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("2")
        board = await wait_for(pilot, lambda: isinstance(app.screen, BoardScreen) and app.screen)
        await wait_for(pilot, lambda: "2 New" in screen_text(app), what="the board")
        # both texts say "printer is on fire": the phrase is only in #1's subject
        await pilot.press("slash", *'"printer on"', "enter")
        await wait_for(pilot, lambda: "1 New" in screen_text(app), what="the search")
        assert "Printer on fire" in screen_text(app)
        assert "Invoice overdue" not in screen_text(app)
        await pilot.press("slash", *" subject:", "enter")  # a malformed query: said, kept
        await wait_for(pilot, lambda: board.search == '"printer on"' and app.screen is board)
        await pilot.press("escape", "V")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press(*"Fires", "enter")
        for _ in range(100):
            if await _views(desk):
                break
            await pilot.pause(0.05)
        assert await _views(desk) == [("Fires", '"printer on"', "board")]
        await pilot.press("escape")
        await wait_for(pilot, lambda: "2 New" in screen_text(app), what="every card again")
    await desk.db.close()
