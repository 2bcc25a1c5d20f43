"""SPEC E6: events are evaluated in the order they happened, against the ticket as it was then;
when one command both replies and sets a status, the reply's trigger runs first and the explicit
status last. On a real database (SQLite and PostgreSQL), through the engine's drain and through
the path import and IMAP take (older events first, then each message's own, inline)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from automation import admin, importer, services
from automation.inbound import sync_once
from automation.ingest import ingest_message
from mail.parse import parse_message
from mail.sources import Fetched
from storage.database import Database
from storage.inbound import InboundDatabase
from tests.helpers import Desk, make_mail


async def _ticket(desk: Desk, **kw: Any) -> tuple[int, str]:
    raw, mid = make_mail(**kw)
    await desk.receive(raw)
    return (await desk.tickets())[-1]["number"], mid


async def _moves(desk: Desk, number: int) -> list[tuple[str, str, str]]:
    """The ticket's status changes in timeline order: (who, from, to)."""
    return [
        (e["actor"]["kind"], e["data"]["from"], e["data"]["to"])
        for e in (await desk.ticket(number))["timeline"]
        if e["type"] == "status_changed"
    ]


def _positions(timeline: list[dict[str, Any]], *types: str) -> list[int]:
    """Where each named event type first appears in the timeline (in the order asked)."""
    kinds = [e["type"] for e in timeline]
    return [kinds.index(t) for t in types]


async def _add_template_action(desk: Desk, status: str, name: str, subject: str) -> None:
    def add(repo: Any, user: Any) -> None:
        repo.add_template(name, subject, "Hello {{ contact.name }}", builtin=False)
        admin.add_action(
            repo,
            user,
            pipeline_name=None,
            status_label=status,
            kind="send_email",
            template_name=name,
        )

    await desk.admin(add)


# --- (a) one command: a reply and an explicit status ----------------------------------------


async def _assert_trigger_then_close(desk: Desk, number: int) -> None:
    """R-T1's move, then the rep's close: the ticket stays closed, each email once, in order."""
    assert await _moves(desk, number) == [
        ("trigger", "New", "Waiting on contact"),
        ("user", "Waiting on contact", "Closed"),
    ]
    detail = await desk.ticket(number)
    assert detail["ticket"]["status"] == "Closed"
    assert not detail["ticket"]["reopened"]
    steps = [(e["type"], e["actor"]["kind"]) for e in detail["timeline"]]
    reply = steps.index(("mail_queued", "user"))
    fired = steps.index(("trigger_fired", "trigger"))
    closed = steps.index(("status_changed", "user"))
    assert reply < fired < closed
    assert [o["template"] for o in detail["outbox"]] == ["Ticket received", None, "Ticket closed"]


async def test_reply_and_close_in_one_command_trigger_first_then_the_explicit_status(db) -> None:
    # E6, R-T1: the reply's trigger moves the ticket first, the rep's close comes last and stays
    desk = await Desk.create(db)
    number, _ = await _ticket(desk)

    def reply_and_close(repo: Any, user: Any) -> None:
        services.reply(repo, user, number, "Fixed it, closing.")
        services.close_ticket(repo, user, number)

    await desk.as_user("rita", reply_and_close)
    await _assert_trigger_then_close(desk, number)


async def test_reply_and_an_open_status_in_one_command_end_in_the_explicit_status(db) -> None:
    # E6: the explicit status is the last word even when it is an open one
    desk = await Desk.create(db)
    number, _ = await _ticket(desk)

    def reply_and_move(repo: Any, user: Any) -> None:
        services.reply(repo, user, number, "Looking into it.")
        services.move_ticket(repo, user, number, "Waiting on us")

    await desk.as_user("rita", reply_and_move)
    assert await _moves(desk, number) == [
        ("trigger", "New", "Waiting on contact"),
        ("user", "Waiting on contact", "Waiting on us"),
    ]
    assert await desk.status(number) == "Waiting on us"


async def test_reply_then_close_as_two_commands_is_the_same_story(db) -> None:
    # E6 baseline: what the one command above must match
    desk = await Desk.create(db)
    number, _ = await _ticket(desk)
    await desk.reply(number, "Fixed it, closing.")
    await desk.as_user("rita", lambda repo, user: services.close_ticket(repo, user, number))
    await _assert_trigger_then_close(desk, number)


# --- (b) one batch: each message against the ticket as the ones before it left it ------------


async def _store_isolated(desk: Desk, raws: list[bytes]) -> None:
    """The batch as import and IMAP store it after a failure: each message and each event in a
    savepoint of its own, the events queued (not inline) and handled right after the message."""
    channel_id = await desk.store(lambda repo: admin.channel_named(repo, "support").id)
    prepared = [
        importer.Prepared(f"m{n}", raw, parse_message(raw), None) for n, raw in enumerate(raws)
    ]
    await desk.runner.drain()
    await desk.runner.run_bulk(
        lambda repo: importer.store_batch(repo, channel_id, prepared, False, isolate=True)
    )
    await desk.runner.drain()


@pytest.mark.parametrize("isolate", [False, True], ids=["bulk", "isolated"])
async def test_messages_of_one_batch_are_evaluated_in_order(db, isolate: bool) -> None:
    # E6, R-C1, R-T2: the first opens the ticket, the second threads into it and its trigger
    # sees the ticket the first one made (New, with its "Ticket received" queued)
    desk = await Desk.create(db)
    first, mid = make_mail(subject="Printer on fire")
    second, _ = make_mail(subject="Re: Printer on fire", body="Now smoking.", in_reply_to=mid)
    if isolate:
        await _store_isolated(desk, [first, second])
    else:
        results = await desk.receive_batch([first, second])
        assert [(r.outcome, r.threaded) for r in results] == [("stored", False), ("stored", True)]
    [ticket] = await desk.tickets()
    detail = await desk.ticket(ticket["number"])
    timeline = detail["timeline"]
    kinds = [e["type"] for e in timeline]
    assert kinds.count("message_received") == 2
    created, queued, fired = _positions(timeline, "ticket_created", "mail_queued", "trigger_fired")
    second_received = kinds.index("message_received", kinds.index("message_received") + 1)
    assert created < queued < second_received < fired
    assert await _moves(desk, ticket["number"]) == [("trigger", "New", "Waiting on us")]
    assert [o["template"] for o in detail["outbox"]] == ["Ticket received"]


async def test_a_batch_closing_and_reopening_sees_each_step(db) -> None:
    # E6, R-T2.3, R-T7: in one batch an auto-reply is stored without reopening, then the
    # customer's reply reopens the closed ticket: each against the ticket as it was then
    desk = await Desk.create(db)
    number, mid = await _ticket(desk)
    await desk.move(number, "Closed")
    auto, _ = make_mail(
        subject="Automatic reply: Printer on fire",
        in_reply_to=mid,
        headers={"Auto-Submitted": "auto-replied"},
    )
    answer, _ = make_mail(subject="Re: Printer on fire", body="It is back.", in_reply_to=mid)
    await desk.receive_batch([auto, answer])
    timeline = (await desk.ticket(number))["timeline"]
    skipped = next(e for e in timeline if e["type"] == "trigger_skipped")
    reopened = next(e for e in timeline if e["type"] == "reopened")
    assert "never fires it" in skipped["summary"]
    assert timeline.index(skipped) < timeline.index(reopened)
    assert reopened["summary"] == "Reopened by customer reply"
    assert await _moves(desk, number) == [
        ("user", "New", "Closed"),
        ("trigger", "Closed", "Waiting on us"),
    ]


# --- (c) older events first -----------------------------------------------------------------


async def _written_elsewhere(db: Database, raw: bytes) -> None:
    """Another process stores a message (its event queued) and is gone before draining it."""
    other = Database(db.url)
    try:
        await other.run(
            lambda repo: ingest_message(
                repo, admin.channel_named(repo, "support"), parse_message(raw), raw
            )
        )
    finally:
        await other.close()


async def _pending_then_reply(desk: Desk, db: Database) -> tuple[bytes, str]:
    first, mid = make_mail(subject="Printer on fire")
    await _written_elsewhere(db, first)
    assert await desk.tickets() == []  # its event is still pending
    reply, _ = make_mail(subject="Re: Printer on fire", body="Any news?", in_reply_to=mid)
    return reply, mid


async def _assert_older_event_handled_first(desk: Desk) -> None:
    # The pending message opened the ticket before the new batch's reply was evaluated, so the
    # reply threads into a ticket and fires R-T2 (handled the other way round, it would find
    # no ticket and fire nothing, and the ticket would stay New).
    [ticket] = await desk.tickets()
    timeline = (await desk.ticket(ticket["number"]))["timeline"]
    created, fired = _positions(timeline, "ticket_created", "trigger_fired")
    assert created < fired
    assert await _moves(desk, ticket["number"]) == [("trigger", "New", "Waiting on us")]


async def test_import_handles_events_pending_from_before_first(db, tmp_path: Path) -> None:
    # E6, E1: `deskline import` drains what is pending before its own batch
    desk = await Desk.create(db)
    reply, _ = await _pending_then_reply(desk, db)
    path = tmp_path / "reply.eml"
    path.write_bytes(reply)
    channel_id = await desk.store(lambda repo: admin.channel_named(repo, "support").id)
    summary = await importer.import_paths(desk.runner, channel_id, [path])
    assert (summary.stored, summary.threaded) == (1, 1)
    await _assert_older_event_handled_first(desk)


class _Folder:
    """An IMAP folder in memory (automation.inbound.MailboxLike)."""

    folder = "INBOX"

    def __init__(self, *raws: bytes) -> None:
        self.raws = list(raws)

    def open(self) -> int:
        return 7

    def fetch_after(
        self, last_uid: int, limit: int = 500, max_bytes: int | None = None
    ) -> list[Fetched]:
        found = [Fetched(u, raw, len(raw)) for u, raw in enumerate(self.raws, 1) if u > last_uid]
        return found[:limit]

    def wait(self, seconds: float) -> bool:
        return False  # no IDLE: sync_once never waits

    def interrupt(self) -> None:
        pass

    def close(self) -> None:
        pass


async def test_imap_handles_events_pending_from_before_first(db) -> None:
    # E6, E1: an IMAP pass drains what is pending before its own batch
    desk = await Desk.create(db)
    reply, _ = await _pending_then_reply(desk, db)
    channel_id = await desk.store(lambda repo: admin.channel_named(repo, "support").id)
    stats = await sync_once(InboundDatabase(desk.runner), channel_id, lambda: _Folder(reply))
    assert stats.stored == 1
    await _assert_older_event_handled_first(desk)


async def test_test_desk_receive_handles_events_pending_from_before_first(db) -> None:
    # tests.helpers.Desk.receive takes mail as import and IMAP do
    desk = await Desk.create(db)
    reply, _ = await _pending_then_reply(desk, db)
    await desk.receive(reply)
    await _assert_older_event_handled_first(desk)


# --- (d) status actions: earlier status, earlier mail -----------------------------------------


async def _wait_then_close(desk: Desk, template: str, subject: str) -> int:
    """A ticket whose "Waiting on contact" emails `template`; then one command moves it there
    and closes it (two statuses entered, their actions handled in one drain)."""
    await _add_template_action(desk, "Waiting on contact", template, subject)
    number, _ = await _ticket(desk)

    def wait_then_close(repo: Any, user: Any) -> None:
        services.move_ticket(repo, user, number, "Waiting on contact")
        services.close_ticket(repo, user, number)

    await desk.as_user("rita", wait_then_close)
    return number


async def test_status_entered_earlier_queues_its_email_first_within_one_drain(db) -> None:
    # E6, R-A1: one command moves the ticket twice; the first status's email is queued first
    desk = await Desk.create(db)
    number = await _wait_then_close(desk, "Waiting", "We wait for you")
    detail = await desk.ticket(number)
    assert detail["ticket"]["status"] == "Closed"
    assert [o["template"] for o in detail["outbox"]] == [
        "Ticket received",
        "Waiting",
        "Ticket closed",
    ]
    notes = [e["data"]["template"] for e in detail["timeline"] if e["type"] == "inbox_note"]
    assert notes == ["Ticket received", "Waiting", "Ticket closed"]


@pytest.mark.parametrize("path", ["inline", "queued"])
async def test_a_chain_of_statuses_queues_mail_in_the_order_entered(db, path: str) -> None:
    # E6, R-T8: New's actions email, then move on; the next status's email comes after
    desk = await Desk.create(db)
    await _add_template_action(desk, "Waiting on us", "On it", "We are on it")
    await desk.admin(
        lambda repo, user: admin.add_action(
            repo,
            user,
            pipeline_name=None,
            status_label="New",
            kind="move_ticket",
            value="Waiting on us",
            target_name=None,
        )
    )
    raw, _ = make_mail()
    await (desk.receive(raw) if path == "inline" else desk.receive_queued(raw))
    [ticket] = await desk.tickets()
    detail = await desk.ticket(ticket["number"])
    assert detail["ticket"]["status"] == "Waiting on us"
    assert [o["template"] for o in detail["outbox"]] == ["Ticket received", "On it"]


async def test_a_status_action_sees_the_ticket_as_it_was_when_it_entered_the_status(db) -> None:
    # E6, D10: the email of the earlier status renders that status, not the one after it
    desk = await Desk.create(db)
    number = await _wait_then_close(desk, "Where", "Now: {{ status.label }}")
    subjects = [o["subject"] for o in await desk.outbox() if o["template"] == "Where"]
    assert subjects == [f"Now: Waiting on contact [#{number}]"]
