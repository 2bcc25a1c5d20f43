"""The workflow editor (`W` in settings) driven by keys with Pilot at 80x24 on a real SQLite file.

SPEC §5 "Workflow editor", R-A5 (branch on a condition), R-A6 (the actions menu), R-A7. The
tests press keys in the flow, then check the stored workflow and what the engine does with a
real ticket afterwards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.screens.dialogs import ChecklistScreen, ConfirmScreen, PickerScreen, PromptScreen
from app.screens.workflows import WorkflowsScreen
from automation import admin
from storage import queries
from tests.app_helpers import make_app, screen_text, seeded_desk, wait_for
from tests.helpers import Desk, make_mail
from tests.test_app_settings import open_workflows

SIZE = (80, 24)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "desk.db"


async def choose(pilot: Any, value: Any) -> None:
    """In the open picker, walk to the choice with this value and take it."""
    app = pilot.app
    picker = await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen) and app.screen)
    values = [v for _, v in picker.choices]
    await pilot.press("home", *["j"] * values.index(value), "enter")
    await wait_for(pilot, lambda: app.screen is not picker, what="the picker to close")


async def type_line(pilot: Any, text: str) -> None:
    app = pilot.app
    prompt = await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen) and app.screen)
    await pilot.press(*text, "enter")
    await wait_for(pilot, lambda: app.screen is not prompt, what="the prompt to close")


async def go_to_step(pilot: Any, screen: WorkflowsScreen, test: Any) -> None:
    """Focus the flow and highlight the first row that passes `test(step)`."""
    flow = screen.query_one("#workflow-flow")
    if not flow.has_focus:
        await pilot.press("enter")
        await wait_for(pilot, lambda: flow.has_focus, what="the flow to take focus")
    found = await wait_for(
        pilot, lambda: next((i + 1 for i, s in enumerate(screen.steps) if test(s)), None)
    )
    flow.highlighted = found - 1  # type: ignore[attr-defined]
    await pilot.pause()


def is_action(description: str) -> Any:
    return lambda s: s.kind == "action" and s.data["description"] == description


def is_path(which: str) -> Any:
    return lambda s: s.kind == "path" and s.data["which"] == which


async def new_workflow_row(desk: Desk) -> dict[str, Any]:
    def read(repo: Any) -> dict[str, Any]:
        status = admin.status_in(repo, admin.pipeline_or_default(repo, None), "New")
        return queries.workflow_row(repo.session, admin.status_workflow(repo, status))

    return await desk.db.run(read)


async def test_an_admin_builds_a_branch_from_the_keyboard_and_it_runs(db_path: Path) -> None:
    """R-A5 if/else, built in the flow: `a` on End adds a branch (condition built key by key),
    `a` on its "yes →" row adds into that path, `a` on "no →" into the other; then a VIP's
    ticket takes the yes path and another ticket the no path."""
    desk = await seeded_desk(db_path, ["Printer on fire"])
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_workflows(pilot)
        await go_to_step(pilot, screen, lambda s: s.kind == "end")
        await pilot.press("a")
        await choose(pilot, "branch")
        await choose(pilot, "all")
        await choose(pilot, "contact_domain")
        await choose(pilot, "is")
        await type_line(pilot, "vip.example")
        await choose(pilot, "")  # ✓ Save
        await go_to_step(pilot, screen, is_path("yes"))
        await pilot.press("a")
        await choose(pilot, "set:priority")
        await choose(pilot, "urgent")
        await go_to_step(pilot, screen, is_path("no"))
        await pilot.press("a")
        await choose(pilot, "note")
        await type_line(pilot, "Regular customer")
        text = await wait_for(
            pilot,
            lambda: "Regular customer" in screen_text(app) and screen_text(app),
            what="the flow to show the new note",
        )
        assert "If contact_domain is vip.example" in text and "yes →" in text
    workflow = await new_workflow_row(desk)
    branch = workflow["actions"][-1]
    assert branch["config"] == {
        "if": {"all": [{"field": "contact_domain", "op": "is", "value": "vip.example"}]}
    }
    assert [a["description"] for a in branch["paths"]["yes"]] == ["Set priority to urgent"]
    assert [a["description"] for a in branch["paths"]["no"]] == ["Add note “Regular customer”"]

    await desk.receive(make_mail(sender="boss@vip.example", subject="Big order")[0])
    await desk.receive(make_mail(sender="ann@elsewhere.example", subject="Small order")[0])
    tickets = {t["subject"]: t for t in await desk.tickets()}
    assert tickets["Big order"]["priority"] == "urgent"
    assert tickets["Small order"]["priority"] == "normal"
    await desk.db.close()


async def test_actions_menu_in_the_flow_moves_clones_and_deletes(db_path: Path) -> None:
    """R-A6 in the flow: `m` moves an action into a branch's path, `J` reorders in its list,
    `y` clones right after, `x` deletes this one, `X` this and all following; `a` on an
    action adds right after it."""
    desk = await seeded_desk(db_path, ["Printer on fire"])

    def build(repo: Any) -> None:
        me = repo.user_by_name("admin")
        new = {"pipeline_name": None, "status_label": "New"}
        branch = admin.add_action(repo, me, **new, kind="branch", condition={"any": []}).id
        admin.add_action(repo, me, **new, kind="add_note", message="first")
        admin.add_action(repo, me, **new, kind="add_note", message="second")
        admin.add_action(repo, me, **new, kind="add_note", into=(branch, "yes"), message="inner")

    await desk.db.run(build)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_workflows(pilot)
        await go_to_step(pilot, screen, is_action("Add note “first”"))
        await pilot.press("m")
        await choose(pilot, (_branch(screen)["id"], "no"))
        await wait_for(pilot, lambda: _described(screen, "no") == ["Add note “first”"])

        await go_to_step(pilot, screen, is_action("Add note “inner”"))
        await pilot.press("y")
        await wait_for(pilot, lambda: _described(screen, "yes") == ["Add note “inner”"] * 2)

        await go_to_step(pilot, screen, is_action("Add note “inner”"))
        await pilot.press("a")
        await choose(pilot, "note")
        await type_line(pilot, "right after")
        await wait_for(
            pilot,
            lambda: (
                _described(screen, "yes")
                == ["Add note “inner”", "Add note “right after”", "Add note “inner”"]
            ),
        )
        await go_to_step(pilot, screen, is_action("Add note “right after”"))
        await pilot.press("J")
        await wait_for(pilot, lambda: _described(screen, "yes")[-1] == "Add note “right after”")

        await go_to_step(pilot, screen, is_action("Add note “second”"))
        await pilot.press("x")
        await _confirm(pilot)
        await wait_for(
            pilot, lambda: not any(is_action("Add note “second”")(s) for s in screen.steps)
        )

        await go_to_step(
            pilot, screen, lambda s: s.kind == "action" and s.into and s.data["position"] == 0
        )
        await pilot.press("X")
        await _confirm(pilot)
        await wait_for(pilot, lambda: _described(screen, "yes") == [])
    workflow = await new_workflow_row(desk)
    branch = next(a for a in workflow["actions"] if a["kind"] == "branch")
    assert branch["paths"] == {"yes": [], "no": [branch["paths"]["no"][0]]}
    assert branch["paths"]["no"][0]["description"] == "Add note “first”"
    await desk.db.close()


def _described(screen: WorkflowsScreen, which: str) -> list[str]:
    """The descriptions in the first branch's path, as the flow holds them now."""
    branch = _branch(screen)
    return [a["description"] for a in branch["paths"][which]] if branch else []


def _branch(screen: WorkflowsScreen) -> Any:
    actions = screen.detail["workflow"]["actions"] if screen.detail else []
    return next((a for a in actions if a["kind"] == "branch"), None)


async def _confirm(pilot: Any) -> None:
    app = pilot.app
    dialog = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen)
    await pilot.press("y")
    await wait_for(pilot, lambda: app.screen is not dialog, what="the question to close")


async def test_a_built_in_keeps_its_enrollment_and_a_rep_only_reads(db_path: Path) -> None:
    """R-A7: on a built-in workflow `C` and `R` are not offered and `e` on the enrollment row
    says to clone; a rep sees the flow without any change key."""
    desk = await seeded_desk(db_path, ["Printer on fire"])
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_workflows(pilot)
        assert screen.current is not None and screen.current["builtin"]
        assert not screen.check_action("condition", ()) and not screen.check_action("reenroll", ())
        await go_to_step(pilot, screen, lambda s: s.kind == "enrollment")
        await pilot.press("e")
        await wait_for(
            pilot, lambda: any("keeps its enrollment" in str(n.message) for n in app._notifications)
        )
    rep = make_app(db_path, as_user="rita")
    async with rep.run_test(size=SIZE) as pilot:
        screen = await open_workflows(pilot)
        await go_to_step(pilot, screen, lambda s: s.kind == "action")
        for action in ("add", "edit", "delete_action", "clone_action", "move_into", "switch"):
            assert not screen.check_action(action, ())
        await pilot.press("x", "a")
        await pilot.pause(0.3)
        assert rep.screen is screen
    await desk.db.close()


async def test_the_issue_walkthrough_clone_closed_with_reenrollment(db_path: Path) -> None:
    """R-A7 as a new admin does it in the editor: clone "Closed" (Y), switch re-enrollment on
    (R) and the clone on (space), which warns that the original is on too and offers to delete
    it (issue 18 item 3); close, reopen and close a ticket: two "Ticket closed" emails, where
    the original workflow sent one."""
    desk = await seeded_desk(db_path, ["Printer on fire"])
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_workflows(pilot)
        list_ = screen.query_one("#workflow-list")
        original = next(r for r in screen.rows if r["name"] == "Closed status actions")
        list_.highlighted = screen.rows.index(original)  # type: ignore[attr-defined]
        await pilot.press("Y")
        clone = await wait_for(
            pilot, lambda: next((r for r in screen.rows if not r["builtin"]), None)
        )
        list_.highlighted = screen.rows.index(clone)  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.press("R")
        await wait_for(pilot, lambda: screen.current["reenroll"], what="re-enrollment on")
        await pilot.press("space")
        await choose(pilot, "delete")  # the original is on too: delete it
        await _confirm(pilot)
        await wait_for(pilot, lambda: all(r["id"] != original["id"] for r in screen.rows))
    for status in ("Closed", "Waiting on us", "Closed"):
        await desk.move(1, status)
    closed_mails = [m for m in await desk.outbox() if m["template"] == "Ticket closed"]
    assert len(closed_mails) == 2
    await desk.db.close()


async def test_a_failure_is_retried_from_the_flow(db_path: Path) -> None:
    """R-A9 in the editor: the last failures are listed under the flow; after the admin fixes
    the action, `r` on the failure runs it again and it succeeds."""
    desk = await seeded_desk(db_path, [])

    def broken(repo: Any) -> int:
        status = admin.status_in(repo, admin.pipeline_or_default(repo, None), "New")
        workflow = admin.status_workflow(repo, status)
        config = {"property": "priority", "value": "blazing"}  # stored unchecked: fails at run
        return int(repo.add_workflow_action(workflow, "set_property", config).id)

    action_id = await desk.db.run(broken)
    await desk.receive(make_mail(subject="Printer on fire")[0])
    await desk.admin(
        lambda repo, me: admin.edit_action(
            repo, me, action_id, kind="set_property", property_name="priority", value="high"
        )
    )
    app = make_app(db_path, as_user="rita")  # a rep may retry: it is not a settings change
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_workflows(pilot)
        await go_to_step(pilot, screen, lambda s: s.kind == "failure")
        assert "blazing" in screen_text(app)
        await pilot.press("r")
        await wait_for(
            pilot,
            lambda: any(s.kind == "failure" and s.data["retried"] for s in screen.steps),
            what="the failure marked retried",
        )
    assert (await desk.ticket(1))["ticket"]["priority"] == "high"
    await desk.db.close()


async def test_p_shows_another_pipelines_workflows(db_path: Path) -> None:
    """SPEC §5 "list workflows per pipeline": `p` picks the pipeline; one without workflows
    says how to make one."""
    desk = await seeded_desk(db_path, ["Printer on fire"])
    await desk.admin(lambda repo, me: admin.add_pipeline(repo, me, "Billing"))
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_workflows(pilot)
        assert "Support Pipeline workflows" in screen_text(app)
        billing = await desk.db.run(lambda repo: repo.pipeline_by_name("Billing").id)
        await pilot.press("p")
        await choose(pilot, billing)
        text = await wait_for(
            pilot,
            lambda: "No workflows in this pipeline yet" in screen_text(app) and screen_text(app),
        )
        assert "Billing workflows" in text and screen.rows == []
    await desk.db.close()


async def test_editing_a_branch_starts_from_its_condition(db_path: Path) -> None:
    """R-A6 edit on a branch: the condition builder starts with the branch's tests (the save
    line names them), takes the last one off on request and adds another."""
    desk = await seeded_desk(db_path, ["Printer on fire"])

    def build(repo: Any) -> int:
        me = repo.user_by_name("admin")
        tests = {"all": [{"field": "priority", "op": "is", "value": "urgent"}]}
        new = {"pipeline_name": None, "status_label": "New"}
        return int(admin.add_action(repo, me, **new, kind="branch", condition=tests).id)

    branch_id = await desk.db.run(build)
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_workflows(pilot)
        await go_to_step(pilot, screen, is_action("If priority is urgent"))
        await pilot.press("e")
        await choose(pilot, "branch")
        await choose(pilot, "any")
        picker = await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen) and app.screen)
        saves = [label for label, value in picker.choices if value == ""]
        assert "priority is urgent" in saves[0]
        await choose(pilot, "-")
        await choose(pilot, "source")
        await choose(pilot, "in")
        checklist = await wait_for(pilot, lambda: isinstance(app.screen, ChecklistScreen))
        await pilot.press("j", "space", "j", "space", "enter")  # email, [chat], [messenger]
        await wait_for(pilot, lambda: app.screen is not checklist, what="the checklist to close")
        await choose(pilot, "")
        await wait_for(
            pilot, lambda: any(is_action("If source in chat, messenger")(s) for s in screen.steps)
        )
    config = await desk.db.run(lambda repo: repo.workflow_action(branch_id).config)
    assert config == {
        "if": {"any": [{"field": "source", "op": "in", "value": ["chat", "messenger"]}]}
    }
    await desk.db.close()
