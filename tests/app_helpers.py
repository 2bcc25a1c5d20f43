"""Driving the real app in tests: start it on a database file, wait for things, read the screen."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from app.tui import DesklineApp
from storage.database import Database
from tests.helpers import Desk, make_mail

# How long a Pilot test waits for the app before it fails: generous, because the suite runs
# on every core at once (pytest-xdist) and a loaded machine is slow, not wrong; a passing
# test never waits this long.
WAIT = 20.0


def screen_text(app: DesklineApp) -> str:
    """What the terminal shows now, as plain text (one line per row)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


async def wait_for(
    pilot: Pilot[Any], check: Callable[[], Any], *, timeout: float = WAIT, what: str = ""
) -> Any:
    """Let the app run until `check()` is truthy (workers and the backend thread do the work)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what or check}")


async def wait_for_async(
    pilot: Pilot[Any], check: Callable[[], Any], *, timeout: float = WAIT, what: str = ""
) -> Any:
    """Like wait_for, for a check that is a coroutine function (reads the database)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what or check}")


async def ready(pilot: Pilot[Any]) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.ready, what="the backend to open")
    await wait_for(
        pilot,
        lambda: all(getattr(w, "loaded", True) for w in app.screen.query("RowList")),
        what="the first rows",
    )
    await pilot.pause(0.1)


async def seeded_desk(path: Path, subjects: list[str] | None = None, **kw: Any) -> Desk:
    """A desk on a SQLite file with one customer email per subject (real ingestion path)."""
    db = Database(f"sqlite+aiosqlite:///{path}")
    desk = await Desk.create(db, **kw)
    for n, subject in enumerate(subjects or []):
        raw, _ = make_mail(subject=subject, sender=f"customer{n}@example.org", name=f"Customer {n}")
        await desk.receive(raw)
    return desk


def make_app(path: Path, as_user: str = "rita", **kw: Any) -> DesklineApp:
    kw.setdefault("keymap_file", path.parent / "no-keys.toml")
    kw.setdefault("live_interval", 0.1)
    return DesklineApp(f"sqlite+aiosqlite:///{path}", as_user=as_user, **kw)


async def settle(pilot: Pilot[Any], seconds: float = 0.2) -> None:
    await pilot.pause(seconds)
    await asyncio.sleep(0)
