"""Board counts (SPEC B8.6): the per-status counts the board reads are exact after any mix of
ticket creations, moves, closes, reopens, status and pipeline removals and deletions, on SQLite
and PostgreSQL, because they change in the same transaction as the tickets."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from automation import admin, services
from storage import models as m
from storage import views
from storage.repository import board_counts
from tests.helpers import Desk, make_mail


def _kept(session: Session) -> dict[tuple[int, int], int]:
    """The counts table plus the changes not folded into it yet (PostgreSQL)."""
    kept: dict[tuple[int, int], int] = {}
    b, c = m.BoardCount, m.BoardCountChange
    for p, s, n in session.execute(select(b.pipeline_id, b.status_id, b.tickets)):
        kept[(p, s)] = kept.get((p, s), 0) + n
    for p, s, n in session.execute(select(c.pipeline_id, c.status_id, c.delta)):
        kept[(p, s)] = kept.get((p, s), 0) + n
    return {key: n for key, n in kept.items() if n}


def _counted(session: Session) -> dict[tuple[int, int], int]:
    t = m.Ticket
    rows = session.execute(
        select(t.pipeline_id, t.status_id, func.count()).group_by(t.pipeline_id, t.status_id)
    )
    return {(p, s): n for p, s, n in rows}


async def _assert_exact(desk: Desk) -> dict[tuple[int, int], int]:
    kept = await desk.db.query(_kept)
    counted = await desk.db.query(_counted)
    assert kept == counted
    return counted


async def test_b8_6_counts_match_count_star_after_a_mixed_workload(db: Any) -> None:
    desk = await Desk.create(db)
    await _assert_exact(desk)
    # new tickets through the importer's batched path, and replies that thread (no new ticket)
    firsts = [make_mail(subject=f"Question {i}") for i in range(12)]
    await desk.receive_batch([raw for raw, _ in firsts])
    replies = [make_mail(subject="Re: q", in_reply_to=mid, body="more")[0] for _, mid in firsts[:4]]
    await desk.receive_batch(replies)
    await desk.receive(make_mail(subject="One more")[0])
    counted = await _assert_exact(desk)
    assert sum(counted.values()) == 13
    # a rep's moves, closes and reopens
    await desk.move(1, "Waiting on contact")
    await desk.move(2, "Closed")
    await desk.move(3, "Waiting on contact")
    await desk.as_user("rita", lambda repo, u: services.close_ticket(repo, u, 4))
    await desk.as_user("rita", lambda repo, u: services.reopen_ticket(repo, u, 2))
    await _assert_exact(desk)
    # an admin's new pipeline and status, a removed status (its tickets moved), a removed pipeline
    await desk.admin(lambda repo, u: admin.add_pipeline(repo, u, "Billing"))
    await desk.admin(lambda repo, u: admin.add_status(repo, u, "Billing", "Refund", "OPEN"))
    await desk.admin(lambda repo, u: admin.add_status(repo, u, None, "Parked", "OPEN"))
    await desk.move(5, "Parked")
    await desk.move(6, "Parked")
    await _assert_exact(desk)
    await desk.admin(lambda repo, u: admin.remove_status(repo, u, None, "Parked", move_to="Closed"))
    await _assert_exact(desk)
    default = await desk.db.query(lambda s: s.scalar(select(m.Pipeline.name).limit(1)))
    await desk.admin(
        lambda repo, u: admin.remove_pipeline(
            repo, u, default, move_to_pipeline="Billing", move_to_status="Refund"
        )
    )
    counted = await _assert_exact(desk)
    assert sum(counted.values()) == 13
    # deleted tickets (a merge or a purge deletes rows) leave their column
    await desk.store(lambda repo: repo.session.execute(delete(m.Ticket).where(m.Ticket.id > 10)))
    counted = await _assert_exact(desk)
    assert sum(counted.values()) == 10
    # the board reads them
    billing = await desk.db.query(
        lambda s: s.scalar(select(m.Pipeline.id).where(m.Pipeline.name == "Billing"))
    )
    by_status = await desk.db.query(lambda s: views.status_counts(s, billing))
    assert by_status == {s: n for (p, s), n in counted.items() if p == billing}
    refund = next(iter(by_status))
    assert await desk.db.query(lambda s: views.column_count(s, refund)) == by_status[refund]


async def test_b8_6_a_rolled_back_change_leaves_the_counts_alone(db: Any) -> None:
    desk = await Desk.create(db)
    await desk.receive(make_mail(subject="Hello")[0])
    before = await _assert_exact(desk)

    def move_then_fail(repo: Any, user: Any) -> None:
        services.move_ticket(repo, user, 1, "Closed")
        repo.session.flush()
        raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        await desk.as_user("rita", move_then_fail)
    assert await _assert_exact(desk) == before


async def test_b8_6_recount_repairs_a_damaged_table(db: Any) -> None:
    desk = await Desk.create(db)
    for i in range(3):
        await desk.receive(make_mail(subject=f"Hi {i}")[0])
    await desk.store(
        lambda repo: repo.session.execute(m.BoardCount.__table__.update().values(tickets=99))
    )
    assert await desk.db.query(_kept) != await desk.db.query(_counted)
    await desk.store(lambda repo: board_counts.recount(repo.session.connection()))
    await _assert_exact(desk)


async def test_b8_6_writers_on_postgresql_share_no_count_row(db: Any) -> None:
    """Issue 16 (scale-out): two transactions moving tickets out of the same column at once
    neither wait for each other nor deadlock; each count row used to be a lock every writer
    took until its commit (a move in the other direction then deadlocked), and the second
    writer here timed out on it. The counts stay exact once both commit."""
    if db.is_sqlite:
        pytest.skip("PostgreSQL: SQLite has one writer at a time")
    desk = await Desk.create(db)
    await desk.receive_batch([make_mail(subject=f"Question {i}")[0] for i in range(4)])
    status = await desk.db.query(
        lambda s: dict(s.execute(select(m.Status.label, m.Status.id)).all())
    )
    first = await db.engine.connect()
    second = await db.engine.connect()
    try:
        await first.begin()
        await first.execute(
            text("UPDATE tickets SET status_id = :s WHERE id = 1"), {"s": status["Closed"]}
        )
        await second.begin()
        await second.execute(text("SET LOCAL lock_timeout = '3s'"))
        for ticket, label in ((2, "Closed"), (3, "Waiting on contact")):
            await second.execute(
                text("UPDATE tickets SET status_id = :s WHERE id = :t"),
                {"s": status[label], "t": ticket},
            )
        await second.commit()  # did not wait for the first writer's "New" and "Closed" rows
        await first.execute(
            text("UPDATE tickets SET status_id = :s WHERE id = 4"),
            {"s": status["Waiting on contact"]},
        )
        await first.commit()
    finally:
        await first.close()
        await second.close()
    counted = await _assert_exact(desk)
    assert sum(counted.values()) == 4
    pipeline = await desk.db.query(lambda s: s.scalar(select(m.Ticket.pipeline_id)))
    by_status = await desk.db.query(lambda s: views.status_counts(s, pipeline))
    assert by_status == {s: n for (p, s), n in counted.items() if p == pipeline}
