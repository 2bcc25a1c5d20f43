"""The template editor and the template rows of the settings screen, driven with Pilot over a real
SQLite file (issue 18 items 1 and 7; SPEC B7, D10): the static check on preview and save with the
last good render kept, the variable picker, the lint against the newest tickets on save, and
renaming and deleting custom templates, asking what the actions that send one in use send."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Label, Static, TextArea

from app.screens.dialogs import ConfirmScreen, PickerScreen, PromptScreen
from app.screens.template_editor import TemplateEditor
from automation import admin, services
from automation.template_check import known_variables
from tests.app_helpers import make_app, screen_text, seeded_desk, wait_for, wait_for_async
from tests.helpers import Desk
from tests.test_app_settings import customer_ticket, details_text, go_to, key_of, open_settings

SIZE = (80, 24)
pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "desk.db"


async def _template(desk: Desk, name: str) -> tuple[str, str] | None:
    def read(repo: Any) -> tuple[str, str] | None:
        template = repo.template_by_name(name)
        return (template.subject, template.body) if template is not None else None

    return await desk.db.run(read)


async def _open_editor(pilot: Any, name: str) -> TemplateEditor:
    app = pilot.app
    screen = await open_settings(pilot)
    await go_to(pilot, screen, key_of(screen, "template", {"name": name}))
    await pilot.press("e")
    editor: TemplateEditor = await wait_for(
        pilot,
        lambda: isinstance(app.screen, TemplateEditor) and app.screen.rendered and app.screen,
        what="the editor",
    )
    return editor


def _preview(editor: TemplateEditor) -> str:
    return str(editor.query_one("#template-preview-text", Static).render())


def _error(editor: TemplateEditor) -> str:
    return str(editor.query_one("#template-error", Label).render())


async def test_a_typo_in_a_branch_the_preview_does_not_take_is_an_error(db_path):
    desk = await seeded_desk(db_path)
    await customer_ticket(desk)  # normal priority: the branch is not taken by the preview
    original = await _template(desk, "Ticket received")
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        editor = await _open_editor(pilot, "Ticket received")
        assert "Carol Customer" in _preview(editor)
        area = editor.query_one("#template-body", TextArea)
        area.focus()
        await pilot.press("ctrl+end")
        area.insert('\n{% if ticket.priority == "high" %}{{ ownr.name }}{% endif %}')
        lines = next(n for n, text in enumerate(area.text.splitlines(), 1) if "ownr" in text)
        await wait_for(pilot, lambda: editor.error is not None, what="the error")
        assert editor.error == f"line {lines}: unknown variable 'ownr' — did you mean 'owner'?"
        assert "did you mean 'owner'?" in _error(editor)
        # the last good render stays beside the message
        assert "Carol Customer" in _preview(editor)
        assert "the last render without errors" in _preview(editor)
        await pilot.press("ctrl+s")
        await pilot.pause(0.3)
        assert app.screen is editor  # not saved, still editing
        assert await _template(desk, "Ticket received") == original
    await desk.db.close()


async def test_the_variable_picker_inserts_at_the_cursor(db_path):
    desk = await seeded_desk(db_path)
    await customer_ticket(desk)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=(120, 40)) as pilot:
        editor = await _open_editor(pilot, "Ticket received")
        assert "^t Insert variable" in screen_text(app).splitlines()[-1]  # the footer
        area = editor.query_one("#template-body", TextArea)
        area.focus()
        await pilot.press("ctrl+home")
        await pilot.press("ctrl+t")
        picker = await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen) and app.screen)
        shown = screen_text(app)
        assert "ticket.number — its number" in shown
        names = [name for name, _ in known_variables()]
        for _ in range(names.index("owner.name")):
            await pilot.press("j")
        await pilot.pause()
        assert "owner.name — the owner's name" in screen_text(app)  # scrolled to the cursor
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is editor, what="the picker to close")
        assert area.text.startswith("{{ owner.name }}")
        assert editor.focused is area
        # into the subject when the subject had the cursor; escape inserts nothing
        subject = editor.query_one("#template-subject", Input)
        subject.focus()
        await pilot.press("end")
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press("enter")  # the first: ticket
        await wait_for(pilot, lambda: app.screen is editor)
        assert subject.value.endswith("{{ ticket }}")
        before = area.text
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is editor)
        assert area.text == before
        assert picker is not app.screen
    await desk.db.close()


async def test_saving_lints_against_the_newest_tickets(db_path):
    # the preview ticket is fine; an older high-priority ticket fails: not saved, its number said
    desk = await seeded_desk(db_path)
    await customer_ticket(desk)
    await desk.as_user("rita", lambda repo, u: services.set_priority(repo, u, 1, "high"))
    await customer_ticket(desk)
    original = await _template(desk, "Ticket received")
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        editor = await _open_editor(pilot, "Ticket received")
        area = editor.query_one("#template-body", TextArea)
        area.text = '{% if ticket.priority == "high" %}{{ 1 // 0 }}{% endif %}Hi {{ contact.name }}'
        await wait_for(pilot, lambda: "Hi Carol Customer" in _preview(editor))
        assert editor.error is None
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: editor.error is not None, what="the lint's error")
        assert editor.error.startswith("ticket #1: ZeroDivisionError")
        assert "Hi Carol Customer" in _preview(editor)
        assert app.screen is editor
        assert await _template(desk, "Ticket received") == original
        area.text = "Hi {{ contact.name }}"
        await wait_for(pilot, lambda: editor.error is None and "Hi Carol" in _preview(editor))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is not editor, what="the editor to close")
        await wait_for_async(
            pilot,
            lambda: _body_is(desk, "Ticket received", "Hi {{ contact.name }}"),
        )
    await desk.db.close()


async def _body_is(desk: Desk, name: str, body: str) -> bool:
    found = await _template(desk, name)
    return found is not None and found[1] == body


async def _custom_in_use(desk: Desk) -> None:
    def setup(repo: Any, user: Any) -> None:
        admin.set_template(repo, user, "Thanks", subject="Thanks", body="Hi {{ contact.name }}")
        admin.add_action(
            repo,
            user,
            pipeline_name=None,
            status_label="Closed",
            kind="send_email",
            template_name="Thanks",
        )

    await desk.admin(setup)


async def _sent_by_closed(desk: Desk) -> list[str]:
    def read(repo: Any) -> list[str]:
        names = {t.id: t.name for t in repo.templates()}
        return [
            names.get(action.config["template_id"], "(deleted)")
            for action in repo.workflow_actions_of_kind("send_email")
        ]

    return await desk.db.run(read)


async def test_rename_and_delete_a_custom_template_in_use(db_path):
    desk = await seeded_desk(db_path)
    await _custom_in_use(desk)
    app = make_app(db_path, as_user="admin")
    sent_before = await _sent_by_closed(desk)
    assert "Thanks" in sent_before
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        key = key_of(screen, "template", {"name": "Thanks"})
        await go_to(pilot, screen, key)
        details = details_text(screen)
        assert "Sent by: workflow “Closed status actions”, action 2" in details
        assert "r rename" in details and "x delete" in details

        await pilot.press("r")
        prompt = await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen) and app.screen)
        prompt.query_one(Input).value = "Thank you"
        await pilot.press("enter")
        await wait_for_async(pilot, lambda: _has(desk, "Thank you"))
        assert await _template(desk, "Thanks") is None
        await wait_for(pilot, lambda: any(i.data.get("name") == "Thank you" for i in screen.items))
        await go_to(pilot, screen, key)

        # in use: asks what its actions send instead; escape keeps everything
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        assert "is sent by 1 action" in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        assert await _has(desk, "Thank you")

        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press("j")  # Ticket received, then Ticket closed
        await pilot.press("enter")
        confirm = await wait_for(
            pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen
        )
        assert confirm.question.endswith("Its 1 action will send Ticket closed.")
        await pilot.press("y")
        await wait_for_async(pilot, lambda: _gone(desk, "Thank you"))
        sent = await _sent_by_closed(desk)
        assert "Thanks" not in sent and "(deleted)" not in sent
        assert sent.count("Ticket closed") == sent_before.count("Ticket closed") + 1

        # built-ins keep their name and stay: the keys do not apply there
        await go_to(pilot, screen, key_of(screen, "template", {"name": "Ticket closed"}))
        assert "rename" not in details_text(screen)
        await pilot.press("x")
        await pilot.pause(0.2)
        assert app.screen is screen
        assert await _has(desk, "Ticket closed")
    await desk.db.close()


async def test_delete_an_unused_custom_template(db_path):
    desk = await seeded_desk(db_path)
    await desk.admin(lambda repo, u: admin.set_template(repo, u, "Spare", subject="S", body="B"))
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        await go_to(pilot, screen, key_of(screen, "template", {"name": "Spare"}))
        assert "Sent by no action." in details_text(screen)
        await pilot.press("x")
        confirm = await wait_for(
            pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen
        )
        assert confirm.question == "Delete the template Spare? No action sends it."
        await pilot.press("y")
        await wait_for_async(pilot, lambda: _gone(desk, "Spare"))
    await desk.db.close()


async def _has(desk: Desk, name: str) -> bool:
    return await _template(desk, name) is not None


async def _gone(desk: Desk, name: str) -> bool:
    return await _template(desk, name) is None
