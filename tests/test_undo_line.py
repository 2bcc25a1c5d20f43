"""Undo from a timeline line (SPEC B5, B5.1, B3, D21; issue 15): a merge, a split or an attach
reverted as new events from either of its lines, and any other line with what it caused.

After an un-merge, mail to either token goes to its own ticket again and the absorbed ticket is
back in the status it had, with no status action run; an un-split puts the messages back and
closes the ticket the split made (kept, pointing back); an undo that closes a ticket with a
required property unset passes with a timeline note (D21). Nothing is deleted from history.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from automation import merge, services, split
from automation.properties import define_property
from automation.undo_line import undo_line, undo_span
from automation.undo_window import Report, Selector, UndoWindowError
from storage import models as m
from storage import undo_history
from storage.database import Database
from tests.helpers import Desk, make_mail

DAVE = "dave@other.example"


@pytest_asyncio.fixture
async def desk(db_url: str) -> AsyncIterator[Desk]:
    made = await Desk.create(Database(db_url))
    yield made
    await made.close()


async def _line(desk: Desk, number: int, kind: str) -> int:
    def find(session: Any) -> int:
        return int(
            session.scalar(
                select(m.TimelineEvent.id)
                .where(m.TimelineEvent.ticket_id == number, m.TimelineEvent.type == kind)
                .order_by(m.TimelineEvent.id.desc())
                .limit(1)
            )
        )

    return await desk.db.query(find)


async def _undo(desk: Desk, who: str, line_id: int, *, dry_run: bool = False) -> Report:
    def change(repo: Any, user: Any) -> Report:
        found = undo_history.line_with_history(repo.session, line_id)
        assert found is not None
        line, lines = found
        return undo_line(repo, user, line, lines, dry_run=dry_run)

    return await desk.as_user(who, change)


def _inbound(ticket: dict[str, Any]) -> list[int]:
    return [
        message["id"]
        for conversation in ticket["conversations"]
        for message in conversation["messages"]
        if message["direction"] == "inbound"
    ]


async def _participants(desk: Desk, conversation_id: int) -> set[str]:
    query = select(m.Participant.address).where(m.Participant.conversation_id == conversation_id)
    return set(await desk.db.query(lambda s: list(s.scalars(query))))


async def _two_tickets(desk: Desk) -> tuple[str, str]:
    first, carol_mid = make_mail(subject="Printer on fire")
    await desk.receive(first)
    second, dave_mid = make_mail(sender=DAVE, name="Dave", subject="Same printer, same fire")
    await desk.receive(second)
    return carol_mid, dave_mid


async def test_unmerge_from_the_survivors_line_sends_mail_to_each_token_again_b3_b5(
    desk: Desk,
) -> None:
    carol_mid, dave_mid = await _two_tickets(desk)
    await desk.move(2, "Waiting on contact")
    await desk.as_user("rita", lambda repo, user: merge.merge(repo, user, 2, 1))
    assert (await desk.ticket(2))["ticket"]["state"] == "CLOSED"
    assert DAVE in await _participants(desk, 1)  # the merge made Dave one of #1's thread
    outbox_before = len(await desk.outbox())
    survivor_line = await _line(desk, 1, "merged")

    preview = await _undo(desk, "rita", survivor_line, dry_run=True)
    assert (await desk.ticket(2))["ticket"]["merged_into"] == 1  # a dry run writes nothing
    shown = {(r.field, r.outcome, r.was, r.back_to) for r in preview.rows}
    assert ("status", "reverted", "Closed", "Waiting on contact") in shown
    assert ("participant", "reverted", DAVE, "none") in shown
    assert DAVE in await _participants(desk, 1)

    done = await _undo(desk, "rita", survivor_line)
    assert DAVE not in await _participants(desk, 1)
    assert done.count("reverted") >= 3
    absorbed, survivor = await desk.ticket(2), await desk.ticket(1)
    assert absorbed["ticket"]["merged_into"] is None
    assert absorbed["ticket"]["status"] == "Waiting on contact"  # its status before the merge
    assert [c["association"] for c in absorbed["conversations"]] == ["origin"]
    assert [c["association"] for c in survivor["conversations"]] == ["origin"]
    assert len(await desk.outbox()) == outbox_before  # no status action ran on the reopen
    # history kept: both merge lines still there, and an "undone" line on each ticket
    for number in (1, 2):
        types = await desk.timeline_types(number)
        assert "merged" in types and "undone" in types
    # Dave's reply to his own thread goes to his ticket again
    reply, _ = make_mail(sender=DAVE, subject="Re: Same printer, same fire", in_reply_to=dave_mid)
    await desk.receive(reply)
    assert len(_inbound(await desk.ticket(2))) == 2
    assert len(_inbound(await desk.ticket(1))) == 1
    # Dave writing into Carol's thread is a stranger to it again: a new conversation
    intrusion, _ = make_mail(sender=DAVE, subject="Re: Printer on fire", in_reply_to=carol_mid)
    await desk.receive(intrusion)
    [origin] = [c for c in (await desk.ticket(1))["conversations"] if c["association"] == "origin"]
    assert [m["direction"] for m in origin["messages"]].count("inbound") == 1
    # writes to #2 are accepted again (the reply moved it to Waiting on us, R-T2)
    await desk.move(2, "New")

    again = await _undo(desk, "rita", survivor_line)  # not twice
    assert [r.outcome for r in again.rows] == ["changed since"]


async def test_undo_of_a_split_puts_the_messages_back_b3_b5(desk: Desk) -> None:
    first, mid = make_mail(subject="Printer on fire")
    await desk.receive(first)
    other, _ = make_mail(subject="Re: Printer on fire", in_reply_to=mid, body="New topic: VPN")
    await desk.receive(other)
    message_id = _inbound(await desk.ticket(1))[1]
    new = await desk.as_user(
        "rita", lambda repo, user: split.split_message(repo, user, message_id).id
    )
    assert len(_inbound(await desk.ticket(1))) == 1

    done = await _undo(desk, "rita", await _line(desk, new, "split"))
    assert ("message", "reverted") in {(r.field, r.outcome) for r in done.rows}
    assert ("ticket created", "listed") in {(r.field, r.outcome) for r in done.rows}
    assert len(_inbound(await desk.ticket(1))) == 2
    made = (await desk.ticket(new))["ticket"]
    assert made["state"] == "CLOSED" and made["merged_into"] == 1  # kept, pointing back
    # its acknowledgement, waiting the undo window (D2), is cancelled: nothing sent by surprise
    [ack] = [o for o in (await desk.ticket(new))["outbox"] if o["template"] == "Ticket received"]
    assert ack["state"] == "cancelled"
    assert ("email", "cancelled") in {(r.field, r.outcome) for r in done.rows}
    assert "undone" in await desk.timeline_types(1)


async def test_undo_of_an_attach_and_a_reps_limits_b3_b5_1(desk: Desk) -> None:
    await _two_tickets(desk)
    auto, _ = make_mail(subject="Out of office", headers={"Auto-Submitted": "auto-replied"})
    await desk.receive(auto)  # an automated mail: a conversation with no ticket
    conversation = await desk.db.query(
        lambda s: s.scalar(select(m.Conversation.id).where(m.Conversation.ticket_id.is_(None)))
    )
    await desk.as_user(
        "admin", lambda repo, user: split.attach_conversation(repo, user, conversation, 1)
    )
    line_id = await _line(desk, 1, "conversation_attached")
    with pytest.raises(UndoWindowError, match="only an admin"):
        await _undo(desk, "rita", line_id)  # B5.1: a rep reverts only their own changes
    done = await _undo(desk, "admin", line_id)
    assert [(r.field, r.outcome) for r in done.rows] == [("conversation", "reverted")]
    assert len((await desk.ticket(1))["conversations"]) == 1


async def test_undo_that_closes_notes_the_required_property_unset_d21(desk: Desk) -> None:
    raw, _ = make_mail(subject="Printer on fire")
    await desk.receive(raw)
    await desk.move(1, "Closed", user="admin")
    await desk.admin(  # a required property defined after the close
        lambda repo, user: define_property(repo, user, "Category", "number", required=True)
    )
    await desk.as_user("admin", lambda repo, user: services.reopen_ticket(repo, user, 1))
    reopen_line = await _line(desk, 1, "status_changed")
    done = await _undo(desk, "admin", reopen_line)
    assert ("status", "reverted") in {(r.field, r.outcome) for r in done.rows}
    assert await desk.status(1) == "Closed"
    assert "closed_without_required" in await desk.timeline_types(1)


async def test_a_line_selector_takes_that_change_only_b5(desk: Desk) -> None:
    await _two_tickets(desk)
    await desk.move(1, "Waiting on contact")
    await desk.move(2, "Waiting on contact")
    done = await _undo(desk, "rita", await _line(desk, 1, "status_changed"))
    assert [(r.ticket, r.field, r.outcome) for r in done.rows] == [(1, "status", "reverted")]
    assert await desk.status(1) == "New" and await desk.status(2) == "Waiting on contact"
    assert Selector("line", "line 1", frozenset({1})).describe() == "line 1"


def test_undo_line_command_b5(tmp_path: Path) -> None:
    from tests.test_cli import desk_cli

    cli = desk_cli(tmp_path)
    for subject in ("Broken", "Also broken"):
        raw, _ = make_mail(to="help@acme.example", subject=subject)
        assert cli.deliver(raw)["stored"] == 1
    cli.run("ticket", "merge", "2", "--into", "1")
    shown = cli.json("ticket", "show", "2")
    line = next(e["id"] for e in shown["timeline"] if e["type"] == "merged")
    out = cli.run("undo", "--line", str(line), "--dry-run")
    assert "Would revert" in out.stdout and "merged into" in out.stdout
    data = cli.json("undo", "--line", str(line), "--yes")
    assert any(c["field"] == "merged into" and c["outcome"] == "reverted" for c in data["changes"])
    assert cli.json("ticket", "show", "2")["ticket"]["merged_into"] is None


async def test_undo_of_a_persons_window_reverts_their_merge_whole_b5_1_b3(desk: Desk) -> None:
    await _two_tickets(desk)
    await desk.as_user("rita", lambda repo, user: merge.merge(repo, user, 2, 1))
    since = datetime.now(UTC) - timedelta(hours=1)

    def change(repo: Any, user: Any) -> Report:
        selector = Selector("user", "rita", frozenset({user.id}))
        lines = undo_history.lines_since(repo.session, since)
        return undo_span(repo, user, selector, since, lines, dry_run=False)

    done = await desk.as_user("rita", change)
    assert ("merged into", "reverted") in {(r.field, r.outcome) for r in done.rows}
    # the merge's own close of #2 is part of the merge, not reverted a second time
    assert [r.field for r in done.rows].count("status") == 1
    ticket = (await desk.ticket(2))["ticket"]
    assert ticket["merged_into"] is None and ticket["status"] == "New"


async def test_U_on_the_ticket_record_reverts_a_merge_from_its_line_b5(tmp_path: Path) -> None:
    """B5: the app offers the undo from a timeline line (Pilot, 80x24)."""
    from tests.app_helpers import make_app, ready, screen_text, seeded_desk, wait_for

    path = tmp_path / "desk.db"
    desk = await seeded_desk(path, ["Printer on fire", "Same printer"])
    app = make_app(path)

    async def merged_into() -> Any:
        return (await desk.ticket(2))["ticket"]["merged_into"]

    async def until(wanted: Any) -> None:
        for _ in range(100):
            if await merged_into() == wanted:
                return
            await pilot.pause(0.1)
        raise AssertionError(f"merged_into never became {wanted}")

    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("t")  # the newest conversation: ticket #2
        await wait_for(pilot, lambda: "#2 Same printer" in screen_text(app), what="record")
        await pilot.press("M")
        await wait_for(pilot, lambda: "Merge #2 into" in screen_text(app), what="the prompt")
        await pilot.press("1", "enter")
        await until(1)
        await pilot.pause(0.3)
        await pilot.press("U")
        await wait_for(pilot, lambda: "Revert which change?" in screen_text(app), what="lines")
        await pilot.press("enter")  # the newest line: the merge's close of #2, part of the merge
        await wait_for(pilot, lambda: "Revert the merge" in screen_text(app), what="the list")
        assert "merged into: reverted #1" in screen_text(app)
        await pilot.press("y")
        await until(None)
    assert (await desk.ticket(2))["ticket"]["status"] == "New"
    await desk.db.close()
