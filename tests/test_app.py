"""The terminal app driven by keys with Pilot over a real SQLite file (SPEC §5, §7).

Each test starts the real app (backend thread, real engine) on a desk filled through the real
ingestion path, presses keys, and checks the database and the screen.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import TextArea

from app.screens.board import BoardScreen
from app.screens.compose import ComposeScreen
from app.screens.help import HelpScreen
from app.screens.inbox import InboxScreen
from app.screens.ticket import TicketScreen
from app.tui import DesklineApp
from automation import admin, services
from storage import views
from storage.database import Database
from tests.app_helpers import make_app, ready, screen_text, seeded_desk, wait_for, wait_for_async
from tests.helpers import Desk, make_mail
from widgets.lists import ConversationList

SUBJECTS = ["Printer on fire", "Invoice is wrong", "Cannot log in"]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "desk.db"


async def test_inbox_lists_conversations_newest_first_and_shows_the_reading_pane(db_path):
    """§5 Inbox: the list, the reading pane with the ticket's status."""
    desk = await seeded_desk(db_path, SUBJECTS)
    app = make_app(db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        assert isinstance(app.screen, InboxScreen)
        rows = app.screen.query_one(ConversationList)
        assert rows.total == 3
        assert rows.current is not None and rows.current["subject"] == "Cannot log in"
        text = await wait_for(pilot, lambda: "Ticket #3" in screen_text(app) and screen_text(app))
        assert "Cannot log in" in text and "Printer on fire" in text
        await pilot.press("j")
        await wait_for(pilot, lambda: "Ticket #2" in screen_text(app), what="pane follows cursor")
    await desk.db.close()


async def test_reply_from_the_ticket_record_moves_the_ticket(db_path):
    """R-T1: a reply sent from the ticket record moves the ticket to "Waiting on contact"; the
    email is queued with the rep's text and the draft is gone."""
    desk = await seeded_desk(db_path, SUBJECTS[:1], received=False)
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await write_and_send(pilot, "r", "We are sending a technician.")
        await wait_for_async(
            pilot, lambda: _status_is(desk, 1, "Waiting on contact"), what="status move"
        )
    outbox = await desk.outbox()
    assert [o["kind"] for o in outbox] == ["reply"]
    assert "technician" in (await desk.outbox_raw(outbox[0]["id"])).decode()
    assert await desk.db.query(lambda s: views.draft(s, 2, "conversation:1:reply")) is None
    await desk.db.close()


async def test_email_from_the_contact_record_changes_no_status(db_path):
    """E3: the same reply from the contact record (R in the inbox) leaves the status alone."""
    desk = await seeded_desk(db_path, SUBJECTS[:1], received=False)
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        composer = await write_and_send(pilot, "R", "Quick question first.")
        assert "contact record" in composer
        await wait_for_async(pilot, lambda: _outbox_count(desk, 1))
    assert await desk.status(1) == "New"
    await desk.db.close()


async def test_a_draft_survives_closing_the_app(db_path):
    """§5 Safety: typed text is saved; a new session finds it in the composer."""
    desk = await seeded_desk(db_path, SUBJECTS[:1])
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await _open_with_draft(pilot, "")
        await pilot.press(*"Half a thought")
        await wait_for_async(
            pilot,
            lambda: _draft_is(desk, "Half a thought"),  # not a save made between two keys
            what="the autosave",
        )
    again = make_app(db_path)
    async with again.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await _open_with_draft(pilot, "Half a thought")
    await desk.db.close()


async def _open_with_draft(pilot, text: str) -> None:
    """`r` opens the composer, which shows `text` (the saved draft) once loaded."""
    await pilot.press("r")
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen), what="the composer")
    area = app.screen.query_one(TextArea)
    await wait_for(pilot, lambda: area.text == text, what=f"the draft {text!r}")


async def _draft_is(desk, text: str) -> bool:
    return await desk.db.query(lambda s: views.draft(s, 2, "conversation:1:reply")) == text


async def test_quitting_right_after_typing_keeps_the_draft(db_path):
    """§5 Safety: the app quit within the autosave's second (ctrl+q, a closed SSH session)
    still saves the last keys; escape saves them too, and a sent reply leaves no draft."""
    desk = await seeded_desk(db_path, SUBJECTS[:1])
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await _open_with_draft(pilot, "")
        await pilot.press(*"Typed and gone")
    assert await _draft_is(desk, "Typed and gone")
    again = make_app(db_path)
    async with again.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await _open_with_draft(pilot, "Typed and gone")
        await pilot.press("end", *" fast", "escape")
        await wait_for_async(pilot, lambda: _draft_is(desk, "Typed and gone fast"), what="kept")
        await wait_for(pilot, lambda: isinstance(again.screen, InboxScreen), what="closed")
        await _open_with_draft(pilot, "Typed and gone fast")
        queued = len(await desk.outbox())
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(again.screen, InboxScreen), what="sent")
        await wait_for_async(pilot, lambda: _outbox_count(desk, queued + 1), what="the reply")
    assert await _draft_is(desk, None)
    await desk.db.close()


async def test_internal_note_is_on_the_timeline_and_not_mailed(db_path):
    """R-T1: a note fires nothing and sends nothing; it is on the timeline with its author."""
    desk = await seeded_desk(db_path, SUBJECTS[:1], received=False)
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await write_and_send(pilot, "n", "Customer is a VIP.")
        await wait_for_async(pilot, lambda: _has_event(desk, 1, "note"))
    assert await desk.outbox() == []
    assert await desk.status(1) == "New"
    note = next(e for e in (await desk.ticket(1))["timeline"] if e["type"] == "note")
    assert note["actor"]["name"] == "rita"
    await desk.db.close()


async def test_board_moves_a_ticket_and_its_status_actions_run(db_path):
    """§5 Board, R-A1: L moves the card to the next status; moving to Closed by the status
    picker queues the "Ticket closed" email, and the notice says what happened."""
    desk = await seeded_desk(db_path, SUBJECTS[:2], received=False)
    app = make_app(db_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("2")
        await wait_for(pilot, lambda: isinstance(app.screen, BoardScreen))
        await ready(pilot)
        assert "2 New" in await wait_for(
            pilot, lambda: "2 New" in screen_text(app) and screen_text(app)
        )
        await pilot.press("L")
        await wait_for_async(pilot, lambda: _status_is(desk, 2, "Waiting on contact"))
        await wait_for(  # the cursor followed #2 to its new column (issue 19 item 5)
            pilot, lambda: (getattr(app.screen.focused, "current", None) or {}).get("id") == 2
        )
        await pilot.press("s")
        await pilot.pause(0.2)
        await pilot.press("end", "enter")  # the last status: Closed
        await wait_for_async(pilot, lambda: _status_is(desk, 2, "Closed"), what="closed")
        assert await desk.status(1) == "New"
        await wait_for_async(pilot, lambda: _outbox_count(desk, 1))
        await wait_for(pilot, lambda: "1 Closed" in screen_text(app), what="counts follow")
    closed = (await desk.outbox())[0]
    assert closed["template"] == "Ticket closed"
    await desk.db.close()


async def test_ticket_record_edits_properties_and_shows_causes(db_path):
    """§5 ticket record: owner and priority change with keys, each on the timeline by name;
    the timeline shows what caused the automatic status change."""
    desk = await seeded_desk(db_path, SUBJECTS[:1], received=False)
    await desk.reply(1)  # R-T1 moves it: the timeline has a status change caused by the email
    app = make_app(db_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TicketScreen))
        await pilot.press("p")
        await pilot.pause(0.2)
        await pilot.press("end", "enter")  # urgent
        await wait_for_async(pilot, lambda: _priority_is(desk, 1, "urgent"))
        await pilot.press("v")
        text = await wait_for(pilot, lambda: "because" in screen_text(app) and screen_text(app))
        assert "Priority: normal → urgent" in text
    await desk.db.close()


async def test_create_a_ticket_by_hand(db_path):
    """R-C2: a conversation without a ticket (automation off on its channel) gets one by `c`."""
    desk = await seeded_desk(db_path)
    await desk.admin(
        lambda repo, me: admin.set_channel(repo, me, "support", ticket_automation=False)
    )
    raw, _ = make_mail(subject="No ticket for me")
    await desk.receive(raw)
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: "no ticket yet" in screen_text(app).lower())
        await pilot.press("r")  # D5: no ticket yet, so the composer writes from the contact
        await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen))
        assert "contact record" in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen))
        await pilot.press("c")
        await wait_for_async(pilot, lambda: _ticket_count(desk, 1), what="the new ticket")
        await wait_for(pilot, lambda: "Ticket #1" in screen_text(app))
    await desk.db.close()


async def test_filters_and_search(db_path):
    """§5 Inbox filters: assigned to me, closed, search by subject."""
    desk = await seeded_desk(db_path, SUBJECTS)
    await desk.admin(lambda repo, me: services.assign(repo, me, 2, "rita"))
    app = make_app(db_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        rows = app.screen.query_one(ConversationList)
        await pilot.press("f")
        await pilot.pause(0.2)
        await pilot.press("j", "enter")  # Assigned to me
        await wait_for(pilot, lambda: rows.loaded and rows.total == 1, what="mine")
        assert rows.current is not None and rows.current["subject"] == "Invoice is wrong"
        await pilot.press("f")
        await pilot.pause(0.2)
        await pilot.press("end", "enter")  # All
        await wait_for(pilot, lambda: rows.total == 3)
        await pilot.press("slash", *"login", "enter")
        await wait_for(pilot, lambda: rows.total == 0, what="no match for login")
        await pilot.press("slash", "ctrl+u", *"log in", "enter")
        await wait_for(pilot, lambda: rows.total == 1, what="search")
    await desk.db.close()


async def test_changes_by_another_session_appear_without_moving_the_cursor(db_path):
    """§5 Live: new mail stored by another process shows within about a second; the cursor
    stays on the conversation the rep was reading."""
    desk = await seeded_desk(db_path, SUBJECTS)
    app = make_app(db_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        rows = app.screen.query_one(ConversationList)
        await pilot.press("j")
        await wait_for(
            pilot, lambda: rows.current and rows.current["subject"] == "Invoice is wrong"
        )
        raw, _ = make_mail(subject="Brand new problem", sender="new@example.org")
        await desk.receive(raw)
        await wait_for(pilot, lambda: rows.total == 4, timeout=8, what="the live update")
        assert rows.current is not None and rows.current["subject"] == "Invoice is wrong"
        assert rows.row_at(0)["subject"] == "Brand new problem"  # type: ignore[index]
    await desk.db.close()


async def test_untrusted_subject_is_shown_literally(db_path):
    """§7: markup and escape sequences in a subject show as text and do nothing."""
    subject = "[bold red]Hi[/] [@click=app.quit]click[/] [/ \x1b]0;pwned\x07 end"
    desk = await seeded_desk(db_path, [subject])
    app = make_app(db_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await ready(pilot)
        text = await wait_for(pilot, lambda: "Ticket #1" in screen_text(app) and screen_text(app))
        assert "[bold red]Hi[/] [@click=app.quit]click[/] [/" in text
        assert "\x1b" not in text and "\x07" not in text
        await pilot.press("enter", "z")
        await pilot.pause(0.1)
        assert app.is_running
    await desk.db.close()


async def test_help_and_palette_come_from_the_same_bindings(db_path):
    """§5: ? lists the keys of the current screen; the palette offers the same commands."""
    desk = await seeded_desk(db_path, SUBJECTS[:1])
    app = make_app(db_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = screen_text(app)
        for expected in ("Reply", "Create ticket", "inbox.assign", "Board"):
            assert expected in text
        await pilot.press("escape")
        commands = [c.title for c in app.get_system_commands(app.screen)]
        assert any(c.startswith("Assign") for c in commands)
        assert any(c.startswith("Reply (contact record)") for c in commands)
    await desk.db.close()


async def test_keys_can_be_remapped_in_a_config_file(db_path, tmp_path):
    """§5 Keys: users remap by binding id in keys.toml."""
    desk = await seeded_desk(db_path, SUBJECTS[:1])
    keys = tmp_path / "keys.toml"
    keys.write_text('[keys]\n"inbox.reply" = "x"\n')
    app = make_app(db_path, keymap_file=keys)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen), what="x replies")
    await desk.db.close()


async def test_a_failing_background_service_shows_a_notice(db_path):
    """§5 Safety: a crash in one worker is a notice; the app keeps working."""
    desk = await seeded_desk(db_path, SUBJECTS[:1])

    async def broken(db, stop):
        await asyncio.sleep(0.05)
        raise RuntimeError("mailbox exploded")

    app = make_app(db_path, services=[("Mail worker", broken)])
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await wait_for(
            pilot,
            lambda: any("mailbox exploded" in str(n.message) for n in app._notifications),
            what="the notice",
        )
        await pilot.press("j")
        assert app.is_running
    await desk.db.close()


async def test_a_database_that_is_not_initialised_is_a_clear_error(tmp_path):
    app = make_app(tmp_path / "empty.db")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.failure, what="the failure")
    assert "not initialised" in (app.failure or "")


# --- helpers -------------------------------------------------------------------------------


async def write_and_send(pilot, key: str, text: str) -> str:
    """Open the composer with `key`, type, send with ctrl+s; returns the composer's screen."""
    app = pilot.app
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen), what="the composer")
    shown = screen_text(app)
    app.screen.query_one(TextArea).insert(text)
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen), what="composer closes")
    return shown


async def _status_is(desk, number: int, label: str) -> bool:
    return await desk.status(number) == label


async def _priority_is(desk, number: int, priority: str) -> bool:
    return (await desk.ticket(number))["ticket"]["priority"] == priority


async def _outbox_count(desk, count: int) -> bool:
    return len(await desk.outbox()) == count


async def _ticket_count(desk, count: int) -> bool:
    return len(await desk.tickets()) == count


async def _has_event(desk, number: int, kind: str) -> bool:
    return kind in await desk.timeline_types(number)


async def test_live_updates_on_either_database(db_url):
    """B8: several sessions on one database (SQLite file or PostgreSQL) see each other's
    changes: a ticket moved by another session moves on this board."""
    desk = await Desk.create(Database(db_url), received=False)
    await desk.receive(make_mail(subject="Shared desk")[0])
    app = DesklineApp(db_url, as_user="rita", keymap_file=Path("/nonexistent"), live_interval=0.1)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("2")
        await wait_for(pilot, lambda: "1 New" in screen_text(app), what="the board")
        await desk.move(1, "Waiting on us")
        await wait_for(pilot, lambda: "1 Waiting on us" in screen_text(app), timeout=10)
        assert "0 New" in screen_text(app)
    await desk.db.close()


async def test_a_slow_check_for_changes_still_tells_the_screen(db_path):
    """A check for other sessions' changes that outlasts the check interval (a loaded machine)
    is left to finish, not cancelled by the next one: the change it saw reaches the screen.
    The delay is a fault made on purpose (a real backend is slow only under load)."""
    desk = await seeded_desk(db_path, ["Slow check"])
    app = make_app(db_path)  # checks every 0.1 s
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("2")
        await wait_for(pilot, lambda: "1 New" in screen_text(app), what="the board")
        check = app.backend.changed

        async def slow_check() -> bool:
            seen = await check()  # the backend has moved its marker past the change now
            await asyncio.sleep(0.35)
            return seen

        app.backend.changed = slow_check  # type: ignore[method-assign]
        await desk.move(1, "Waiting on us")
        await wait_for(pilot, lambda: "1 Waiting on us" in screen_text(app), timeout=10)
    await desk.db.close()


async def test_a_slow_badge_check_still_shows_the_badge(db_path):
    """The same for the badge and presence check (every second): one that outlasts the
    second is left to finish, and the new notification's badge shows (a fault made on
    purpose, as above)."""
    desk = await seeded_desk(db_path, ["Slow badge"])
    app = make_app(db_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        coordinator = app.coordinator
        assert coordinator is not None
        tick = coordinator.tick

        async def slow_tick(app: Any) -> bool:
            changed = await tick(app)  # the coordinator has taken the new count in now
            await asyncio.sleep(1.5)
            return changed

        coordinator.tick = slow_tick  # type: ignore[method-assign]
        await desk.as_user("admin", lambda repo, u: services.add_note(repo, u, 1, "@rita see"))
        await wait_for(pilot, lambda: "● 1 new" in screen_text(app), timeout=10, what="badge")
    await desk.db.close()


async def test_conversation_without_ticket_can_be_assigned_and_closed(db_path):
    """§5 Inbox: assign and close work on a conversation with no ticket (automation off on its
    channel); both are recorded with the rep's name."""
    desk = await seeded_desk(db_path)
    await desk.admin(
        lambda repo, me: admin.set_channel(repo, me, "support", ticket_automation=False)
    )
    await desk.receive(make_mail(subject="Just a question")[0])
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        rows = app.screen.query_one(ConversationList)
        await pilot.press("a")
        await pilot.pause(0.2)
        await pilot.press("end", "enter")  # the last user by name: rita
        await wait_for(pilot, lambda: "Assigned to rita" in screen_text(app), what="assignee")
        await pilot.press("e")
        await wait_for(pilot, lambda: rows.loaded and rows.total == 0, what="gone from Open")
    conversation = (await desk.db.query(lambda s: views.conversation_view(s, 1))) or {}
    assert conversation["state"] == "closed" and conversation["assignee"] == "rita"
    assert await desk.tickets() == []
    await desk.db.close()


async def test_every_screen_draws_with_no_color(db_path, monkeypatch):
    """§5: NO_COLOR is honoured; every screen draws under Textual's monochrome filter."""
    monkeypatch.setenv("NO_COLOR", "1")
    desk = await seeded_desk(db_path, SUBJECTS)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        for key, shows in (("2", "3 New"), ("3", "Connected channels"), ("1", "Ticket #3")):
            await pilot.press(key)
            await wait_for(pilot, lambda shows=shows: shows in screen_text(app), what=shows)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TicketScreen))
        await wait_for(pilot, lambda: "priority normal" in screen_text(app))
        assert app.is_running
    await desk.db.close()


async def test_tasks_are_listed_per_user_and_marked_done(db_path):
    """R-A5 tasks: `T` lists my open tasks; `x` marks one done (on the ticket's timeline)."""
    from automation.actions import CREATE_TASK
    from automation.schedule import parse_delay

    desk = await seeded_desk(db_path, received=False)
    rita_id = await desk.db.run(lambda repo: repo.user_by_name("rita").id)

    def add(repo):
        status = admin.status_in(repo, admin.pipeline_or_default(repo, None), "New")
        workflow = admin.status_workflow(repo, status)
        task = {"title": "Check the invoice", "due": parse_delay("1h"), "assignee": rita_id}
        repo.add_workflow_action(workflow, CREATE_TASK, task)

    await desk.db.run(add)
    await desk.receive(make_mail(subject="Invoice is wrong")[0])
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("T")
        await wait_for(pilot, lambda: "Check the invoice" in screen_text(app), what="the task")
        await pilot.press("x")
        await wait_for(pilot, lambda: "No open tasks." in screen_text(app), what="done")
    assert "task_done" in await desk.timeline_types(1)
    await desk.db.close()


async def test_a_settled_screen_is_frozen_for_the_collector_and_thawed_on_exit(db_path):
    """Speed (see benchmarks.tui_bench): once a mode's screen has been shown, the objects alive
    are frozen out of the cyclic collector's full walks (the ~80 ms pauses that were the worst
    key latency); each mode settles once; quitting hands them back."""
    import gc

    from app.tui import SETTLE_AFTER

    desk = await seeded_desk(db_path, SUBJECTS)
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: gc.get_freeze_count() > 0, timeout=SETTLE_AFTER + 5)
        assert app._settled == {"inbox"}
        await pilot.press("2")
        await wait_for(pilot, lambda: "board" in app._settled)
    assert gc.get_freeze_count() == 0
    await desk.db.close()
