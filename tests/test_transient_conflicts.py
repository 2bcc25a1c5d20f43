"""A batch that loses to a concurrent transaction (a PostgreSQL deadlock) runs again whole; its
messages are never recorded as failed, and the rerun is not a savepoint of the failed
transaction, which kept the batch's locks and met the same deadlock again (issue 16,
benchmarks/scale_bench.py; storage/conflicts.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from automation import importer
from storage import models as m
from storage.conflicts import is_transient_conflict
from tests.helpers import Desk, make_mail


async def _real_deadlock(engine: AsyncEngine) -> BaseException:
    """Two transactions that each wait for the other's row: PostgreSQL ends one of them."""
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE IF NOT EXISTS lock_pair (id int PRIMARY KEY)"))
        await conn.execute(text("DELETE FROM lock_pair"))
        await conn.execute(text("INSERT INTO lock_pair VALUES (1), (2)"))
    first, second = await engine.connect(), await engine.connect()
    try:
        await first.begin()
        await second.begin()
        await first.execute(text("UPDATE lock_pair SET id = id WHERE id = 1"))
        await second.execute(text("UPDATE lock_pair SET id = id WHERE id = 2"))
        waits = asyncio.create_task(
            first.execute(text("UPDATE lock_pair SET id = id WHERE id = 2"))
        )
        await asyncio.sleep(0.3)
        closes = asyncio.create_task(
            second.execute(text("UPDATE lock_pair SET id = id WHERE id = 1"))
        )
        outcomes = await asyncio.gather(waits, closes, return_exceptions=True)
    finally:
        await first.close()
        await second.close()
    [lost] = [o for o in outcomes if isinstance(o, BaseException)]
    return lost


@pytest.fixture
async def deadlock(db: Any) -> BaseException:
    if db.is_sqlite:
        pytest.skip("PostgreSQL: SQLite has one writer at a time, it never deadlocks")
    return await _real_deadlock(db.engine)


async def test_a_deadlock_is_a_transient_conflict_and_a_duplicate_key_is_not(
    db: Any, deadlock: BaseException
) -> None:
    assert is_transient_conflict(deadlock)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("INSERT INTO lock_pair VALUES (1)"))
    except Exception as duplicate:
        assert not is_transient_conflict(duplicate)
    else:
        raise AssertionError("the duplicate key was taken")


async def test_run_bulk_runs_a_batch_again_after_a_deadlock_only(
    db: Any, deadlock: BaseException
) -> None:
    calls: list[int] = []

    def batch(repo: Any) -> str:
        calls.append(1)
        if len(calls) == 1:
            raise deadlock
        return "stored"

    assert await db.run_bulk(batch) == "stored" and len(calls) == 2

    def broken(repo: Any) -> None:
        calls.append(1)
        raise ValueError("a real error")

    calls.clear()
    with pytest.raises(ValueError):
        await db.run_bulk(broken)
    assert len(calls) == 1  # not run again


async def test_an_imported_message_that_met_deadlocks_is_stored_not_failed(
    db: Any, deadlock: BaseException, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = await Desk.create(db)
    real = importer.ingest_message
    met: list[int] = []

    def ingest_failing_then_deadlocked(*args: Any, **kwargs: Any) -> Any:
        met.append(1)
        if len(met) == 1:  # the optimistic batch fails: it runs again, a savepoint a message
            raise ValueError("not a conflict")
        if len(met) == 2:  # in its savepoint, the message loses to another transaction
            raise deadlock
        return real(*args, **kwargs)

    monkeypatch.setattr(importer, "ingest_message", ingest_failing_then_deadlocked)
    await desk.receive(make_mail(subject="Stored despite the deadlocks")[0])
    failures = await db.query(lambda s: s.scalars(select(m.ImportFailure)).all())
    subjects = await db.query(lambda s: s.scalars(select(m.Ticket.subject)).all())
    assert failures == [] and subjects == ["Stored despite the deadlocks"]


async def test_a_persons_change_that_met_a_deadlock_runs_again_once(
    db: Any, deadlock: BaseException
) -> None:
    # Two reps moving tickets at once on PostgreSQL: the one whose transaction PostgreSQL ends
    # is not told of the other's timing; the change runs again whole and is made once.
    desk = await Desk.create(db)
    await desk.receive(make_mail(subject="Moved despite the deadlock")[0])
    runs: list[int] = []

    def move(repo: Any, user: Any) -> None:
        from automation import services

        runs.append(1)
        services.move_ticket(repo, user, 1, "Waiting on us")
        if len(runs) == 1:
            raise deadlock  # after its writes: they are rolled back with it

    await desk.as_user("rita", move)
    assert len(runs) == 2 and await desk.status(1) == "Waiting on us"
    moves = await db.query(
        lambda s: s.scalars(
            select(m.TimelineEvent.summary).where(m.TimelineEvent.type == "status_changed")
        ).all()
    )
    assert len([line for line in moves if "Waiting on us" in line]) == 1

    def broken(repo: Any, user: Any) -> None:
        runs.append(1)
        raise ValueError("a real error")

    runs.clear()
    with pytest.raises(ValueError):
        await desk.as_user("rita", broken)
    assert len(runs) == 1  # not run again
