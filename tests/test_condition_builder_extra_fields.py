"""The workflow editor's condition builder offers the ticket's tags and custom properties
(issue 13): "tag is vip" typed with completion from the tags in use, "prop.plan is gold"
picked from the choice property's values, a number property typed and checked in the dialog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.screens.dialogs import PickerScreen, PromptScreen
from automation.properties import define_property
from storage import models as m
from tests.app_helpers import make_app, seeded_desk, wait_for
from tests.test_app_settings import open_workflows
from tests.test_app_workflows import choose, go_to_step, new_workflow_row

SIZE = (80, 24)


async def test_an_admin_builds_tag_and_property_tests_with_pickers(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    desk = await seeded_desk(path, ["Printer on fire"])

    def define(repo: Any, me: Any) -> None:
        define_property(repo, me, "plan", "choice", choices=["gold", "silver"])
        define_property(repo, me, "seats", "number")

    def tag(repo: Any) -> None:
        ticket = repo.session.scalar(select(m.Ticket.id))
        repo.add_ticket_tag(ticket, "vip")
        repo.add_ticket_tag(ticket, "billing")

    await desk.admin(define)
    await desk.db.run(tag)
    app = make_app(path, as_user="admin")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_workflows(pilot)
        await go_to_step(pilot, screen, lambda s: s.kind == "end")
        await pilot.press("a")
        await choose(pilot, "branch")
        await choose(pilot, "all")
        fields = await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen) and app.screen)
        offered = [value for _, value in fields.choices]
        assert {"tag", "prop.plan", "prop.seats"} <= set(offered)
        await choose(pilot, "tag")
        await choose(pilot, "is")
        prompt = await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen) and app.screen)
        await pilot.press("V")
        box = prompt.query_one("Input")
        await wait_for(pilot, lambda: box._suggestion == "vip", what="the tag's completion")
        await pilot.press("right", "enter")  # takes the completion
        await wait_for(pilot, lambda: app.screen is not prompt, what="the prompt to close")
        await choose(pilot, "prop.plan")
        await choose(pilot, "is")
        values = await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen) and app.screen)
        assert [value for _, value in values.choices] == ["gold", "silver"]
        await choose(pilot, "gold")
        await choose(pilot, "prop.seats")
        await choose(pilot, "is")
        prompt = await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen) and app.screen)
        await pilot.press(*"many", "enter")  # not a number: the dialog stays and says why
        error = prompt.query_one("#prompt-error")
        await wait_for(pilot, lambda: "many" in str(error.render()), what="the fault shown")
        assert app.screen is prompt
        await pilot.press(*["backspace"] * 4, "3", "enter")
        await wait_for(pilot, lambda: app.screen is not prompt, what="the prompt to close")
        fields = await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen) and app.screen)
        await pilot.press("enter")  # ✓ Save (highlighted after a test)
        await wait_for(
            pilot,
            lambda: any(
                s.kind == "action" and "tag is vip" in s.data["description"] for s in screen.steps
            ),
            what="the branch in the flow",
        )
    workflow = await new_workflow_row(desk)
    tests = workflow["actions"][-1]["config"]["if"]["all"]
    assert tests[:2] == [
        {"field": "tag", "op": "is", "value": "vip"},
        {"field": "prop.plan", "op": "is", "value": "gold"},
    ]
    assert tests[2]["field"] == "prop.seats" and tests[2]["op"] == "is"
    assert float(tests[2]["value"]) == 3
    await desk.db.close()
