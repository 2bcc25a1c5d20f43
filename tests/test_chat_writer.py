"""The web side's group commit of chat visitors' lines (runtime.web.chat_writer; SPEC C4, C5,
B8.4): lines written at once are stored in one transaction, each visitor is answered only after
its batch committed, a line the rules refuse does not sink its batch, and a failing batch is
retried line by line so the good lines are stored and only the bad one fails. Real databases
(SQLite and PostgreSQL), no mocks."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from automation import chat, chat_visitors
from automation.chat import ChatError
from runtime.web.chat_writer import ChatWriter
from storage import models as m
from storage.database import Database
from tests.helpers import Desk


async def visitors(desk: Desk, count: int) -> list[int]:
    def arrive(repo: Any) -> list[int]:
        channel = repo.channel_by_name("chat")
        return [
            chat_visitors.arrive(
                repo, channel.id, chat.token_hash(f"t{n}"), name=f"V{n}", email="", address="::1"
            ).id
            for n in range(count)
        ]

    return await desk.store(arrive)


async def inbound_chat_lines(desk: Desk) -> list[str]:
    def load(session: Any) -> list[str]:
        query = (
            select(m.Message.body_text)
            .join(m.Conversation, m.Conversation.id == m.Message.conversation_id)
            .where(m.Conversation.source == "chat", m.Message.direction == "inbound")
            .order_by(m.Message.id)
        )
        return [text.strip() for text in session.scalars(query)]

    return await desk.db.query(load)


def write(visitor_id: int, text: str) -> Any:
    return lambda repo: chat_visitors.write(repo, visitor_id, text)


async def test_lines_written_at_once_commit_together_and_each_is_answered_once_stored(
    db_url: str,
) -> None:
    desk = await Desk.create(Database(db_url), chat=True)
    try:
        ids = await visitors(desk, 30)
        writer = ChatWriter(desk)
        seen_stored: list[bool] = []

        async def one(visitor_id: int) -> chat_visitors.Written:
            written = await writer.submit(write(visitor_id, f"hello from {visitor_id}"))
            # B8.4/C5: the answer comes after the commit: another session sees the line
            count = await desk.db.query(
                lambda s: s.scalar(
                    select(func.count()).where(m.Message.id == written.message_row_id)
                )
            )
            seen_stored.append(count == 1)
            return written

        results = await asyncio.gather(*(one(v) for v in ids))
        assert all(seen_stored) and len(seen_stored) == 30
        assert len({r.message_row_id for r in results}) == 30
        assert all(r.new_chat for r in results)
        # the first line is a batch of its own; all that came while it committed, the next
        assert writer.batches <= 3 and writer.largest >= 10
        assert sorted(await inbound_chat_lines(desk)) == sorted(f"hello from {v}" for v in ids)
    finally:
        await desk.close()


async def test_a_line_the_rules_refuse_fails_alone_and_its_batch_is_stored(db_url: str) -> None:
    desk = await Desk.create(Database(db_url), chat=True)
    try:
        ids = await visitors(desk, 5)
        writer = ChatWriter(desk)
        answers = await asyncio.gather(
            *(writer.submit(write(v, "   " if v == ids[2] else f"line {v}")) for v in ids),
            return_exceptions=True,
        )
        assert isinstance(answers[2], ChatError) and "empty" in str(answers[2])
        assert all(isinstance(a, chat_visitors.Written) for n, a in enumerate(answers) if n != 2)
        assert writer.batches <= 2
        assert sorted(await inbound_chat_lines(desk)) == sorted(
            f"line {v}" for v in ids if v != ids[2]
        )
    finally:
        await desk.close()


async def test_a_failing_batch_is_retried_line_by_line_and_loses_no_good_line(
    db_url: str,
) -> None:
    desk = await Desk.create(Database(db_url), chat=True)
    try:
        ids = await visitors(desk, 6)
        writer = ChatWriter(desk)

        def broken(repo: Any) -> None:
            raise RuntimeError("a bug in one change")

        jobs = [writer.submit(write(v, f"kept {v}")) for v in ids[:3]]
        jobs.append(writer.submit(broken))
        jobs += [writer.submit(write(v, f"kept {v}")) for v in ids[3:]]
        answers = await asyncio.gather(*jobs, return_exceptions=True)
        assert isinstance(answers[3], RuntimeError)
        good = [a for n, a in enumerate(answers) if n != 3]
        assert all(isinstance(a, chat_visitors.Written) for a in good)
        assert sorted(await inbound_chat_lines(desk)) == sorted(f"kept {v}" for v in ids)
    finally:
        await desk.close()


@pytest.mark.sqlite_only
async def test_a_visitor_who_leaves_before_the_commit_still_has_the_line_stored(
    db_url: str,
) -> None:
    desk = await Desk.create(Database(db_url), chat=True)
    try:
        [visitor] = await visitors(desk, 1)
        writer = ChatWriter(desk)
        waiting = asyncio.create_task(writer.submit(write(visitor, "sent, then gone")))
        await asyncio.sleep(0)
        waiting.cancel()  # the socket closed while the batch committed
        for _ in range(200):
            if await inbound_chat_lines(desk):
                break
            await asyncio.sleep(0.02)
        assert await inbound_chat_lines(desk) == ["sent, then gone"]
    finally:
        await desk.close()
