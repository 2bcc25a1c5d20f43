"""Merge, split and attach (SPEC B3.1, B3.2, D1, D2, D21; issue 15 B3).

Merge: the survivor keeps contact, status and owner; the absorbed origin counts as an origin for
R-T2 and its contact as a participant, so mail to the old token reaches the survivor; the
absorbed ticket closes with `merged_into` and no status action; its tasks stop; writes to it are
refused naming the survivor. Split: a message and the replies to it become a new ticket (its
first status's email waits the undo window; held when the message is old). Attach: a
conversation joins a ticket; an origin conversation is refused.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from automation import merge, services, split
from automation.services import DomainError
from storage.database import Database
from tests.helpers import Desk, make_mail

DAVE = "dave@other.example"


@pytest_asyncio.fixture
async def desk(db_url: str) -> AsyncIterator[Desk]:
    made = await Desk.create(Database(db_url))
    yield made
    await made.close()


async def _two_tickets(desk: Desk) -> tuple[str, str]:
    first, carol_mid = make_mail(subject="Printer on fire")
    await desk.receive(first)
    second, dave_mid = make_mail(sender=DAVE, name="Dave", subject="Same printer, same fire")
    await desk.receive(second)
    return carol_mid, dave_mid


async def _rita(desk: Desk, fn: Any, *args: Any) -> Any:
    return await desk.as_user("rita", lambda repo, user: fn(repo, user, *args))


async def test_merge_moves_threads_closes_the_absorbed_and_refuses_writes_b3_1(
    desk: Desk,
) -> None:
    _, dave_mid = await _two_tickets(desk)
    await desk.reply(1, send_now=True)
    assert await desk.status(1) == "Waiting on contact"
    await desk.as_user("rita", lambda repo, user: services.assign(repo, user, 1, "rita"))
    task_id = await desk.as_user(
        "admin",
        lambda repo, user: repo.add_task(
            ticket_id=2, user_id=user.id, title="call Dave", due_at=repo.now(), workflow_id=None
        ),
    )
    outbox_before = len(await desk.outbox())

    done = await _rita(desk, merge.merge, 2, 1)
    assert (done.absorbed, done.survivor, done.tasks_closed) == (2, 1, 1)

    survivor, absorbed = await desk.ticket(1), await desk.ticket(2)
    # the survivor keeps contact, status and owner, and takes the absorbed's conversation
    assert survivor["ticket"]["contact"] == "carol@customer.example"
    assert survivor["ticket"]["status"] == "Waiting on contact"
    assert survivor["ticket"]["owner"] == "rita"
    assert [c["association"] for c in survivor["conversations"]] == ["origin", "merged"]
    # the absorbed ticket is closed, points at the survivor, and no status action ran
    assert absorbed["ticket"]["state"] == "CLOSED"
    assert absorbed["ticket"]["merged_into"] == 1
    assert len(await desk.outbox()) == outbox_before  # no "Ticket closed" for #2
    assert "merged" in await desk.timeline_types(1)
    assert "merged" in await desk.timeline_types(2)
    assert await desk.read(lambda repo: getattr(repo.task(task_id), "done_at", None) is not None)

    with pytest.raises(DomainError, match="merged into #1"):
        await desk.move(2, "New")
    with pytest.raises(DomainError, match="merged into #1"):
        await _rita(desk, merge.merge, 2, 1)

    # the absorbed origin counts as an origin for R-T2: Dave's reply moves the survivor
    reply, _ = make_mail(sender=DAVE, name="Dave", subject="Re: fire", in_reply_to=dave_mid)
    await desk.receive(reply)
    assert await desk.status(1) == "Waiting on us"
    # mail to the absorbed ticket's token from its contact reaches the survivor
    token, _ = make_mail(sender=DAVE, name="Dave", subject="[#2] still burning")
    await desk.receive(token)
    tickets = await desk.tickets()
    assert len(tickets) == 2  # no new ticket
    survivor = await desk.ticket(1)
    assert len(survivor["conversations"]) == 3
    assert survivor["conversations"][-1]["association"] == "token"


async def test_merge_refusals_b3_1(desk: Desk) -> None:
    await _two_tickets(desk)
    with pytest.raises(DomainError, match="into itself"):
        await _rita(desk, merge.merge, 1, 1)
    with pytest.raises(DomainError, match="no ticket #9"):
        await _rita(desk, merge.merge, 9, 1)


async def test_split_makes_a_new_ticket_with_the_replies_to_the_message_b3_2(
    desk: Desk,
) -> None:
    first, first_mid = make_mail(subject="Printer on fire")
    await desk.receive(first)
    other, other_mid = make_mail(
        subject="Re: Printer on fire", body="Also: my invoice?", in_reply_to=first_mid
    )
    await desk.receive(other)
    more, _ = make_mail(subject="Re: invoice", body="Invoice 42", in_reply_to=other_mid)
    await desk.receive(more)
    [conversation] = (await desk.ticket(1))["conversations"]
    ids = [m["id"] for m in conversation["messages"] if m["direction"] == "inbound"]
    assert len(ids) == 3  # (and the "Ticket received" acknowledgement)

    with pytest.raises(DomainError, match="starts conversation"):
        await _rita(desk, split.split_message, ids[0])
    number = await desk.as_user(
        "rita", lambda repo, user: split.split_message(repo, user, ids[1]).id
    )
    assert number == 2
    new = await desk.ticket(2)
    [moved] = new["conversations"]
    inbound = [m["id"] for m in moved["messages"] if m["direction"] == "inbound"]
    assert inbound == ids[1:]  # the reply to it went along
    assert moved["association"] == "origin" and new["ticket"]["status"] == "New"
    [old] = (await desk.ticket(1))["conversations"]
    assert [m["id"] for m in old["messages"] if m["direction"] == "inbound"] == ids[:1]
    assert "split" in await desk.timeline_types(1)
    assert "split" in await desk.timeline_types(2)
    # R-C2/E13: the first status's action ran; D2: its email waits the undo window
    [ack] = [o for o in new["outbox"] if o["template"] == "Ticket received"]
    assert ack["state"] == "queued"
    due = await desk.read(lambda repo: repo.outbox_rows_locked([ack["id"]])[0].next_attempt_at)
    assert due > await desk.read(lambda repo: repo.now())  # D2


async def test_split_of_old_mail_holds_its_email_d1_b3_2(desk: Desk) -> None:
    first, first_mid = make_mail(subject="Printer on fire")
    await desk.receive(first)
    other, _ = make_mail(subject="Re: Printer", body="new topic", in_reply_to=first_mid)
    await desk.receive(other)
    [conversation] = (await desk.ticket(1))["conversations"]
    await desk.store(lambda repo: repo.set_setting("old_mail_hours", 0))
    inbound = [m["id"] for m in conversation["messages"] if m["direction"] == "inbound"]
    # make_mail dates its mail a minute apart from a fixed time: after enough tests in one
    # process that is in the future, so the split message is dated a day back here
    await desk.store(lambda repo: _dated_back(repo, inbound[1]))
    await _rita(desk, split.split_message, inbound[1])
    [ack] = [o for o in (await desk.ticket(2))["outbox"] if o["template"] == "Ticket received"]
    assert ack["state"] == "held"


async def test_attach_a_conversation_and_refuse_an_origin_b3_2(desk: Desk) -> None:
    await _two_tickets(desk)
    auto, _ = make_mail(subject="Out of office", headers={"Auto-Submitted": "auto-replied"})
    await desk.receive(auto)
    loose = await desk.db.query(_ticketless)
    await _rita(desk, split.attach_conversation, loose, 1)
    conversations = (await desk.ticket(1))["conversations"]
    assert [c["association"] for c in conversations][-1] == "attached"
    assert "conversation_attached" in await desk.timeline_types(1)
    origin_of_2 = (await desk.ticket(2))["ticket"]["origin_conversation"]
    with pytest.raises(DomainError, match="origin of ticket #2"):
        await _rita(desk, split.attach_conversation, origin_of_2, 1)


def _dated_back(repo: Any, message_id: int) -> None:
    from datetime import timedelta

    from storage import models as m

    message = repo.session.get(m.Message, message_id)
    message.sent_at = repo.now() - timedelta(days=1)


def _ticketless(session: Any) -> int:
    from sqlalchemy import select

    from storage import models as m

    found = session.scalar(select(m.Conversation.id).where(m.Conversation.ticket_id.is_(None)))
    assert found is not None
    return int(found)


def test_merge_split_attach_commands_b3(tmp_path: Path) -> None:
    from tests.test_cli import desk_cli

    cli = desk_cli(tmp_path)
    for sender in ("carol@customer.example", DAVE):
        raw, _ = make_mail(sender=sender, to="help@acme.example", subject="Broken")
        assert cli.deliver(raw)["stored"] == 1
    assert "merged into #1" in cli.run("ticket", "merge", "2", "--into", "1").stdout
    refused = cli.run("close", "2", ok=False)
    assert refused.returncode == 1
    assert refused.stderr.strip().count("\n") == 0 and "merged into #1" in refused.stderr
    assert cli.ticket(2)["ticket"]["merged_into"] == 1
    refused = cli.run("ticket", "split", "999999", ok=False)
    assert refused.returncode == 1 and "no message 999999" in refused.stderr


async def test_m_on_the_ticket_record_merges_into_a_number_b3_1(tmp_path: Path) -> None:
    from tests.app_helpers import make_app, ready, screen_text, seeded_desk, wait_for

    path = tmp_path / "desk.db"
    desk = await seeded_desk(path, ["Printer on fire", "Same printer"])
    app = make_app(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("t")  # the newest conversation: ticket #2
        await wait_for(pilot, lambda: "#2 Same printer" in screen_text(app), what="record")
        await pilot.press("M")
        await wait_for(pilot, lambda: "Merge #2 into" in screen_text(app), what="the prompt")
        await pilot.press("1", "enter")

        async def merged() -> bool:
            return bool((await desk.ticket(2))["ticket"]["merged_into"] == 1)

        for _ in range(100):
            if await merged():
                break
            await pilot.pause(0.1)
        assert await merged()
    await desk.db.close()
