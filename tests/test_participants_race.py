"""Two writers adding the same participant to a conversation at once (two reps replying to one
customer, on PostgreSQL): the second finds the row made and goes on. It used to fail with a
duplicate key on the participants' primary key, losing that rep's reply (found by
benchmarks/scale_bench.py, issue 16)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select, text

from storage import models as m
from tests.helpers import Desk, make_mail


async def test_the_same_participant_added_by_two_writers_at_once(db: Any) -> None:
    if db.is_sqlite:
        pytest.skip("PostgreSQL: SQLite has one writer at a time")
    desk = await Desk.create(db)
    await desk.receive(make_mail(subject="Hello")[0])
    conversation = await desk.db.query(lambda s: s.scalar(select(m.Conversation.id)))
    other = await db.engine.connect()
    try:
        await other.begin()
        await other.execute(
            text("INSERT INTO participants (conversation_id, address) VALUES (:c, :a)"),
            {"c": conversation, "a": "colleague@partner.example"},
        )
        adding = asyncio.create_task(
            desk.store(
                lambda repo: repo.add_participants(conversation, ["Colleague@Partner.example"])
            )
        )
        await asyncio.sleep(0.5)  # the store now waits on the other writer's row
        assert not adding.done()
        await other.commit()
        await asyncio.wait_for(adding, 10)
    finally:
        await other.close()
    rows = await desk.db.query(
        lambda s: s.scalars(
            select(m.Participant.address).where(m.Participant.conversation_id == conversation)
        ).all()
    )
    assert rows.count("colleague@partner.example") == 1
