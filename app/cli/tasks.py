"""A person's tasks (the app's task list, `T`): `tasks` lists yours, `task done ID` ticks one."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from app.cli import output
from app.cli.output import clean
from app.cli.shared import act, opened
from app.cli.tables import Col, print_table
from automation import services
from runtime.identity import current_user
from storage import views


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tasks", help="your open tasks, soonest due first")
    p.add_argument("--done", action="store_true", help="your done tasks instead")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tasks)
    task = sub.add_parser("task", help="one task: mark it done")
    tsub = task.add_subparsers(dest="task_command", metavar="ACTION", required=True)
    p = tsub.add_parser("done", help="mark a task done (its ticket's timeline says who)")
    p.add_argument("task_id", type=int, metavar="ID")
    p.set_defaults(func=cmd_task_done)


async def cmd_tasks(args: argparse.Namespace) -> int:
    async with opened(args) as desk:
        me = await desk.read(lambda repo: current_user(repo, args.as_user).id)
        rows = await desk.query(lambda s: views.tasks_for(s, me, done=args.done))
    if args.json:
        output.dump({"version": 1, "tasks": [_as_json(row) for row in rows]})
        return 0
    if not rows:
        print("No done tasks." if args.done else "No open tasks.")
        return 0
    print_table(
        (
            Col("ID", right=True, fixed=True),
            Col("Due", fixed=True),
            Col("Ticket", right=True, fixed=True),
            Col("Task"),
            Col("Subject"),
        ),
        [
            [
                str(row["id"]),
                _iso(row["due_at"])[:16].replace("T", " "),
                f"#{row['ticket']}",
                clean(row["title"]),
                clean(row["subject"]),
            ]
            for row in rows
        ],
    )
    return 0


async def cmd_task_done(args: argparse.Namespace) -> int:
    await act(args, lambda repo, user: services.complete_task(repo, user, args.task_id))
    print(f"Task {args.task_id} done")
    return 0


def _as_json(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "due_at": _iso(row["due_at"]), "done_at": _iso(row["done_at"]) or None}


def _iso(value: datetime | str | None) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value or "")
