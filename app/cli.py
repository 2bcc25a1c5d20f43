"""The `deskline` command line. Every command is a thin call into `automation/` or `storage/`.

Errors a user can cause (unknown ticket, bad URL, locked database, bad mail) print one line on
stderr and exit non-zero; nothing already stored is lost.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from app import commands
from app.errors import UserError, run_command
from automation.admin import CHANNEL_KINDS, TRIGGER_KINDS
from storage.database import default_database_url

ON_OFF = ("on", "off")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deskline",
        description="A help desk that lives in the terminal. Without a command it opens the app "
        "(inbox, board, settings) on the database; the commands below script everything.",
        epilog="Database: --db URL, else $DESKLINE_DB, else a file in your data directory. "
        "URLs: a file path, sqlite:///PATH or postgresql://user@host/db.",
    )
    parser.add_argument("--db", metavar="URL", help="database URL or SQLite file path")
    parser.add_argument(
        "--as",
        dest="as_user",
        metavar="USER",
        help="act as this Deskline user (default: "
        "$DESKLINE_USER, else your login name if it is a user, else the first admin)",
    )
    parser.add_argument(
        "--no-mail", action="store_true", help="the app neither fetches nor sends mail"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("init", help="create or upgrade the database and its defaults (safe twice)")
    p.add_argument("--admin", default="admin", help="name of the admin user to create")
    p.set_defaults(func=commands.cmd_init)

    p = sub.add_parser("app", help="open the terminal app (the same as no command)")
    p.add_argument(
        "--no-mail",
        action="store_true",
        default=argparse.SUPPRESS,
        help="do not fetch or send mail from the app",
    )
    p.set_defaults(func=None)

    p = sub.add_parser(
        "demo",
        help="a fresh demo help desk opened in the app; customers write in every few seconds",
    )
    p.add_argument(
        "--path",
        help="where to create the demo database, a new SQLite file (default: a new temp file)",
    )
    p.add_argument(
        "--replace",
        action="store_true",
        help="build the demo over an existing file at --path (its data is lost)",
    )
    p.add_argument(
        "--no-app", action="store_true", help="build the demo and print its tickets instead"
    )
    p.add_argument(
        "--json", action="store_true", help="print the tickets as JSON (implies --no-app)"
    )
    p.add_argument(
        "--feed-seconds",
        type=float,
        default=4.0,
        metavar="S",
        help="seconds between simulated customer emails in the app (0: no feed)",
    )
    p.set_defaults(func=commands.cmd_demo)

    p = sub.add_parser("import", help="import .eml files, Maildir folders or mbox files")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--channel", required=True, help="the channel the mail arrived on")
    p.add_argument(
        "--historical",
        action="store_true",
        help="store and thread only: no trigger, no status action, no email (migrations)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=commands.cmd_import)

    _channel_parser(sub)
    _automation_parser(sub)
    _workflow_parser(sub)
    _template_parser(sub)
    _ticket_parsers(sub)
    _people_parsers(sub)
    for leaf in _leaves(parser):
        _global_options(leaf, argparse.SUPPRESS)
    return parser


def _global_options(parser: argparse.ArgumentParser, default: object = None) -> None:
    """--db and --as work before or after the command (a leaf never overrides with a default)."""
    parser.add_argument(
        "--db", metavar="URL", default=default, help="database URL or SQLite file path"
    )
    parser.add_argument(
        "--as",
        dest="as_user",
        metavar="USER",
        default=default,
        help="act as this Deskline user (default: $DESKLINE_USER, else your login name if it "
        "is a user, else the first admin)",
    )


def _leaves(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found += _leaves(child) or [child]
    return found


def _channel_parser(sub: argparse._SubParsersAction) -> None:
    channel = sub.add_parser("channel", help="email, chat, messenger and form channels")
    csub = channel.add_subparsers(dest="channel_command", metavar="ACTION", required=True)
    p = csub.add_parser("add", help="add a channel")
    p.add_argument("name")
    p.add_argument("--kind", choices=CHANNEL_KINDS, default="email")
    p.add_argument("--address", help="the channel's email address (email channels)")
    p.add_argument("--pipeline", help="pipeline for its tickets (default: the first)")
    p.add_argument("--ticket-automation", choices=ON_OFF)
    p.set_defaults(func=commands.cmd_channel_add)
    p = csub.add_parser("list", help="list channels")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=commands.cmd_channel_list)
    p = csub.add_parser("set", help="change a channel, its IMAP and SMTP servers")
    p.add_argument("name")
    p.add_argument("--address")
    p.add_argument("--pipeline")
    p.add_argument("--ticket-automation", choices=ON_OFF)
    p.add_argument("--bulk-opens-tickets", choices=ON_OFF, help="let bulk/list mail open tickets")
    servers = p.add_argument_group(
        "mail servers (secrets: env:VAR, file:PATH, keyring:S/U, "
        "command:CMD — never the password itself)"
    )
    for side in ("imap", "smtp"):
        servers.add_argument(f"--{side}-host")
        servers.add_argument(f"--{side}-port", type=int)
        servers.add_argument(f"--{side}-tls", choices=("implicit", "starttls", "none"))
        servers.add_argument(f"--{side}-user")
        servers.add_argument(f"--{side}-secret", metavar="REF")
    servers.add_argument("--imap-folder")
    servers.add_argument("--auth", choices=("password", "xoauth2"))
    p.set_defaults(func=commands.cmd_channel_set)
    p = csub.add_parser("test", help="log in to the channel's IMAP and SMTP servers")
    p.add_argument("name")
    p.set_defaults(func=commands.cmd_channel_test)


def _automation_parser(sub: argparse._SubParsersAction) -> None:
    auto = sub.add_parser("automation", help="ticket status triggers and status actions")
    asub = auto.add_subparsers(dest="automation_command", metavar="ACTION", required=True)
    p = asub.add_parser("show", help="triggers and status actions of a pipeline")
    p.add_argument("--pipeline")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=commands.cmd_automation_show)

    p = asub.add_parser("set", help="switch a trigger on or off, or change its target status")
    p.add_argument("trigger", choices=sorted(TRIGGER_KINDS))
    p.add_argument("state", nargs="?", choices=ON_OFF)
    p.add_argument("--target", metavar="STATUS", help="target status (must be an open status)")
    p.add_argument("--pipeline")
    p.set_defaults(func=commands.cmd_automation_set)

    p = asub.add_parser("limits", help="loop protection: automated email per ticket/recipient")
    p.add_argument("--per-ticket", metavar="N/MIN,...", help="e.g. 10/10,15/30,25/60,50/180")
    p.add_argument("--per-recipient", metavar="N/MIN,...", help="across all tickets")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=commands.cmd_limits)

    p = asub.add_parser("branding", help="the Deskline line at the end of automated email")
    p.add_argument("state", choices=ON_OFF)
    p.set_defaults(func=commands.cmd_branding)

    action = asub.add_parser(
        "action",
        help="status actions: add, list, edit, comment, clone, move, delete, retry",
        description="The actions of a status's workflow and their actions menu (R-A6). "
        "`deskline workflow action ...` is the same with workflow ids.",
    )
    xsub = action.add_subparsers(dest="action_command", metavar="ACTION", required=True)
    _action_menu(xsub, by_workflow=False)
    p = xsub.add_parser("list", help="list status actions")
    p.add_argument("--pipeline")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=commands.cmd_action_list)

    wf = asub.add_parser(
        "workflow",
        help="clone, change or delete a status workflow (R-A7; see also `deskline workflow`)",
    )
    wsub = wf.add_subparsers(dest="workflow_command", metavar="ACTION", required=True)
    p = wsub.add_parser("clone", help="clone a workflow (the clone starts off)")
    p.add_argument("workflow_id", type=int)
    p.set_defaults(func=commands.cmd_workflow_clone)
    p = wsub.add_parser("set", help="switch a workflow, or re-enrollment of a clone")
    p.add_argument("workflow_id", type=int)
    p.add_argument("--enabled", choices=ON_OFF)
    p.add_argument("--reenroll", choices=ON_OFF)
    p.add_argument("--sources", help="comma list, e.g. chat,messenger (clones only)")
    p.set_defaults(func=commands.cmd_workflow_set)
    p = wsub.add_parser("delete", help="delete a workflow")
    p.add_argument("workflow_id", type=int)
    p.set_defaults(func=commands.cmd_workflow_delete)


def _action_menu(xsub: argparse._SubParsersAction, *, by_workflow: bool) -> None:
    """The actions menu (R-A6), shared by `automation action` and `workflow action`.

    `add` takes a workflow id or a status (its built-in workflow); the other commands take an
    action id, and with `--workflow ID` refuse an action of another workflow."""
    p = xsub.add_parser(
        "add",
        help="add an action at the end of a workflow (or of a branch's path)"
        if by_workflow
        else "add an action to a status (or to a workflow with --workflow)",
        epilog=_branch_examples(by_workflow),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--workflow", type=int, metavar="ID", help="the workflow (see `deskline workflow list`)"
    )
    where.add_argument("--status", help="the built-in workflow of this status")
    p.add_argument("--pipeline", help="the pipeline of --status (default: the first)")
    p.add_argument(
        "--in",
        dest="into",
        metavar="BRANCH_ID:yes|no",
        help="add at the end of this path of a branch (default: the end of the workflow)",
    )
    _action_kind(p)
    p.set_defaults(func=commands.cmd_action_add)

    def action_id(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("action_id", type=int, metavar="ACTION_ID")
        parser.add_argument(
            "--workflow",
            type=int,
            metavar="ID",
            help="check that the action belongs to this workflow",
        )

    p = xsub.add_parser("edit", help="change what an action does")
    action_id(p)
    _action_kind(p)
    p.set_defaults(func=commands.cmd_action_edit)
    p = xsub.add_parser("comment", help="add an admin comment beside an action")
    action_id(p)
    p.add_argument("text")
    p.set_defaults(func=commands.cmd_action_comment)
    p = xsub.add_parser("clone", help="copy an action right after itself")
    action_id(p)
    p.set_defaults(func=commands.cmd_action_clone)
    p = xsub.add_parser(
        "move",
        help="move an action to another place in its list, into a branch's path or out of it",
        description="Without --into or --top the action moves within its list (the workflow's "
        "own list or its branch path) to POSITION. With --into it goes into a branch's path, "
        "with --top into the workflow's own list: at POSITION, or at the end without one. "
        "A branch moves with its paths. POSITION goes right after ACTION_ID, e.g. "
        "`deskline workflow action move 15 2 --into 12:yes`.",
    )
    action_id(p)
    p.add_argument(
        "position",
        type=int,
        nargs="?",
        metavar="POSITION",
        help="1 is the first (the numbers of `deskline workflow show`)",
    )
    to = p.add_mutually_exclusive_group()
    to.add_argument(
        "--into", metavar="BRANCH_ID:yes|no", help="into this path of a branch, e.g. 12:no"
    )
    to.add_argument(
        "--top", action="store_true", help="out of its branch, into the workflow's own list"
    )
    p.set_defaults(func=commands.cmd_action_move)
    p = xsub.add_parser("delete", help="delete an action, or it and all following (R-A6)")
    action_id(p)
    p.add_argument("--and-following", action="store_true", help="this action and all following")
    p.set_defaults(func=commands.cmd_action_delete)
    p = xsub.add_parser(
        "retry", help="run a failed action again (R-A9; run ids: `workflow show`, the timeline)"
    )
    p.add_argument("run_id", type=int)
    p.set_defaults(func=commands.cmd_action_retry)


def _action_kind(p: argparse.ArgumentParser) -> None:
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


def _branch_examples(by_workflow: bool) -> str:
    """The epilog of `action add`: what a branch is and how to fill its paths (80 columns)."""
    where = "--workflow 7" if by_workflow else "--status New"
    menu = "workflow action" if by_workflow else "automation action"
    chat = '{"field": "source", "value": "chat"}'
    return (
        "Branches (R-A5): --if JSON adds a branch. A ticket that matches the condition\n"
        "takes the branch's yes path, any other ticket its no path; then both go on\n"
        "after the branch. --in BRANCH_ID:yes|no adds an action at the end of a path\n"
        "(the ids are in `deskline workflow show ID`). A branch for chats, say it gets\n"
        "action id 12, then a note in its yes path:\n"
        f"  deskline {menu} add {where} \\\n      --if '{chat}'\n"
        f'  deskline {menu} add {where} --note "Chat!" --in 12:yes'
    )


def _workflow_parser(sub: argparse._SubParsersAction) -> None:
    wf = sub.add_parser(
        "workflow",
        help="workflows: list, show, clone, enable, disable, reenroll, delete, actions",
        description="The workflow editor (SPEC §5). Status actions are a workflow per status, "
        "enrollment “ticket status is X”, and a ticket enrolls in it once (R-A7). To change "
        "re-enrollment or the source condition, clone the workflow, change the clone, switch it "
        "on and delete the original. Only admins change workflows; everyone can list and show.",
    )
    wsub = wf.add_subparsers(dest="workflow_command", metavar="ACTION", required=True)

    p = wsub.add_parser(
        "list",
        help="every workflow of a pipeline: switches, actions, enrollments, 7-day runs",
    )
    p.add_argument("--pipeline", help="default: the first pipeline")
    p.add_argument("--json", action="store_true", help="print it as JSON")
    p.set_defaults(func=commands.cmd_workflow_list)

    p = wsub.add_parser(
        "show",
        help="one workflow: enrollment, re-enrollment, its actions as a flow (branches nested, "
        "each action with its id), failures",
    )
    p.add_argument("workflow_id", type=int, metavar="ID")
    p.add_argument("--json", action="store_true", help="print it as JSON")
    p.set_defaults(func=commands.cmd_workflow_show)

    p = wsub.add_parser(
        "clone", help="copy a workflow with its actions (the clone starts off, R-A7)"
    )
    p.add_argument("workflow_id", type=int, metavar="ID")
    p.set_defaults(func=commands.cmd_workflow_clone)

    p = wsub.add_parser("enable", help="switch a workflow on: tickets enroll in it")
    p.add_argument("workflow_id", type=int, metavar="ID")
    p.set_defaults(func=commands.cmd_workflow_switch, enabled=True)

    p = wsub.add_parser("disable", help="switch a workflow off: no ticket enrolls in it")
    p.add_argument("workflow_id", type=int, metavar="ID")
    p.set_defaults(func=commands.cmd_workflow_switch, enabled=False)

    p = wsub.add_parser(
        "reenroll",
        help="let a ticket enroll each time it enters the status (clones only, R-A7)",
    )
    p.add_argument("workflow_id", type=int, metavar="ID")
    p.add_argument("state", choices=ON_OFF)
    p.set_defaults(func=commands.cmd_workflow_reenroll)

    p = wsub.add_parser(
        "sources",
        help="enroll only tickets of these sources, e.g. chat (clones only, R-A8)",
    )
    p.add_argument("workflow_id", type=int, metavar="ID")
    p.add_argument("sources", nargs="+", choices=CHANNEL_KINDS, metavar="SOURCE")
    p.set_defaults(func=commands.cmd_workflow_sources)

    p = wsub.add_parser(
        "condition",
        help="enroll only tickets that match a condition (clones only)",
        description="The enrollment condition of a clone, as JSON: a test "
        '{"field": F, "op": OP, "value": V} or a group {"all": [...]} / {"any": [...]}. '
        "Fields: pipeline, status, source, channel, priority, owner, team, contact, "
        "contact_domain. Ops: is, is_not, in, not_in, is_empty, is_not_empty. "
        "'{\"all\": []}' matches every ticket. The source condition (`sources`) stays as it is.",
    )
    p.add_argument("workflow_id", type=int, metavar="ID")
    p.add_argument("condition", metavar="JSON")
    p.set_defaults(func=commands.cmd_workflow_condition)

    p = wsub.add_parser("delete", help="delete a workflow and its actions")
    p.add_argument("workflow_id", type=int, metavar="ID")
    p.set_defaults(func=commands.cmd_workflow_delete)

    action = wsub.add_parser(
        "action",
        help="a workflow's actions: add, edit, comment, clone, move, delete, retry (R-A6)",
        description="The actions menu of a workflow (R-A6). `add --workflow ID` adds at the end, "
        "or with --in BRANCH_ID:yes|no at the end of a branch's path (R-A5: `add --if JSON` "
        "adds a branch, see `add --help`); the other commands take an action id (see "
        "`deskline workflow show ID`).",
    )
    xsub = action.add_subparsers(dest="action_command", metavar="ACTION", required=True)
    _action_menu(xsub, by_workflow=True)


def _template_parser(sub: argparse._SubParsersAction) -> None:
    template = sub.add_parser("template", help="email templates (Jinja2, sandboxed)")
    tsub = template.add_subparsers(dest="template_command", metavar="ACTION", required=True)
    p = tsub.add_parser("list", help="list templates")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=commands.cmd_template_list)
    p = tsub.add_parser("show", help="a template, and its preview against a real ticket")
    p.add_argument("name")
    p.add_argument(
        "--preview",
        type=int,
        metavar="TICKET",
        nargs="?",
        const=0,
        help="render it (against this ticket, default: the newest)",
    )
    p.set_defaults(func=commands.cmd_template_show)
    p = tsub.add_parser("set", help="create or change a template (checked before it is saved)")
    p.add_argument("name")
    p.add_argument("--subject")
    p.add_argument("--body-file", metavar="F", help="file with the body ('-' for stdin)")
    p.set_defaults(func=commands.cmd_template_set)


def _ticket_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reply", help="email the ticket's contact (fires R-T1 from the ticket record)"
    )
    p.add_argument("ticket", type=int)
    body = p.add_mutually_exclusive_group(required=True)
    body.add_argument("--body-file", metavar="F", help="file with the text ('-' for stdin)")
    body.add_argument("--text", help="the text itself")
    p.add_argument("--from-contact-record", action="store_true", help="does not fire R-T1")
    p.add_argument("--conversation", type=int, help="thread to reply in (default: the origin)")
    p.set_defaults(func=commands.cmd_reply)

    p = sub.add_parser("compose", help="a new email thread on the ticket (fires R-T1)")
    p.add_argument("ticket", type=int)
    p.add_argument("--subject", default="", help="default: the ticket's subject")
    body = p.add_mutually_exclusive_group(required=True)
    body.add_argument("--body-file", metavar="F", help="file with the text ('-' for stdin)")
    body.add_argument("--text", help="the text itself")
    p.set_defaults(func=commands.cmd_compose)

    p = sub.add_parser("note", help="add an internal note to a ticket")
    p.add_argument("ticket", type=int)
    body = p.add_mutually_exclusive_group(required=True)
    body.add_argument("--body-file", metavar="F")
    body.add_argument("--text")
    p.set_defaults(func=commands.cmd_note)

    p = sub.add_parser("move", help="move a ticket to a status (its status actions run)")
    p.add_argument("ticket", type=int)
    p.add_argument("status")
    p.set_defaults(func=commands.cmd_move)

    p = sub.add_parser("close", help="move a ticket to its pipeline's closed status")
    p.add_argument("ticket", type=int)
    p.set_defaults(func=commands.cmd_close)

    p = sub.add_parser("reopen", help="move a closed ticket to the first open status")
    p.add_argument("ticket", type=int)
    p.set_defaults(func=commands.cmd_reopen)

    p = sub.add_parser("assign", help="set a ticket's owner")
    p.add_argument("ticket", type=int)
    p.add_argument("owner", nargs="?", help="user name (omit with --none)")
    p.add_argument("--none", action="store_true", help="remove the owner")
    p.set_defaults(func=commands.cmd_assign)

    p = sub.add_parser("tickets", help="list tickets")
    p.add_argument("--status")
    p.add_argument("--pipeline")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=commands.cmd_tickets)

    ticket = sub.add_parser("ticket", help="one ticket: show it, or create one by hand")
    tsub = ticket.add_subparsers(dest="ticket_command", metavar="ACTION", required=True)
    p = tsub.add_parser("show", help="properties, threads and the timeline with causes")
    p.add_argument("number", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=commands.cmd_ticket_show)
    p = tsub.add_parser("create", help="create a ticket from a conversation (R-C2)")
    p.add_argument("--conversation", type=int, required=True)
    p.set_defaults(func=commands.cmd_ticket_create)

    p = sub.add_parser("conversations", help="list inbox conversations")
    p.add_argument("--automated", action="store_true", help="only automated mail (R-C4)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=commands.cmd_conversations)

    p = sub.add_parser("outbox", help="email waiting for SMTP, sent, failed or held")
    p.add_argument("--state", choices=("queued", "sent", "failed", "held"))
    p.add_argument("--json", action="store_true")
    p.add_argument("--raw", type=int, metavar="ID", help="print one email exactly as it will go")
    p.set_defaults(func=commands.cmd_outbox)

    p = sub.add_parser("held", help="email a safety rule held back: review, release or drop")
    p.add_argument("action", nargs="?", choices=("list", "release", "drop"), default="list")
    p.add_argument("outbox_id", nargs="?", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=commands.cmd_held)

    p = sub.add_parser("sync", help="fetch mail, run the automation, send the outbox")
    p.add_argument("--once", action="store_true", help="process what is waiting, then exit")
    p.set_defaults(func=commands.cmd_sync)

    p = sub.add_parser("retry", help="store a failed message again (see `deskline failed`)")
    p.add_argument("failure_id", type=int)
    p.set_defaults(func=commands.cmd_retry)

    p = sub.add_parser("failed", help="messages that could not be stored, with the reason")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=commands.cmd_failed)


def _people_parsers(sub: argparse._SubParsersAction) -> None:
    user = sub.add_parser("user", help="Deskline users (reps and admins)")
    usub = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    p = usub.add_parser("add", help="add a user")
    p.add_argument("name")
    p.add_argument("--email")
    p.add_argument("--display-name", default="")
    p.add_argument("--admin", action="store_true")
    p.set_defaults(func=commands.cmd_user_add)
    p = usub.add_parser("list", help="list users")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=commands.cmd_user_list)

    team = sub.add_parser("team", help="teams of users")
    tsub = team.add_subparsers(dest="team_command", metavar="ACTION", required=True)
    p = tsub.add_parser("add", help="add a team")
    p.add_argument("name")
    p.add_argument("--members", default="", help="comma-separated user names")
    p.set_defaults(func=commands.cmd_team_add)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.db_given = args.db is not None
    args.db = args.db or default_database_url()
    args.as_user = args.as_user or os.environ.get("DESKLINE_USER")
    try:
        if args.command in (None, "app"):
            return commands.open_app(args)
        code = asyncio.run(run_command(args))
        if getattr(args, "open_app_after", False):
            return commands.open_app(args, feed_seconds=args.feed_seconds)
        return code
    except UserError as exc:
        print(f"deskline: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("deskline: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `deskline tickets | head`: the reader left; not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
