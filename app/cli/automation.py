"""Ticket automation of a pipeline: `automation show|set|limits|branding`, `automation action`
(the actions menu, see app.cli.actions) and `automation workflow clone|set|delete`."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli import output
from app.cli.actions import register_menu
from app.cli.as_code import register_as_code
from app.cli.errors import UserError
from app.cli.shared import ON_OFF, act, on_off, opened
from app.cli.workflows import cmd_workflow_clone, cmd_workflow_delete
from automation import admin
from automation.admin import TRIGGER_KINDS
from automation.admin.limits import (
    max_message_mb,
    set_max_message_mb,
    set_max_send_bytes,
)
from automation.outbound import max_send_bytes, old_mail_hours
from automation.web_channel_settings import WEB_LIMITS, set_web_limit, web_limits
from storage import queries
from storage.repository import SqlRepository


def register(sub: argparse._SubParsersAction) -> None:
    auto = sub.add_parser("automation", help="ticket status triggers and status actions")
    asub = auto.add_subparsers(dest="automation_command", metavar="ACTION", required=True)
    p = asub.add_parser("show", help="triggers and status actions of a pipeline")
    p.add_argument("--pipeline")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_automation_show)

    p = asub.add_parser("set", help="switch a trigger on or off, or change its target status")
    p.add_argument("trigger", choices=sorted(TRIGGER_KINDS))
    p.add_argument("state", nargs="?", choices=ON_OFF)
    p.add_argument("--target", metavar="STATUS", help="target status (must be an open status)")
    p.add_argument("--pipeline")
    p.set_defaults(func=cmd_automation_set)

    p = asub.add_parser("limits", help="loop protection: automated email per ticket/recipient")
    p.add_argument("--per-ticket", metavar="N/MIN,...", help="e.g. 10/10,15/30,25/60,50/180")
    p.add_argument("--per-recipient", metavar="N/MIN,...", help="across all tickets")
    p.add_argument(
        "--undo-seconds",
        type=int,
        metavar="N",
        help="how long a person's change can be undone, its email waiting (default 10; 0: off)",
    )
    p.add_argument(
        "--old-mail-hours",
        type=int,
        metavar="N",
        help="hold the email caused by mail older than N hours when it arrives (default 24)",
    )
    p.add_argument(
        "--max-message-mb",
        type=float,
        metavar="MB",
        help="a bigger message is not stored by import or IMAP: it goes to `deskline failed` "
        "with its size (default 50)",
    )
    p.add_argument(
        "--max-send-bytes",
        type=int,
        metavar="N",
        help="the largest email a person sends, attachments included, once encoded: a bigger "
        "one is refused before it is queued (default 20000000)",
    )
    for limit in WEB_LIMITS:  # SPEC C5: the web's chat and form limits
        p.add_argument(
            "--" + limit.key.replace("_", "-"),
            type=int,
            metavar="N",
            help=f"chat and forms on the web: {limit.says} (default {limit.default:,})",
        )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_limits)

    p = asub.add_parser("branding", help="the Deskline line at the end of automated email")
    p.add_argument("state", choices=ON_OFF)
    p.set_defaults(func=cmd_branding)
    register_as_code(asub)

    action = asub.add_parser(
        "action",
        help="status actions: add, list, edit, comment, clone, move, delete, retry",
        description="The actions of a status's workflow and their actions menu. "
        "`deskline workflow action ...` is the same with workflow ids.",
    )
    xsub = action.add_subparsers(dest="action_command", metavar="ACTION", required=True)
    register_menu(xsub, by_workflow=False)
    p = xsub.add_parser("list", help="list status actions")
    p.add_argument("--pipeline")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_action_list)

    wf = asub.add_parser(
        "workflow",
        help="clone, change or delete a status workflow (see also `deskline workflow`)",
    )
    wsub = wf.add_subparsers(dest="workflow_command", metavar="ACTION", required=True)
    p = wsub.add_parser("clone", help="clone a workflow (the clone starts off)")
    p.add_argument("workflow_id", type=int)
    p.set_defaults(func=cmd_workflow_clone)
    p = wsub.add_parser("set", help="switch a workflow, or re-enrollment of a clone")
    p.add_argument("workflow_id", type=int)
    p.add_argument("--enabled", choices=ON_OFF)
    p.add_argument("--reenroll", choices=ON_OFF)
    p.add_argument("--sources", help="comma list, e.g. chat,messenger (clones only)")
    p.set_defaults(func=cmd_workflow_set)
    p = wsub.add_parser("delete", help="delete a workflow")
    p.add_argument("workflow_id", type=int)
    p.set_defaults(func=cmd_workflow_delete)


async def _automation_view(args: argparse.Namespace) -> dict[str, Any]:
    async with opened(args) as desk:
        return await desk.read(
            lambda repo: queries.automation_view(
                repo.session, admin.pipeline_or_default(repo, args.pipeline)
            )
        )


async def cmd_automation_show(args: argparse.Namespace) -> int:
    output.print_automation(await _automation_view(args), as_json=args.json)
    return 0


async def cmd_automation_set(args: argparse.Namespace) -> int:
    if args.state is None and args.target is None:
        raise UserError("say on, off or --target STATUS")

    def change(repo: SqlRepository, user: Any) -> str:
        trigger = admin.set_trigger(
            repo,
            user,
            args.pipeline,
            args.trigger,
            enabled=on_off(args.state),
            target_label=args.target,
        )
        target = trigger.target_status.label if trigger.target_status else "(broken)"
        return f"Trigger {args.trigger}: {'on' if trigger.enabled else 'off'}, target {target}"

    print(await act(args, change))
    return 0


async def cmd_limits(args: argparse.Namespace) -> int:
    changes = (
        args.per_ticket,
        args.per_recipient,
        args.undo_seconds,
        args.old_mail_hours,
        args.max_message_mb,
        args.max_send_bytes,
        *(getattr(args, limit.key) for limit in WEB_LIMITS),
    )
    if any(x is not None for x in changes):
        await act(args, lambda repo, user: _set_limits(repo, user, args))
    async with opened(args) as desk:
        limits = await desk.read(admin.loop_limits)
        hours = await desk.read(old_mail_hours)
        megabytes = await desk.read(max_message_mb)
        undo_seconds = await desk.read(admin.undo_window)
        send_bytes = await desk.read(max_send_bytes)
        web = await desk.read(web_limits)
    if args.json:
        output.dump(
            {
                "version": 1,
                **limits,
                "undo_seconds": undo_seconds,
                "old_mail_hours": hours,
                "max_message_mb": megabytes,
                "max_send_bytes": send_bytes,
                **web,
            }
        )
        return 0
    for scope, rows in limits.items():
        text = ", ".join(f"{count} in {minutes} min" for count, minutes in rows)
        print(f"{scope.replace('_', ' ')}: {text}")
    print(f"undo window: {undo_seconds} s (a person's change, and its email waits as long)")
    print(f"old mail: the email caused by mail over {hours} hours old when it arrives is held")
    print(f"largest message stored: {megabytes:g} MB (a bigger one goes to `deskline failed`)")
    print(f"largest email sent: {send_bytes:,} bytes encoded, attachments included")
    for limit in WEB_LIMITS:
        print(f"web: {web[limit.key]:,} {limit.says}")
    return 0


def _set_limits(repo: SqlRepository, user: Any, args: argparse.Namespace) -> None:
    if args.per_ticket is not None or args.per_recipient is not None:
        admin.set_loop_limits(
            repo, user, per_ticket=args.per_ticket, per_recipient=args.per_recipient
        )
    if args.undo_seconds is not None:
        admin.set_undo_seconds(repo, user, args.undo_seconds)
    if args.old_mail_hours is not None:
        admin.set_old_mail_hours(repo, user, args.old_mail_hours)
    if args.max_message_mb is not None:
        set_max_message_mb(repo, user, args.max_message_mb)
    if args.max_send_bytes is not None:
        set_max_send_bytes(repo, user, args.max_send_bytes)
    for limit in WEB_LIMITS:
        if getattr(args, limit.key) is not None:
            set_web_limit(repo, user, limit.key, getattr(args, limit.key))


async def cmd_branding(args: argparse.Namespace) -> int:
    def change(repo: SqlRepository, user: Any) -> None:
        admin.require_admin(user)
        repo.set_setting("branding", args.state == "on")

    await act(args, change)
    print(f"Branding line on automated email: {args.state}")
    return 0


async def cmd_action_list(args: argparse.Namespace) -> int:
    view = await _automation_view(args)
    output.print_actions(view, as_json=args.json)
    return 0


async def cmd_workflow_set(args: argparse.Namespace) -> int:
    sources = [s.strip() for s in args.sources.split(",") if s.strip()] if args.sources else None
    await act(
        args,
        lambda repo, user: admin.set_workflow(
            repo,
            user,
            args.workflow_id,
            enabled=on_off(args.enabled),
            reenroll=on_off(args.reenroll),
            sources=sources,
        ),
    )
    print(f"Workflow {args.workflow_id} updated")
    return 0
