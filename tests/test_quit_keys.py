"""Keys pressed right after q are ignored (issue 18 item 12): the app exits cleanly with code 0,
never with a traceback (`NoMatches '#top-bar'`, `NoMatches 'OptionList'`).

A terminal hands the app a quick burst of keys at once: the keys typed after q are read before
the app has closed. Pilot posts such a burst (every key queued before the first is handled);
the tmux test types it into the real program at 80x24 and reads what the terminal shows after
it exits.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from textual import events

from app.tui import DesklineApp
from tests.app_helpers import make_app, ready, seeded_desk

SIZE = (80, 24)
# What fingers do after q: modes, list keys, help, tasks, the palette, enter and escape.
AFTER_Q = ["3", "2", "1", "j", "k", "question_mark", "T", "ctrl+p", "enter", "escape"]
CHARS = {"question_mark": "?", "enter": "\r", "escape": "\x1b", "ctrl+p": None}
MODE_KEYS = {"inbox": "1", "board": "2", "settings": "3"}


def burst(app: DesklineApp, keys: list[str]) -> None:
    """Keys as a terminal delivers a quick burst: all queued before the app handles the first."""
    for key in keys:
        char = CHARS.get(key, key)
        app.post_message(events.Key(key, char))


async def quit_with(tmp_path: Path, first: str, keys: list[str]) -> DesklineApp:
    path = tmp_path / "desk.db"
    desk = await seeded_desk(path, ["Printer on fire", "Invoice wrong"])
    app = make_app(path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:  # re-raises what the app raised
        await ready(pilot)
        await pilot.press(first)
        await pilot.pause(0.3)
        burst(app, keys)
        await pilot.pause(0.5)
    await desk.db.close()
    assert not app.is_running, "q quits"
    return app


@pytest.mark.sqlite_only
@pytest.mark.parametrize("mode", ["inbox", "board", "settings"])
@pytest.mark.parametrize("then", [[k] for k in AFTER_Q] + [AFTER_Q], ids=lambda k: "+".join(k))
async def test_keys_after_q_are_ignored(tmp_path: Path, mode: str, then: list[str]) -> None:
    app = await quit_with(tmp_path, MODE_KEYS[mode], ["q", *then])
    assert app.return_code == 0


@pytest.mark.sqlite_only
@pytest.mark.parametrize("opening", ["3", "2", "t"])
async def test_q_while_a_screen_opens_exits_cleanly(tmp_path: Path, opening: str) -> None:
    """A screen opened by the key just before q (still loading its rows) closes with the app."""
    app = await quit_with(tmp_path, "1", [opening, "q", "j", "3"])
    assert app.return_code == 0


# --- the real program in a real terminal --------------------------------------------------------

DESKLINE = Path(sys.executable).with_name("deskline")


@pytest.mark.sqlite_only
async def test_q_then_keys_in_tmux_prints_no_traceback(tmp_path: Path) -> None:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    path = tmp_path / "desk.db"
    desk = await seeded_desk(path, ["Printer on fire"])
    await desk.db.close()
    session = "dlq-" + uuid.uuid4().hex[:8]

    def tmux(*args: str) -> str:
        run = subprocess.run(["tmux", "-L", session, *args], capture_output=True, text=True)
        return run.stdout

    command = f"{DESKLINE} --db {path} --as admin --no-mail; echo deskline exited $?; sleep 60"
    env = ["-eTERM=xterm-256color", f"-eXDG_CONFIG_HOME={tmp_path}"]
    tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", *env, command)
    try:
        deadline = time.monotonic() + 15
        while "Printer on fire" not in tmux("capture-pane", "-p") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "Printer on fire" in tmux("capture-pane", "-p"), "the inbox never showed"
        tmux("send-keys", "-t", session, "q", "3", "2", "j", "T", "?", "1", "k")  # one burst
        deadline = time.monotonic() + 10
        while "deskline exited" not in (text := tmux("capture-pane", "-p", "-S", "-200")):
            assert time.monotonic() < deadline, f"the app did not exit:\n{text}"
            time.sleep(0.1)
        assert "deskline exited 0" in text, text
        assert "Traceback" not in text and "NoMatches" not in text, text
    finally:
        tmux("kill-server")
