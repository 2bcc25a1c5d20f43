"""The settings screen's rows as a new admin reads them (issue 18 items 4, 5, 8, 14).

Pilot over a real SQLite file: the real app, backend thread and engine. Each test fails on the
code before the change it covers: a status row that counted only its built-in workflow, a
removal that did not say what goes with the status, a new status put after the last one, action
rows that hid their comments and cut notes at 40 characters, the pane and the workflow editor
wording a clone's enrollment differently, a cloned action without its comment.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from app.screens.dialogs import ConfirmScreen, PickerScreen, PromptScreen
from app.screens.settings import SettingsScreen
from app.screens.template_editor import TemplateEditor
from automation import admin
from storage import models as m
from storage import queries, settings_views, views
from tests.app_helpers import make_app, screen_text, seeded_desk, wait_for, wait_for_async
from tests.helpers import Desk
from tests.test_app_settings import details_text, go_to, key_of, open_settings

SIZE = (80, 24)
WIDE = (120, 40)
LONG_NOTE = "Check the warranty and the serial number first"  # cut at 40 before
COMMENT = "Asked for by the billing team in November, keep it until the new contract starts"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "desk.db"


def closed_workflow(repo: Any) -> Any:
    pipeline = admin.pipeline_or_default(repo, None)
    status = next(s for s in repo.statuses(pipeline.id) if s.label == "Closed")
    return next(w for w in repo.session.query(m.Workflow) if w.status_id == status.id)


async def clone_with_five_actions(desk: Desk) -> int:
    """Closed's built-in workflow emptied; a clone of it holding five actions."""

    def build(repo: Any, me: Any) -> int:
        builtin = closed_workflow(repo)
        clone = admin.clone_workflow(repo, me, builtin.id)
        for n in range(4):
            admin.add_action_to_workflow(repo, me, clone.id, "add_note", message=f"note {n}")
        for action in list(builtin.actions):
            admin.delete_action(repo, me, action.id, and_following=False)
        return int(clone.id)

    return await desk.admin(build)


def status_line(app: Any, label: str) -> str:
    return next(row for row in screen_text(app).splitlines() if row.startswith(f" {label} "))


# --- item 4: a status counts the actions of every workflow --------------------------------------


async def test_a_status_counts_the_actions_of_its_clones(db_path):
    """Item 4: Closed's own workflow has no action, its clone five: the row says so (before:
    "no actions")."""
    desk = await seeded_desk(db_path)
    await clone_with_five_actions(desk)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=WIDE) as pilot:
        await open_settings(pilot)
        row = status_line(app, "Closed")
        assert "5 actions in 2 workflows" in row, row
        assert "no actions" not in row
        assert "no actions" in status_line(app, "Waiting on us")
    await desk.db.close()


# --- item 5: removing a status names what goes with it ------------------------------------------


async def test_removing_a_status_names_its_workflows_actions_and_history(db_path):
    """Item 5: the question before Closed goes counts its workflows, actions, enrollments and
    failed runs; the counts are the rows the removal deletes."""
    desk = await seeded_desk(db_path, ["A ticket to close"])
    clone = await clone_with_five_actions(desk)

    def switch_on(repo: Any, me: Any) -> None:
        admin.set_workflow(repo, me, clone, enabled=True)

    await desk.admin(switch_on)
    await desk.move(1, "Closed")  # enrolls ticket 1 in the clone
    await desk.move(1, "New")  # Closed keeps no ticket: no mover question

    def fail_one(repo: Any) -> None:  # a failure on record, as a failed send leaves it
        enrollment = repo.session.query(m.Enrollment).filter_by(workflow_id=clone).one()
        repo.session.add(
            m.ActionRun(enrollment_id=enrollment.id, ticket_id=1, state="failed", detail="x")
        )

    await desk.db.run(fail_one)
    workflows = await desk.db.run(lambda repo: repo.session.query(m.Workflow).count())
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=WIDE) as pilot:
        screen = await open_settings(pilot)
        status_key = key_of(screen, "status", {"status": "Closed"})
        status_id = int(status_key.split(":")[1])
        counted = await desk.db.run(
            lambda repo: settings_views.status_removal(repo.session, status_id)
        )
        assert counted == {
            "workflows": 2,
            "actions": 5,
            "enrollments": 1,
            "failures": 1,
            "waiting": 0,
        }
        await go_to(pilot, screen, status_key)
        await pilot.press("x")
        confirm = await wait_for(
            pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen
        )
        assert confirm.question == (
            "Remove the status Closed? This also deletes 2 workflows, 5 actions, 1 enrollment "
            "and 1 failed action run."
        )
        await pilot.press("y")
        await wait_for(pilot, lambda: "Closed" not in screen_text(app), what="Closed gone")
    assert await desk.db.run(lambda repo: repo.session.query(m.Workflow).count()) == workflows - 2
    await desk.db.close()


# --- item 8: a new status goes after the highlighted one ----------------------------------------


async def test_a_new_status_is_added_after_the_highlighted_status(db_path):
    """Item 8: `n` on "New" adds the status second, not after Closed."""
    desk = await seeded_desk(db_path)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        await go_to(pilot, screen, key_of(screen, "status", {"status": "New"}))
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press(*"Triage", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press("enter")  # open
        await wait_for_async(
            pilot,
            lambda: _labels_are(
                desk, ["New", "Triage", "Waiting on contact", "Waiting on us", "Closed"]
            ),
        )
        await wait_for(
            pilot, lambda: screen.item is not None and screen.item.data.get("status") == "Triage"
        )
    await desk.db.close()


async def _labels_are(desk: Desk, labels: list[str]) -> bool:
    found = await desk.db.run(
        lambda repo: [s.label for s in repo.statuses(admin.pipeline_or_default(repo, None).id)]
    )
    return found == labels


# --- item 14: action rows show notes and comments; clones agree ---------------------------------


async def _note_with_comment(desk: Desk) -> int:
    def build(repo: Any, me: Any) -> int:
        note = admin.add_action(
            repo, me, pipeline_name=None, status_label="Closed", kind="add_note", message=LONG_NOTE
        )
        admin.comment_action(repo, me, note.id, COMMENT)
        return int(note.id)

    return await desk.admin(build)


async def test_action_rows_show_the_whole_note_and_the_comment(db_path):
    """Item 14: at 120 columns a note action shows its whole text (it was cut at 40 characters
    with no ellipsis) and a commented action shows the comment (it showed "1 comment"); at
    80x24 the row is cut with an ellipsis, never wrapped, and the pane has it all."""
    desk = await seeded_desk(db_path)
    note = await _note_with_comment(desk)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=WIDE) as pilot:
        screen = await open_settings(pilot)
        await go_to(pilot, screen, f"action:{note}")
        text = screen_text(app)
        lines = text.splitlines()
        row = next(i for i, line in enumerate(lines) if "2. Add note" in line)
        assert f"Add note “{LONG_NOTE}”" in lines[row]
        assert "comment: Asked for by the billing team" in lines[row + 1]
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        await go_to(pilot, screen, f"action:{note}")
        rows = [line for line in screen_text(app).splitlines() if "comment: " in line]
        assert len(rows) == 1 and "…" in rows[0], rows
        pane = " ".join(details_text(screen).split())
        assert LONG_NOTE in pane and COMMENT in pane
    await desk.db.close()


async def test_cloning_an_action_keeps_its_comment(db_path):
    """Item 14: `y` on a commented action: the copy has the comment too."""
    desk = await seeded_desk(db_path)
    note = await _note_with_comment(desk)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        await go_to(pilot, screen, f"action:{note}")
        await pilot.press("y")
        await wait_for_async(pilot, lambda: _closed_comments(desk, 2))
    comments = await _closed_comments(desk, 2)
    assert comments == [[], [COMMENT], [COMMENT]]
    await desk.db.close()


async def _closed_comments(desk: Desk, notes: int) -> list[list[str]] | None:
    def read(repo: Any) -> list[list[str]]:
        return [[c.body for c in a.comments] for a in closed_workflow(repo).actions]

    found = await desk.db.run(read)
    return found if len(found) == notes + 1 else None


async def test_a_cloned_branch_keeps_the_comments_of_its_paths(db_path):
    """Item 14: the copy of a branch keeps the comments of the actions in its paths."""
    desk = await seeded_desk(db_path)

    def build(repo: Any, me: Any) -> int:
        condition = {"field": "priority", "op": "is", "value": "high"}
        branch = admin.add_action(
            repo, me, pipeline_name=None, status_label="New", kind="branch", condition=condition
        )
        inner = admin.add_action(
            repo,
            me,
            pipeline_name=None,
            status_label="New",
            kind="add_note",
            message="urgent",
            into=(branch.id, "yes"),
        )
        admin.comment_action(repo, me, inner.id, "why urgent")
        copy = admin.clone_action(repo, me, branch.id)
        return int(copy.id)

    copy = await desk.admin(build)

    def comments_in(repo: Any) -> list[str]:
        action = repo.session.get(m.WorkflowAction, copy)
        return [c.body for child in action.children for c in child.comments]

    assert await desk.db.run(comments_in) == ["why urgent"]
    await desk.db.close()


async def test_the_pane_and_the_editor_word_a_clones_enrollment_alike(db_path):
    """Item 14: a clone with a condition: the settings pane says what the workflow editor says
    (one function words both), sources included (before: the pane said "and always")."""
    desk = await seeded_desk(db_path)

    def build(repo: Any, me: Any) -> int:
        clone = admin.clone_workflow(repo, me, closed_workflow(repo).id)
        condition = {"all": [{"field": "priority", "op": "is", "value": "high"}]}
        admin.set_workflow(repo, me, clone.id, conditions={**clone.conditions, **condition})
        return int(clone.id)

    clone = await desk.admin(build)

    def editor_words(repo: Any) -> str:
        return " and ".join(queries.enrollment_conditions(repo.session.get(m.Workflow, clone)))

    words = await desk.db.run(editor_words)
    assert "priority is high" in words and "Conversation source" in words
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=WIDE) as pilot:
        screen = await open_settings(pilot)
        await go_to(pilot, screen, f"workflow:{clone}")
        assert words in " ".join(details_text(screen).split())
        await pilot.press("W")
        await wait_for(pilot, lambda: not isinstance(app.screen, SettingsScreen))
        await wait_for(pilot, lambda: "Enrollment" in screen_text(app))
    await desk.db.close()


async def test_the_preview_ticket_is_picked_from_recent_tickets_and_remembered(db_path):
    """Item 14: ctrl+o in the template editor lists the newest tickets (before: it asked for a
    number); the ticket picked is the preview's, and the next editor of the session opens on
    it (before: back to the newest)."""
    desk = await seeded_desk(db_path, ["Printer on fire", "Invoice twice", "Password reset"])
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=WIDE) as pilot:
        screen = await open_settings(pilot)
        template = key_of(screen, "template", {"name": "Ticket closed"})
        editor = await _open_editor(pilot, screen, template)
        assert editor.preview_ticket == 3
        await pilot.press("ctrl+o")
        picker = await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen) and app.screen)
        labels = [label for label, _ in picker.choices]
        assert labels[:3] == ["#3 Password reset", "#2 Invoice twice", "#1 Printer on fire"]
        assert labels[-1].startswith("Another ticket")
        await pilot.press("j", "enter")
        await wait_for(pilot, lambda: editor.preview_ticket == 2, what="ticket #2 previewed")
        assert "#2" in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        editor = await _open_editor(pilot, screen, template)
        await wait_for(pilot, lambda: editor.preview_ticket == 2, what="#2 remembered")
        await pilot.press("ctrl+o")
        picker = await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen) and app.screen)
        await pilot.press("G", "enter")  # another ticket: typed
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press("1", "enter")
        await wait_for(pilot, lambda: editor.preview_ticket == 1, what="ticket #1 previewed")
    await desk.db.close()


async def _open_editor(pilot: Any, screen: SettingsScreen, key: str) -> TemplateEditor:
    await go_to(pilot, screen, key)
    await pilot.press("e")
    app = pilot.app
    editor = await wait_for(
        pilot,
        lambda: isinstance(app.screen, TemplateEditor) and app.screen.rendered and app.screen,
    )
    assert isinstance(editor, TemplateEditor)
    return editor


# --- the reads behind these rows, on SQLite and PostgreSQL --------------------------------------


async def test_the_reads_on_both_databases(db):
    """status_removal's counts, and the inbox and board ages (the newest mail a person wrote,
    by its Date; an acknowledgement does not count), on SQLite and PostgreSQL."""
    desk = await Desk.create(db)
    msg = EmailMessage()
    msg["From"] = "Olga Older <olga@example.org>"
    msg["To"] = "support@help.example"
    msg["Subject"] = "Written three days ago"
    written = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    msg["Date"] = format_datetime(written)
    msg["Message-ID"] = "<three-days-pg@example.org>"
    msg.set_content("Hello from the past.")
    await desk.receive(bytes(msg))
    await clone_with_five_actions(desk)

    def read(repo: Any) -> tuple[Any, Any, dict[str, int]]:
        session = repo.session
        pipeline = admin.pipeline_or_default(repo, None)
        new, closed = (
            next(s for s in repo.statuses(pipeline.id) if s.label == label)
            for label in ("New", "Closed")
        )
        inbox = views.inbox_rows(session, views.InboxFilter(), views.Window())
        cards = views.column_rows(session, new.id, views.Window())
        return (
            inbox[0]["last_mail_at"],
            cards[0]["last_mail_at"],
            (settings_views.status_removal(session, closed.id)),
        )

    inbox_at, card_at, removal = await desk.db.run(read)
    assert abs((_utc(inbox_at) - written).total_seconds()) < 1
    assert abs((_utc(card_at) - written).total_seconds()) < 1
    assert removal == {
        "workflows": 2,
        "actions": 5,
        "enrollments": 0,
        "failures": 0,
        "waiting": 0,
    }


def _utc(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)
