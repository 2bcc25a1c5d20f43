"""The top bar fits the terminal: a long status gives way with an ellipsis, and the signed-in
user at its right end is always shown (80x24 is enough, nothing cut without an ellipsis)."""

from __future__ import annotations

from app.screens.base import top_bar
from app.screens.board import BoardScreen
from tests.app_helpers import make_app, ready, screen_text, seeded_desk, wait_for


def test_a_status_too_long_for_the_width_ends_in_an_ellipsis():
    bar = top_bar(
        "board", None, "pipeline Support Pipeline · p picks another · “x” (escape clears)"
    )
    fitted = top_bar(
        "board", None, "pipeline Support Pipeline · p picks another · “x” (escape clears)", width=60
    )
    assert bar.cell_length > 60
    assert fitted.cell_length <= 60 and fitted.plain.rstrip().endswith("…")


def test_the_status_keeps_its_start_and_who_is_here_and_the_user_give_way():
    status = "Support Pipeline workflows · enter opens the flow · escape goes back"
    fitted = top_bar("settings", None, status, here="bob and carol are here", width=80)
    assert fitted.cell_length <= 80
    assert "Support Pipeline workflows" in fitted.plain  # where you are stays
    assert "bob and carol" not in fitted.plain
    short = top_bar("inbox", None, "a status", here="bob is here", width=70)
    assert "a status" in short.plain and "bob is here" in short.plain  # room for both


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
        assert "…" in first and len(first.rstrip()) <= 80, first
        assert "“invoice” (escape clears)" in first, first  # the search leads the status
        assert app.screen.me.display_name[:3] in first, first  # the user's name, cut if need be
    await desk.db.close()
