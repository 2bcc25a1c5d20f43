"""A template cannot stop the desk (issue 19 item 18, SPEC D10, R-A9): renders run in a worker
process within a CPU and an output budget, outside the engine's write transaction; a render over
budget fails its action loudly and the engine goes on with the next event."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

import pytest
from sqlalchemy import func, select

from automation import admin, services
from automation.actions import retry_action
from automation.render_worker import Budget, OverBudget, pool, render_within
from automation.services import actor_of
from automation.templates import TemplateRenderError
from storage.models import DomainEvent
from tests.helpers import Desk, make_mail

NESTED = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
SLOW_WHEN_HIGH = '{% if ticket.priority == "high" %}' + NESTED + "{% endif %}Bye {{ contact.name }}"


def test_runaway_renders_are_stopped_within_the_budget() -> None:
    budget = Budget(seconds=0.5)
    started = pool().started
    begun = time.monotonic()
    with pytest.raises(OverBudget, match=r"took more than 0.5 s"):
        render_within("s", NESTED, {}, budget)
    assert time.monotonic() - begun < budget.backstop()
    # the desk's worker goes on rendering (the one stopped is replaced when it was killed)
    assert render_within("Hi {{ n }}", "b", {"n": 1}, budget).subject == "Hi 1"
    assert pool().started <= started + 2


@pytest.mark.parametrize(
    "body",
    [
        "{{ 'x' * 10**8 }}",
        "{% for i in range(100000) %}{% for j in range(100) %}xxxxxxxxxx{% endfor %}{% endfor %}",
        "{{ 'x'.ljust(10**8) }}",
        "{% for i in range(10**9) %}{% endfor %}",
    ],
)
def test_huge_output_is_refused(body: str) -> None:
    with pytest.raises(TemplateRenderError) as refused:
        render_within("s", body, {}, Budget(seconds=2))
    message = str(refused.value)
    assert any(
        words in message for words in ("over 1 MiB", "MAX_RANGE", "memory", "took more than")
    ), message


async def _slow_for_high_priority(desk: Desk) -> None:
    def setup(repo, user) -> None:
        repo.set_setting("template_render_seconds", 0.5)
        repo.add_template("Bye", "Closed: {{ ticket.subject }}", SLOW_WHEN_HIGH, builtin=False)
        admin.add_action(
            repo,
            user,
            pipeline_name=None,
            status_label="Closed",
            kind="send_email",
            template_name="Bye",
        )

    await desk.admin(setup)


async def _committed_without_drain(desk: Desk, fn) -> None:
    await desk.store(lambda repo: fn(repo, repo.user_by_name("rita")))


async def test_a_template_over_budget_fails_its_action_and_the_engine_goes_on(db) -> None:
    desk = await Desk.create(db, received=False, closed=False)
    await _slow_for_high_priority(desk)
    for subject in ("Urgent one", "Normal one"):
        raw, _ = make_mail(subject=subject)
        await desk.receive(raw)
    await desk.as_user("rita", lambda repo, u: services.set_priority(repo, u, 1, "high"))
    # both tickets closed, their events committed, nothing handled yet: one drain takes both
    for number in (1, 2):
        await _committed_without_drain(
            desk, lambda repo, u, n=number: services.move_ticket(repo, u, n, "Closed")
        )
    await desk.drain()

    first = await desk.ticket(1)
    assert first["ticket"]["status"] == "Closed"  # the ticket change stays (R-A9)
    failed = [e for e in first["timeline"] if e["type"] == "action_failed"]
    assert len(failed) == 1
    assert "took more than 0.5 s to render" in failed[0]["summary"]
    assert not [o for o in first["outbox"] if o["template"] == "Bye"]
    second = await desk.ticket(2)  # the next event was handled
    assert [o["template"] for o in second["outbox"]] == ["Bye"]
    pending = await desk.db.query(
        lambda s: s.scalar(select(func.count()).where(DomainEvent.processed_at.is_(None)))
    )
    assert pending == 0

    # retry works once the template is fixed (R-A9)
    def fix(repo, user) -> None:
        admin.set_template(repo, user, "Bye", subject=None, body="Bye {{ contact.name }}")

    await desk.admin(fix)
    run_id = failed[0]["data"]["run_id"]
    state = await desk.as_user("rita", lambda repo, u: retry_action(repo, actor_of(u), run_id))
    assert state == "ok"
    assert [o["template"] for o in (await desk.ticket(1))["outbox"]] == ["Bye"]


def _write_from_another_thread(path: str, after: float) -> dict[str, float]:
    """Another writer, in a thread of its own (the engine's loop may be busy): it writes once
    `after` seconds have passed and says how long it waited for the write lock."""
    result: dict[str, float] = {}

    def write() -> None:
        time.sleep(after)
        connection = sqlite3.connect(path, timeout=10, isolation_level=None)
        try:
            begun = time.monotonic()
            connection.execute("BEGIN IMMEDIATE")
            result["waited"] = time.monotonic() - begun
            connection.execute("INSERT INTO settings (key, value) VALUES ('written', '1')")
            connection.execute("COMMIT")
            result["at"] = time.monotonic()
        finally:
            connection.close()

    thread = threading.Thread(target=write)
    thread.start()
    result["thread"] = thread  # type: ignore[assignment]
    return result


async def test_the_render_runs_with_no_write_transaction_open(db, db_url) -> None:
    # D10: while a slow render runs, another writer writes at once (SQLite has one writer)
    if not db_url.startswith("sqlite"):
        pytest.skip("the write lock of the whole file is SQLite's")
    desk = await Desk.create(db, received=False, closed=False)
    await _slow_for_high_priority(desk)
    await desk.admin(lambda repo, u: repo.set_setting("template_render_seconds", 2))
    raw, _ = make_mail(subject="Slow")
    await desk.receive(raw)
    await desk.as_user("rita", lambda repo, u: services.set_priority(repo, u, 1, "high"))
    await _committed_without_drain(desk, lambda repo, u: services.move_ticket(repo, u, 1, "Closed"))
    writer = _write_from_another_thread(db_url.split("///", 1)[1], after=0.7)
    await desk.drain()
    drained = time.monotonic()
    await asyncio.to_thread(writer["thread"].join)  # type: ignore[attr-defined]
    assert writer["waited"] < 0.5
    assert writer["at"] < drained - 0.5  # written while the render was still going
    failed = [e for e in (await desk.ticket(1))["timeline"] if e["type"] == "action_failed"]
    assert "took more than 2 s" in failed[0]["summary"]


async def test_many_emails_in_one_drain_go_out_once_each_in_order(db) -> None:
    # renders asked for ahead of a pass are done together; each event is still handled once,
    # in the order it was written (E2, E6)
    desk = await Desk.create(db, received=False)
    for n in range(20):
        await desk.receive(make_mail(subject=f"Question {n}")[0])
    for number in range(1, 21):
        await _committed_without_drain(
            desk, lambda repo, u, n=number: services.move_ticket(repo, u, n, "Closed")
        )
    await desk.drain()
    closed = [o for o in await desk.outbox() if o["template"] == "Ticket closed"]
    by_id = sorted(closed, key=lambda o: o["id"])
    assert [o["ticket"] for o in by_id] == list(range(1, 21))


async def test_an_import_batch_with_a_template_over_budget_is_stored_and_fails_the_action(db):
    # the import's inline path renders at once, still in a worker within the budget: the batch
    # is stored, each acknowledgement fails on its ticket's timeline, nothing is left pending
    desk = await Desk.create(db, received=False, closed=False)

    def setup(repo, user) -> None:
        repo.set_setting("template_render_seconds", 0.3)
        repo.add_template("Ack", "Got it", NESTED + "Hi", builtin=False)
        admin.add_action(
            repo,
            user,
            pipeline_name=None,
            status_label="New",
            kind="send_email",
            template_name="Ack",
        )

    await desk.admin(setup)
    begun = time.monotonic()
    results = await desk.receive_batch([make_mail(subject=f"Batch {n}")[0] for n in range(3)])
    assert [r.outcome for r in results].count("duplicate") == 0
    assert time.monotonic() - begun < 3 * Budget(0.3).backstop()
    for number in (1, 2, 3):
        timeline = (await desk.ticket(number))["timeline"]
        failed = [e for e in timeline if e["type"] == "action_failed"]
        assert len(failed) == 1 and "took more than 0.3 s" in failed[0]["summary"]


def _ack_with(desk_template: str):
    def setup(repo, user) -> None:
        repo.set_setting("template_render_seconds", 2)
        repo.add_template("Ack", "Got it", desk_template, builtin=False)
        admin.add_action(
            repo,
            user,
            pipeline_name=None,
            status_label="New",
            kind="send_email",
            template_name="Ack",
        )

    return setup


async def test_an_import_batch_renders_with_no_write_transaction_open(db, db_url) -> None:
    # D10 on the import's fast path: the acknowledgement's slow render waits in the queue for
    # the drain after the batch's commit, so another writer writes during the render
    if not db_url.startswith("sqlite"):
        pytest.skip("the write lock of the whole file is SQLite's")
    desk = await Desk.create(db, received=False, closed=False)
    await desk.admin(_ack_with('{% if "Slow" in ticket.subject %}' + NESTED + "{% endif %}Hi"))
    writer = _write_from_another_thread(db_url.split("///", 1)[1], after=1.0)
    results = await desk.receive_batch([make_mail(subject=f"Slow {n}")[0] for n in range(2)])
    done = time.monotonic()
    await asyncio.to_thread(writer["thread"].join)  # type: ignore[attr-defined]
    assert [r.outcome for r in results] == ["stored", "stored"]
    assert writer["waited"] < 0.5
    assert writer["at"] < done - 0.5  # written while a render was still going
    for number in (1, 2):  # each ack failed its action on its ticket, none left pending
        timeline = (await desk.ticket(number))["timeline"]
        assert [e for e in timeline if e["type"] == "action_failed"]
    pending = await desk.db.query(
        lambda s: s.scalar(select(func.count()).where(DomainEvent.processed_at.is_(None)))
    )
    assert pending == 0


async def test_a_deferred_batch_ends_as_the_inline_one_would(db) -> None:
    # D10, B8.2: a batch whose acknowledgements are rendered after its commit threads, opens
    # tickets and queues its emails exactly as the inline path: one ack per new ticket, in
    # order, the reply in the batch threaded into its ticket, the summary counting the acks
    desk = await Desk.create(db, received=False, closed=False)
    await desk.admin(_ack_with("Hi {{ contact.name }}, about #{{ ticket.number }}"))
    first, first_id = make_mail(subject="Printer")
    reply, _ = make_mail(subject="Re: Printer", in_reply_to=first_id)
    other, _ = make_mail(subject="Scanner", sender="bob@example.com")
    results = await desk.receive_batch([first, reply, other])
    assert [r.outcome for r in results] == ["stored", "stored", "stored"]
    assert results[1].threaded
    acks = [o for o in await desk.outbox() if o["template"] == "Ack"]
    assert sorted(o["ticket"] for o in acks) == [1, 2]
    assert [o["ticket"] for o in sorted(acks, key=lambda o: o["id"])] == [1, 2]
    pending = await desk.db.query(
        lambda s: s.scalar(select(func.count()).where(DomainEvent.processed_at.is_(None)))
    )
    assert pending == 0


async def test_a_command_of_several_changes_renders_outside_its_transaction(db, db_url) -> None:
    # D10 for a person's command: a reply and a close in one command (E6, `in_order`): the
    # close's status action needs the reply's R-T1 handled first; its render is done with the
    # command's transaction rolled back, then the command runs again and finds it done
    if not db_url.startswith("sqlite"):
        pytest.skip("the write lock of the whole file is SQLite's")
    desk = await Desk.create(db, received=False, closed=False)
    slow = '{% if ticket.priority == "high" %}' + NESTED + "{% endif %}Waiting"

    def setup(repo, user) -> None:
        repo.set_setting("template_render_seconds", 2)
        repo.add_template("Waiting", "We wait", slow, builtin=False)
        admin.add_action(
            repo,
            user,
            pipeline_name=None,
            status_label="Waiting on contact",
            kind="send_email",
            template_name="Waiting",
        )

    await desk.admin(setup)
    await desk.receive(make_mail(subject="Help")[0])
    await desk.as_user("rita", lambda repo, u: services.set_priority(repo, u, 1, "high"))

    def reply_then_note(repo, user) -> None:
        services.reply(repo, user, 1, "Could you send a photo?", send_now=True)
        services.set_priority(repo, user, 1, "high")  # a second change: R-T1 is handled first

    writer = _write_from_another_thread(db_url.split("///", 1)[1], after=1.0)
    await desk.as_user("rita", reply_then_note)
    done = time.monotonic()
    await asyncio.to_thread(writer["thread"].join)  # type: ignore[attr-defined]
    assert writer["waited"] < 0.5
    assert writer["at"] < done - 0.5
    ticket = await desk.ticket(1)
    assert ticket["ticket"]["status"] == "Waiting on contact"
    replies = [o for o in ticket["outbox"] if o["template"] is None]
    assert len(replies) == 1  # the command ran again, but its reply is queued once
    failed = [e for e in ticket["timeline"] if e["type"] == "action_failed"]
    assert "took more than 2 s" in failed[0]["summary"]
