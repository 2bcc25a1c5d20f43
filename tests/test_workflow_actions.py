"""More status actions (SPEC R-A5): set a property, add a note, rotate the owner in a team.

Each runs with its workflow as the actor and the enrollment as the cause; each fails alone
(R-A9): a broken one is marked failed and the others, and the ticket change, stand.
"""

from __future__ import annotations

from typing import Any

from automation import admin
from automation.actions import ADD_NOTE, ROTATE_OWNER, SET_PROPERTY
from storage.database import Database
from tests.helpers import Desk, make_mail


async def _add(desk: Desk, status: str, kind: str, config: dict[str, Any]) -> int:
    def add(repo: Any) -> int:
        status_row = admin.status_in(repo, admin.pipeline_or_default(repo, None), status)
        return repo.add_workflow_action(admin.status_workflow(repo, status_row), kind, config).id

    return await desk.db.run(add)


async def _new_ticket(desk: Desk, n: int) -> int:
    raw, _ = make_mail(sender=f"person{n}@customer.example", subject=f"Problem {n}")
    await desk.receive(raw)
    return max(t["number"] for t in await desk.tickets())


def _events(detail: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in detail["timeline"] if e["type"] == kind]


async def test_set_priority_runs_as_the_workflow_and_names_its_cause(db: Database) -> None:
    """R-A5: "set a property" on New; the change is on the timeline, its cause the enrollment."""
    desk = await Desk.create(db, received=False, closed=False)
    await _add(desk, "New", SET_PROPERTY, {"property": "priority", "value": "high"})
    number = await _new_ticket(desk, 1)
    detail = await desk.ticket(number)
    assert detail["ticket"]["priority"] == "high"
    change = _events(detail, "property_changed")[0]
    assert change["actor"]["kind"] == "workflow"
    assert change["summary"] == "Priority: normal → high"
    enrolled = _events(detail, "enrolled")[0]
    assert change["cause"] == enrolled["id"]


async def test_a_broken_action_fails_alone(db: Database) -> None:
    """R-A9: a bad priority fails that action; the ticket exists and the next action ran."""
    desk = await Desk.create(db, received=False, closed=False)
    await _add(desk, "New", SET_PROPERTY, {"property": "priority", "value": "blazing"})
    await _add(desk, "New", ADD_NOTE, {"body": "Check the contract first."})
    number = await _new_ticket(desk, 1)
    detail = await desk.ticket(number)
    failed = _events(detail, "action_failed")
    assert len(failed) == 1 and "blazing" in failed[0]["summary"]
    notes = _events(detail, "note")
    assert [n["data"]["body"] for n in notes] == ["Check the contract first."]
    assert notes[0]["actor"]["kind"] == "workflow"
    assert await desk.outbox() == []  # a note is never mailed


async def test_set_owner_and_subject(db: Database) -> None:
    desk = await Desk.create(db, received=False, closed=False)
    rita_id = await db.run(lambda repo: repo.user_by_name("rita").id)
    await _add(desk, "New", SET_PROPERTY, {"property": "owner", "value": rita_id})
    await _add(desk, "New", SET_PROPERTY, {"property": "subject", "value": "  Triage:  urgent "})
    number = await _new_ticket(desk, 1)
    ticket = (await desk.ticket(number))["ticket"]
    assert (ticket["owner"], ticket["subject"]) == ("rita", "Triage: urgent")


async def test_rotate_owner_round_robin_skips_away_users_and_survives_a_restart(
    db: Database, db_url: str
) -> None:
    """R-A5: owners rotate through the team in order, skipping users marked away; the turn is
    stored, so a new process goes on with the next member."""

    def team(repo: Any) -> int:
        names = ["ann", "ben", "cat"]
        users = [
            repo.add_user(n, display_name=n.title(), email=f"{n}@help.example", is_admin=False)
            for n in names
        ]
        users[1].away = True  # ben is on holiday
        return repo.add_team("Rota", users).id

    desk = await Desk.create(db, received=False, closed=False)
    team_id = await db.run(team)
    await _add(desk, "New", ROTATE_OWNER, {"team_id": team_id})
    owners = []
    for n in range(3):
        owners.append((await desk.ticket(await _new_ticket(desk, n)))["ticket"]["owner"])
    assert owners == ["ann", "cat", "ann"]

    again = Desk(Database(db_url))  # another process: the turn comes from the database
    number = await _new_ticket(again, 9)
    assert (await again.ticket(number))["ticket"]["owner"] == "cat"
    await again.db.close()


async def test_rotate_owner_with_everyone_away_is_skipped(db: Database) -> None:
    def team(repo: Any) -> int:
        user = repo.add_user("dan", display_name="Dan", email="dan@help.example", is_admin=False)
        user.away = True
        return repo.add_team("Away team", [user]).id

    desk = await Desk.create(db, received=False, closed=False)
    team_id = await db.run(team)
    await _add(desk, "New", ROTATE_OWNER, {"team_id": team_id})
    detail = await desk.ticket(await _new_ticket(desk, 1))
    assert detail["ticket"]["owner"] is None
    assert "away" in _events(detail, "action_skipped")[0]["summary"]


async def test_admin_checks_the_new_action_kinds(db: Database) -> None:
    """R-A5 through the settings functions: bad values are refused before anything is stored."""
    import pytest

    from automation.admin import SettingsError

    desk = await Desk.create(db, received=False, closed=False)

    def add(**kw: Any) -> Any:
        return desk.admin(
            lambda repo, me: (
                admin.add_action(repo, me, pipeline_name=None, status_label="New", **kw).config
            )
        )

    assert await add(kind=SET_PROPERTY, property_name="priority", value="urgent") == {
        "property": "priority",
        "value": "urgent",
    }
    for bad, match in (
        ({"property_name": "priority", "value": "soon"}, "priority must be"),
        ({"property_name": "owner", "value": "nobody-here"}, "no user"),
        ({"property_name": "colour", "value": "red"}, "property must be"),
    ):
        with pytest.raises(SettingsError, match=match):
            await add(kind=SET_PROPERTY, **bad)
    with pytest.raises(SettingsError, match="needs its text"):
        await add(kind=ADD_NOTE, message="  ")
    with pytest.raises(SettingsError, match="no team"):
        await add(kind=ROTATE_OWNER, target_name="Nobody")
    assert await add(kind=ADD_NOTE, message=" Call back ") == {"body": "Call back"}
    with pytest.raises(SettingsError, match="only admins"):
        await desk.as_user(
            "rita",
            lambda repo, me: admin.add_action(
                repo, me, pipeline_name=None, status_label="New", kind=ADD_NOTE, message="x"
            ),
        )


async def test_create_task_for_the_owner_and_complete_it(db: Database) -> None:
    """R-A5: a follow-up task for the owner, due after a duration; a person marks it done and
    the timeline says who."""
    from automation import services
    from automation.actions import CREATE_TASK
    from automation.schedule import parse_delay
    from storage import views

    desk = await Desk.create(db, received=False, closed=False)
    rita_id = await db.run(lambda repo: repo.user_by_name("rita").id)
    await _add(desk, "New", SET_PROPERTY, {"property": "owner", "value": rita_id})
    await _add(
        desk,
        "New",
        CREATE_TASK,
        {"title": "Call the customer", "due": parse_delay("2h"), "assignee": "owner"},
    )
    number = await _new_ticket(desk, 1)
    tasks = await db.query(lambda s: views.tasks_for(s, rita_id))
    assert [(t["title"], t["ticket"]) for t in tasks] == [("Call the customer", number)]
    created = _events(await desk.ticket(number), "task_created")[0]
    assert "for rita" in created["summary"] and created["actor"]["kind"] == "workflow"
    task_id = tasks[0]["id"]
    await desk.as_user("rita", lambda repo, me: services.complete_task(repo, me, task_id))
    assert await db.query(lambda s: views.tasks_for(s, rita_id)) == []
    done = _events(await desk.ticket(number), "task_done")[0]
    assert done["actor"]["name"] == "rita"


async def test_move_to_another_pipeline_runs_that_status_actions(db: Database) -> None:
    """R-A5 "move the ticket to another pipeline's status": the ticket changes pipeline; the
    target status's actions run (R-A1); the move is caused by the workflow."""
    from automation.actions import MOVE_TICKET

    desk = await Desk.create(db, received=False, closed=False)
    await desk.admin(lambda repo, me: admin.add_pipeline(repo, me, "Billing"))
    await desk.admin(
        lambda repo, me: admin.add_action(
            repo,
            me,
            pipeline_name=None,
            status_label="New",
            kind=MOVE_TICKET,
            target_name="Billing",
            value="Waiting on us",
        )
    )
    await desk.admin(
        lambda repo, me: admin.add_action(
            repo,
            me,
            pipeline_name="Billing",
            status_label="Waiting on us",
            kind=ADD_NOTE,
            message="Arrived in Billing",
        )
    )
    number = await _new_ticket(desk, 1)
    detail = await desk.ticket(number)
    assert (detail["ticket"]["pipeline"], detail["ticket"]["status"]) == (
        "Billing",
        "Waiting on us",
    )
    assert [e["data"]["body"] for e in _events(detail, "note")] == ["Arrived in Billing"]
    assert not _events(detail, "trigger_fired")  # a workflow's move fires no trigger (R-T8)


async def test_a_self_cloning_workflow_stops_at_the_depth_cap(db: Database) -> None:
    """R-T8: a workflow on New that clones the ticket into New would loop forever; each clone
    is one level deeper, so the chain stops at depth 10 and the timeline says so."""
    from automation.actions import CLONE_TICKET
    from automation.events import MAX_DEPTH

    desk = await Desk.create(db, received=False, closed=False)
    await desk.admin(
        lambda repo, me: admin.add_action(
            repo, me, pipeline_name=None, status_label="New", kind=CLONE_TICKET
        )
    )
    await _new_ticket(desk, 1)
    tickets = await desk.tickets()
    assert len(tickets) == 1 + MAX_DEPTH
    last = await desk.ticket(max(t["number"] for t in tickets))
    assert _events(last, "depth_cap")
    first = await desk.ticket(min(t["number"] for t in tickets))
    assert "cloned as #" in _events(first, "action_ran")[0]["summary"]
