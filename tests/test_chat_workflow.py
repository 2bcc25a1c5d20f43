"""The issue's walk-through: a workflow "source is Chat → set priority high, notify the team,
wait 1 hour, add a task" runs on a chat conversation, across a restart during the wait."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from automation import admin
from automation.actions import CREATE_TASK, DELAY, NOTIFY, SET_PROPERTY
from automation.schedule import parse_delay
from storage import views
from storage.database import Database
from storage.models import ScheduledStep
from tests.helpers import Desk, make_mail


def _build(repo: Any, me: Any) -> None:
    rota = [
        repo.add_user(n, display_name=n.title(), email=f"{n}@help.example", is_admin=False)
        for n in ("ann", "ben")
    ]
    team = repo.add_team("Chat desk", rota)
    status = admin.status_in(repo, admin.pipeline_or_default(repo, None), "New")
    clone = admin.clone_workflow(repo, me, admin.status_workflow(repo, status).id)
    admin.set_workflow(
        repo,
        me,
        clone.id,
        enabled=True,
        sources=["chat"],
        conditions={"all": [{"field": "source", "op": "is", "value": "chat"}]},
    )
    for kind, config in (
        (SET_PROPERTY, {"property": "priority", "value": "high"}),
        (NOTIFY, {"to": "team", "team_id": team.id}),
        (DELAY, parse_delay("1h")),
        (
            CREATE_TASK,
            {"title": "Chat follow-up", "due": parse_delay("0s"), "assignee": rota[0].id},
        ),
    ):
        repo.add_workflow_action(clone, kind, config)


@pytest.mark.sqlite_only
async def test_chat_workflow_runs_across_a_restart_during_the_wait(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/desk.db"
    desk = await Desk.create(Database(url), received=False, closed=False, chat=True)
    await desk.admin(_build)
    await desk.receive(make_mail(subject="Hello from chat", sender="v@visitor.example")[0], "chat")
    await desk.receive(make_mail(subject="By email", sender="e@mail.example")[0])
    chat = next(t for t in await desk.tickets() if t["source"] == "chat")
    email = next(t for t in await desk.tickets() if t["source"] == "email")
    first = await desk.ticket(chat["number"])
    assert first["ticket"]["priority"] == "high"
    assert "waiting" in [e["type"] for e in first["timeline"]]
    assert "task_created" not in [e["type"] for e in first["timeline"]]
    notified = {to for o in await desk.outbox() if o["kind"] != "reply" for to in o["to"]}
    assert {"ann@help.example", "ben@help.example"} <= notified
    assert (await desk.ticket(email["number"]))["ticket"]["priority"] == "normal"
    await desk.db.close()  # Deskline stops during the wait

    # An hour passes while it is down (the step's due time moves into the past).
    def an_hour_later(repo: Any) -> None:
        for step in repo.session.query(ScheduledStep):
            step.due_at = step.due_at - timedelta(hours=1, minutes=5)

    db = Database(url)
    await db.run(an_hour_later)
    await Desk(db).drain()  # a new process starts
    after = await Desk(db).ticket(chat["number"])
    types = [e["type"] for e in after["timeline"]]
    assert types.index("resumed") < types.index("task_created")
    assert "late by" in next(e for e in after["timeline"] if e["type"] == "resumed")["summary"]
    ann = await db.run(lambda repo: repo.user_by_name("ann").id)
    tasks = await db.query(lambda s: views.tasks_for(s, ann))
    assert [(t["title"], t["ticket"]) for t in tasks] == [("Chat follow-up", chat["number"])]
    await db.close()
