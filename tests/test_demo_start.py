"""`deskline demo` paints at once (issue 19 item 8): the app opens on a "Building the demo" screen
with a progress bar while the demo is built on a thread, then shows the desk."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

import demo.build
from app.cli.main import build_parser
from app.cli.setup import cmd_demo
from app.screens.inbox import InboxScreen
from tests.app_helpers import make_app, ready, screen_text, seeded_desk, wait_for

DESKLINE = Path(sys.executable).with_name("deskline")
pytestmark = pytest.mark.sqlite_only


async def test_the_demo_build_reports_its_progress(tmp_path, monkeypatch):
    full = demo.build.plan_history
    monkeypatch.setattr(demo.build, "plan_history", lambda rng: full(rng)[:60])
    seen: list[tuple[int, int]] = []
    path = await demo.build.build_demo(
        str(tmp_path / "demo.db"), progress=lambda done, total: seen.append((done, total))
    )
    assert path.exists()
    assert seen[0][0] == 0 and seen[-1][0] == seen[-1][1] > 3
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert len({total for _, total in seen}) == 1


async def test_deskline_demo_opens_the_app_before_building(tmp_path):
    """`cmd_demo` only checks the path and hands the build to the app: it returns at once."""
    path = tmp_path / "demo.db"
    args = build_parser().parse_args(["demo", "--path", str(path)])
    args.db_given = False
    started = time.monotonic()
    assert await cmd_demo(args) == 0
    assert time.monotonic() - started < 1
    assert not path.exists()  # not built yet: the app builds it
    assert args.open_app_after and callable(args.prepare) and args.db == str(path)


async def test_the_app_shows_progress_while_preparing_then_the_desk(tmp_path):
    db_path = tmp_path / "desk.db"
    go_on = threading.Event()

    def prepare(report) -> None:
        report(0, 4)
        report(1, 4)
        go_on.wait(10)
        desk = asyncio.run(seeded_desk(db_path, ["Printer on fire"]))
        asyncio.run(desk.db.close())
        report(4, 4)

    app = make_app(db_path, prepare=prepare)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "Building the demo" in screen_text(app), what="progress")
        # the step reported from the build's thread shows once the app has taken it in
        await wait_for(pilot, lambda: "25%" in screen_text(app), what="the step")
        go_on.set()
        await ready(pilot)
        assert isinstance(app.screen, InboxScreen)
        await wait_for(pilot, lambda: "Printer on fire" in screen_text(app))


async def test_quitting_while_the_demo_builds_stops_the_build(tmp_path):
    stopped = threading.Event()

    def prepare(report) -> None:
        try:
            for n in range(1000):
                report(n, 1000)
                time.sleep(0.01)
        finally:
            stopped.set()

    app = make_app(tmp_path / "desk.db", prepare=prepare)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "Building the demo" in screen_text(app), what="progress")
        await pilot.press("q")
    assert await asyncio.to_thread(stopped.wait, 5)


def test_deskline_demo_paints_at_once_in_a_terminal(tmp_path):
    """The real command in tmux: progress on screen within seconds, not a blank screen for the
    whole build."""
    if shutil.which("tmux") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("tmux is required under CI")
        pytest.skip("tmux is not installed")
    session = "dl-" + uuid.uuid4().hex[:8]

    def tmux(*args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", session, *args], capture_output=True, text=True, check=False
        ).stdout

    env = {"TERM": "xterm-256color", "XDG_CONFIG_HOME": str(tmp_path), "PATH": os.environ["PATH"]}
    env.update({k: v for k, v in os.environ.items() if k == "PYTHONPATH"})
    command = f"{DESKLINE} demo --path {tmp_path / 'demo.db'} --feed-seconds 0"
    tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24",
         *[f"-e{k}={v}" for k, v in env.items()], command)  # fmt: skip
    try:
        deadline = time.monotonic() + 6
        screen = ""
        while "Building the demo" not in screen:
            assert time.monotonic() < deadline, f"no progress on screen:\n{screen}"
            time.sleep(0.1)
            screen = tmux("capture-pane", "-p", "-t", session)
        assert "%" in screen
    finally:
        tmux("kill-server")
