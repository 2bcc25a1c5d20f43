"""Create a follow-up task for the ticket owner or a named user, due after a duration or at a
weekday and hour; listed per user in the app (SPEC R-A5)."""

from __future__ import annotations

import argparse
from typing import Any

from automation.action_kinds.base import (
    ActionFailed,
    ActionFields,
    ActionKind,
    CliFlags,
    CliOption,
    SettingsError,
    Step,
)
from automation.action_kinds.form import USERS, Choice, Duration, Pick, Text
from automation.events import Timeline
from automation.ports import AdminRepository, Repository
from automation.schedule import DelayError, describe_due, due_time, parse_delay

CREATE_TASK = "create_task"


def _config(repo: AdminRepository, fields: ActionFields) -> dict[str, Any]:
    """A title, a due time (like a delay), for the owner or a user."""
    title, due, assignee = fields.get("message"), fields.get("value"), fields.get("target_name")
    if not (title or "").strip():
        raise SettingsError("a task needs a title (--message)")
    try:
        due_config = parse_delay(due or "0s")
    except DelayError as exc:
        raise SettingsError(str(exc)) from exc
    config: dict[str, Any] = {"title": " ".join((title or "").split()), "due": due_config}
    if assignee in (None, "", "owner"):
        config["assignee"] = "owner"
    else:
        user = repo.user_by_name(assignee)
        if user is None:
            raise SettingsError(f"no user {assignee!r}")
        config["assignee"] = user.id
    return config


def _describe(repo: Repository, config: dict[str, Any]) -> str:
    due = describe_due(config.get("due") or {"seconds": 0})
    return f"Create task “{config.get('title') or 'Follow up'}” ({due})"


def _run(step: Step) -> str:
    repo, ticket, config = step.repo, step.ticket, step.config
    if config.get("assignee", "owner") == "owner":
        user = ticket.owner
    else:
        user = repo.user(config.get("assignee"))
        if user is None:
            raise ActionFailed("its user no longer exists")
    due = due_time(config.get("due") or {"seconds": 0}, repo.now())
    title = str(config.get("title") or "Follow up")
    task_id = repo.add_task(
        ticket_id=ticket.id,
        user_id=user.id if user else None,
        title=title,
        due_at=due,
        workflow_id=step.action.workflow_id,
    )
    who = user.name if user else "nobody (the ticket has no owner)"
    repo.add_timeline(
        Timeline.TASK_CREATED,
        step.actor,
        ticket_id=ticket.id,
        cause_id=step.cause_id,
        summary=f"Task “{title}” for {who}, due {due:%Y-%m-%d %H:%M} UTC",
        data={"task_id": task_id, "user": user.name if user else None, "due_at": due.isoformat()},
    )
    return f"task for {who}"


def _from_args(value: str, args: argparse.Namespace) -> ActionFields:
    return {"message": value, "value": args.due, "target_name": args.task_for}


KIND = ActionKind(
    id=CREATE_TASK,
    order=70,
    choices=(
        Choice(
            "task",
            "Create a follow-up task",
            said=lambda fields: f"create task “{fields['message']}”",
            questions=(
                Text("message", "Task title"),
                Duration("value", "Due in? 2 hours, 1 day, monday 9 or tomorrow 9", default="1d"),
                Pick(
                    "target_name",
                    "For whom?",
                    source=USERS,
                    first=(("The ticket owner", "owner"),),
                ),
            ),
        ),
    ),
    config=_config,
    describe=_describe,
    run=_run,
    cli=CliFlags(
        CliOption(
            ("--task",),
            {"metavar": "TITLE", "help": "create a follow-up task (see --due, --for)"},
        ),
        fields=_from_args,
        extras=(
            CliOption(
                ("--due",),
                {
                    "metavar": "WHEN",
                    "help": 'with --task: due after 2h, 1d… or at "mon 9" (default: now)',
                },
            ),
            CliOption(
                ("--for",),
                {
                    "dest": "task_for",
                    "metavar": "WHO",
                    "help": "with --task: owner (default) or a user name",
                },
            ),
        ),
    ),
)
