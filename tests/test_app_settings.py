"""The automation settings screen driven by keys with Pilot at 80x24 over a real SQLite file.

SPEC §5 "Automation settings", §3 triggers, §4 status actions, B7 templates, §7 safety. Each test
starts the real app (backend thread, real engine), presses keys on the settings screen, and checks
the database, what the engine then does, and what the screen shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Label, Static, TextArea

from app.screens.dialogs import ConfirmScreen, PickerScreen, PromptScreen
from app.screens.help import HelpScreen
from app.screens.settings import SettingsScreen
from app.screens.settings_dialogs import InfoScreen
from app.screens.template_editor import TemplateEditor
from automation import admin
from storage import queries
from tests.app_helpers import make_app, ready, screen_text, seeded_desk, wait_for, wait_for_async
from tests.helpers import Desk, make_mail

SIZE = (80, 24)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "desk.db"


# --- helpers ------------------------------------------------------------------------------------


async def open_settings(pilot: Any) -> SettingsScreen:
    await ready(pilot)
    await pilot.press("3")
    app = pilot.app
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, SettingsScreen) and app.screen.loaded,
        what="the settings screen",
    )
    screen = app.screen
    assert isinstance(screen, SettingsScreen)
    return screen


def key_of(screen: SettingsScreen, kind: str, where: Any) -> str:
    """The row key of the first row of `kind` whose data matches `where` (a dict of values)."""
    for item in screen.items:
        if item.kind == kind and all(item.data.get(k) == v for k, v in where.items()):
            return item.key
    raise AssertionError(f"no {kind} row with {where}")


async def go_to(pilot: Any, screen: SettingsScreen, key: str) -> None:
    """Walk the cursor to a row with j/k, as a user does."""
    keys = [item.key for item in screen.items]
    assert key in keys, f"no row {key}"
    for _ in range(len(keys) * 2):
        current = screen.item.key if screen.item else None
        if current == key:
            await pilot.pause(0.05)
            return
        here = keys.index(current) if current in keys else 0
        await pilot.press("j" if keys.index(key) > here else "k")
    raise AssertionError(f"could not reach {key}")


async def view(desk: Desk) -> dict[str, Any]:
    return await desk.db.run(
        lambda repo: queries.automation_view(repo.session, admin.pipeline_or_default(repo, None))
    )


def trigger(data: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(t for t in data["triggers"] if t["kind"] == kind)


def actions_of(data: dict[str, Any], status: str) -> list[str]:
    found = next(s for s in data["statuses"] if s["status"] == status)
    return [a["description"] for w in found["workflows"] for a in w["actions"]]


def details_text(screen: SettingsScreen) -> str:
    return str(screen.query_one("#settings-details-text", Static).render())


async def customer_ticket(desk: Desk) -> str:
    raw, mid = make_mail(subject="Printer on fire")
    await desk.receive(raw)
    return mid


async def customer_reply(desk: Desk, mid: str, body: str) -> None:
    raw, _ = make_mail(subject="Re: Printer on fire", in_reply_to=mid, body=body)
    await desk.receive(raw)


# --- triggers -----------------------------------------------------------------------------------


async def test_admin_switches_off_customer_replied_and_the_engine_stops_moving_tickets(db_path):
    """R-T2/R-T3: the admin unchecks "Customer replies to email" with space; it is stored, and the
    next customer reply in the origin thread no longer moves the ticket. Re-checking it does not
    act on past messages (R-T3); the reply after that moves the ticket again (R-T2)."""
    desk = await seeded_desk(db_path)
    mid = await customer_ticket(desk)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        await go_to(pilot, screen, "trigger:customer_replied")
        await pilot.press("space")
        await wait_for_async(
            pilot,
            lambda: _trigger_enabled(desk, "customer_replied", False),
            what="the trigger switched off",
        )
        await wait_for(pilot, lambda: "[ ] Customer replies" in screen_text(app))
        await customer_reply(desk, mid, "It is still burning.")
        assert await desk.status(1) == "New"
        texts = [m["text"] for c in (await desk.ticket(1))["conversations"] for m in c["messages"]]
        assert any("still burning" in (t or "") for t in texts)  # it did land on the ticket

        await pilot.press("space")  # back on
        await wait_for_async(pilot, lambda: _trigger_enabled(desk, "customer_replied", True))
        assert await desk.status(1) == "New"  # R-T3: no action on past messages
    await customer_reply(desk, mid, "Now it smokes.")
    assert await desk.status(1) == "Waiting on us"
    await desk.db.close()


async def _trigger_enabled(desk: Desk, kind: str, enabled: bool) -> bool:
    return bool(trigger(await view(desk), kind)["enabled"] is enabled)


async def test_trigger_target_is_picked_and_a_removed_target_shows_broken(db_path):
    """R-T4: removing a status that holds tickets asks where they go (SPEC §1); the trigger that
    targeted it shows BROKEN; "Edit action" (t) picks a new open target and fixes it."""
    desk = await seeded_desk(db_path)
    await customer_ticket(desk)
    await desk.move(1, "Waiting on us")
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        await go_to(pilot, screen, key_of(screen, "status", {"status": "Waiting on us"}))
        await pilot.press("x")
        picker = await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen) and app.screen)
        assert [label for label, _ in picker.choices] == ["New", "Waiting on contact", "Closed"]
        await pilot.press("j", "enter")  # Waiting on contact
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "broken" in app.screen.question
        await pilot.press("y")
        await wait_for_async(pilot, lambda: _broken(desk))
        assert await desk.status(1) == "Waiting on contact"
        await wait_for(pilot, lambda: "BROKEN" in screen_text(app), what="the broken trigger")

        await go_to(pilot, screen, "trigger:customer_replied")
        await pilot.press("t")
        picker = await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen) and app.screen)
        assert [label for label, _ in picker.choices] == ["New", "Waiting on contact"]  # E5
        await pilot.press("enter")  # New
        await wait_for_async(
            pilot, lambda: _target_is(desk, "customer_replied", "New"), what="the new target"
        )
        await wait_for(pilot, lambda: "BROKEN" not in screen_text(app))
    await desk.db.close()


async def _broken(desk: Desk) -> bool:
    return bool(trigger(await view(desk), "customer_replied")["broken"])


async def _target_is(desk: Desk, kind: str, label: str) -> bool:
    return bool(trigger(await view(desk), kind)["target"] == label)


# --- status actions -----------------------------------------------------------------------------


async def test_admin_adds_a_send_email_action_to_a_status(db_path):
    """R-A1/R-A2: `a` on a status adds "send email" with a template; it is stored and shown, and
    the details say a ticket is enrolled once (R-A7)."""
    desk = await seeded_desk(db_path)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        await go_to(pilot, screen, key_of(screen, "status", {"status": "Waiting on us"}))
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press("enter")  # Send email to the contact
        picker = await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, PickerScreen)
                and "template" in app.screen.title_text
                and app.screen
            ),
        )
        assert [label for label, _ in picker.choices] == ["Ticket received", "Ticket closed"]
        await pilot.press("j", "enter")
        await wait_for_async(
            pilot,
            lambda: _has_actions(desk, "Waiting on us", ["Send email “Ticket closed”"]),
            what="the stored action",
        )
        await wait_for(pilot, lambda: screen.item is not None and screen.item.kind == "action")
        assert "enrolled once" in details_text(screen)
        assert "Send email “Ticket closed”" in screen_text(app)
    await desk.db.close()


async def test_admin_adds_a_set_priority_action_and_the_next_ticket_gets_it(db_path):
    """R-A5: "Set the priority" added on New from the settings screen applies to the next mail."""
    desk = await seeded_desk(db_path)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        await add_action_of_kind(pilot, screen, "New", "set:priority")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, PickerScreen) and "Priority" in app.screen.title_text,
        )
        await pilot.press("j", "j", "enter")  # high
        wanted = ["Send email “Ticket received”", "Set priority to high"]
        await wait_for_async(pilot, lambda: _has_actions(desk, "New", wanted), what="stored")
    await desk.receive(make_mail(subject="Urgent-ish")[0])
    assert (await desk.ticket(1))["ticket"]["priority"] == "high"
    await desk.db.close()


async def _has_actions(desk: Desk, status: str, wanted: list[str]) -> bool:
    return actions_of(await view(desk), status) == wanted


async def test_delete_this_action_or_this_and_all_following(db_path):
    """R-A6: x deletes the highlighted action, X deletes it and every action after it; both ask
    first, and "no" keeps everything."""
    desk = await seeded_desk(db_path)
    for fields in (
        {"kind": "notify", "to": "owner"},
        {"kind": "send_email", "template_name": "Ticket closed"},
        {"kind": "notify", "to": "user", "target_name": "rita"},
    ):
        await desk.admin(
            lambda repo, u, fields=fields: admin.add_action(
                repo, u, pipeline_name=None, status_label="New", **fields
            )
        )
    before = actions_of(await view(desk), "New")
    assert len(before) == 4
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        last = key_of(screen, "action", {"description": "Notify user rita"})
        await go_to(pilot, screen, last)
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")  # changed my mind
        await wait_for(pilot, lambda: app.screen is screen)
        await pilot.pause(0.2)
        assert actions_of(await view(desk), "New") == before

        second = key_of(screen, "action", {"description": "Notify the ticket owner"})
        await go_to(pilot, screen, second)
        await pilot.press("X")
        confirm = await wait_for(
            pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen
        )
        assert "3 actions in all" in confirm.question
        await pilot.press("y")
        await wait_for_async(
            pilot, lambda: _has_actions(desk, "New", before[:1]), what="three actions gone"
        )
        await wait_for(pilot, lambda: "Notify" not in screen_text(app))
    await desk.db.close()


async def test_comment_clone_and_move_an_action(db_path):
    """R-A6: comment (shown beside it), clone (right after the original), move up."""
    desk = await seeded_desk(db_path)
    await desk.admin(
        lambda repo, u: admin.add_action(
            repo, u, pipeline_name=None, status_label="New", kind="notify", to="owner"
        )
    )
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        await go_to(
            pilot, screen, key_of(screen, "action", {"description": "Notify the ticket owner"})
        )
        await pilot.press("K")  # move up
        await wait_for_async(
            pilot,
            lambda: _has_actions(
                desk, "New", ["Notify the ticket owner", "Send email “Ticket received”"]
            ),
        )
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press(*"ask Bob", "enter")
        await wait_for(
            pilot, lambda: "Comment: ask Bob" in details_text(screen), what="the comment"
        )
        await pilot.press("y")
        await wait_for_async(
            pilot,
            lambda: _has_actions(
                desk,
                "New",
                [
                    "Notify the ticket owner",
                    "Notify the ticket owner",
                    "Send email “Ticket received”",
                ],
            ),
            what="the clone right after it",
        )
    await desk.db.close()


async def test_edit_an_action_into_a_notification_to_a_user(db_path):
    """R-A4/R-A6: `e` changes what an action does: notify a specific user, with a message."""
    desk = await seeded_desk(db_path)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        await go_to(
            pilot, screen, key_of(screen, "action", {"description": "Send email “Ticket closed”"})
        )
        await pilot.press("e")
        picker = await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen) and app.screen)
        assert picker.current == "email"  # what it does now
        await pilot.press("j", "j", "enter")  # Notify a user
        users = await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, PickerScreen) and app.screen is not picker and app.screen
            ),
        )
        assert [label for label, _ in users.choices] == ["admin", "rita"]
        await pilot.press("j", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press(*"Closed one", "enter")
        await wait_for_async(pilot, lambda: _has_actions(desk, "Closed", ["Notify user rita"]))
    stored = await view(desk)
    [action] = next(s for s in stored["statuses"] if s["status"] == "Closed")["workflows"][0][
        "actions"
    ]
    assert action["config"]["message"] == "Closed one"
    await desk.db.close()


# --- read-only for reps -------------------------------------------------------------------------


async def test_a_rep_sees_settings_read_only_and_change_keys_do_nothing(db_path):
    """SPEC §5, §7: only admins change settings. A rep sees the read-only line, the change keys
    are not in the footer, pressing them changes nothing, and even a direct call is refused by the
    domain. "View workflow" stays open to everyone who sees settings (R-T5)."""
    desk = await seeded_desk(db_path)
    before = await view(desk)
    app = make_app(db_path, as_user="rita")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        assert "Read-only: only admins change settings" in screen_text(app)
        await go_to(pilot, screen, "trigger:customer_replied")
        footer = screen_text(app).splitlines()[-1]
        assert "Switch on/off" not in footer and "View workflow" in footer
        for key in ("space", "t", "x", "X", "a", "e", "c", "y", "K", "J", "n", "r", "Y"):
            await pilot.press(key)
            await pilot.pause(0.05)
            assert app.screen is screen, f"{key} opened a dialog for a rep"
        await go_to(
            pilot, screen, key_of(screen, "action", {"description": "Send email “Ticket received”"})
        )
        for key in ("x", "X", "a", "e", "c", "y", "K", "J"):
            await pilot.press(key)
            await pilot.pause(0.05)
            assert app.screen is screen
        await go_to(pilot, screen, "branding")
        await pilot.press("space")
        screen.action_switch()  # past the keys: the domain refuses a rep (SettingsError)
        await pilot.pause(0.5)
        assert await view(desk) == before

        await go_to(pilot, screen, "trigger:email_sent")
        await pilot.press("w")
        page = await wait_for(pilot, lambda: isinstance(app.screen, InfoScreen) and app.screen)
        text = str(page.query_one("#info-text", Static).render())
        assert "Enrollment: A user sends an email to the contact from the ticket record" in text
        assert "Action: Set ticket status to Waiting on contact" in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)

        await go_to(pilot, screen, key_of(screen, "template", {"name": "Ticket closed"}))
        await pilot.press("enter")  # a rep reads the template and its preview, read-only
        editor = await wait_for(
            pilot,
            lambda: isinstance(app.screen, TemplateEditor) and app.screen.rendered and app.screen,
        )
        assert editor.read_only and editor.query_one("#template-body", TextArea).read_only
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        assert app.screen is editor
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
    assert await view(desk) == before
    await desk.db.close()


# --- templates ----------------------------------------------------------------------------------


async def test_template_with_an_undefined_variable_shows_the_error_and_is_not_saved(db_path):
    """B7: the editor previews against a real ticket; an undefined variable is an error shown
    under the preview, ctrl+s refuses to save it; a valid change saves (R-A9 templates)."""
    desk = await seeded_desk(db_path)
    await customer_ticket(desk)
    original = await _template(desk, "Ticket received")
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        await go_to(pilot, screen, key_of(screen, "template", {"name": "Ticket received"}))
        await pilot.press("e")
        editor = await wait_for(
            pilot,
            lambda: isinstance(app.screen, TemplateEditor) and app.screen.rendered and app.screen,
        )
        assert "ticket #1" in str(editor.query_one("#template-preview-title", Label).render())
        assert "Carol Customer" in str(editor.query_one("#template-preview-text", Static).render())
        area = editor.query_one("#template-body", TextArea)
        area.focus()
        await pilot.press("ctrl+end")
        await pilot.press(*"{{ refund_amount }}")
        await wait_for(pilot, lambda: editor.error is not None and "refund_amount" in editor.error)
        error = str(editor.query_one("#template-error", Label).render())
        assert "unknown variable 'refund_amount'" in error
        await pilot.press("ctrl+s")
        await pilot.pause(0.3)
        assert app.screen is editor  # not saved, still editing
        assert await _template(desk, "Ticket received") == original

        area.text = "Hello {{ contact.name }}, we have ticket #{{ ticket.number }}."
        await wait_for(
            pilot,
            lambda: (
                editor.error is None
                and "we have ticket #1"
                in str(editor.query_one("#template-preview-text", Static).render())
            ),
        )
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen, what="the editor to close")
        await wait_for_async(
            pilot,
            lambda: _template_body_is(
                desk,
                "Ticket received",
                "Hello {{ contact.name }}, we have ticket #{{ ticket.number }}.",
            ),
        )
    await desk.db.close()


async def _template(desk: Desk, name: str) -> tuple[str, str]:
    return await desk.db.run(
        lambda repo: (repo.template_by_name(name).subject, repo.template_by_name(name).body)
    )


async def _template_body_is(desk: Desk, name: str, body: str) -> bool:
    return (await _template(desk, name))[1] == body


async def test_markup_in_template_name_and_body_shows_literally(db_path):
    """SPEC §7: names and bodies are shown as typed, never parsed as markup: the list, the
    details pane and the live preview show the brackets, and nothing breaks."""
    desk = await seeded_desk(db_path)
    await customer_ticket(desk)
    name = "[b]Promo[/b] [@click=app.quit]x[/]"
    body = "Hi [red]{{ contact.name }}[/red] [/ [JIRA] ABC-1"
    await desk.admin(
        lambda repo, u: admin.set_template(repo, u, name, subject="[i]S[/i]", body=body)
    )
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        key = key_of(screen, "template", {"name": name})
        await go_to(pilot, screen, key)
        assert "[b]Promo[/b] [@click=app.quit]x[/]" in screen_text(app)
        shown = details_text(screen)
        assert "[red]{{ contact.name }}[/red] [/ [JIRA] ABC-1" in shown
        assert "[i]S[/i]" in shown
        await pilot.press("enter")  # opens the editor
        editor = await wait_for(
            pilot,
            lambda: isinstance(app.screen, TemplateEditor) and app.screen.rendered and app.screen,
        )
        preview = str(editor.query_one("#template-preview-text", Static).render())
        assert "Hi [red]Carol Customer[/red] [/ [JIRA] ABC-1" in preview
        assert "Subject: [i]S[/i]" in preview
        assert name in str(editor.query_one("#template-title", Label).render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        assert app.is_running
    await desk.db.close()


# --- channels, branding, pipelines, statuses, help -----------------------------------------------


async def test_channel_switch_branding_and_chat_default(db_path):
    """§5 channels: space switches a channel's ticket automation (R-C1/R-C2); a chat channel
    starts off (R-A8). R-A3: the branding switch."""
    desk = await seeded_desk(db_path)
    await desk.admin(
        lambda repo, u: admin.add_channel(
            repo,
            u,
            name="live chat",
            kind="chat",
            address=None,
            pipeline_name=None,
            ticket_automation=None,
        )
    )
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        assert "[ ] live chat chat" in screen_text(app)
        await go_to(pilot, screen, key_of(screen, "channel", {"name": "live chat"}))
        assert "skip chat and messenger" in details_text(screen)
        await go_to(pilot, screen, key_of(screen, "channel", {"name": "support"}))
        await pilot.press("space")
        await wait_for_async(pilot, lambda: _channel_automation(desk, "support", False))
        await go_to(pilot, screen, "branding")
        await pilot.press("space")
        await wait_for_async(pilot, lambda: _branding_is(desk, False))
    raw, _ = make_mail()
    await desk.receive(raw)
    assert await desk.tickets() == []  # R-C2: automation off, no ticket
    await desk.db.close()


async def _channel_automation(desk: Desk, name: str, on: bool) -> bool:
    rows = await desk.db.query(queries.channel_rows)
    return any(r["name"] == name and r["ticket_automation"] is on for r in rows)


async def _branding_is(desk: Desk, on: bool) -> bool:
    return bool((await view(desk))["branding"] is on)


async def test_statuses_and_pipelines_added_renamed_reordered(db_path):
    """SPEC §1: admins add, rename and reorder statuses and pipelines; `p` picks a pipeline once
    there are several, and `x` removes one after moving its tickets."""
    desk = await seeded_desk(db_path, ["A ticket to move"])
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        assert screen.check_action("pick_pipeline", ()) is False  # one pipeline: no picker key
        await go_to(pilot, screen, key_of(screen, "status", {"status": "Closed"}))
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press(*"Spam", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press("j", "enter")  # closed
        await wait_for_async(
            pilot,
            lambda: _statuses_are(
                desk, None, ["New", "Waiting on contact", "Waiting on us", "Closed", "Spam"]
            ),
        )
        await wait_for(
            pilot, lambda: screen.item is not None and screen.item.data.get("status") == "Spam"
        )
        await pilot.press("K")
        await wait_for_async(
            pilot,
            lambda: _statuses_are(
                desk, None, ["New", "Waiting on contact", "Waiting on us", "Spam", "Closed"]
            ),
        )
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press("ctrl+u", *"Junk", "enter")
        await wait_for_async(
            pilot,
            lambda: _statuses_are(
                desk, None, ["New", "Waiting on contact", "Waiting on us", "Junk", "Closed"]
            ),
        )

        await go_to(pilot, screen, key_of(screen, "pipeline", {}))
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press(*"Billing", "enter")
        await wait_for(
            pilot,
            lambda: screen.view is not None and screen.view["pipeline"]["name"] == "Billing",
            what="the new pipeline on screen",
        )
        assert screen.check_action("pick_pipeline", ()) is True
        await pilot.press("K")  # Billing first
        await wait_for_async(pilot, lambda: _pipelines_are(desk, ["Billing", "Support Pipeline"]))
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press("j", "enter")
        await wait_for(
            pilot,
            lambda: (
                screen.view is not None and screen.view["pipeline"]["name"] == "Support Pipeline"
            ),
        )
        # Remove Support Pipeline: its tickets and channels move to Billing first (SPEC §1).
        await go_to(pilot, screen, key_of(screen, "pipeline", {}))
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press("enter")  # Billing
        await wait_for(
            pilot, lambda: isinstance(app.screen, PickerScreen) and "status" in screen_text(app)
        )
        await pilot.press("enter")  # its first status: New
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for_async(pilot, lambda: _pipelines_are(desk, ["Billing"]))
        await wait_for(
            pilot,
            lambda: screen.view is not None and screen.view["pipeline"]["name"] == "Billing",
        )
    ticket = (await desk.ticket(1))["ticket"]
    assert (ticket["pipeline"], ticket["status"]) == ("Billing", "New")
    await desk.db.close()


async def _statuses_are(desk: Desk, pipeline: str | None, labels: list[str]) -> bool:
    found = await desk.db.run(
        lambda repo: [s.label for s in repo.statuses(admin.pipeline_or_default(repo, pipeline).id)]
    )
    return found == labels


async def _pipelines_are(desk: Desk, names: list[str]) -> bool:
    return await desk.db.run(lambda repo: [p.name for p in repo.pipelines()]) == names


async def test_help_lists_every_settings_key_with_its_id(db_path):
    """SPEC §5: every action has a key; `?` lists this screen's keys (by binding id)."""
    desk = await seeded_desk(db_path)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        await open_settings(pilot)
        await pilot.press("question_mark")
        help_screen = await wait_for(
            pilot, lambda: isinstance(app.screen, HelpScreen) and app.screen
        )
        text = str(list(help_screen.query(Static))[1].render())
        for binding_id in (
            "settings.switch",
            "settings.target",
            "settings.view_workflow",
            "settings.add_action",
            "settings.edit",
            "settings.comment_action",
            "settings.clone_action",
            "settings.move_up",
            "settings.move_down",
            "settings.delete",
            "settings.delete_following",
            "settings.rename",
            "settings.new",
            "settings.clone_workflow",
        ):
            assert binding_id in text
    await desk.db.close()


async def test_admin_adds_a_delay_and_a_bad_one_is_refused(db_path):
    """R-A5: "Wait" takes a duration or a weekday and hour; nonsense is refused in the dialog,
    which stays open with the reason (issue 18 item 11), and escape leaves it."""
    desk = await seeded_desk(db_path)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        for typed in ("whenever", "2h"):
            await add_action_of_kind(pilot, screen, "Closed", "delay")
            await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
            await pilot.press(*typed, "enter")
            await pilot.pause(0.3)
            if typed == "whenever":
                assert isinstance(app.screen, PromptScreen)
                assert "cannot read the delay" in screen_text(app)
                await pilot.press("escape")
                await wait_for(pilot, lambda: not isinstance(app.screen, PromptScreen))
        await wait_for_async(
            pilot,
            lambda: _has_actions(desk, "Closed", ["Send email “Ticket closed”", "Wait 2 h"]),
            what="only the good delay stored",
        )
    await desk.db.close()


async def test_admin_adds_a_move_action_picking_pipeline_and_status(db_path):
    """R-A5: "Move the ticket" offers every pipeline's statuses; the choice is stored."""
    desk = await seeded_desk(db_path)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        await add_action_of_kind(pilot, screen, "Waiting on us", "move")
        target = await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, PickerScreen)
                and "Move" in app.screen.title_text
                and app.screen
            ),
        )
        labels = [label for label, _ in target.choices]
        assert "Support Pipeline / Closed" in labels
        await pilot.press(*["j"] * labels.index("Support Pipeline / Closed"), "enter")
        wanted = ["Move the ticket to Support Pipeline / Closed"]
        await wait_for_async(
            pilot, lambda: _has_actions(desk, "Waiting on us", wanted), what="stored"
        )
    await desk.db.close()


async def test_a_cloned_workflow_gets_re_enrollment_and_a_condition(db_path):
    """R-A7 and the workflow editor: clone "Closed"'s workflow with Y, turn re-enrollment on
    with R, give it the condition "source is email" with C, switch it on; all stored."""
    desk = await seeded_desk(db_path)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        await go_to(pilot, screen, key_of(screen, "status", {"status": "Closed"}))
        await pilot.press("Y")
        await wait_for(pilot, lambda: any(i.kind == "workflow" for i in screen.items))
        await go_to(pilot, screen, key_of(screen, "workflow", {"status": "Closed"}))
        await pilot.press("R")
        await wait_for(pilot, lambda: screen.item is not None and screen.item.data["reenroll"])
        await pilot.press("C")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press("enter")  # all of the tests
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        fields = [value for _, value in app.screen.choices]
        await pilot.press(*["j"] * fields.index("source"), "enter")
        await wait_for(pilot, lambda: "source" in app.screen.title_text)
        await pilot.press("enter")  # is
        await wait_for(pilot, lambda: "source is" in getattr(app.screen, "title_text", ""))
        await pilot.press("enter")  # email, the first source of the list
        save = await wait_for(
            pilot, lambda: "Add a test on" in getattr(app.screen, "title_text", "") and app.screen
        )
        assert "source is email" in save.choices[save.query_one("OptionList").highlighted][0]
        await pilot.press("enter")  # save
        await wait_for(
            pilot,
            lambda: (
                screen.item is not None
                and screen.item.kind == "workflow"
                and "all" in (screen.item.data["conditions"] or {})
            ),
        )
        await pilot.press("space")
        warning = await wait_for(
            pilot, lambda: "runs both" in getattr(app.screen, "title_text", "") and app.screen
        )
        assert [value for _, value in warning.choices] == ["off", "delete", "keep"]
        await pilot.press("escape")  # keep both (issue 18 item 3)
        await wait_for(pilot, lambda: screen.item is not None and screen.item.data["enabled"])
        assert "source is email" in details_text(screen)
    closed = next(s for s in (await view(desk))["statuses"] if s["status"] == "Closed")
    clone = next(w for w in closed["workflows"] if not w["builtin"])
    assert clone["reenroll"] and clone["enabled"]
    assert clone["conditions"]["all"] == [{"field": "source", "op": "is", "value": "email"}]
    await desk.db.close()


async def test_workflows_screen_lists_counts_and_draws_the_flow(db_path):
    """Workflow editor: W lists every workflow of the pipeline with what it did in 7 days; the
    pane draws the highlighted one as a flow; Y clones (off until switched on); a rep reads."""
    desk = await seeded_desk(db_path, ["Printer on fire"])
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_workflows(pilot)
        text = await wait_for(
            pilot, lambda: "Send email “Ticket received”" in screen_text(app) and screen_text(app)
        )
        assert "enrolled 1 (1 in 7 d)" in text and "End" in text
        count = len(screen.rows)
        await pilot.press("Y")
        await wait_for(pilot, lambda: len(screen.rows) == count + 1, what="the clone listed")
        assert not next(r for r in screen.rows if not r["builtin"])["enabled"]
    rep = make_app(db_path, as_user="rita")
    async with rep.run_test(size=(120, 40)) as pilot:
        screen = await open_workflows(pilot)
        before = [r["enabled"] for r in screen.rows]
        await pilot.press("space", "Y")
        await pilot.pause(0.3)
        assert [r["enabled"] for r in screen.rows] == before and len(before) == count + 1
    await desk.db.close()


async def open_workflows(pilot: Any) -> Any:
    from app.screens.workflows import WorkflowsScreen

    await open_settings(pilot)
    await pilot.press("W")
    app = pilot.app
    return await wait_for(
        pilot, lambda: isinstance(app.screen, WorkflowsScreen) and app.screen.rows and app.screen
    )


async def add_action_of_kind(pilot: Any, screen: SettingsScreen, status: str, kind: str) -> None:
    """On a status row, `a`, then walk the "what does it do?" list to `kind` and choose it."""
    await go_to(pilot, screen, key_of(screen, "status", {"status": status}))
    await pilot.press("a")
    app = pilot.app
    picker = await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen) and app.screen)
    values = [value for _, value in picker.choices]
    await pilot.press(*["j"] * values.index(kind), "enter")


async def test_a_branch_path_row_takes_new_actions(db_path):
    """R-A5 on the settings screen: a branch lists its "yes →" / "no →" paths under it; `a` on
    the empty "no →" row adds the action at the end of that path."""
    desk = await seeded_desk(db_path)

    def branch(repo: Any, me: Any) -> int:
        condition = {"field": "priority", "value": "urgent"}
        closed = {"pipeline_name": None, "status_label": "Closed"}
        return int(admin.add_action(repo, me, **closed, kind="branch", condition=condition).id)

    branch_id = await desk.admin(branch)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        await go_to(pilot, screen, f"path:{branch_id}:no")
        assert "does not hold" in details_text(screen)
        await pilot.press("a")
        picker = await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen) and app.screen)
        values = [value for _, value in picker.choices]
        await pilot.press(*["j"] * values.index("note"), "enter")
        prompt = await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen) and app.screen)
        await pilot.press(*"Not urgent", "enter")
        await wait_for(pilot, lambda: app.screen is not prompt)
        await wait_for(pilot, lambda: "Not urgent" in screen_text(app), what="the new row")
    closed = next(s for s in (await view(desk))["statuses"] if s["status"] == "Closed")
    [stored] = [a for a in closed["workflows"][0]["actions"] if a["kind"] == "branch"]
    assert [a["description"] for a in stored["paths"]["no"]] == ["Add note “Not urgent”"]
    assert stored["paths"]["yes"] == []
    await desk.db.close()
