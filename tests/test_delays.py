"""Workflow delays (SPEC R-A5): durable, resumed after a restart, on time or late and said so.

Time is not mocked: a step's due time is moved into the past with SQL where a test needs an
overdue step ("the engine was down for two hours"), and short real delays are slept through.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from automation import admin
from automation.actions import ADD_NOTE, DELAY, SET_PROPERTY
from automation.admin import SettingsError
from automation.schedule import parse_delay
from storage.database import Database
from tests.helpers import Desk, make_mail

DESKLINE = [sys.executable, "-m", "app.cli"]


async def _workflow(desk: Desk, steps: list[tuple[str, dict[str, Any]]]) -> None:
    def add(repo: Any) -> None:
        status = admin.status_in(repo, admin.pipeline_or_default(repo, None), "New")
        workflow = admin.status_workflow(repo, status)
        for kind, config in steps:
            repo.add_workflow_action(workflow, kind, config)

    await desk.db.run(add)


async def _types(desk: Desk, number: int = 1) -> list[str]:
    return await desk.timeline_types(number)


async def _steps(db: Database) -> list[tuple[Any, ...]]:
    return await db.run(
        lambda repo: list(
            repo.session.execute(text("SELECT next_position, done_at FROM scheduled_steps"))
        )
    )


async def _overdue(db: Database, minutes: int) -> None:
    """The engine was away: the pending step fell due `minutes` ago."""

    def move(repo: Any) -> None:
        due = repo.now().timestamp() - minutes * 60
        from datetime import UTC, datetime

        from storage.models import ScheduledStep

        for step in repo.session.query(ScheduledStep).filter(ScheduledStep.done_at.is_(None)):
            step.due_at = datetime.fromtimestamp(due, UTC)

    await db.run(move)


async def test_a_delay_stores_the_rest_and_resumes_late_when_overdue(db: Database) -> None:
    """R-A5: actions before the delay run at once; the rest waits durably; an overdue step runs
    at once on the next engine pass and the timeline says it is late."""
    desk = await Desk.create(db, received=False, closed=False)
    await _workflow(
        desk,
        [
            (SET_PROPERTY, {"property": "priority", "value": "high"}),
            (DELAY, parse_delay("1h")),
            (ADD_NOTE, {"body": "An hour later: still open?"}),
        ],
    )
    await desk.receive(make_mail()[0])
    assert "waiting" in await _types(desk) and "note" not in await _types(desk)
    assert (await desk.ticket(1))["ticket"]["priority"] == "high"
    await desk.drain()  # not due yet: nothing happens
    assert "note" not in await _types(desk)
    assert [row[0] for row in await _steps(db)] == [2]

    await _overdue(db, minutes=120)
    await desk.drain()
    detail = await desk.ticket(1)
    resumed = next(e for e in detail["timeline"] if e["type"] == "resumed")
    assert "late by 2 h" in resumed["summary"]
    note = next(e for e in detail["timeline"] if e["type"] == "note")
    assert note["cause"] == resumed["id"]
    assert all(done is not None for _, done in await _steps(db))
    await desk.drain()  # done steps never run twice
    assert (await _types(desk)).count("note") == 1


async def test_zero_delay_and_consecutive_delays_are_bounded(db: Database) -> None:
    """A zero delay goes on at the next engine pass (not inline, not in a loop); two delays in
    a row each store a step; every step runs once."""
    desk = await Desk.create(db, received=False, closed=False)
    await _workflow(
        desk,
        [
            (DELAY, parse_delay("0s")),
            (DELAY, parse_delay("0s")),
            (ADD_NOTE, {"body": "after two zero delays"}),
        ],
    )
    await desk.receive(make_mail()[0])
    await desk.drain()
    types = await _types(desk)
    assert types.count("waiting") == 2 and types.count("resumed") == 2
    assert types.count("note") == 1
    assert len(await _steps(db)) == 2


async def test_a_workflow_switched_off_during_the_delay_stops(db: Database) -> None:
    desk = await Desk.create(db, received=False, closed=False)
    await _workflow(desk, [(DELAY, parse_delay("30m")), (ADD_NOTE, {"body": "never"})])
    await desk.receive(make_mail()[0])

    def switch_off(repo: Any) -> None:
        status = admin.status_in(repo, admin.pipeline_or_default(repo, None), "New")
        admin.status_workflow(repo, status).enabled = False

    await db.run(switch_off)
    await _overdue(db, minutes=1)
    await desk.drain()
    detail = await desk.ticket(1)
    assert "note" not in [e["type"] for e in detail["timeline"]]
    resumed = next(e for e in detail["timeline"] if e["type"] == "resumed")
    assert "workflow is off" in resumed["summary"]


@pytest.mark.sqlite_only
async def test_a_pending_step_survives_a_restart_and_runs_on_time(tmp_path: Path) -> None:
    """R-A5 durability: the process that scheduled the step is gone; a new `deskline sync
    --once` process, started after the due time, runs the rest (on time: not marked late)."""
    path = tmp_path / "desk.db"
    desk = await Desk.create(Database(f"sqlite+aiosqlite:///{path}"), received=False, closed=False)
    # Long enough for the first `sync --once` to start and end before it, on a loaded machine.
    await _workflow(desk, [(DELAY, parse_delay("8s")), (ADD_NOTE, {"body": "eight seconds on"})])
    await desk.receive(make_mail()[0])
    due = time.monotonic() + 8
    await desk.db.close()  # the first process stops during the delay

    early = subprocess.run(
        [*DESKLINE, "--db", str(path), "sync", "--once"], capture_output=True, text=True, timeout=60
    )
    assert early.returncode == 0, early.stderr
    again = Desk(Database(f"sqlite+aiosqlite:///{path}"))
    assert "note" not in await _types(again)  # not due yet

    await asyncio.sleep(max(0.0, due - time.monotonic()) + 0.3)
    later = subprocess.run(
        [*DESKLINE, "--db", str(path), "sync", "--once"], capture_output=True, text=True, timeout=60
    )
    assert later.returncode == 0, later.stderr
    detail = await again.ticket(1)
    resumed = next(e for e in detail["timeline"] if e["type"] == "resumed")
    assert resumed["summary"] == "Delay over"
    assert [e["data"]["body"] for e in detail["timeline"] if e["type"] == "note"] == [
        "eight seconds on"
    ]
    await again.db.close()


async def test_delays_are_checked_when_an_admin_adds_them(db: Database) -> None:
    desk = await Desk.create(db, received=False, closed=False)

    def add(value: str) -> Any:
        return desk.admin(
            lambda repo, me: (
                admin.add_action(
                    repo, me, pipeline_name=None, status_label="New", kind=DELAY, value=value
                ).config
            )
        )

    assert await add("1h30m") == {"seconds": 5400}
    assert await add("monday 9") == {"weekday": 0, "hour": 9, "tz": "UTC"}
    for bad in ("soon", "mon 25", "400d", "fri 9 Mars/Olympus"):
        with pytest.raises(SettingsError):
            await add(bad)
