"""The undo window (SPEC D2, D3, D4, E7; issue 19 item 2 "One key closes and mails").

A person's change and the email it causes wait `undo_seconds` (10) before a sender may take them;
`undo` takes the user's latest change back inside that window, from any session: the values
return, its waiting email is cancelled, the enrollments it caused stop counting, and both are on
the timeline. `outbox cancel ID` cancels any email no sender has taken. The sender here is the
real one (`deliver_due`, the runtime Worker) against a real SMTP server on loopback.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from app.screens.inbox import InboxScreen
from automation import admin, services, undo
from automation.admin.limits import set_undo_seconds
from automation.delivery import DeliveryError, cancel_mail, deliver_due
from automation.events import Actor
from runtime import worker as worker_module
from runtime.desk import Desk as RuntimeDesk
from runtime.smtp import SmtpTransport
from runtime.worker import Worker
from storage.database import Database
from tests.app_helpers import make_app, ready, seeded_desk, wait_for, wait_for_async
from tests.helpers import CUSTOMER, Desk, make_mail
from tests.servers.smtp import SmtpServer, smtp_server
from tests.test_cli import SUPPORT as CLI_SUPPORT
from tests.test_cli import desk_cli

__all__ = ["smtp_server"]  # a fixture used below


class Clock:
    """The time the desk's changes and its sender see; the test moves it."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest_asyncio.fixture
async def desk(db_url: str, smtp_server: SmtpServer, clock: Clock) -> AsyncIterator[Desk]:
    """The standard desk ("Ticket received" on New, "Ticket closed" on Closed, rep rita) on the
    test's clock, its channel sending through the test's SMTP server."""
    made = await Desk.create(Database(db_url, clock=clock))

    def configure(repo: Any, user: Any) -> None:
        channel = admin.channel_named(repo, "support")
        channel.smtp_host, channel.smtp_port = smtp_server.host, smtp_server.port
        channel.smtp_tls = "none"

    await made.admin(configure)
    yield made
    await made.close()


async def _send(desk: Desk) -> int:
    stats = await deliver_due(desk.db, SmtpTransport(desk.db, None), holder="test")
    return stats.sent


def _rita(fn: Callable[..., Any], *args: Any, **kw: Any) -> Callable[[Any, Any], Any]:
    return lambda repo, user: fn(repo, user, *args, **kw)


async def _mail(desk: Desk, template: str | None = None, kind: str | None = None) -> list[dict]:
    rows = await desk.outbox()
    return sorted(
        (
            r
            for r in rows
            if (template is None or r["template"] == template)
            and (kind is None or r["kind"] == kind)
        ),
        key=lambda r: r["id"],
    )


async def _opened(desk: Desk, smtp_server: SmtpServer) -> None:
    """A customer's email opens ticket #1; its acknowledgement (no person caused it) goes out
    at once."""
    await desk.receive(make_mail()[0])
    assert await _send(desk) == 1
    assert len(smtp_server.received) == 1


async def test_close_waits_its_window_then_undo_takes_it_back(
    desk: Desk, smtp_server: SmtpServer, clock: Clock
) -> None:
    # D2: "Ticket closed" waits 10 s; the sender leaves it alone meanwhile
    await _opened(desk, smtp_server)
    before = (await desk.ticket(1))["ticket"]
    await desk.as_user("rita", _rita(services.close_ticket, 1))
    [closed] = await _mail(desk, "Ticket closed")
    assert closed["state"] == "queued"
    queued = [e for e in (await desk.ticket(1))["timeline"] if e["type"] == "mail_queued"][-1]
    assert queued["data"]["wait_seconds"] == 10 and "unless undone" in queued["summary"]
    clock.advance(9)
    assert await _send(desk) == 0
    assert len(smtp_server.received) == 1

    # D3: undo brings the status, the timestamps and the reopened flag back, cancels the mail
    undone = await desk.as_user("rita", undo.undo_last)
    assert undone.kind == "close" and undone.cancelled == ((closed["id"], closed["subject"]),)
    assert "status back to New" in undone.describe()
    after = (await desk.ticket(1))["ticket"]
    for field in ("status", "reopened", "closed_at", "updated_at", "first_response_at"):
        assert after[field] == before[field], field
    [cancelled] = await _mail(desk, "Ticket closed")
    assert cancelled["state"] == "cancelled"
    timeline = (await desk.ticket(1))["timeline"]
    undone_line = next(e for e in timeline if e["type"] == "undone")
    assert undone_line["actor"]["name"] == "rita"
    assert any(e["type"] == "mail_cancelled" and e["cause"] == undone_line["id"] for e in timeline)
    assert any(
        e["type"] == "status_changed" and e["data"].get("reason") == "undo" for e in timeline
    )
    clock.advance(60)
    assert await _send(desk) == 0  # a cancelled email never goes
    assert len(smtp_server.received) == 1

    # E7: the enrollment of that close no longer counts: closing again mails "Ticket closed"
    await desk.as_user("rita", _rita(services.close_ticket, 1))
    clock.advance(11)
    assert await _send(desk) == 1
    assert len(smtp_server.received) == 2 and b"closed" in smtp_server.received[1].data.lower()
    # ... and once the window is over (the mail went out), there is nothing to undo
    with pytest.raises(undo.UndoError, match="window of 10 s closed"):
        await desk.as_user("rita", undo.undo_last)
    assert await desk.status(1) == "Closed"


async def test_undo_is_refused_once_its_mail_was_handed_to_the_server(
    desk: Desk, smtp_server: SmtpServer, clock: Clock
) -> None:
    await _opened(desk, smtp_server)
    await desk.admin(lambda repo, user: set_undo_seconds(repo, user, 60))
    await desk.as_user("rita", _rita(services.close_ticket, 1))

    def due_now(repo: Any) -> None:  # as if the window had been shorter
        for row in repo.outbox_by_state("queued"):
            row.next_attempt_at = repo.now()

    await desk.db.run(due_now)
    assert await _send(desk) == 1
    with pytest.raises(undo.UndoError, match="already handed to the mail server"):
        await desk.as_user("rita", undo.undo_last)
    assert await desk.status(1) == "Closed"


async def test_a_reply_is_undone_as_undo_send(
    desk: Desk, smtp_server: SmtpServer, clock: Clock
) -> None:
    # D2: a rep's own reply waits; its trigger moves the ticket at once (E6); undo takes both back
    await _opened(desk, smtp_server)
    before = (await desk.ticket(1))["ticket"]
    await desk.reply(1, "We are on it.")
    assert await desk.status(1) == "Waiting on contact"
    [reply] = await _mail(desk, kind="reply")
    assert reply["state"] == "queued"
    assert await _send(desk) == 0
    undone = await desk.as_user("rita", undo.undo_last)
    assert undone.kind == "reply"
    after = (await desk.ticket(1))["ticket"]
    assert after["status"] == "New"
    assert after["first_response_at"] == before["first_response_at"] is None
    assert after["last_rep_reply_at"] == before["last_rep_reply_at"]
    assert [r["state"] for r in await _mail(desk, kind="reply")] == ["cancelled"]
    clock.advance(30)
    assert await _send(desk) == 0
    assert len(smtp_server.received) == 1


async def test_undo_works_from_another_session(
    desk: Desk, smtp_server: SmtpServer, clock: Clock
) -> None:
    await _opened(desk, smtp_server)
    await desk.as_user("rita", _rita(services.close_ticket, 1))
    other = await RuntimeDesk.open(desk.db.url, as_user="rita", clock=clock)
    try:
        undone = await other.act(undo.undo_last)
    finally:
        await other.close()
    assert undone.summary == "#1 closed"
    assert await desk.status(1) == "New"
    assert [r["state"] for r in await _mail(desk, "Ticket closed")] == ["cancelled"]


async def test_undo_undoes_only_your_own_latest_change(
    desk: Desk, smtp_server: SmtpServer, clock: Clock
) -> None:
    await _opened(desk, smtp_server)
    with pytest.raises(undo.UndoError, match="nothing to undo"):
        await desk.as_user("rita", undo.undo_last)
    await desk.move(1, "Waiting on us")
    await desk.as_user("rita", _rita(services.set_priority, 1, "high"))
    with pytest.raises(undo.UndoError, match="nothing to undo"):
        await desk.admin(undo.undo_last)  # the admin changed nothing
    first = await desk.as_user("rita", undo.undo_last)
    assert first.kind == "priority" and (await desk.ticket(1))["ticket"]["priority"] == "normal"
    second = await desk.as_user("rita", undo.undo_last)  # the change before, still in its window
    assert second.kind == "move" and await desk.status(1) == "New"
    with pytest.raises(undo.UndoError, match="nothing to undo"):
        await desk.as_user("rita", undo.undo_last)


async def test_a_value_someone_changed_since_is_left_as_it_is(
    desk: Desk, smtp_server: SmtpServer, clock: Clock
) -> None:
    # R-T2.3 inside the window: the customer's reply reopens the ticket; undo of the close keeps
    # that status (someone else's change) and still cancels "Ticket closed"
    raw, mid = make_mail()
    await desk.receive(raw)
    await desk.as_user("rita", _rita(services.close_ticket, 1))
    await desk.receive(make_mail(subject="Re: Printer on fire", in_reply_to=mid)[0])
    assert await desk.status(1) == "Waiting on us"
    undone = await desk.as_user("rita", undo.undo_last)
    assert "ticket.status_id" in undone.kept and "status" in undone.describe()
    assert await desk.status(1) == "Waiting on us"
    assert [r["state"] for r in await _mail(desk, "Ticket closed")] == ["cancelled"]


async def test_send_now_and_a_window_of_zero_skip_the_wait(
    desk: Desk, smtp_server: SmtpServer, clock: Clock
) -> None:
    await _opened(desk, smtp_server)
    await desk.as_user("rita", _rita(services.close_ticket, 1, send_now=True))
    assert await _send(desk) == 1  # "Ticket closed" at once
    with pytest.raises(undo.UndoError, match="no undo window"):
        await desk.as_user("rita", undo.undo_last)
    await desk.admin(lambda repo, user: set_undo_seconds(repo, user, 0))
    await desk.reply(1, "Anything else?")
    assert await _send(desk) == 1  # the reply at once too
    assert len(smtp_server.received) == 3
    with pytest.raises(admin.SettingsError, match="between 0 and 3600"):
        await desk.admin(lambda repo, user: set_undo_seconds(repo, user, -1))
    with pytest.raises(admin.SettingsError, match="admin"):
        await desk.as_user("rita", lambda repo, user: set_undo_seconds(repo, user, 5))


async def test_outbox_cancel_takes_queued_held_and_retrying_mail_but_not_sending(
    desk: Desk, smtp_server: SmtpServer, clock: Clock
) -> None:
    # D4: by anyone, on the timeline; an email a sender holds cannot be cancelled
    for n in range(4):
        await desk.receive(make_mail(sender=f"c{n}@customer.example", subject=f"Q{n}")[0])
    acks = await _mail(desk, "Ticket received")
    assert len(acks) == 4

    def states(repo: Any) -> None:
        rows = {row.id: row for row in repo.outbox_by_state("queued")}
        rows[acks[1]["id"]].state, rows[acks[1]["id"]].held_reason = "held", "a test hold"
        rows[acks[2]["id"]].attempts = 1  # waiting for a retry
        rows[acks[2]["id"]].next_attempt_at = repo.now() + timedelta(minutes=2)
        rows[acks[3]["id"]].state = "sending"

    await desk.db.run(states)
    for ack in acks[:3]:
        await desk.as_user("rita", lambda repo, user, i=ack["id"]: _cancel(repo, user, i))
    with pytest.raises(DeliveryError, match="being handed to the mail server"):
        await desk.as_user("rita", lambda repo, user: _cancel(repo, user, acks[3]["id"]))
    with pytest.raises(DeliveryError, match="cannot be cancelled: it is cancelled"):
        await desk.as_user("rita", lambda repo, user: _cancel(repo, user, acks[0]["id"]))
    with pytest.raises(DeliveryError, match="no email 999"):
        await desk.as_user("rita", lambda repo, user: _cancel(repo, user, 999))
    assert [r["state"] for r in await _mail(desk, "Ticket received")] == [
        "cancelled",
        "cancelled",
        "cancelled",
        "sending",
    ]
    timeline = (await desk.ticket(1))["timeline"]
    [line] = [e for e in timeline if e["type"] == "mail_cancelled"]
    assert line["actor"]["name"] == "rita" and "cancelled (by rita)" in line["summary"]
    clock.advance(600)
    assert await _send(desk) == 0


def _cancel(repo: Any, user: Any, outbox_id: int) -> None:
    cancel_mail(repo, Actor("user", user.id, user.name), outbox_id)


async def test_the_worker_wakes_when_the_window_ends(
    db: Database, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the sender sleeps until the earliest email is due, not a poll later (poll pushed to 60 s)
    monkeypatch.setattr(worker_module, "POLL_SECONDS", 60.0)
    desk = await Desk.create(db)

    def configure(repo: Any, user: Any) -> None:
        channel = admin.channel_named(repo, "support")
        channel.smtp_host, channel.smtp_port = smtp_server.host, smtp_server.port
        channel.smtp_tls = "none"
        set_undo_seconds(repo, user, 1)

    await desk.admin(configure)
    stop = asyncio.Event()
    task = asyncio.create_task(Worker(desk).run(stop))
    try:
        await desk.receive(make_mail()[0])
        await _until(lambda: len(smtp_server.received) == 1)
        started = time.monotonic()
        await desk.reply(1, "We are on it.")
        await asyncio.sleep(0.5)
        assert len(smtp_server.received) == 1  # inside its window
        await _until(lambda: len(smtp_server.received) == 2)
        assert 0.9 < time.monotonic() - started < 10
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert smtp_server.received[1].rcpt_to == [CUSTOMER]


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


# --- the command line ---------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_undo_send_now_and_outbox_cancel_on_the_command_line(tmp_path: Path) -> None:
    cli = desk_cli(tmp_path)
    # Each call is a process of its own (~1 s, more on a loaded machine): a window of 10 s could
    # end between the close and its undo, so this desk gives a person 600 s.
    cli.run("automation", "limits", "--undo-seconds", "600")
    cli.deliver(make_mail(to=CLI_SUPPORT)[0])
    out = cli.run("close", "1", "--as", "rita").stdout
    assert "Ticket #1 closed" in out and "deskline undo" in out and "600 s" in out
    [closed] = [r for r in cli.outbox() if r["template"] == "Ticket closed"]
    assert closed["state"] == "queued"
    undone = cli.json("undo", "--as", "rita")
    assert undone["version"] == 1
    assert undone["undone"]["kind"] == "close"
    assert undone["undone"]["reverted"]["status"] == {"from": "Closed", "to": "New"}
    assert undone["undone"]["cancelled"] == [
        {"outbox_id": closed["id"], "subject": closed["subject"]}
    ]
    assert cli.status(1) == "New"
    again = cli.run("undo", "--as", "rita", ok=False)
    assert again.returncode == 1 and "nothing to undo" in again.stderr

    out = cli.run("reply", "1", "--text", "Done.", "--send-now", "--as", "rita").stdout
    assert "Reply queued" in out and "undo" not in out
    refused = cli.run("undo", "--as", "rita", ok=False)
    assert refused.returncode == 1 and "no undo window" in refused.stderr

    out = cli.run("move", "1", "Closed", "--as", "rita").stdout
    assert "deskline undo" in out
    closes = [r for r in cli.outbox() if r["template"] == "Ticket closed"]
    [closed] = [r for r in closes if r["state"] == "queued"]  # E7: the undone close counts not
    assert cli.run("outbox", "cancel", str(closed["id"])).stdout.strip() == (
        f"Email {closed['id']} cancelled"
    )
    assert {r["state"] for r in cli.outbox() if r["template"] == "Ticket closed"} == {"cancelled"}
    refused = cli.run("outbox", "cancel", str(closed["id"]), ok=False)
    assert refused.returncode == 1 and "it is cancelled" in refused.stderr
    timeline = cli.ticket(1)["timeline"]
    assert [e["type"] for e in timeline].count("mail_cancelled") == 2
    assert cli.json("outbox", "--state", "cancelled")["outbox"]


# --- the app ------------------------------------------------------------------------------------


async def test_e_then_u_in_the_inbox_closes_and_undoes(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    desk = await seeded_desk(path, ["Printer on fire"], received=False)
    app = make_app(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        assert isinstance(app.screen, InboxScreen)
        await pilot.press("e")
        await wait_for_async(pilot, lambda: _status_is(desk, "Closed"), what="closed")
        await wait_for(
            pilot, lambda: "u to undo" in _notices(app), what="the notice names the undo key"
        )
        await pilot.press("u")
        await wait_for_async(pilot, lambda: _status_is(desk, "New"), what="undone")
        await wait_for(pilot, lambda: "Undone: #1 closed" in _notices(app), what="undo notice")
    assert [r["state"] for r in await desk.outbox()] == ["cancelled"]
    await desk.db.close()


async def _status_is(desk: Desk, status: str) -> bool:
    return await desk.status(1) == status


def _notices(app: Any) -> str:
    return "\n".join(f"{n.title}\n{n.message}" for n in app._notifications)


async def test_undo_leaves_an_owner_who_was_removed_since(
    desk: Desk, smtp_server: SmtpServer, clock: Clock
) -> None:
    # A ticket moved from sam to rita, sam removed, then the move undone in its window: the
    # ticket cannot go back to a user who is gone; the rest of the undo happens, said as kept.
    from automation.admin import people

    await _opened(desk, smtp_server)
    await desk.admin(lambda repo, me: people.add_user(repo, me, "sam", email="sam@acme.example"))
    await desk.admin(lambda repo, me: services.assign(repo, me, 1, "sam"))
    await desk.admin(lambda repo, me: services.assign(repo, me, 1, "rita"))
    await desk.admin(lambda repo, me: people.remove_user(repo, me, "sam", tickets_to=None))
    undone = await desk.admin(undo.undo_last)
    assert "ticket.owner_id" in undone.kept
    assert (await desk.ticket(1))["ticket"]["owner"] == "rita"
