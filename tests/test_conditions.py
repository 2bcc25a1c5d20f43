"""Enrollment conditions of cloned workflows (SPEC R-A7, R-A8; issue "Workflows"): pipeline,
status, source, channel, priority, owner, team, contact address or domain; AND and OR groups."""

from __future__ import annotations

from typing import Any

import pytest

from automation import admin
from automation.actions import ADD_NOTE
from automation.admin import SettingsError
from automation.conditions import ConditionError, check, describe
from storage.database import Database
from tests.helpers import Desk, make_mail


async def _clone_new_with_note(desk: Desk, conditions: dict[str, Any]) -> int:
    """Clone the built-in "New" workflow (clones start off), give the clone a note action and
    `conditions`, switch it on, and delete the original so only the clone acts (R-A7)."""

    def build(repo: Any, me: Any) -> int:
        status = admin.status_in(repo, admin.pipeline_or_default(repo, None), "New")
        original = admin.status_workflow(repo, status)
        clone = admin.clone_workflow(repo, me, original.id)
        repo.add_workflow_action(clone, ADD_NOTE, {"body": "matched"})
        admin.set_workflow(
            repo, me, clone.id, enabled=True, sources=["email", "chat"], conditions=conditions
        )
        admin.delete_workflow(repo, me, original.id)
        return int(clone.id)

    return await desk.admin(build)


async def _noted(desk: Desk, number: int) -> bool:
    return "note" in await desk.timeline_types(number)


async def test_source_condition_runs_on_chat_and_skips_email(db: Database) -> None:
    """Source is Chat: the clone acts on a chat ticket only; the email ticket's timeline says
    why it was not enrolled."""
    desk = await Desk.create(db, received=False, closed=False, chat=True)
    await _clone_new_with_note(desk, {"all": [{"field": "source", "op": "is", "value": "chat"}]})
    await desk.receive(make_mail(subject="By email")[0])
    await desk.receive(make_mail(subject="By chat", sender="c@chat.example")[0], channel="chat")
    by_source = {t["source"]: t["number"] for t in await desk.tickets()}
    assert await _noted(desk, by_source["chat"])
    assert not await _noted(desk, by_source["email"])
    skipped = [
        e
        for e in (await desk.ticket(by_source["email"]))["timeline"]
        if e["type"] == "enrollment_skipped"
    ]
    assert "source is chat" in skipped[0]["summary"]


async def test_or_group_of_priority_and_contact_domain(db: Database) -> None:
    desk = await Desk.create(db, received=False, closed=False)
    await _clone_new_with_note(
        desk,
        {
            "any": [
                {"field": "contact_domain", "op": "in", "value": ["VIP.example", "gold.example"]},
                {"field": "owner", "op": "is_not_empty"},
            ]
        },
    )
    await desk.receive(make_mail(sender="boss@vip.example", subject="one")[0])
    await desk.receive(make_mail(sender="someone@else.example", subject="two")[0])
    numbers = {t["subject"]: t["number"] for t in await desk.tickets()}
    assert await _noted(desk, numbers["one"])
    assert not await _noted(desk, numbers["two"])


def test_conditions_are_checked_and_described() -> None:
    tree = {
        "all": [
            {"field": "pipeline", "op": "is", "value": "Support Pipeline"},
            {
                "any": [
                    {"field": "team", "op": "is", "value": "Tier 1"},
                    {"field": "priority", "op": "in", "value": ["high", "urgent"]},
                ]
            },
        ]
    }
    check(tree)
    assert describe(tree) == (
        "(pipeline is Support Pipeline and (team is Tier 1 or priority in high, urgent))"
    )
    for bad in ({"field": "mood"}, {"field": "source", "op": "resembles"}, {"all": {}}, []):
        with pytest.raises(ConditionError):
            check(bad)


async def test_built_in_workflows_refuse_conditions(db: Database) -> None:
    """R-A7: a built-in status workflow's enrollment is fixed; clone it to edit."""
    desk = await Desk.create(db, received=False, closed=False)

    def edit(repo: Any, me: Any) -> None:
        status = admin.status_in(repo, admin.pipeline_or_default(repo, None), "New")
        workflow = admin.status_workflow(repo, status)
        admin.set_workflow(
            repo, me, workflow.id, conditions={"field": "source", "op": "is", "value": "chat"}
        )

    with pytest.raises(SettingsError, match="clone it"):
        await desk.admin(edit)
    with pytest.raises(SettingsError, match="condition"):
        await _clone_new_with_note(desk, {"field": "nope"})
