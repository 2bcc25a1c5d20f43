"""How fast overdue workflow steps run when Deskline starts again.

    .venv/bin/python -m benchmarks.delay_bench [--tickets 10000] [--due 1000] [--pg URL]

A help desk of N tickets (benchmarks.bigdesk) whose "New" workflow is: wait 1 h, then a branch
(if the status is New, which it is: set priority high), then add a note. `--due` tickets are
enrolled with their wait over an hour ago, as after a long stop; the benchmark times one engine
start (the runtime desk's `drain`) until every step has run, and checks each ticket got its note and
priority exactly once. With `--pg` the same desk is then built in a new database on that
PostgreSQL server (dropped afterwards) and measured in the same process; the ratio PostgreSQL /
SQLite is printed last.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from automation import admin
from automation.actions import ADD_NOTE, BRANCH, DELAY, SET_PROPERTY
from automation.schedule import parse_delay
from benchmarks.bigdesk import build_big_desk, build_big_desk_postgres
from benchmarks.import_bench import fresh_postgres_database
from benchmarks.tui_bench import CACHE
from runtime.desk import Desk
from storage import models as m
from storage.database import Database, normalize_url


def _prepare(repo: Any, due: int) -> int:
    status = admin.status_in(repo, admin.pipeline_or_default(repo, None), "New")
    workflow = admin.status_workflow(repo, status)
    for action in list(workflow.actions):
        repo.session.delete(action)
    repo.session.flush()
    delay = repo.add_workflow_action(workflow, DELAY, parse_delay("1h"))
    still_new = {"field": "status", "op": "is", "value": "New"}
    branch = repo.add_workflow_action(workflow, BRANCH, {"if": still_new})
    high = {"property": "priority", "value": "high"}
    repo.add_workflow_action(workflow, SET_PROPERTY, high, parent=branch, branch="yes")
    repo.add_workflow_action(workflow, ADD_NOTE, {"body": "Checked after the wait"})
    tickets = list(
        repo.session.scalars(select(m.Ticket.id).where(m.Ticket.status_id == status.id).limit(due))
    )
    overdue = repo.now() - timedelta(hours=1)
    conn = repo.session.connection()
    enrollments = [{"workflow_id": workflow.id, "ticket_id": t, "at": overdue} for t in tickets]
    conn.execute(insert(m.Enrollment), enrollments)
    ids = conn.execute(
        select(m.Enrollment.id, m.Enrollment.ticket_id).where(
            m.Enrollment.workflow_id == workflow.id
        )
    ).all()
    conn.execute(
        insert(m.ScheduledStep),
        [
            {
                "workflow_id": workflow.id,
                "ticket_id": ticket_id,
                "enrollment_id": enrollment_id,
                "next_position": 1,
                "after_action_id": delay.id,
                "due_at": overdue,
                "depth": 0,
                "created_at": overdue,
            }
            for enrollment_id, ticket_id in ids
        ],
    )
    return len(ids)


def _results(session: Any) -> tuple[int, int, int]:
    notes = session.scalar(
        select(func.count()).where(
            m.TimelineEvent.type == "note", m.TimelineEvent.actor_kind == "workflow"
        )
    )
    runs = session.scalar(select(func.count()).select_from(m.ActionRun))  # branch + 2 actions
    pending = session.scalar(select(func.count()).where(m.ScheduledStep.done_at.is_(None)))
    return int(notes or 0), int(runs or 0), int(pending or 0)


async def run(url: str, due: int) -> dict[str, float]:
    desk = Desk(Database(url))
    try:
        # `store`: no drain yet, the engine's start is what is timed.
        count = await desk.store(lambda repo: _prepare(repo, due))
        started = time.perf_counter()
        await desk.drain()
        seconds = time.perf_counter() - started
        notes, runs, pending = await desk.query(_results)
    finally:
        await desk.close()
    assert (notes, runs, pending) == (count, 3 * count, 0), (notes, runs, pending, count)
    return {"steps": count, "seconds": seconds}


def on_sqlite(tickets: int, due: int) -> dict[str, float]:
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"delay-{tickets}.db"
    build_big_desk(path, tickets=tickets, replace=True)
    return asyncio.run(run(str(path), due))


async def on_postgres(server_url: str, tickets: int, due: int) -> dict[str, float]:
    url = await fresh_postgres_database(server_url)
    try:
        await build_big_desk_postgres(url, tickets=tickets)
        return await run(url, due)
    finally:
        await _drop_database(url)


async def _drop_database(url: str) -> None:
    target = make_url(normalize_url(url))
    server = create_async_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with server.connect() as conn:
            await conn.exec_driver_sql(f'DROP DATABASE "{target.database}" WITH (FORCE)')
    finally:
        await server.dispose()


def _report(name: str, tickets: int, result: dict[str, float]) -> None:
    print(
        f"{name}: {result['steps']:,.0f} overdue steps on a {tickets:,}-ticket desk: all run in "
        f"{result['seconds']:.2f} s after start ({result['steps'] / result['seconds']:,.0f} "
        "steps/s; each: resume line, branch, set priority, add note)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="overdue workflow steps after a restart")
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument(
        "--pg", metavar="URL", help="also run on this PostgreSQL server (in a new database)"
    )
    args = parser.parse_args(argv)
    sqlite = on_sqlite(args.tickets, args.due)
    _report("SQLite", args.tickets, sqlite)
    if args.pg:
        postgres = asyncio.run(on_postgres(args.pg, args.tickets, args.due))
        _report("PostgreSQL", args.tickets, postgres)
        ratio = postgres["seconds"] / sqlite["seconds"]
        print(f"PostgreSQL / SQLite: {ratio:.2f}x the time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
