"""Everything fits at 80x24 or is cut with an ellipsis (issue 19 item 6 leftovers, issue 18
item 14): board column titles, card contacts, settings rows.

Pilot over a real SQLite file. Before: a board title was cut without an ellipsis ("1 Waiting on"),
a card's contact shrank to three letters beside "nobody · now".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from app.screens.board import BoardScreen
from app.screens.dialogs import PromptScreen
from automation import admin, outbound
from automation.admin.limits import max_message_mb
from tests.app_helpers import make_app, ready, screen_text, seeded_desk, wait_for, wait_for_async
from tests.helpers import make_mail
from tests.test_app_settings import details_text, go_to, open_settings
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


async def test_limits_are_set_from_the_settings_screen(db_path):
    """Issue 19 leftover: old mail, the undo window and the largest message, which only the CLI
    set (`automation limits`), are rows of the settings screen: `e` changes one, a wrong value
    is refused with the reason, a rep reads them."""
    desk = await seeded_desk(db_path)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        assert [r.key for r in screen.items if r.kind == "limit"] == [
            "limit:old_mail_hours",
            "limit:undo_seconds",
            "limit:max_message_mb",
        ]
        await go_to(pilot, screen, "limit:undo_seconds")
        assert "Undo window 10 seconds" in screen_text(app)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press("ctrl+u", *"30", "enter")
        await wait_for_async(pilot, lambda: _limit(desk, admin.undo_window, 30))
        await wait_for(pilot, lambda: "Undo window 30 seconds" in screen_text(app))
        await go_to(pilot, screen, "limit:old_mail_hours")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press("ctrl+u", *"0", "enter")
        await wait_for(
            pilot, lambda: any("between 1 and" in str(n.message) for n in app._notifications)
        )
        await go_to(pilot, screen, "limit:max_message_mb")
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press("ctrl+u", *"2.5", "enter")
        await wait_for_async(pilot, lambda: _limit(desk, max_message_mb, 2.5))
    assert await _limit(desk, outbound.old_mail_hours, 24)
    app = make_app(db_path, as_user="rita")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        await go_to(pilot, screen, "limit:undo_seconds")
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, PromptScreen)
        assert "30 seconds" in details_text(screen)
    await desk.db.close()


async def _limit(desk: Any, read: Any, value: float) -> bool:
    return bool(await desk.db.run(lambda repo: read(repo) == value))


async def test_inbox_and_board_date_a_ticket_by_its_newest_mail(db_path):
    """Issue 18 item 14 (and issue 19 item 9, checked): a message dated three days ago and
    imported now is "3d" in the inbox and on its board card (before, the card said "now": the
    ticket's last change, the import)."""
    desk = await seeded_desk(db_path)
    msg = EmailMessage()
    msg["From"] = "Olga Older <olga@example.org>"
    msg["To"] = "support@help.example"
    msg["Subject"] = "Written three days ago"
    msg["Date"] = format_datetime(datetime.now(UTC) - timedelta(days=3, minutes=5))
    msg["Message-ID"] = "<three-days@example.org>"
    msg.set_content("Hello from the past.")
    await desk.receive(bytes(msg))
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: "Written three days" in screen_text(app))
        row = next(line for line in screen_text(app).splitlines() if "Written three" in line)
        assert row.split("▕")[0].rstrip().endswith("3d"), row
        await pilot.press("2")
        await wait_for(pilot, lambda: isinstance(app.screen, BoardScreen))
        await ready(pilot)
        await wait_for(pilot, lambda: "Olga Older" in screen_text(app), what="the card")
        card = next(line for line in screen_text(app).splitlines() if "Olga Older" in line)
        assert card.split("▕")[0].rstrip().endswith("3d"), card
    await desk.db.close()
