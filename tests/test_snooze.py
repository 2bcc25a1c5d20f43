"""Snooze (SPEC D23): a time on an open ticket or conversation that takes it out of the open
views; it ends at its time (the worker's periodic pass writes the line), when the customer
writes (the real ingestion path), when it closes, or by hand; each way is a timeline line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from automation import admin, services, snooze
from automation.events import Timeline
from runtime.worker import due_pass
from storage import views
from storage.database import Database
from tests.helpers import Desk, make_mail

UTC_NOW = datetime(2026, 12, 4, 10, 30, tzinfo=UTC)  # a Friday


async def _desk_with_ticket(db: Database) -> tuple[Desk, str]:
    desk = await Desk.create(db)
    raw, mid = make_mail()
    await desk.receive(raw)
    return desk, mid


async def _open_ids(desk: Desk, view: str = "open") -> list[int]:
    f = views.InboxFilter(view=view, user_id=None)
    rows = await desk.query(lambda s: views.inbox_rows(s, f, views.Window()))
    return [row["id"] for row in rows]


def _snooze(desk: Desk, number: int, until: datetime) -> Any:
    return desk.as_user(
        "rita", lambda repo, user: snooze.snooze_by(repo, user, until, number=number)
    )


async def _set_until(desk: Desk, number: int, until: datetime) -> None:
    """Move a snooze's time (as if time had passed) without a line of its own."""

    def move(repo: Any) -> None:
        ticket = repo.ticket(number)
        ticket.snoozed_until = until
        for conversation in repo.ticket_conversations(number):
            conversation.snoozed_until = until

    await desk.store(move)


def _snooze_lines(record: dict[str, Any]) -> list[tuple[str, str, str]]:
    kinds = (Timeline.SNOOZED, Timeline.SNOOZE_ENDED)
    return [
        (e["type"], e["actor"]["name"], e["summary"])
        for e in record["timeline"]
        if e["type"] in kinds
    ]


def test_typed_times_and_presets() -> None:
    assert snooze.parse_until("2h", UTC_NOW) == UTC_NOW + timedelta(hours=2)
    assert snooze.parse_until("1 hour", UTC_NOW) == UTC_NOW + timedelta(hours=1)
    assert snooze.parse_until("tomorrow 9", UTC_NOW) == datetime(2026, 12, 5, 9, tzinfo=UTC)
    assert snooze.parse_until("today 14", UTC_NOW) == datetime(2026, 12, 4, 14, tzinfo=UTC)
    assert snooze.parse_until("monday 9", UTC_NOW) == datetime(2026, 12, 7, 9, tzinfo=UTC)
    assert snooze.parse_until("2026-12-24 09:30", UTC_NOW) == datetime(
        2026, 12, 24, 9, 30, tzinfo=UTC
    )
    for wrong in ("", "soon", "today 9", "2026-01-01 09:00"):
        with pytest.raises(snooze.SnoozeError):
            snooze.parse_until(wrong, UTC_NOW)
    labels = [p.label for p in snooze.presets(UTC_NOW)]
    assert labels[:3] == ["In 1 hour", "This afternoon, 14:00", "Tomorrow, 9:00"]
    assert labels[3].startswith("Next Monday, 9:00")
    # after 14:00 the afternoon is gone
    late = [p.label for p in snooze.presets(UTC_NOW.replace(hour=15))]
    assert "This afternoon, 14:00" not in late
    assert snooze.left(UTC_NOW + timedelta(hours=2, minutes=5), UTC_NOW) == "2h"


async def test_snoozed_ticket_leaves_the_open_views_and_returns_at_its_time(db: Database) -> None:
    desk, _ = await _desk_with_ticket(db)
    [conversation] = await _open_ids(desk)
    await _snooze(desk, 1, datetime.now(UTC) + timedelta(hours=2))
    assert await _open_ids(desk) == []
    assert await _open_ids(desk, "unassigned") == []
    assert await _open_ids(desk, "all") == [conversation]  # not a state: still there
    record = await desk.ticket(1)
    assert record["ticket"]["status"] == "New"  # not a status either
    # the board marks the card
    status_id = await desk.query(lambda s: views.ticket_status_id(s, 1))
    [card] = await desk.query(lambda s: views.column_rows(s, status_id, views.Window()))
    assert card["snoozed_until"] is not None
    from widgets.lists import snooze_mark

    assert snooze_mark(card["snoozed_until"]) == " z 1h"
    # the worker's pass does nothing before the time
    assert await desk.store(due_pass) == 0
    await _set_until(desk, 1, datetime.now(UTC) - timedelta(seconds=1))
    assert await _open_ids(desk) == [conversation]  # the views compare with now
    assert await desk.store(due_pass) == 1
    assert await desk.store(due_pass) == 0  # once
    lines = _snooze_lines(await desk.ticket(1))
    assert lines[0][:2] == (Timeline.SNOOZED, "rita")
    assert lines[0][2].startswith("Snoozed until ")
    assert lines[1] == (Timeline.SNOOZE_ENDED, "Deskline", "Snooze ended: its time came")


async def test_snoozed_ticket_returns_when_the_customer_writes(db: Database) -> None:
    desk, mid = await _desk_with_ticket(db)
    [conversation] = await _open_ids(desk)
    await _snooze(desk, 1, datetime.now(UTC) + timedelta(days=2))
    assert await _open_ids(desk) == []
    # an automated reply (out of office) does not wake it
    raw, _ = make_mail(
        subject="Re: Printer on fire",
        body="I am away.",
        in_reply_to=mid,
        headers={"Auto-Submitted": "auto-replied"},
    )
    await desk.receive(raw)
    assert await _open_ids(desk) == []
    raw, _ = make_mail(subject="Re: Printer on fire", body="Still burning!", in_reply_to=mid)
    await desk.receive(raw)
    assert await _open_ids(desk) == [conversation]
    record = await desk.ticket(1)
    ended = _snooze_lines(record)[-1]
    assert ended[0] == Timeline.SNOOZE_ENDED
    assert ended[2] == "Snooze ended: the customer wrote"
    assert ended[1] == "carol@customer.example"


async def test_closing_ends_a_snooze_and_unsnooze_by_hand(db: Database) -> None:
    desk, _ = await _desk_with_ticket(db)
    await _snooze(desk, 1, datetime.now(UTC) + timedelta(hours=3))
    await desk.as_user("rita", lambda repo, u: services.close_ticket(repo, u, 1))
    assert _snooze_lines(await desk.ticket(1))[-1][2] == "Snooze ended: closed"
    with pytest.raises(snooze.SnoozeError, match="closed"):
        await _snooze(desk, 1, datetime.now(UTC) + timedelta(hours=3))
    await desk.as_user("rita", lambda repo, u: services.reopen_ticket(repo, u, 1))
    await _snooze(desk, 1, datetime.now(UTC) + timedelta(hours=3))
    await desk.as_user("rita", lambda repo, u: snooze.unsnooze_by(repo, u, number=1))
    assert _snooze_lines(await desk.ticket(1))[-1] == (
        Timeline.SNOOZE_ENDED,
        "rita",
        "Snooze ended: by rita",
    )
    assert len(await _open_ids(desk)) == 1
    with pytest.raises(snooze.SnoozeError, match="not snoozed"):
        await desk.as_user("rita", lambda repo, u: snooze.unsnooze_by(repo, u, number=1))


async def test_a_conversation_without_a_ticket_snoozes_alone(db: Database) -> None:
    desk = await Desk.create(db)

    def no_tickets(repo: Any) -> None:
        admin.channel_named(repo, "support").ticket_automation = False

    await desk.store(no_tickets)
    await desk.receive(make_mail()[0])
    [conversation] = await _open_ids(desk)
    view = await desk.query(lambda s: views.conversation_view(s, conversation))
    assert view is not None and view["ticket"] is None
    until = datetime.now(UTC) + timedelta(hours=1)
    await desk.as_user(
        "rita",
        lambda repo, u: snooze.snooze_by(repo, u, until, conversation_id=conversation),
    )
    assert await _open_ids(desk) == []
    await desk.as_user("rita", lambda repo, u: services.close_conversation(repo, u, conversation))
    assert await _open_ids(desk, "closed") == [conversation]


Run = Callable[..., subprocess.CompletedProcess[str]]


def cli_desk(tmp_path: Path) -> Run:
    """`deskline` on a new SQLite desk with ticket #1 from carol and the user rita: run(*args,
    ok=True) checks the exit code and returns the finished process."""
    db = tmp_path / "desk.db"

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "app.cli", "--db", str(db), *args],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "DESKLINE_USER": ""},
        )
        assert (proc.returncode == 0) == ok, f"{args}: {proc.stdout} {proc.stderr}"
        return proc

    run("init")
    run("channel", "add", "support", "--address", "help@acme.example")
    run("user", "add", "rita", "--email", "rita@acme.example")
    raw, _ = make_mail(to="help@acme.example")
    (tmp_path / "1.eml").write_bytes(raw)
    run("import", str(tmp_path / "1.eml"), "--channel", "support")
    return run


@pytest.mark.sqlite_only
def test_cli_snooze_and_unsnooze(tmp_path: Path) -> None:
    run = cli_desk(tmp_path)
    assert run("snooze", "1", "tomorrow 9", "--as", "rita").stdout.startswith("#1 snoozed until ")
    assert "cannot read" in run("snooze", "1", "whenever", ok=False).stderr
    assert run("unsnooze", "1").stdout == "#1 is back in the open views\n"
    assert "not snoozed" in run("unsnooze", "1", ok=False).stderr
    assert "name a ticket" in run("unsnooze", "1", "--conversation", "1", ok=False).stderr


@pytest.mark.sqlite_only
async def test_keys_snooze_from_the_inbox_and_the_ticket_record(tmp_path: Path) -> None:
    from tests.app_helpers import make_app, ready, screen_text, seeded_desk, wait_for

    path = tmp_path / "desk.db"
    desk = await seeded_desk(path, ["Printer on fire", "Toner is empty"])
    app = make_app(path)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        assert "Toner is empty" in screen_text(app)
        await pilot.press("Z")
        await wait_for(pilot, lambda: "Snooze #2 until" in screen_text(app), what="presets")
        assert "In 1 hour" in screen_text(app) and "A time you type" in screen_text(app)
        await pilot.press("enter")  # in 1 hour
        await wait_for(pilot, lambda: "Toner is empty" not in screen_text(app), what="hidden")
        assert "Printer on fire" in screen_text(app)
        # the ticket record: a typed time
        await pilot.press("t")
        await wait_for(pilot, lambda: "#1 Printer on fire" in screen_text(app), what="record")
        await pilot.press("Z")
        await wait_for(pilot, lambda: "Snooze #1 until" in screen_text(app), what="presets")
        for _ in snooze.presets(datetime.now(UTC)):
            await pilot.press("j")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "(UTC)" in screen_text(app), what="the prompt")
        await pilot.press(*"soon", "enter")
        await wait_for(pilot, lambda: "cannot read" in screen_text(app), what="the fault")
        await pilot.press(*(["backspace"] * 4), *"3h", "enter")
        await wait_for(pilot, lambda: "snoozed until" in screen_text(app), what="the record")
    record = await desk.ticket(1)
    assert _snooze_lines(record)[-1][:2] == (Timeline.SNOOZED, "rita")
    assert await _open_ids(desk) == []
    await desk.db.close()
