"""What an action does, as flags of `action add` / `action edit` (both menus) and as the keywords
of automation.admin's add_action / edit_action. The flags and their reading stay together here."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli.shared import condition_json
from app.errors import UserError
from automation.actions import (
    ADD_NOTE,
    BRANCH,
    CLONE_TICKET,
    CREATE_TASK,
    DELAY,
    MOVE_TICKET,
    NOTIFY,
    ROTATE_OWNER,
    SEND_EMAIL,
    SET_PROPERTY,
)


def add_kind_flags(p: argparse.ArgumentParser) -> None:
    """What an action does: exactly one of these (R-A2, R-A4, R-A5)."""
    what = p.add_argument_group("what the action does (exactly one)")
    kind = what.add_mutually_exclusive_group(required=True)
    kind.add_argument("--send-email", metavar="TEMPLATE", help="email the contact (R-A2)")
    kind.add_argument(
        "--notify",
        metavar="WHO",
        help="internal notification (R-A4): owner, user:NAME or team:NAME",
    )
    kind.add_argument(
        "--set",
        metavar="PROPERTY=VALUE",
        help="set a property: priority=low|normal|high|urgent, owner=NAME (owner= for "
        "nobody), subject=TEXT",
    )
    kind.add_argument("--note", metavar="TEXT", help="add an internal note to the ticket")
    kind.add_argument(
        "--rotate-owner", metavar="TEAM", help="rotate the owner within a team (skips away users)"
    )
    kind.add_argument(
        "--delay",
        metavar="WHEN",
        help="wait, then run the rest: a duration (30m, 1h30m, 2d) or a weekday and hour "
        '("mon 9", "friday 17 Europe/Berlin")',
    )
    kind.add_argument(
        "--task",
        metavar="TITLE",
        help="create a follow-up task (see --due, --for)",
    )
    kind.add_argument(
        "--move-to",
        metavar="STATUS",
        help="move the ticket to this status (of --target-pipeline, default: the first pipeline)",
    )
    kind.add_argument(
        "--if",
        dest="branch_if",
        metavar="JSON",
        help="branch on a condition (R-A5): the ticket takes the yes path if it matches, else "
        "the no path, then goes on after the branch (the condition as in `deskline workflow "
        "condition`)",
    )
    kind.add_argument(
        "--clone-ticket",
        metavar="STATUS",
        nargs="?",
        const="",
        help="clone the ticket into STATUS of --target-pipeline (default: the first status "
        "of its pipeline)",
    )
    what.add_argument(
        "--message", help="with --notify: the notification text (default: the ticket and status)"
    )
    what.add_argument(
        "--due", metavar="WHEN", help='with --task: due after 2h, 1d… or at "mon 9" (default: now)'
    )
    what.add_argument(
        "--for", dest="task_for", metavar="WHO", help="with --task: owner (default) or a user name"
    )
    what.add_argument(
        "--target-pipeline", metavar="P", help="with --move-to or --clone-ticket: the pipeline"
    )


def action_target(args: argparse.Namespace) -> dict[str, Any]:
    """What an `action add` / `action edit` asks for, as admin.add_action's keywords."""
    if args.notify:
        to, _, target = args.notify.partition(":")
        return {"kind": NOTIFY, "to": to, "target_name": target or None, "message": args.message}
    if getattr(args, "set", None):
        name, sep, value = args.set.partition("=")
        if not sep:
            raise UserError("--set is PROPERTY=VALUE, e.g. priority=high, owner=rita, subject=…")
        return {"kind": SET_PROPERTY, "property_name": name.strip(), "value": value.strip()}
    if getattr(args, "note", None) is not None:
        return {"kind": ADD_NOTE, "message": args.note}
    if getattr(args, "rotate_owner", None):
        return {"kind": ROTATE_OWNER, "target_name": args.rotate_owner}
    if getattr(args, "delay", None):
        return {"kind": DELAY, "value": args.delay}
    if getattr(args, "task", None) is not None:
        return {
            "kind": CREATE_TASK,
            "message": args.task,
            "value": args.due,
            "target_name": args.task_for,
        }
    if getattr(args, "move_to", None):
        return {"kind": MOVE_TICKET, "value": args.move_to, "target_name": args.target_pipeline}
    if getattr(args, "branch_if", None) is not None:
        return {"kind": BRANCH, "condition": condition_json(args.branch_if, flag="--if")}
    if getattr(args, "clone_ticket", None) is not None:
        return {
            "kind": CLONE_TICKET,
            "value": args.clone_ticket or None,
            "target_name": args.target_pipeline,
        }
    return {"kind": SEND_EMAIL, "template_name": args.send_email}
