"""Branch on a condition (SPEC R-A5 if/else) and the editor's actions on a branch (R-A6).

A branch tests the ticket as it is when the run reaches it, runs its "yes" or its "no" path,
then the run goes on after the branch. A delay inside a path resumes inside that path; a step
remembers its delay action, so editing the workflow meanwhile does not replay or skip steps.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from automation import admin
from automation.actions import ADD_NOTE, BRANCH, DELAY, SET_PROPERTY
from automation.admin import SettingsError
from storage import queries
from storage.database import Database
from tests.helpers import Desk, make_mail

VIP = {"field": "contact_domain", "value": "vip.example"}


def _admin(repo: Any) -> Any:
    return repo.user_by_name("admin")


def _add(repo: Any, kind: str, *, into: tuple[int, str] | None = None, **fields: Any) -> int:
    """An action on New's built-in workflow, through the editor's checks."""
    return admin.add_action(
        repo, _admin(repo), pipeline_name=None, status_label="New", kind=kind, into=into, **fields
    ).id


async def _vip_workflow(desk: Desk, *, delay_in_yes: bool = False) -> dict[str, int]:
    """New: if the contact is at vip.example → urgent (then maybe wait), else a note; after the
    branch, a note for everyone."""

    def build(repo: Any) -> dict[str, int]:
        ids = {"branch": _add(repo, BRANCH, condition=VIP)}
        yes, no = (ids["branch"], "yes"), (ids["branch"], "no")
        ids["urgent"] = _add(repo, SET_PROPERTY, into=yes, property_name="priority", value="urgent")
        if delay_in_yes:
            ids["delay"] = _add(repo, DELAY, into=yes, value="1h")
            ids["vip_note"] = _add(repo, ADD_NOTE, into=yes, message="VIP, an hour on")
        ids["no_note"] = _add(repo, ADD_NOTE, into=no, message="Regular customer")
        ids["after"] = _add(repo, ADD_NOTE, message="After the branch")
        return ids

    return await desk.db.run(build)


async def _ticket_from(desk: Desk, sender: str) -> dict[str, Any]:
    await desk.receive(make_mail(sender=sender, subject=f"Hello from {sender}")[0])
    number = max(t["number"] for t in await desk.tickets())
    return await desk.ticket(number)


def _notes(detail: dict[str, Any]) -> list[str]:
    events = sorted(detail["timeline"], key=lambda e: e["id"])
    return [e["data"]["body"] for e in events if e["type"] == "note"]


async def _overdue(db: Database) -> None:
    await db.run(
        lambda repo: repo.session.execute(
            text("UPDATE scheduled_steps SET due_at = :past WHERE done_at IS NULL"),
            {"past": repo.now().replace(year=2000)},
        )
    )


async def test_a_branch_runs_one_path_then_goes_on(db: Database) -> None:
    """R-A5 if/else: the yes path for a VIP, the no path otherwise; both go on after the
    branch; the timeline says which path and why."""
    desk = await Desk.create(db, received=False, closed=False)
    await _vip_workflow(desk)

    vip = await _ticket_from(desk, "boss@vip.example")
    assert vip["ticket"]["priority"] == "urgent"
    assert _notes(vip) == ["After the branch"]
    chose = next(e for e in vip["timeline"] if "yes path" in e["summary"])
    assert chose["type"] == "action_ran"
    assert "contact_domain is vip.example is met" in chose["summary"]

    regular = await _ticket_from(desk, "someone@elsewhere.example")
    assert regular["ticket"]["priority"] == "normal"
    assert _notes(regular) == ["Regular customer", "After the branch"]
    assert any("no path" in e["summary"] for e in regular["timeline"])


async def test_a_delay_inside_a_path_resumes_there_and_then_after_the_branch(
    db: Database,
) -> None:
    """A delay in the yes path: the rest of that path, then the actions after the branch, run
    when it is over; the no path never runs."""
    desk = await Desk.create(db, received=False, closed=False)
    await _vip_workflow(desk, delay_in_yes=True)
    vip = await _ticket_from(desk, "boss@vip.example")
    assert _notes(vip) == [] and "waiting" in [e["type"] for e in vip["timeline"]]

    await _overdue(db)
    await desk.drain()
    vip = await desk.ticket(vip["ticket"]["number"])
    assert _notes(vip) == ["VIP, an hour on", "After the branch"]
    await desk.drain()  # a step runs once
    assert _notes(await desk.ticket(vip["ticket"]["number"])) == _notes(vip)


async def test_editing_the_workflow_during_a_wait_neither_replays_nor_skips(db: Database) -> None:
    """The step remembers its delay action: an action added before the delay does not run
    for a ticket already past it, and the actions after the delay still run."""
    desk = await Desk.create(db, received=False, closed=False)
    ids = await _vip_workflow(desk, delay_in_yes=True)
    vip = await _ticket_from(desk, "boss@vip.example")

    def insert_before(repo: Any) -> None:
        early = _add(repo, ADD_NOTE, into=(ids["branch"], "yes"), message="Added later")
        admin.move_action(repo, _admin(repo), early, 1)

    await db.run(insert_before)
    await _overdue(db)
    await desk.drain()
    assert _notes(await desk.ticket(vip["ticket"]["number"])) == [
        "VIP, an hour on",
        "After the branch",
    ]


async def test_deleting_the_delay_during_a_wait_stops_the_run_and_says_so(db: Database) -> None:
    desk = await Desk.create(db, received=False, closed=False)
    ids = await _vip_workflow(desk, delay_in_yes=True)
    vip = await _ticket_from(desk, "boss@vip.example")
    await db.run(
        lambda repo: admin.delete_action(repo, _admin(repo), ids["delay"], and_following=False)
    )
    await _overdue(db)
    await desk.drain()
    detail = await desk.ticket(vip["ticket"]["number"])
    resumed = next(e for e in detail["timeline"] if e["type"] == "resumed")
    assert "delay step was deleted" in resumed["summary"]
    assert _notes(detail) == []


async def test_a_step_stored_before_branches_resumes_by_position(db: Database) -> None:
    """Steps written by the previous version carry only a top-level position (migration 0006
    leaves after_action_id empty): they go on from that position."""
    desk = await Desk.create(db, received=False, closed=False)

    def build(repo: Any) -> None:
        _add(repo, DELAY, value="30m")
        _add(repo, ADD_NOTE, message="From the old position")

    await db.run(build)
    vip = await _ticket_from(desk, "old@elsewhere.example")
    await db.run(
        lambda repo: repo.session.execute(text("UPDATE scheduled_steps SET after_action_id = NULL"))
    )
    await _overdue(db)
    await desk.drain()
    assert _notes(await desk.ticket(vip["ticket"]["number"])) == ["From the old position"]


async def test_the_editor_keeps_the_tree_whole(db: Database) -> None:
    """R-A6 on branches: clone copies both paths, delete takes the paths along, delete
    following stays in its path, move goes into and out of a path; the flow reads back nested."""
    desk = await Desk.create(db, received=False, closed=False)
    ids = await _vip_workflow(desk, delay_in_yes=True)

    def edit(repo: Any) -> dict[str, Any]:
        me = _admin(repo)
        copy = admin.clone_action(repo, me, ids["branch"])
        gone_following = admin.delete_action(repo, me, ids["delay"], and_following=True)
        admin.move_action_into(repo, me, ids["after"], (ids["branch"], "no"), 1)
        admin.move_action_into(repo, me, ids["no_note"], None)
        gone_copy = admin.delete_action(repo, me, copy.id, and_following=False)
        workflow = repo.workflow_action(ids["branch"]).workflow
        return {
            "following": gone_following,
            "copy": gone_copy,
            "row": queries.workflow_row(repo.session, workflow),
        }

    result = await db.run(edit)
    assert result["following"] == 2  # the delay and the VIP note after it, not the no path
    assert result["copy"] == 5  # the cloned branch with its four actions (delay was cloned too)
    top = result["row"]["actions"]
    assert [a["kind"] for a in top] == [BRANCH, ADD_NOTE]
    assert top[1]["description"] == "Add note “Regular customer”"
    paths = top[0]["paths"]
    assert [a["description"] for a in paths["yes"]] == ["Set priority to urgent"]
    assert [a["description"] for a in paths["no"]] == ["Add note “After the branch”"]
    assert [a["position"] for a in top] == [0, 1]


async def test_the_editor_refuses_what_cannot_work(db: Database) -> None:
    desk = await Desk.create(db, received=False, closed=False)
    ids = await _vip_workflow(desk)

    def attempt(repo: Any, what: str) -> None:
        me = _admin(repo)
        if what == "no condition":
            _add(repo, BRANCH)
        elif what == "bad condition":
            _add(repo, BRANCH, condition={"field": "shoe size", "value": 9})
        elif what == "into a note":
            _add(repo, ADD_NOTE, into=(ids["after"], "yes"), message="x")
        elif what == "bad path":
            _add(repo, ADD_NOTE, into=(ids["branch"], "maybe"), message="x")
        elif what == "into itself":
            admin.move_action_into(repo, me, ids["branch"], (ids["branch"], "yes"))
        elif what == "unbranch with paths":
            admin.edit_action(repo, me, ids["branch"], kind=ADD_NOTE, message="x")
        elif what == "too deep":
            parent = ids["branch"]
            for _ in range(admin.MAX_NESTING):
                parent = _add(repo, BRANCH, into=(parent, "yes"), condition=VIP)

    expected = {
        "no condition": "needs its condition",
        "bad condition": "field must be one of",
        "into a note": "is not a branch",
        "bad path": "yes and no",
        "into itself": "its own branch",
        "unbranch with paths": r"still holds 2 action\(s\)",
        "too deep": f"at most {admin.MAX_NESTING} deep",
    }
    for what, message in expected.items():
        with pytest.raises(SettingsError, match=message):
            await db.run(lambda repo, what=what: attempt(repo, what))


async def test_a_cloned_workflow_copies_its_branches(db: Database) -> None:
    """R-A7 clone: the copy has the same tree, with its own action ids."""
    desk = await Desk.create(db, received=False, closed=False)
    ids = await _vip_workflow(desk, delay_in_yes=True)

    def clone(repo: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        original = repo.workflow_action(ids["branch"]).workflow
        copy = admin.clone_workflow(repo, _admin(repo), original.id)
        return (
            queries.workflow_row(repo.session, original),
            queries.workflow_row(repo.session, copy),
        )

    original, copy = await db.run(clone)

    def shape(actions: list[dict[str, Any]]) -> list[Any]:
        return [
            (a["description"], {k: shape(v) for k, v in a.get("paths", {}).items()})
            for a in actions
        ]

    assert shape(copy["actions"]) == shape(original["actions"])
    assert copy["actions"][0]["paths"]["yes"][0]["id"] != ids["urgent"]
    assert copy["actions"][0]["config"] == {"if": VIP}
