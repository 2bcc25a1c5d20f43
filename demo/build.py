"""Building the demo database: a new SQLite file, the standard desk configured as the demo's
`SETUP`, then the planned three weeks replayed on a simulated clock."""

from __future__ import annotations

import random
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from demo.clock import SimulatedClock
from demo.config import SETUP
from demo.plan import DAYS, SEED, plan_history
from demo.replay import replay
from runtime.desk import Desk
from runtime.standard import build_standard
from storage.database import Database


class DemoExists(Exception):
    """The demo would overwrite a file that is already there."""


async def build_demo(path: str | None, *, replace: bool = False) -> Path:
    """A new demo database at `path` (default: a new temp file); returns its path.

    About 300 conversations over three weeks, replayed through the real import and services
    (see `demo.replay`). Takes a few seconds. An existing file at `path` is replaced only when
    asked to: it may be somebody's real help desk.
    """
    target = Path(path) if path else Path(tempfile.mkdtemp(prefix="deskline-demo-")) / "demo.db"
    if target.exists() and not replace:
        raise DemoExists(f"{target} exists: pass --replace to build the demo over it")
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
    try:
        await desk.db.migrate()
        await desk.run(lambda repo: build_standard(repo, SETUP))
        steps = plan_history(random.Random(SEED))
        with tempfile.TemporaryDirectory(prefix="deskline-demo-mail-") as folder:
            await replay(desk, clock, steps, Path(folder), start)
        await desk.drain()
    finally:
        await desk.close()
    return target
