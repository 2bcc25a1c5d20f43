"""Everything fits at 80x24 or is cut with an ellipsis (issue 19 item 6 leftovers, issue 18
item 14): board column titles, card contacts, settings rows.

Pilot over a real SQLite file. Before: a board title was cut without an ellipsis ("1 Waiting on"),
a card's contact shrank to three letters beside "nobody · now".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.screens.board import BoardScreen
from tests.app_helpers import make_app, ready, screen_text, seeded_desk, wait_for
from tests.helpers import make_mail
from tests.test_app_settings import open_settings
from widgets.lists import card_second_line

SIZE = (80, 24)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "desk.db"


async def test_board_titles_and_contacts_fit_at_80x24(db_path):
    desk = await seeded_desk(db_path)
    raw, _ = make_mail(
        subject="Printer on fire", sender="alexandra@example.org", name="Alexandra Longname"
    )
    await desk.receive(raw)
    await desk.move(1, "Waiting on contact")
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("2")
        await wait_for(pilot, lambda: isinstance(app.screen, BoardScreen))
        await ready(pilot)
        await wait_for(pilot, lambda: "Alexandra" in screen_text(app), what="the card")
        lines = screen_text(app).splitlines()
        assert "1 Waiting on con…" in lines[1], lines[1]
        assert "Alexandra Lo…" in lines[3], lines[3]
    await desk.db.close()


def test_a_cards_second_line_gives_the_contact_room_first():
    """The contact first, the owner in what is left, the age always, `width` cells exactly."""
    assert card_second_line("Alexandra Longname", "", "3d", 18) == "  Alexandra Lo… 3d"
    assert card_second_line("Ben", "Rita Rep", "now", 28) == "  Ben · Rita Rep         now"
    assert card_second_line("Alexandra Longname", "", "now", 28) == "  Alexandra Longname     now"
    wide = card_second_line("Alexandra Longname", "Rita Rep", "now", 48)
    assert wide == "  Alexandra Longname · Rita Rep              now"
    for width in range(12, 60):
        assert len(card_second_line("Alexandra Longname", "Rita Rep", "5m", width)) == width


async def test_settings_rows_are_one_line_each_at_80x24(db_path):
    """Trigger and status rows are cut with an ellipsis, never wrapped onto a second line."""
    desk = await seeded_desk(db_path)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        await open_settings(pilot)
        text = screen_text(app)
        triggers = [line for line in text.splitlines() if "→ Waiting" in line]
        assert len(triggers) == 2 and all("…" in line for line in triggers), triggers
        statuses = [line for line in text.splitlines() if " tickets · " in line]
        assert len(statuses) == 4, statuses  # one line each, none wrapped onto the next
    await desk.db.close()
