"""Tags and custom properties in automation (issue 13): the add-tag and remove-tag action
kinds, the `tag` and `prop.NAME` condition fields (enrollment and branches), setting a custom
property from a workflow, and `{{ ticket.tags }}` / `{{ ticket.properties.NAME }}` in
templates (the static check knows them, the lint's renders check the names)."""

from __future__ import annotations

from typing import Any

import pytest

from automation import admin, conditions, properties, tags
from automation.action_kinds.send_email import template_variables
from automation.admin import SettingsError
from automation.admin.templates import lint_renders, lint_samples
from automation.conditions import ConditionError
from automation.template_check import check_template
from storage.database import Database
from tests.helpers import Desk, make_mail


def _new_workflow(repo: Any) -> Any:
    pipeline = admin.pipeline_or_default(repo, None)
    return admin.status_workflow(repo, admin.status_in(repo, pipeline, "New"))


async def _timeline(desk: Desk, number: int, kind: str) -> list[dict[str, Any]]:
    return [e for e in (await desk.ticket(number))["timeline"] if e["type"] == kind]


async def test_a_workflow_tags_and_branches_on_the_tag(db: Database) -> None:
    desk = await Desk.create(db, received=False, closed=False)

    def build(repo: Any, me: Any) -> None:
        workflow = _new_workflow(repo)
        admin.add_action_to_workflow(repo, me, workflow.id, "add_tag", value=" Triage ")
        admin.add_action_to_workflow(repo, me, workflow.id, "remove_tag", value="spam")
        branch = admin.add_action_to_workflow(
            repo,
            me,
            workflow.id,
            "branch",
            condition={"field": "tag", "op": "is", "value": "TRIAGE"},
        )
        admin.add_action_to_workflow(
            repo, me, workflow.id, "add_note", message="triaged", into=(branch.id, "yes")
        )

    await desk.admin(build)
    await desk.receive(make_mail(subject="Printer on fire")[0])
    detail = await desk.ticket(1)
    assert detail["ticket"]["tags"] == ["triage"]
    [tagged] = await _timeline(desk, 1, "tags_changed")
    assert (tagged["summary"], tagged["actor"]["kind"]) == ("Tagged triage", "workflow")
    assert tagged["cause"] is not None
    skipped = await _timeline(desk, 1, "action_skipped")
    assert any("does not have the tag spam" in e["summary"] for e in skipped)
    assert [e["summary"] for e in await _timeline(desk, 1, "note")] == ["Note: triaged"]


async def test_tag_and_property_conditions_are_spelled_and_matched(db: Database) -> None:
    desk = await Desk.create(db, received=False, closed=False)
    await desk.receive(make_mail(subject="one")[0])
    await desk.admin(
        lambda repo, me: properties.define_property(
            repo, me, "region", "choice", choices=["EMEA", "Americas"]
        )
    )
    await desk.admin(lambda repo, me: properties.define_property(repo, me, "seats", "number"))
    await desk.as_user("rita", lambda repo, u: tags.tag_ticket(repo, u, 1, ["vip"]))
    await desk.as_user(
        "rita", lambda repo, u: properties.set_property(repo, u, 1, "region", "emea")
    )
    await desk.as_user("rita", lambda repo, u: properties.set_property(repo, u, 1, "seats", "5"))

    def check(tree: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        def run(repo: Any) -> tuple[dict[str, Any], bool]:
            conditions.check(tree)
            spelled = conditions.check_values(repo, tree)
            return spelled, conditions.matches(repo, spelled, repo.ticket(1))

        return desk.db.run(run)  # type: ignore[return-value]

    spelled, hit = await check({"field": "prop.region", "op": "is", "value": "emea"})
    assert (spelled["value"], hit) == ("EMEA", True)
    _, hit = await check({"field": "prop.seats", "op": "in", "value": ["5.0", "6"]})
    assert hit
    _, hit = await check({"field": "tag", "op": "is", "value": " VIP "})
    assert hit
    _, hit = await check({"field": "tag", "op": "is_not", "value": "vip"})
    assert not hit
    _, hit = await check({"field": "prop.seats", "op": "is_empty"})
    assert not hit
    for tree, said in (
        ({"field": "prop.nope", "value": "x"}, "no property 'nope'"),
        ({"field": "prop.region", "value": "Asia"}, "not one of EMEA, Americas"),
        ({"field": "prop.seats", "value": "many"}, "not a number"),
    ):
        with pytest.raises(ConditionError, match=said):
            await check(tree)
    with pytest.raises(ConditionError, match=r"prop\.NAME \(a custom property\), tag"):
        conditions.check({"field": "colour", "value": "x"})
    assert conditions.describe({"field": "prop.region", "value": "EMEA"}) == "prop.region is EMEA"


async def test_a_workflow_sets_a_custom_property(db: Database) -> None:
    desk = await Desk.create(db, received=False, closed=False)
    await desk.admin(
        lambda repo, me: properties.define_property(repo, me, "region", "choice", choices=["EMEA"])
    )

    def build(repo: Any, me: Any) -> None:
        workflow = _new_workflow(repo)
        with pytest.raises(SettingsError, match="not one of EMEA"):
            admin.add_action_to_workflow(
                repo, me, workflow.id, "set_property", property_name="region", value="Asia"
            )
        admin.add_action_to_workflow(
            repo, me, workflow.id, "set_property", property_name="region", value="emea"
        )

    await desk.admin(build)
    await desk.receive(make_mail(subject="one")[0])
    detail = await desk.ticket(1)
    assert detail["ticket"]["properties"] == {"region": "EMEA"}
    [line] = await _timeline(desk, 1, "property_changed")
    assert (line["summary"], line["actor"]["kind"]) == ("Region: (none) → EMEA", "workflow")


async def test_templates_read_tags_and_properties(db: Database) -> None:
    desk = await Desk.create(db, received=False, closed=False)
    await desk.receive(make_mail(subject="one")[0])
    await desk.admin(lambda repo, me: properties.define_property(repo, me, "seats", "number"))
    await desk.as_user("rita", lambda repo, u: tags.tag_ticket(repo, u, 1, ["vip", "billing"]))
    await desk.as_user("rita", lambda repo, u: properties.set_property(repo, u, 1, "seats", "3"))
    body = "Tags: {{ ticket.tags | join(', ') }}; seats {{ ticket.properties.seats }}\n"
    assert check_template("Hi", body) == []
    assert check_template("Hi", "{{ ticket.tag }}") != []  # a typo is still caught
    variables = await desk.db.run(lambda repo: template_variables(repo, repo.ticket(1)))
    assert variables["ticket"]["tags"] == ["billing", "vip"]
    assert variables["ticket"]["properties"] == {"seats": 3}
    samples = await desk.db.run(lint_samples)
    assert lint_renders("Hi", body, samples) == []
    failures = lint_renders("Hi", "{{ ticket.properties.seat }}", samples)
    assert failures and "seat" in str(failures[0])
