"""A database's clock: every time a desk writes comes from it (`Database(url, clock=fn)`)."""

from __future__ import annotations

import email
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email import policy
from typing import Any

import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.orm import Session

from automation import admin, services
from automation.actions import ADD_NOTE, CREATE_TASK, DELAY, NOTIFY
from storage import draft_files
from storage import models as m
from storage.database import Database
from storage.inbound import acquire_lease, save_checkpoint
from storage.repository import SqlRepository
from tests.helpers import Desk, make_mail

FAKE = datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)
# Times set ahead of now on purpose: a delay's or a task's due time, a lease's expiry.
AHEAD = {("scheduled_steps", "due_at"), ("tasks", "due_at"), ("leases", "expires_at")}
# Now, or ahead when a person's undo window holds it back: an email's due time, the window's end.
NOW_OR_AHEAD = {("outbox", "next_attempt_at"), ("person_actions", "undo_until")}


@pytest_asyncio.fixture
async def clocked(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url, clock=lambda: FAKE)
    yield database
    await database.close()


def _undated(raw: bytes) -> bytes:
    """The mail without its Date header: a received message is then sent at "now"."""
    msg = email.message_from_bytes(raw, policy=policy.default)
    del msg["Date"]
    return bytes(msg)


async def _add_action(desk: Desk, status: str, kind: str, **fields: Any) -> None:
    await desk.admin(
        lambda repo, me: admin.add_action(
            repo, me, pipeline_name=None, status_label=status, kind=kind, **fields
        )
    )


async def _use_the_desk(desk: Desk) -> None:
    """Write a row of every table that has a time: setup, mail, automation, people's edits."""
    waiting = "Waiting on contact"
    await _add_action(desk, waiting, NOTIFY, to="user", target_name="rita", message="replied")
    await _add_action(desk, waiting, CREATE_TASK, message="Call back", value="2h")
    await _add_action(desk, waiting, DELAY, value="1h")
    await _add_action(desk, waiting, ADD_NOTE, message="an hour later")
    raw, mid = make_mail()
    await desk.receive(_undated(raw))  # ticket, contact, thread, message, "Ticket received"
    await desk.reply(1)  # our message; the trigger moves it to Waiting on contact
    reply, _ = make_mail(subject="Re: Printer on fire", in_reply_to=mid, body="Still burning")
    await desk.receive(_undated(reply))
    await desk.as_user("rita", lambda repo, me: services.add_note(repo, me, 1, "Called"))
    await desk.as_user("rita", lambda repo, me: repo.save_draft(me.id, "ticket:1:note", "Hi"))
    task_id = await desk.run(lambda repo: repo.session.scalar(select(m.Task.id)))
    await desk.as_user("rita", lambda repo, me: services.complete_task(repo, me, task_id))
    workflow_id = await desk.run(lambda repo: repo.session.scalar(select(m.Workflow.id)))
    action_id = await desk.run(lambda repo: repo.session.scalar(select(m.WorkflowAction.id)))
    await desk.admin(lambda repo, me: admin.clone_workflow(repo, me, workflow_id))
    await desk.admin(lambda repo, me: admin.comment_action(repo, me, action_id, "Why?"))
    await desk.admin(
        lambda repo, me: admin.set_template(
            repo, me, "Ticket closed", subject="Closed: {{ ticket.subject }}", body=None
        )
    )
    channel_id = await desk.run(lambda repo: admin.channel_named(repo, "support").id)
    await desk.run(lambda repo: repo.add_import_failure(channel_id, "0.eml", "empty", b""))
    await desk.run(lambda repo: save_checkpoint(repo, channel_id, "INBOX", 7, 42))
    await desk.run(lambda repo: acquire_lease(repo, "outbox", "me", 60))
    await desk.as_user(
        "rita",
        lambda repo, me: draft_files.add(
            repo.session, me.id, "ticket:1:reply", "a.txt", "text/plain", b"a", added_at=repo.now()
        ),
    )

    def chat(repo: SqlRepository) -> None:
        visitor = repo.add_chat_visitor(
            channel_id=channel_id, token_hash="0" * 64, name="V", email=None, address="127.0.0.1"
        )
        conversation_id = repo.session.scalar(select(m.Conversation.id))
        repo.add_chat(conversation_id, visitor.id)

    await desk.run(chat)


def _times(session: Session) -> dict[tuple[str, str], list[datetime]]:
    """Every stored time, by (table, column)."""
    found: dict[tuple[str, str], list[datetime]] = {}
    for table in m.Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, m.UTCDateTime):
                values = session.scalars(select(column).where(column.is_not(None))).all()
                found[(table.name, column.name)] = list(values)
    return found


def _defaulted_tables() -> set[str]:
    """Tables with a column a model would fill with the real time if the repository did not."""
    return {
        table.name
        for table in m.Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, m.UTCDateTime) and column.default is not None
    }


async def test_every_time_a_desk_writes_comes_from_its_clock(clocked: Database) -> None:
    desk = await Desk.create(clocked)
    await _use_the_desk(desk)
    times = await clocked.query(_times)
    written = {table for (table, _column), values in times.items() if values}
    assert _defaulted_tables() <= written  # the desk above wrote a row of each
    for (table, column), values in times.items():
        if (table, column) in AHEAD:
            assert all(FAKE < v <= FAKE + timedelta(hours=2) for v in values), (table, column)
        elif (table, column) in NOW_OR_AHEAD:
            assert all(FAKE <= v <= FAKE + timedelta(hours=2) for v in values), (table, column)
        else:
            assert values == [FAKE] * len(values), (table, column)


async def test_without_a_clock_the_time_is_real(db: Database) -> None:
    before = datetime.now(UTC)
    now = await db.run(lambda repo: repo.now())
    assert before <= now <= datetime.now(UTC)


async def test_a_second_repository_on_the_session_keeps_its_clock(clocked: Database) -> None:
    # storage.inbound wraps the session of the repository it is given in a repository of its own
    def both(repo: SqlRepository) -> tuple[datetime, datetime]:
        return repo.now(), SqlRepository(repo.session).now()

    assert await clocked.run(both) == (FAKE, FAKE)
    assert await clocked.run_bulk(both) == (FAKE, FAKE)
