"""Branch and enrollment conditions take only values the desk has (issue 18 item 2): a field
with a fixed set (priority, status, pipeline, channel, source, owner, team) is picked from a
list in the app and checked everywhere else (`automation.conditions.check_values`, the CLI); an
unknown value is refused naming the valid ones. The builder's first highlighted choice is a
field, never "Save (always)"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.screens.dialogs import ChecklistScreen, PickerScreen, PromptScreen
from automation import admin
from automation.actions import ADD_NOTE
from automation.admin import SettingsError
from automation.conditions import ConditionError, with_known_values
from storage.database import Database
from tests.app_helpers import make_app, seeded_desk, wait_for
from tests.helpers import Desk, make_mail
from tests.test_app_settings import open_workflows
from tests.test_app_workflows import choose, go_to_step, new_workflow_row
from tests.test_cli import Cli, desk_cli

SIZE = (80, 24)
PRIORITY_TYPO = {"field": "priority", "op": "is", "value": "hihg"}


def _clone_of_new(repo: Any, me: Any) -> int:
    status = admin.status_in(repo, admin.pipeline_or_default(repo, None), "New")
    clone = admin.clone_workflow(repo, me, admin.status_workflow(repo, status).id)
    repo.add_workflow_action(clone, ADD_NOTE, {"body": "matched"})
    return int(clone.id)


def _set(workflow_id: int, conditions: dict[str, Any]) -> Any:
    def change(repo: Any, me: Any) -> Any:
        return admin.set_workflow(repo, me, workflow_id, conditions=conditions).conditions

    return change


def test_a_value_outside_the_set_names_the_valid_ones() -> None:
    known = {"priority": ["low", "normal", "high", "urgent"], "team": []}
    with pytest.raises(ConditionError, match="unknown priority 'hihg': pick one of low, normal"):
        with_known_values({"all": [PRIORITY_TYPO]}, known)
    with pytest.raises(ConditionError, match="unknown team 'Tier 1': the desk has none yet"):
        with_known_values({"field": "team", "op": "in", "value": ["Tier 1"]}, known)
    with pytest.raises(ConditionError, match="priority is needs a value"):
        with_known_values({"field": "priority", "op": "is", "value": " "}, known)
    tree = {"any": [{"field": "priority", "op": "in", "value": ["HIGH", " urgent"]}]}
    assert with_known_values(tree, known) == {
        "any": [{"field": "priority", "op": "in", "value": ["high", "urgent"]}]
    }
    free = {"field": "contact_domain", "op": "is", "value": "anything.example"}
    assert with_known_values(free, known) == free


async def test_enrollment_and_branch_conditions_are_checked_against_the_desk(
    db: Database,
) -> None:
    """set_workflow (the enrollment of a clone) and a branch's condition refuse a priority,
    status, owner, team, channel, source or pipeline the desk does not have; a value in
    another case is stored as the desk spells it; a team nobody is in yet is a team."""
    desk = await Desk.create(db, received=False, closed=False)
    clone = await desk.admin(_clone_of_new)
    with pytest.raises(SettingsError, match="unknown priority 'hihg': pick one of low, normal"):
        await desk.admin(_set(clone, PRIORITY_TYPO))
    for field, wrong, valid in (
        ("status", "Closd", "New, Waiting on contact"),
        ("owner", "ritta", "rita"),
        ("channel", "suport", "support"),
        ("source", "fax", "email, chat, messenger, form"),
        ("pipeline", "Sales", "Support Pipeline"),
    ):
        with pytest.raises(SettingsError, match=f"unknown {field} '{wrong}'.*{valid}"):
            await desk.admin(_set(clone, {"field": field, "op": "is", "value": wrong}))
    with pytest.raises(SettingsError, match="unknown team 'Tier 1'"):
        await desk.admin(_set(clone, {"field": "team", "value": "Tier 1"}))

    def add_empty_team(repo: Any) -> None:
        repo.add_team("Tier 1", [])

    await desk.db.run(add_empty_team)
    stored = await desk.admin(
        _set(
            clone,
            {
                "all": [
                    {"field": "priority", "op": "in", "value": ["HIGH", "Urgent"]},
                    {"field": "status", "op": "is", "value": "new"},
                    {"field": "team", "op": "is_not", "value": "tier 1"},
                ]
            },
        )
    )
    assert stored["all"] == [
        {"field": "priority", "op": "in", "value": ["high", "urgent"]},
        {"field": "status", "op": "is", "value": "New"},
        {"field": "team", "op": "is_not", "value": "Tier 1"},
    ]

    def add_branch(condition: dict[str, Any]) -> Any:
        def add(repo: Any, me: Any) -> Any:
            new = {"pipeline_name": None, "status_label": "New"}
            return admin.add_action(repo, me, **new, kind="branch", condition=condition).config

        return add

    with pytest.raises(SettingsError, match="unknown status 'Closd'"):
        await desk.admin(add_branch({"field": "status", "value": "Closd"}))
    config = await desk.admin(add_branch({"field": "priority", "value": "Urgent"}))
    assert config == {"if": {"field": "priority", "value": "urgent"}}
    await desk.receive(make_mail(subject="Normal priority")[0])  # the stored branch runs
    assert (await desk.tickets())[0]["priority"] == "normal"


@pytest.mark.sqlite_only
def test_the_cli_refuses_an_unknown_value_and_lists_the_valid_ones(tmp_path: Path) -> None:
    """`deskline workflow condition ID JSON` and `workflow action add --if JSON`: exit 1 with
    one line naming the valid values; nothing is stored."""
    cli: Cli = desk_cli(tmp_path)
    cli.run("workflow", "clone", "1")
    clone = max(w["id"] for w in cli.json("workflow", "list")["workflows"])
    typo = '{"field": "priority", "op": "is", "value": "hihg"}'
    refused = cli.run("workflow", "condition", str(clone), typo, ok=False)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "unknown priority 'hihg': pick one of low, normal, high, urgent" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    branch = '{"field": "owner", "value": "nobody-here"}'
    refused = cli.run("workflow", "action", "add", "--workflow", "1", "--if", branch, ok=False)
    assert refused.returncode == 1 and "unknown owner 'nobody-here'" in refused.stderr
    assert "rita" in refused.stderr
    shown = cli.run("workflow", "show", str(clone)).stdout + cli.run("workflow", "show", "1").stdout
    assert "hihg" not in shown and "nobody-here" not in shown
    cli.run("workflow", "condition", str(clone), typo.replace("hihg", "High"))
    assert "priority is high" in cli.run("workflow", "show", str(clone)).stdout


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "desk.db"


async def test_the_builder_offers_fields_first_and_picks_values_from_lists(db_path: Path) -> None:
    """In the workflow editor: a branch's "Add a test on" list opens on a field, not on
    "Save (always)"; priority offers low…urgent to pick (no typing), owner "in" ticks users;
    after a test the highlight is on Save; contact_domain is still typed."""
    desk = await seeded_desk(db_path, ["Printer on fire"])
    app = make_app(db_path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_workflows(pilot)
        await go_to_step(pilot, screen, lambda s: s.kind == "end")
        await pilot.press("a")
        await choose(pilot, "branch")
        await choose(pilot, "all")
        fields = await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen) and app.screen)
        highlighted = fields.query_one("OptionList").highlighted
        assert fields.choices[highlighted][1] == "pipeline"
        assert not fields.choices[highlighted][0].startswith("✓ Save")
        await choose(pilot, "priority")
        await choose(pilot, "is")
        values = await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen) and app.screen)
        assert [v for _, v in values.choices] == ["low", "normal", "high", "urgent"]
        await choose(pilot, "high")
        await choose(pilot, "owner")
        await choose(pilot, "in")
        checklist = await wait_for(
            pilot, lambda: isinstance(app.screen, ChecklistScreen) and app.screen
        )
        names = [v for _, v in checklist.choices]
        assert "rita" in names and "admin" in names
        await pilot.press("enter")  # nothing ticked: the list stays, saying so
        await pilot.pause(0.2)
        assert app.screen is checklist
        await pilot.press(*["j"] * names.index("rita"), "space", "enter")
        await wait_for(pilot, lambda: app.screen is not checklist, what="the checklist to close")
        await choose(pilot, "contact_domain")
        await choose(pilot, "is")
        prompt = await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen) and app.screen)
        await pilot.press(*"vip.example", "enter")
        await wait_for(pilot, lambda: app.screen is not prompt)
        fields = await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen) and app.screen)
        highlighted = fields.query_one("OptionList").highlighted
        assert fields.choices[highlighted][1] == ""  # ✓ Save (the three tests)
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: any(
                s.kind == "action" and "priority is high" in s.data["description"]
                for s in screen.steps
            ),
            what="the branch in the flow",
        )
    workflow = await new_workflow_row(desk)
    assert workflow["actions"][-1]["config"] == {
        "if": {
            "all": [
                {"field": "priority", "op": "is", "value": "high"},
                {"field": "owner", "op": "in", "value": ["rita"]},
                {"field": "contact_domain", "op": "is", "value": "vip.example"},
            ]
        }
    }
    await desk.db.close()
