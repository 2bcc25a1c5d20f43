"""The web side's one look for every open chat window (runtime.web.chat.ChatHub; SPEC C4,
B8.4): each look reads the rows after the newest it has read, for all subscribed chats at once,
and fans them out; on PostgreSQL, where a row id is taken before its transaction commits, a
rep's message committed after a higher row still reaches the visitor. Real databases."""

from __future__ import annotations

from typing import Any

import pytest

from automation import chat, chat_visitors
from automation.events import Actor
from runtime.web.chat import ChatHub
from runtime.web.context import Web, WebConfig, template_environment
from storage.database import Database
from tests.helpers import Desk


async def two_chats(desk: Desk) -> tuple[tuple[int, int], tuple[int, int]]:
    """Two visitors who each wrote once: ((visitor, conversation), ...)."""

    def run(repo: Any) -> list[tuple[int, int]]:
        channel = repo.channel_by_name("chat")
        found = []
        for n in range(2):
            visitor = chat_visitors.arrive(
                repo, channel.id, chat.token_hash(f"t{n}"), name=f"V{n}", email="", address="::1"
            )
            found.append(
                (visitor.id, chat_visitors.write(repo, visitor.id, "hello").conversation_id)
            )
        return found

    first, second = await desk.store(run)
    return first, second


def looks_only_when_asked(hub: ChatHub) -> None:
    """The test makes each look itself (the hub's own loop would look every 0.2 s)."""
    assert hub._task is not None
    hub._task.cancel()


def texts(sub: Any) -> list[str]:
    found = []
    while not sub.queue.empty():
        event = sub.queue.get_nowait()
        found += [m["text"] for m in event.get("messages", [])]
    return found


async def test_one_look_serves_every_window_with_what_is_new_for_it(db_url: str) -> None:
    desk = await Desk.create(Database(db_url), chat=True)
    try:
        (_, c1), (v2, c2) = await two_chats(desk)
        hub = ChatHub(Web(desk, WebConfig(), template_environment()))
        subs = [hub.subscribe(c1, 0), hub.subscribe(c1, 0), hub.subscribe(c2, 0)]
        looks_only_when_asked(hub)
        await hub.poll()  # the first look: each window reads its chat so far
        assert [texts(s) for s in subs] == [["hello"], ["hello"], ["hello"]]
        await desk.store(lambda repo: chat_visitors.write(repo, v2, "second"))
        await hub.poll()
        await hub.poll()  # nothing new: nothing sent twice
        assert [texts(s) for s in subs] == [[], [], ["second"]]
    finally:
        await desk.close()


async def test_a_reply_committed_after_a_higher_row_still_reaches_the_visitor(
    db_url: str,
) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer: rows commit in id order")
    desk = await Desk.create(Database(db_url), chat=True)
    try:
        (_, c1), (v2, c2) = await two_chats(desk)
        hub = ChatHub(Web(desk, WebConfig(), template_environment()))
        sub = hub.subscribe(c1, 0)
        other = hub.subscribe(c2, 0)  # the visitor whose row commits first
        looks_only_when_asked(hub)
        await hub.poll()
        assert texts(sub) == ["hello"] and texts(other) == ["hello"]

        def rep_writes(repo: Any) -> int:
            rita = repo.user_by_name("rita")
            conversation = repo.conversation(c1)
            row, _ = chat.deliver_rep_message(
                repo,
                ticket=None,
                conversation=conversation,
                body="late but here",
                actor=Actor("user", rita.id, rita.name),
                sent_from="test",
                cause_id=None,
            )
            repo.flush()
            return row

        db = desk.db
        async with db._sessions() as session, session.begin():  # the rep's slow transaction
            late_row = await session.run_sync(lambda s: rep_writes(db._repository(s)))
            written = await desk.store(lambda repo: chat_visitors.write(repo, v2, "meanwhile"))
            assert written.message_row_id > late_row
            await hub.poll()  # sees the higher row; the rep's is not committed yet
            assert texts(sub) == [] and hub.cursor is not None and hub.cursor > late_row
        await hub.poll()
        assert texts(sub) == ["late but here"] and texts(other) == ["meanwhile"]
        await hub.poll()
        assert texts(sub) == []  # once
    finally:
        await desk.close()
