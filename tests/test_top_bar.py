"""The top bar fits the terminal: a long status gives way with an ellipsis, and the signed-in
user at its right end is always shown (80x24 is enough, nothing cut without an ellipsis)."""

from __future__ import annotations

from app.screens.base import top_bar
from app.screens.board import BoardScreen
from tests.app_helpers import make_app, ready, screen_text, seeded_desk, wait_for


def test_a_status_too_long_for_the_width_ends_in_an_ellipsis():
    bar = top_bar("board", None, "pipeline Support Pipeline · p picks another · “x” (escape clears)")
    fitted = top_bar(
        "board", None, "pipeline Support Pipeline · p picks another · “x” (escape clears)", width=60
    )
    assert bar.cell_length > 60
    assert fitted.cell_length <= 60 and fitted.plain.rstrip().endswith("…")


def test_who_else_is_here_gives_way_after_the_status():
    fitted = top_bar("inbox", None, "a status", here="bob and carol are here", width=50)
    assert fitted.cell_length <= 50
    assert "a status" not in fitted.plain and fitted.plain.rstrip().endswith("…")


async def test_the_board_search_status_fits_80_columns_with_the_user_shown(tmp_path):
    db_path = tmp_path / "desk.db"
    desk = await seeded_desk(db_path, ["Invoice is wrong", "Printer on fire"], received=False)
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("2")
        await wait_for(pilot, lambda: isinstance(app.screen, BoardScreen))
        await pilot.press("slash", *"invoice", "enter")
        await wait_for(pilot, lambda: "invoice" in screen_text(app).splitlines()[0])
        first = screen_text(app).splitlines()[0]
        assert "…" in first, first
        assert first.rstrip().endswith(f"({'admin' if app.screen.me.is_admin else 'rep'})"), first
    await desk.db.close()
