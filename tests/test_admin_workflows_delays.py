"""Delays and due times as people type them (issue 18 item 11, SPEC R-A5): the parser
(`automation.durations`), when such a delay ends, the app's dialog that stays open on a wrong
delay, and the CLI's --delay."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Label

from app.screens.dialogs import PromptScreen
from automation.durations import DelayError, parse_delay
from automation.schedule import describe_delay, describe_due, due_time
from tests.app_helpers import make_app, screen_text, seeded_desk, wait_for, wait_for_async
from tests.test_app_settings import _has_actions, add_action_of_kind, open_settings

SIZE = (80, 24)
DESKLINE = [sys.executable, "-m", "app.cli"]


@pytest.mark.parametrize(
    ("typed", "seconds"),
    [
        ("1 hour", 3600),
        ("90 minutes", 5400),
        ("2 days", 172800),
        ("1h30m", 5400),
        ("1 hour and 30 minutes", 5400),
        ("1 h, 30 min", 5400),
        ("45 secs", 45),
        ("1 week", 604800),
        ("30m", 1800),
        ("0s", 0),
        ("  2   HOURS ", 7200),
    ],
)
def test_durations_in_words_and_letters(typed: str, seconds: int) -> None:
    assert parse_delay(typed) == {"seconds": seconds}


@pytest.mark.parametrize(
    ("typed", "config"),
    [
        ("tomorrow 9", {"days": 1, "hour": 9, "tz": "UTC"}),
        ("Tomorrow 17:00 Europe/Paris", {"days": 1, "hour": 17, "tz": "Europe/Paris"}),
        ("tomorrow 5pm", {"days": 1, "hour": 17, "tz": "UTC"}),
        ("monday 9", {"weekday": 0, "hour": 9, "tz": "UTC"}),
        ("mon 09:00 Europe/Berlin", {"weekday": 0, "hour": 9, "tz": "Europe/Berlin"}),
        ("thurs 12am", {"weekday": 3, "hour": 0, "tz": "UTC"}),
    ],
)
def test_an_hour_of_a_day(typed: str, config: dict[str, Any]) -> None:
    assert parse_delay(typed) == config


def test_tomorrow_takes_the_desk_zone_when_none_is_typed() -> None:
    assert parse_delay("tomorrow 9", zone="Europe/Berlin")["tz"] == "Europe/Berlin"


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("soon", "cannot read the delay 'soon'"),
        ("1 hourr", "cannot read the delay"),
        ("1 hour 30", "cannot read the delay"),
        ("tomorrow", "say the hour too"),
        ("monday nine", "cannot read the hour 'nine'"),
        ("tomorrow 9:30", "cannot read the hour"),
        ("monkey 9", "cannot read the delay"),
        ("tomorrow 25", "cannot read the hour"),
        ("tomorrow 9 Mars/Base", "unknown time zone 'Mars/Base'"),
        ("400 days", "between 0 seconds and 366 days"),
        ("", "write how long to wait"),
    ],
)
def test_what_cannot_be_read_says_why_in_one_line(typed: str, says: str) -> None:
    with pytest.raises(DelayError, match=says) as caught:
        parse_delay(typed)
    assert "\n" not in str(caught.value)


def test_tomorrow_9_ends_at_nine_the_next_day_in_its_zone() -> None:
    late_evening = datetime(2026, 12, 4, 23, 30, tzinfo=UTC)
    assert due_time(parse_delay("tomorrow 9"), late_evening) == datetime(2026, 12, 5, 9, tzinfo=UTC)
    early = datetime(2026, 12, 4, 6, 0, tzinfo=UTC)  # 07:00 in Berlin: still the next day
    assert due_time(parse_delay("tomorrow 9 Europe/Berlin"), early) == datetime(
        2026, 12, 5, 8, tzinfo=UTC
    )
    assert describe_delay(parse_delay("tomorrow 9")) == "Wait until the next day 09:00 (UTC)"
    assert describe_due(parse_delay("tomorrow 9")) == "due the next day 09:00 (UTC)"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "desk.db"


async def test_a_wrong_delay_keeps_the_dialog_open_and_a_natural_one_is_stored(db_path):
    """Issue 18 item 11: "soon" leaves the dialog open with a one-line error under what was
    typed (the choices made so far are kept); "1 hour" is accepted and stored as 1 h."""
    desk = await seeded_desk(db_path)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        await add_action_of_kind(pilot, screen, "Closed", "delay")
        prompt = await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen) and app.screen)
        await pilot.press(*"soon", "enter")
        error = await wait_for(
            pilot,
            lambda: (
                "cannot read the delay" in str(prompt.query_one("#prompt-error", Label).content)
                and prompt.query_one("#prompt-error", Label)
            ),
            what="the error line",
        )
        assert app.screen is prompt and prompt.query_one(Input).value == "soon"
        assert "\n" not in str(error.content)
        assert "cannot read the delay" in screen_text(app)
        prompt.query_one(Input).value = ""
        await pilot.press(*"1 hour", "enter")
        await wait_for(pilot, lambda: app.screen is not prompt, what="the dialog to close")
        await wait_for_async(
            pilot,
            lambda: _has_actions(desk, "Closed", ["Send email “Ticket closed”", "Wait 1 h"]),
            what="the delay stored",
        )
    await desk.db.close()


def _cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*DESKLINE, "--db", f"sqlite+aiosqlite:///{db}", "--as", "admin", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_the_cli_delay_option_reads_natural_forms(db_path):
    """`deskline workflow action add --delay "90 minutes"` and "tomorrow 9" are stored; a
    wrong one is refused with the reason and stores nothing."""
    desk = await seeded_desk(db_path)
    await desk.db.close()
    for typed in ("90 minutes", "tomorrow 9"):
        done = _cli(db_path, "workflow", "action", "add", "--workflow", "1", "--delay", typed)
        assert done.returncode == 0, done.stderr
    wrong = _cli(db_path, "workflow", "action", "add", "--workflow", "1", "--delay", "soonish")
    assert wrong.returncode != 0 and "cannot read the delay 'soonish'" in wrong.stderr
    shown = _cli(db_path, "workflow", "show", "1")
    assert "Wait 1 h 30 min" in shown.stdout
    assert "Wait until the next day 09:00 (UTC)" in shown.stdout
    assert "soonish" not in shown.stdout
