"""Notifications (issue 13; SPEC R-A4 writes some): @mentions in notes, a ticket assigned to
someone by someone else, a task that came due (once), read one or all, the list in the app
(N, enter opens the ticket, x and X mark read, b switches the bell) and from the CLI."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from automation import notifications, services
from runtime.worker import due_pass
from storage import coordination_views
from storage.database import Database
from tests.helpers import Desk, make_mail
from tests.test_snooze import cli_desk


async def _mine(desk: Desk, name: str, *, unread: bool = False) -> list[dict[str, Any]]:
    user_id = await desk.store(lambda repo: repo.user_by_name(name).id)
    return await desk.query(
        lambda s: coordination_views.notifications_for(s, user_id, unread=unread)
    )


async def _ticket(db: Database) -> Desk:
    desk = await Desk.create(db)
    await desk.receive(make_mail()[0])
    return desk


def test_mentions_are_names_not_addresses() -> None:
    body = "@Admin please look, cc @rita. Not me@example.org nor @@x; again @admin"
    assert notifications.mentioned_names(body) == ["admin", "rita"]


async def test_a_note_tells_the_users_it_mentions(db: Database) -> None:
    desk = await _ticket(db)
    await desk.as_user(
        "rita",
        lambda repo, u: services.add_note(repo, u, 1, "@admin can you refund? (@rita, @nobody)"),
    )
    [told] = await _mine(desk, "admin")
    assert told["kind"] == notifications.MENTION and told["ticket"] == 1
    assert told["text"].startswith("rita mentioned you on #1 “Printer on fire”: @admin can")
    assert told["read_at"] is None
    assert await _mine(desk, "rita") == []  # never the author
    note = [e for e in (await desk.ticket(1))["timeline"] if e["type"] == "note"][-1]
    assert note["data"]["mentioned"] == ["admin"]


async def test_an_assignment_tells_the_new_owner_unless_they_took_it(db: Database) -> None:
    desk = await _ticket(db)
    await desk.as_user("rita", lambda repo, u: services.assign(repo, u, 1, "rita"))
    assert await _mine(desk, "rita") == []
    await desk.as_user("rita", lambda repo, u: services.assign(repo, u, 1, "admin"))
    [told] = await _mine(desk, "admin")
    assert (told["kind"], told["text"]) == (
        notifications.ASSIGNED,
        "rita assigned #1 “Printer on fire” to you",
    )


async def test_a_task_that_comes_due_tells_its_owner_once(db: Database) -> None:
    desk = await _ticket(db)

    def tasks(repo: Any) -> None:
        rita = repo.user_by_name("rita").id
        now = repo.now()
        repo.add_task(
            ticket_id=1,
            user_id=rita,
            title="Call back",
            due_at=now - timedelta(minutes=1),
            workflow_id=None,
        )
        repo.add_task(
            ticket_id=1,
            user_id=rita,
            title="Later",
            due_at=now + timedelta(hours=1),
            workflow_id=None,
        )

    await desk.store(tasks)
    assert await desk.store(due_pass) == 1
    assert await desk.store(due_pass) == 0
    [told] = await _mine(desk, "rita")
    assert (told["kind"], told["text"]) == (notifications.TASK_DUE, "Task due on #1: Call back")


async def test_read_one_and_all(db: Database) -> None:
    desk = await _ticket(db)
    for n in range(3):
        await desk.as_user(
            "admin", lambda repo, u, n=n: services.add_note(repo, u, 1, f"@rita {n}")
        )
    rita = await desk.store(lambda repo: repo.user_by_name("rita").id)
    assert await desk.query(lambda s: coordination_views.unread(s, rita)) == (3, 3)
    first = (await _mine(desk, "rita"))[-1]["id"]
    assert await desk.store(lambda repo: repo.mark_notifications_read(rita, first)) == 1
    assert await desk.store(lambda repo: repo.mark_notifications_read(rita, first)) == 0
    assert len(await _mine(desk, "rita", unread=True)) == 2
    assert await desk.store(lambda repo: repo.mark_notifications_read(rita, None)) == 2
    assert await desk.query(lambda s: coordination_views.unread(s, rita)) == (0, 0)
    assert len(await _mine(desk, "rita")) == 3
    # a workflow's notification (the notify action) is of its own kind
    await desk.store(lambda repo: repo.add_notification(rita, 1, "Ticket #1 is now Closed"))
    assert (await _mine(desk, "rita"))[0]["kind"] == notifications.NOTIFY


@pytest.mark.sqlite_only
def test_cli_lists_and_reads(tmp_path: Path) -> None:
    desk = cli_desk(tmp_path)

    def run(*args: str, ok: bool = True) -> str:
        proc = desk(*args, ok=ok)
        return proc.stdout if ok else proc.stderr

    assert run("notifications", "--as", "rita") == "No notifications.\n"
    run("note", "1", "--text", "@rita look at this", "--as", "admin")
    run("note", "1", "--text", "@rita and this", "--as", "admin")
    listed = json.loads(run("notifications", "--json", "--as", "rita"))
    assert [n["kind"] for n in listed["notifications"]] == ["mention", "mention"]
    newest, oldest = (n["id"] for n in listed["notifications"])
    assert "admin mentioned you on #1" in run("notifications", "--as", "rita")
    assert run("notifications", "read", str(oldest), "--as", "rita") == (
        f"Notification {oldest} marked read\n"
    )
    unread = json.loads(run("notifications", "--unread", "--json", "--as", "rita"))
    assert [n["id"] for n in unread["notifications"]] == [newest]
    assert "no notification" in run("notifications", "read", str(oldest), "--as", "admin", ok=False)
    assert run("notifications", "read", "--all", "--as", "rita") == "1 notification marked read\n"
    assert run("notifications", "--unread", "--as", "rita") == "No unread notifications.\n"


@pytest.mark.sqlite_only
async def test_keys_of_the_notifications_list(tmp_path: Path) -> None:
    from app.screens.notifications import NotificationsScreen
    from app.screens.ticket import TicketScreen
    from tests.app_helpers import make_app, ready, screen_text, seeded_desk, wait_for

    path = tmp_path / "desk.db"
    desk = await seeded_desk(path, ["Printer on fire"])
    app = make_app(path)
    async with app.run_test(size=(110, 30)) as pilot:
        await ready(pilot)
        assert "new" not in screen_text(app).splitlines()[0]
        for n in range(2):
            await desk.as_user(
                "admin", lambda repo, u, n=n: services.add_note(repo, u, 1, f"@rita note {n}")
            )
        await wait_for(pilot, lambda: "● 2 new" in screen_text(app), what="the badge")
        await pilot.press("N")
        await wait_for(pilot, lambda: "2 unread · bell off" in screen_text(app), what="the list")
        assert "admin mentioned you on #1" in screen_text(app)
        await pilot.press("x")
        await wait_for(pilot, lambda: "1 unread" in screen_text(app), what="one read")
        await pilot.press("b")
        await wait_for(pilot, lambda: "bell on" in screen_text(app), what="the bell")
        rang: list[int] = []
        app.bell = lambda: rang.append(1)  # type: ignore[method-assign]
        await desk.as_user("admin", lambda repo, u: services.add_note(repo, u, 1, "@rita ring"))
        await wait_for(pilot, lambda: rang == [1], what="the bell rings once")
        await wait_for(pilot, lambda: "2 unread" in screen_text(app), what="the list follows")
        await pilot.press("X")
        await wait_for(pilot, lambda: "0 unread" in screen_text(app), what="all read")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TicketScreen), what="the ticket")
        await wait_for(pilot, lambda: "● " not in screen_text(app).splitlines()[0], what="no badge")
        assert not isinstance(app.screen, NotificationsScreen)
    await desk.db.close()


@pytest.mark.sqlite_only
async def test_a_task_come_due_reaches_an_open_list(tmp_path: Path) -> None:
    """The due pass changes no ticket and writes no timeline line: the notification alone
    must move an open list (and the badge)."""
    from tests.app_helpers import make_app, ready, screen_text, seeded_desk, wait_for

    path = tmp_path / "desk.db"
    desk = await seeded_desk(path, ["Printer on fire"])

    def task(repo: Any) -> None:
        rita = repo.user_by_name("rita").id
        due = repo.now() - timedelta(minutes=1)
        repo.add_task(ticket_id=1, user_id=rita, title="Call back", due_at=due, workflow_id=None)

    await desk.store(task)
    app = make_app(path)
    async with app.run_test(size=(110, 30)) as pilot:
        await ready(pilot)
        await pilot.press("N")
        await wait_for(pilot, lambda: "0 unread" in screen_text(app), what="the empty list")
        assert await desk.store(due_pass) == 1
        await wait_for(pilot, lambda: "1 unread" in screen_text(app), what="the list follows")
        assert "Task due on #1: Call back" in screen_text(app)
    await desk.db.close()


@pytest.mark.sqlite_only
async def test_opening_a_notification_marks_it_read(tmp_path: Path) -> None:
    """enter opens the ticket and the notification is read: the mark is stored before the
    list closes (closing it cancelled the mark before)."""
    from app.screens.ticket import TicketScreen
    from tests.app_helpers import make_app, ready, screen_text, seeded_desk, wait_for

    path = tmp_path / "desk.db"
    desk = await seeded_desk(path, ["Printer on fire"])
    app = make_app(path)
    async with app.run_test(size=(110, 30)) as pilot:
        await ready(pilot)
        await desk.as_user("admin", lambda repo, u: services.add_note(repo, u, 1, "@rita look"))
        await wait_for(pilot, lambda: "● 1 new" in screen_text(app), what="the badge")
        await pilot.press("N")
        await wait_for(pilot, lambda: "1 unread" in screen_text(app), what="the list")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TicketScreen), what="the ticket")
        assert "Ticket #1" in screen_text(app)
    assert await _mine(desk, "rita", unread=True) == []
    assert len(await _mine(desk, "rita")) == 1
    await desk.db.close()
