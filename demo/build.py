"""Building the demo database: a new SQLite file, the standard desk configured as the demo's
`SETUP`, then the planned three weeks replayed on a simulated clock."""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from demo.clock import SimulatedClock
from demo.config import SETUP
from demo.plan import DAYS, SEED, plan_history
from demo.replay import replay, ticks
from runtime.desk import Desk
from runtime.standard import build_standard
from storage.database import Database


class DemoExists(Exception):
    """The demo would overwrite a file that is already there."""


Progress = Callable[[int, int], None]  # (steps done, steps in all), called as the build goes


def demo_target(path: str | None, *, replace: bool = False) -> Path:
    """Where the demo goes: `path`, or a new temp file; refuses an existing file unless asked
    to replace it (it may be somebody's real help desk)."""
    target = Path(path) if path else Path(tempfile.mkdtemp(prefix="deskline-demo-")) / "demo.db"
    if target.exists() and not replace:
        raise DemoExists(f"{target} exists: pass --replace to build the demo over it")
    return target


async def build_demo(
    path: str | None, *, replace: bool = False, progress: Progress | None = None
) -> Path:
    """A new demo database at `path` (default: a new temp file); returns its path.

    About 300 conversations over three weeks, replayed through the real import and services
    (see `demo.replay`). Takes a few seconds; `progress` hears how far it got after the setup,
    after each replayed tick and at the end (an exception it raises stops the build). An
    existing file at `path` is replaced only when asked to.
    """
    target = demo_target(path, replace=replace)
    for old in (
        target,
        target.with_name(target.name + "-wal"),
        target.with_name(target.name + "-shm"),
    ):
        old.unlink(missing_ok=True)
    end = datetime.now(UTC) - timedelta(minutes=2)
    start = end - timedelta(days=DAYS)
    clock = SimulatedClock(start)  # the desk is set up when the history begins
    desk = Desk(Database(str(target), clock=clock))
    report = progress or (lambda done, total: None)
    try:
        steps = plan_history(random.Random(SEED))
        total = ticks(steps) + 2  # the setup, each tick, the last drain
        report(0, total)
        await desk.db.migrate()
        await desk.run(lambda repo: build_standard(repo, SETUP))
        report(1, total)
        with tempfile.TemporaryDirectory(prefix="deskline-demo-mail-") as folder:
            await replay(
                desk, clock, steps, Path(folder), start, lambda done: report(1 + done, total)
            )
        await desk.drain()
        report(total, total)
    finally:
        await desk.close()
    return target
