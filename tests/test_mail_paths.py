"""SPEC B8.2 (one ingest path, or a test proving identical timelines and outbox), E1, E6.

Mail reaches the engine two ways: import and IMAP store a batch in one transaction and handle each
message's events inline right after it (`tests.helpers.Desk.receive`, the path real mail takes);
a change committed on its own queues its events for the engine's drain
(`Desk.receive_queued`). The same day at the desk, replayed through each on a fresh database,
must leave the same tickets, timelines and outbox. Ids and times are left out: they are the
database's, not the behaviour's.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import Session

from automation import admin, importer, services
from automation.ingest import IngestResult
from storage import models as m
from storage import queries
from storage.database import Database
from tests.conftest import TEMPLATE_DB
from tests.helpers import Desk, make_mail

Step = Callable[[Desk], Awaitable[Any]]


@pytest.fixture
async def twin(db: Database, tmp_path: Path) -> AsyncIterator[Database]:
    """A second fresh database of the same kind as `db` (SQLite file or PostgreSQL database)."""
    if db.is_sqlite:
        other = Database(f"sqlite+aiosqlite:///{tmp_path}/twin.db")
        yield other
        await other.close()
        return
    server = db.url.rsplit("/", 1)[0]
    name = "twin_" + uuid.uuid4().hex[:12]
    maintenance = create_async_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    async with maintenance.connect() as conn:
        await conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
    other = Database(f"{server}/{name}")
    try:
        yield other
    finally:
        await other.close()
        async with maintenance.connect() as conn:
            await conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        await maintenance.dispose()


# --- the day -----------------------------------------------------------------------------------


def _day() -> list[tuple[str, Any]]:
    """The scenario: ("mail", raw bytes) arrives, ("desk", fn(desk)) is a rep's or admin's
    command. Built once, so both paths get the very same bytes."""
    carol, carol_mid = make_mail(subject="Printer on fire")
    dan, dan_mid = make_mail(sender="dan@customer.example", name="Dan", subject="Invoice wrong")
    out_of_office, _ = make_mail(
        subject="Automatic reply: Printer on fire",
        in_reply_to=carol_mid,
        headers={"Auto-Submitted": "auto-replied"},
    )
    carol_again, _ = make_mail(
        subject="Re: Printer on fire", body="Now it smokes.", in_reply_to=carol_mid
    )
    carol_back, _ = make_mail(
        subject="Re: Printer on fire", body="It is on fire again.", in_reply_to=carol_mid
    )
    dan_again, _ = make_mail(
        sender="dan@customer.example", name="Dan", subject="Re: Invoice wrong", in_reply_to=dan_mid
    )
    newsletter, _ = make_mail(
        sender="news@list.example",
        name="News",
        subject="Digest",
        headers={"List-Id": "<digest.list.example>", "Precedence": "bulk"},
    )
    dan_new_thread, _ = make_mail(
        sender="dan@customer.example", name="Dan", subject="Another question"
    )
    from_rita, _ = make_mail(
        sender="rita@help.example", name="Rita", subject="Re: Invoice wrong", in_reply_to=dan_mid
    )
    return [
        ("mail", carol),  # ticket #1, "Ticket received"
        ("mail", dan),  # ticket #2
        ("mail", out_of_office),  # on #1, no trigger (R-T7)
        ("mail", carol_again),  # R-T2: #1 Waiting on us, Rita notified
        ("mail", carol_again),  # a duplicate: nothing
        ("desk", lambda desk: desk.reply(1, "Have you tried turning it off?")),  # R-T1
        ("desk", lambda desk: desk.move(1, "Closed")),  # "Ticket closed"
        ("mail", carol_back),  # R-T2.3: reopened by customer reply
        ("mail", dan_again),  # R-T2 on #2
        ("mail", newsletter),  # automated: a conversation, no ticket
        ("mail", dan_new_thread),  # ticket #3 (R-T2.1: a new thread, not a reply)
        ("mail", from_rita),  # E10: a user's own address, stored as hers, no trigger
        ("desk", lambda desk: desk.reply(2, "Corrected, see attached.")),
        ("desk", lambda desk: desk.move(2, "Closed")),
    ]


async def _configure(desk: Desk) -> None:
    def status_actions(repo: Any, user: Any) -> None:
        repo.add_template(
            "Waiting for you",
            "We wait for you, {{ contact.name }}",
            "Status: {{ status.label }}",
            builtin=False,
        )
        admin.add_action(
            repo,
            user,
            pipeline_name=None,
            status_label="Waiting on contact",
            kind="send_email",
            template_name="Waiting for you",
        )
        admin.add_action(
            repo,
            user,
            pipeline_name=None,
            status_label="Waiting on us",
            kind="notify",
            to="user",
            target_name="rita",
            message="{{ contact.name }} wrote again",
        )

    await desk.admin(status_actions)


async def _replay(desk: Desk, receive: Callable[[bytes], Awaitable[IngestResult]]) -> list[Any]:
    await _configure(desk)
    outcomes: list[Any] = []
    for kind, what in _day():
        if kind == "mail":
            result = await receive(what)
            outcomes.append((result.outcome, result.threaded, result.automated, result.own_mail))
        else:
            await what(desk)
    return outcomes


# --- what the desk looks like afterwards, without ids and times --------------------------------


def _timeline(session: Session) -> list[tuple[Any, ...]]:
    events = list(session.scalars(select(m.TimelineEvent).order_by(m.TimelineEvent.id)))
    by_id = {e.id: e for e in events}

    def cause(e: m.TimelineEvent) -> tuple[str, str] | None:
        found = by_id.get(e.cause_id) if e.cause_id is not None else None
        return (found.type, found.summary) if found is not None else None

    return [(e.ticket_id, e.type, e.actor_kind, e.actor_name, e.summary, cause(e)) for e in events]


async def _state(desk: Desk) -> dict[str, Any]:
    tickets = [
        {k: t[k] for k in ("number", "subject", "status", "state", "reopened", "contact", "owner")}
        | {"closed": t["closed_at"] is not None}
        for t in await desk.tickets()
    ]
    outbox = [
        (o["kind"], o["ticket"], o["template"], o["to"], o["subject"], o["state"])
        for o in await desk.outbox()
    ]
    conversations = await desk.query(queries.list_conversations)
    threads = [
        {k: c[k] for k in ("contact", "subject", "state", "automated", "ticket", "association")}
        | {"messages": c["messages"]}
        for c in conversations
    ]
    return {
        "tickets": tickets,
        "timeline": await desk.query(_timeline),
        "outbox": outbox,
        "conversations": threads,
    }


async def test_inline_and_queued_mail_leave_the_same_desk(db: Database, twin: Database) -> None:
    # B8.2, E1: the path import and IMAP take and the queued path agree, event for event
    inline = await Desk.create(db)
    queued = await Desk.create(twin)
    inline_outcomes = await _replay(inline, inline.receive)
    queued_outcomes = await _replay(queued, queued.receive_queued)
    assert inline_outcomes == queued_outcomes
    inline_state, queued_state = await _state(inline), await _state(queued)
    assert inline_state["tickets"] == queued_state["tickets"]
    assert inline_state["outbox"] == queued_state["outbox"]
    assert inline_state["conversations"] == queued_state["conversations"]
    assert inline_state["timeline"] == queued_state["timeline"]
    # the day did what it says (so the comparison compares something)
    statuses = [(t["number"], t["status"], t["reopened"]) for t in inline_state["tickets"]]
    assert statuses == [(1, "Waiting on us", True), (2, "Closed", False), (3, "New", False)]
    templates = [(o[0], o[1], o[2]) for o in inline_state["outbox"]]
    assert templates == [
        ("automated", 1, "Ticket received"),
        ("automated", 2, "Ticket received"),
        ("notification", 1, None),
        ("reply", 1, None),
        ("automated", 1, "Waiting for you"),
        ("automated", 1, "Ticket closed"),
        ("notification", 2, None),
        ("automated", 3, "Ticket received"),
        ("reply", 2, None),
        ("automated", 2, "Waiting for you"),
        ("automated", 2, "Ticket closed"),
    ]
    assert inline_outcomes[4][0] == "duplicate"


# --- a change another process commits while a batch is on its way -------------------------------


async def _elsewhere(db: Database, change: Callable[[Any], Any]) -> None:
    """Another process (a rep's session) commits `change`; its engine has not handled the
    events yet (it drains right after, or it died)."""
    other = Database(db.url)
    try:
        await other.run(change)
    finally:
        await other.close()


def _rita_replies(number: int) -> Callable[[Any], Any]:
    return lambda repo: services.reply(repo, repo.user_by_name("rita"), number, "On it.")


class _RepCommitsBeforeTheBatch:
    """The desk's runner (automation.engine.AutomatedRunner) for an import, but a rep's reply
    is committed elsewhere after the import's opening drain, just before its batch."""

    def __init__(self, desk: Desk, number: int) -> None:
        self.desk, self.number, self.replied = desk, number, False
        self.run, self.drain = desk.runner.run, desk.runner.drain

    async def run_bulk(self, fn: Callable[[Any], Any]) -> Any:
        if not self.replied:
            self.replied = True
            await _elsewhere(self.desk.db, _rita_replies(self.number))
        return await self.desk.runner.run_bulk(fn)


@pytest.mark.parametrize("path", ["queued", "inline"])
async def test_a_rep_reply_committed_before_the_customer_reply_is_evaluated_first(
    db: Database, tmp_path: Path, path: str
) -> None:
    # E6: Rita's reply (R-T1) happened before Carol's answer (R-T2): the ticket ends waiting
    # on us. The queued path handles events in the order they were written; the import's
    # batch handles the older pending R-T1 before its own message's events (it used to take
    # its own first and leave the ticket "Waiting on contact" though the customer wrote last).
    desk = await Desk.create(db, received=False, closed=False)
    first, mid = make_mail()
    await desk.receive(first)
    answer, _ = make_mail(subject="Re: Printer on fire", body="Thanks, any news?", in_reply_to=mid)
    if path == "queued":
        await _elsewhere(db, _rita_replies(1))
        await desk.receive_queued(answer)
    else:
        eml = tmp_path / "answer.eml"
        eml.write_bytes(answer)
        channel_id = await desk.store(lambda repo: admin.channel_named(repo, "support").id)
        await importer.import_paths(_RepCommitsBeforeTheBatch(desk, 1), channel_id, [eml])
    moves = [
        (e["data"]["from"], e["data"]["to"], e["actor"]["name"])
        for e in (await desk.ticket(1))["timeline"]
        if e["type"] == "status_changed"
    ]
    assert moves == [
        ("New", "Waiting on contact", "Email sent to customer"),
        ("Waiting on contact", "Waiting on us", "Customer replies to email"),
    ]
    assert await desk.status(1) == "Waiting on us"
