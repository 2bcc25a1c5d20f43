"""NO_COLOR (no-color.org; SPEC D12, issue 19 item 16): no colour codes at all, neither the
theme's colours nor grey ones; bold, reverse and underline may stay.

Checked twice: in Pilot, on the segments the app draws (after its line filters), and in a real
terminal (tmux), on the escape codes the pane holds.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from app.screens.ticket import TicketScreen
from tests.app_helpers import make_app, ready, screen_text, seeded_desk, wait_for

SUBJECTS = ["Printer on fire", "Invoice is wrong", "Cannot log in"]
DESKLINE = Path(sys.executable).with_name("deskline")
SGR = re.compile(r"\x1b\[([0-9;:]*)m")
pytestmark = pytest.mark.sqlite_only


def colour_codes(ansi: str) -> list[str]:
    """The SGR parameters in `ansi` that set a colour (30-38, 40-48, 90-97, 100-107; 38;5 and
    38;2 included). 39 and 49, the terminal's own colours, are no colour."""
    found = []
    for match in SGR.finditer(ansi):
        for code in re.split("[;:]", match.group(1)):
            if code.isdigit() and (
                30 <= int(code) <= 38 or 40 <= int(code) <= 48 or 90 <= int(code) <= 107
            ):
                found.append(match.group(0))
    return found


def coloured_segments(app) -> list[str]:
    strips = app.screen._compositor.render_strips()
    return [
        f"{segment.text!r}: {segment.style}"
        for strip in strips
        for segment in strip
        if segment.style is not None and (segment.style.color or segment.style.bgcolor)
    ]


def test_colour_codes_are_found():
    assert colour_codes("\x1b[1;38;5;250mx\x1b[48;2;1;2;3m") != []
    assert colour_codes("\x1b[31m") and colour_codes("\x1b[97m")
    assert colour_codes("\x1b[1m\x1b[7m\x1b[4mx\x1b[0m\x1b[39;49m") == []


async def test_no_screen_draws_a_colour_under_no_color(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    db_path = tmp_path / "desk.db"
    desk = await seeded_desk(db_path, SUBJECTS)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        for key, shows in (("2", "New"), ("3", "Connected channels"), ("1", "Ticket #3")):
            await pilot.press(key)
            await wait_for(pilot, lambda shows=shows: shows in screen_text(app), what=shows)
            await pilot.pause(0.2)
            assert coloured_segments(app) == []
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TicketScreen))
        await pilot.pause(0.2)
        assert coloured_segments(app) == []
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        assert coloured_segments(app) == []
    await desk.db.close()


async def test_colours_are_drawn_without_no_color(tmp_path, monkeypatch):
    """The check above can fail: without NO_COLOR the same screen has colours."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    db_path = tmp_path / "desk.db"
    desk = await seeded_desk(db_path, SUBJECTS[:1])
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert coloured_segments(app) != []
    await desk.db.close()


def _tmux(session: str, *args: str) -> str:
    result = subprocess.run(
        ["tmux", "-L", session, *args], capture_output=True, text=True, check=False
    )
    return result.stdout


async def test_no_color_in_a_real_terminal(tmp_path):
    """tmux at 80x24 and 256 colours: the pane holds no colour code on any mode's screen."""
    if shutil.which("tmux") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("tmux is required under CI")
        pytest.skip("tmux is not installed")
    db_path = tmp_path / "desk.db"
    desk = await seeded_desk(db_path, SUBJECTS)
    await desk.db.close()
    session = "dl-" + uuid.uuid4().hex[:8]
    env = {
        "NO_COLOR": "1",
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "XDG_CONFIG_HOME": str(tmp_path),
        "PATH": os.environ["PATH"],
        **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"},
    }
    command = f"{DESKLINE} --db {db_path} --as admin --no-mail"
    _tmux(session, "new-session", "-d", "-s", session, "-x", "80", "-y", "24",
          *[f"-e{k}={v}" for k, v in env.items()], command)  # fmt: skip
    try:
        for key, shows in ((None, "Printer on fire"), ("2", "New"), ("3", "Connected channels")):
            if key:
                _tmux(session, "send-keys", "-t", session, key)
            deadline = time.monotonic() + 15
            while shows not in _tmux(session, "capture-pane", "-p", "-t", session):
                assert time.monotonic() < deadline, f"{shows!r} never appeared"
                time.sleep(0.1)
            time.sleep(0.5)
            ansi = _tmux(session, "capture-pane", "-p", "-e", "-t", session)
            assert SGR.search(ansi), "the pane holds no attributes at all: nothing was checked"
            assert colour_codes(ansi) == [], ansi
    finally:
        _tmux(session, "kill-server")
