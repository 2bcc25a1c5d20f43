"""Issue 16: the import and the delayed steps write in batches, with the same outcome.

Statements are counted with a SQLAlchemy event listener on the real database (no timing): a
batch of due steps runs with no savepoint unless a step fails, and then it is run again with one
savepoint per step, the failing step dropped alone (R-A5); a batch of imported mail stopped for
template renders (D10) reads its settings once, not once per part.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from automation import engine
from automation.actions import ADD_NOTE, DELAY
from automation.schedule import parse_delay
from storage.database import Database
from tests.helpers import Desk, make_mail
from tests.test_delays import _overdue, _workflow


@contextmanager
def statements() -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def count(_conn: Any, _cursor: Any, statement: str, params: Any, *_args: Any) -> None:
        seen.append((statement, params))

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", count)


async def _three_overdue(db: Database) -> Desk:
    desk = await Desk.create(db, received=False, closed=False)
    await _workflow(desk, [(DELAY, parse_delay("1h")), (ADD_NOTE, {"body": "an hour on"})])
    for n in range(3):
        await desk.receive(make_mail(sender=f"c{n}@customer.example", subject=f"Case {n}")[0])
    await _overdue(db, minutes=90)
    return desk


async def test_due_steps_run_without_savepoints_when_none_fails(db: Database) -> None:
    """R-A5, issue 16: three due steps, one batch, no SAVEPOINT statement; each note once. On
    PostgreSQL their timeline lines go in fewer inserts than lines (ids taken in blocks)."""
    desk = await _three_overdue(db)
    before = [len(await desk.timeline_types(n)) for n in (1, 2, 3)]
    with statements() as seen:
        await desk.drain()
    added = sum([len(await desk.timeline_types(n)) for n in (1, 2, 3)]) - sum(before)
    assert not [s for s, _ in seen if s.upper().startswith("SAVEPOINT")]
    inserts = sum(1 for s, _ in seen if s.startswith("INSERT INTO timeline_events"))
    if not db.is_sqlite:  # PostgreSQL: timeline lines and action runs batched, ids in blocks
        assert inserts < added
    for number in (1, 2, 3):
        assert (await desk.timeline_types(number)).count("note") == 1
    await desk.drain()
    assert [(await desk.timeline_types(n)).count("note") for n in (1, 2, 3)] == [1, 1, 1]


async def test_a_failing_due_step_is_dropped_alone(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R-A5: the batch without savepoints is rolled back when a step raises and is run again
    with one savepoint per step; the others' notes are written once, the failing step is
    dropped with its reason on the timeline, and nothing runs twice on the next drain."""
    desk = await _three_overdue(db)
    real = engine.resume_step

    def failing(repo: Any, step: Any) -> None:
        if step.ticket_id == 2:
            raise RuntimeError("the step broke")
        real(repo, step)

    monkeypatch.setattr(engine, "resume_step", failing)
    with statements() as seen:
        await desk.drain()
    assert [s for s, _ in seen if s.upper().startswith("SAVEPOINT")]  # the isolated rerun
    monkeypatch.setattr(engine, "resume_step", real)
    await desk.drain()
    assert (await desk.timeline_types(1)).count("note") == 1
    assert (await desk.timeline_types(3)).count("note") == 1
    second = await desk.ticket(2)
    assert "note" not in [e["type"] for e in second["timeline"]]
    error = next(e for e in second["timeline"] if e["type"] == "automation_error")
    assert "the step broke" in error["summary"]


async def test_an_import_batch_stopped_for_renders_reads_settings_once(db: Database) -> None:
    """D10, issue 16: with acknowledgements on, a batch stops after each new ticket for its
    render; its later parts start from the first part's settings instead of reading them
    again. Every message gets its ticket and its acknowledgement."""
    desk = await Desk.create(db)  # "Ticket received" sends an acknowledgement
    raws = [make_mail(sender=f"p{n}@customer.example", subject=f"Issue {n}")[0] for n in range(6)]
    with statements() as seen:
        results = await desk.receive_batch(raws)
    assert [r.outcome for r in results] == ["stored"] * 6
    if db.is_sqlite:  # stopped for renders: a transaction per part (asyncpg sends no BEGIN)
        assert sum(1 for s, _ in seen if s.upper().startswith("BEGIN")) >= 6
    reads = Counter(repr(p) for s, p in seen if "FROM settings" in s)
    assert reads and max(reads.values()) <= 3  # the batch, and a drain before and after it
    outbox = await desk.outbox()
    assert sorted(str(row["to"]) for row in outbox) == sorted(
        str([f"p{n}@customer.example"]) for n in range(6)
    )
