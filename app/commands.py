"""Command handlers of the CLI: open the database, call the domain, print the result."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from app import output
from app.errors import UserError
from automation import admin, flow, services
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
    retry_action,
)
from automation.flow import PATHS
from automation.importer import import_paths
from automation.templates import TemplateRenderError, render
from mail.imap import ImapError
from mail.imap import check as check_imap
from mail.smtp import SmtpError, check
from runtime.desk import Desk, DeskError
from runtime.inbound import run_inbound
from runtime.mail_settings import imap_account, smtp_settings
from runtime.worker import Worker, stop_on_signals
from storage import queries
from storage.repository import SqlRepository

T = TypeVar("T")


@asynccontextmanager
async def opened(args: argparse.Namespace, *, initialized: bool = True) -> AsyncIterator[Desk]:
    """The desk of `--db`, acting as `--as` (or the login name): see runtime.desk."""
    try:
        desk = await Desk.open(args.db, as_user=args.as_user, initialized=initialized)
    except DeskError as exc:
        raise UserError(str(exc)) from exc
    try:
        yield desk
    finally:
        await desk.close()


async def act(args: argparse.Namespace, fn: Callable[[SqlRepository, Any], T]) -> T:
    """Run a change as the current user, then let the engine react to it (SPEC E2)."""
    async with opened(args) as desk:
        return await desk.act(fn)


def on_off(value: str | None) -> bool | None:
    return None if value is None else value == "on"


def read_body(args: argparse.Namespace) -> str:
    if getattr(args, "text", None) is not None:
        return str(args.text)
    if args.body_file == "-":
        return sys.stdin.read()
    try:
        return Path(args.body_file).read_text("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{args.body_file}: not UTF-8 text") from exc


# --- setup -------------------------------------------------------------------------------------


async def cmd_init(args: argparse.Namespace) -> int:
    async with opened(args, initialized=False) as desk:
        await desk.db.migrate()
        created = await desk.store(lambda repo: admin.ensure_defaults(repo, args.admin))
    print(f"Database ready: {args.db}")
    for item in created:
        print(f"  created {item}")
    if not created:
        print("  nothing to create: already initialised")
    return 0


async def cmd_demo(args: argparse.Namespace) -> int:
    from app.demo import DemoExists, build_demo

    if getattr(args, "db_given", False):
        raise UserError(
            "the demo builds a database of its own: give its file with --path FILE, not --db "
            "(so a real database is never overwritten by demo data)"
        )
    try:
        path = await build_demo(args.path, replace=args.replace)
    except DemoExists as exc:
        raise UserError(str(exc)) from exc
    args.db = str(path)
    if not (args.no_app or args.json):
        args.open_app_after = True  # main() opens it once this event loop is closed
        print(f"Demo database: {path}", file=sys.stderr)
        return 0
    if not args.json:
        print(f"Demo database: {path}\n")
    async with opened(args) as desk:
        rows = await desk.query(lambda s: queries.list_tickets(s))
    output.print_tickets(rows, as_json=args.json)
    if not args.json:
        print(f"\nOpen it: deskline --db {path}")
    return 0


def open_app(args: argparse.Namespace, *, feed_seconds: float = 0.0) -> int:
    """Run the terminal app on `args.db` (a new database is created first)."""
    from app.tui import run_app

    if getattr(args, "command", None) is None or args.command == "app":
        asyncio.run(_create_if_missing(args))
    return run_app(
        args.db,
        as_user=args.as_user,
        mail=not getattr(args, "no_mail", False),
        feed_seconds=feed_seconds,
    )


async def _create_if_missing(args: argparse.Namespace) -> None:
    async with opened(args, initialized=False) as desk:
        if await desk.db.schema_revision() is None:
            await desk.db.migrate()
            await desk.store(lambda repo: admin.ensure_defaults(repo, "admin"))
            print(f"Created a new help desk in {args.db}", file=sys.stderr)


async def cmd_import(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.paths]
    async with opened(args) as desk:
        channel = await desk.store(lambda repo: admin.channel_named(repo, args.channel))
        progress = output.progress_bar("Importing") if sys.stderr.isatty() else None
        summary = await import_paths(
            desk.runner, channel.id, paths, historical=args.historical, progress=progress
        )
    output.print_import_summary(summary, as_json=args.json)
    return 1 if summary.failed and not summary.stored else 0


# --- channels and automation --------------------------------------------------------------------


async def cmd_channel_add(args: argparse.Namespace) -> int:
    channel = await act(
        args,
        lambda repo, user: admin.add_channel(
            repo,
            user,
            name=args.name,
            kind=args.kind,
            address=args.address,
            pipeline_name=args.pipeline,
            ticket_automation=on_off(args.ticket_automation),
        ),
    )
    print(
        f"Channel {channel.name} added ({channel.kind}, ticket automation "
        f"{'on' if channel.ticket_automation else 'off'})"
    )
    return 0


async def cmd_channel_list(args: argparse.Namespace) -> int:
    async with opened(args) as desk:
        rows = await desk.query(queries.channel_rows)
    output.print_channels(rows, as_json=args.json)
    return 0


async def cmd_channel_set(args: argparse.Namespace) -> int:
    mail = {field: getattr(args, field) for field in admin.MAIL_FIELDS}

    def change(repo: SqlRepository, user: Any) -> None:
        admin.set_channel(
            repo,
            user,
            args.name,
            address=args.address,
            pipeline_name=args.pipeline,
            ticket_automation=on_off(args.ticket_automation),
            bulk_opens_tickets=on_off(args.bulk_opens_tickets),
        )
        if any(value is not None for value in mail.values()):
            admin.set_channel_mail(repo, user, args.name, **mail)

    await act(args, change)
    print(f"Channel {args.name} updated")
    return 0


async def cmd_channel_test(args: argparse.Namespace) -> int:
    async with opened(args) as desk:
        channel = await desk.store(lambda repo: admin.channel_named(repo, args.name))
    failures = 0
    account = imap_account(channel)
    if account is not None:
        try:
            await asyncio.to_thread(check_imap, account.settings())
            print(f"IMAP {channel.imap_host}: ok (folder {channel.imap_folder})")
        except ImapError as exc:
            failures += 1
            print(f"IMAP {channel.imap_host}: {exc.kind}: {exc}")
    else:
        print("IMAP: not configured (deskline channel set NAME --imap-host ...)")
    if channel.smtp_host:
        try:
            await check(smtp_settings(channel))
            print(f"SMTP {channel.smtp_host}: ok (logged in as {channel.smtp_user or 'nobody'})")
        except SmtpError as exc:
            failures += 1
            print(f"SMTP {channel.smtp_host}: {exc.kind}: {exc}")
    else:
        print("SMTP: not configured (deskline channel set NAME --smtp-host ...)")
    return 1 if failures else 0


async def cmd_held(args: argparse.Namespace) -> int:
    from automation.delivery import drop_held, release_held

    if args.action == "list":
        async with opened(args) as desk:
            rows = await desk.query(lambda s: queries.list_outbox(s, state="held"))
        output.print_outbox(rows, as_json=args.json)
        return 0
    if args.outbox_id is None:
        raise UserError(f"say which email to {args.action}: deskline held {args.action} ID")
    review = release_held if args.action == "release" else drop_held
    await act(args, lambda repo, user: review(repo, services.actor_of(user), args.outbox_id))
    print(f"Email {args.outbox_id} {'released' if args.action == 'release' else 'dropped'}")
    return 0


async def cmd_sync(args: argparse.Namespace) -> int:

    logging.basicConfig(level=logging.WARNING, format="deskline: %(message)s")
    async with opened(args) as desk:
        worker = Worker(desk, inbound=run_inbound)
        if args.once:
            summary = await worker.run_once()
            output.print_sync_summary(summary)
            return 1 if summary.delivery.failed else 0
        stop = asyncio.Event()
        stop_on_signals(stop)
        print("Syncing mail; Ctrl-C to stop.", file=sys.stderr)
        await worker.run(stop)
    return 0


async def _automation_view(args: argparse.Namespace) -> dict[str, Any]:
    async with opened(args) as desk:
        return await desk.store(
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
    if args.per_ticket is not None or args.per_recipient is not None:
        await act(
            args,
            lambda repo, user: admin.set_loop_limits(
                repo, user, per_ticket=args.per_ticket, per_recipient=args.per_recipient
            ),
        )
    async with opened(args) as desk:
        limits = await desk.store(admin.loop_limits)
    if args.json:
        output.dump({"version": 1, **limits})
        return 0
    for scope, rows in limits.items():
        text = ", ".join(f"{count} in {minutes} min" for count, minutes in rows)
        print(f"{scope.replace('_', ' ')}: {text}")
    return 0


async def cmd_branding(args: argparse.Namespace) -> int:
    def change(repo: SqlRepository, user: Any) -> None:
        admin.require_admin(user)
        repo.set_setting("branding", args.state == "on")

    await act(args, change)
    print(f"Branding line on automated email: {args.state}")
    return 0


async def cmd_action_add(args: argparse.Namespace) -> int:
    """Add an action to a status's built-in workflow (--status) or to any workflow (--workflow):
    at the end of its list, or with `--in BRANCH_ID:yes|no` at the end of a branch's path."""
    target = _action_target(args)
    into = _branch_path(args.into, "--in")
    workflow_id = getattr(args, "workflow", None)

    def add(repo: SqlRepository, user: Any) -> tuple[int, str]:
        if workflow_id is not None:
            action = admin.add_action_to_workflow(repo, user, workflow_id, into=into, **target)
            return action.id, f"workflow {workflow_id} “{action.workflow.name}”"
        action = admin.add_action(
            repo, user, pipeline_name=args.pipeline, status_label=args.status, into=into, **target
        )
        return action.id, f"“{args.status}”"

    action_id, where = await act(args, add)
    place = f", at the end of the {_path_name(into)}" if into else ""
    print(f"Action {action_id} added to {output.clean(where)}{place}")
    if target["kind"] == BRANCH:
        paths = " and ".join(f"--in {action_id}:{which}" for which in PATHS)
        print(f"Branch {action_id}: add actions to its paths with {paths}")
    return 0


_BRANCH_PATH = re.compile(r"\s*(\d+)\s*:\s*(yes|no)\s*", re.ASCII | re.IGNORECASE)


def _branch_path(text: str | None, flag: str) -> tuple[int, str] | None:
    """`--in` / `--into BRANCH_ID:yes|no` as admin's `into` (None: not given)."""
    if text is None:
        return None
    found = _BRANCH_PATH.fullmatch(text)
    if found is None:
        raise UserError(
            f"{flag} is BRANCH_ID:yes or BRANCH_ID:no, e.g. {flag} 12:yes "
            f"(not {output.clean(text)!r}; the ids are in `deskline workflow show ID`)"
        )
    return int(found.group(1)), found.group(2).lower()


def _path_name(into: tuple[int, str] | None) -> str:
    if into is None:
        return "workflow's own list"
    return f"{into[1]} path of branch {into[0]}"


async def cmd_action_list(args: argparse.Namespace) -> int:
    view = await _automation_view(args)
    output.print_actions(view, as_json=args.json)
    return 0


def _in_workflow(repo: SqlRepository, user: Any, args: argparse.Namespace) -> None:
    """With `--workflow ID`, the action must be one of that workflow's."""
    if getattr(args, "workflow", None) is not None:
        admin.require_action_in_workflow(repo, user, args.action_id, args.workflow)


async def cmd_action_delete(args: argparse.Namespace) -> int:
    """R-A6 delete; a branch takes its paths along, and the output counts them."""

    def delete(repo: SqlRepository, user: Any) -> tuple[int, int]:
        _in_workflow(repo, user, args)
        listed = _listed(repo, args.action_id, and_following=args.and_following)
        gone = admin.delete_action(repo, user, args.action_id, and_following=args.and_following)
        return gone, gone - listed

    count, in_paths = await act(args, delete)
    from_paths = f" ({in_paths} of them in branch paths)" if in_paths > 0 else ""
    print(f"Deleted {count} action{'s' if count != 1 else ''}{from_paths}")
    return 0


def _listed(repo: SqlRepository, action_id: int, *, and_following: bool) -> int:
    """How many actions of its own list a delete takes (their paths' actions not counted)."""
    action = repo.workflow_action(action_id)
    if action is None:
        return 1
    return len(admin.actions_to_delete(action, and_following=and_following))


def _action_target(args: argparse.Namespace) -> dict[str, Any]:
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
        return {"kind": BRANCH, "condition": _condition_json(args.branch_if, flag="--if")}
    if getattr(args, "clone_ticket", None) is not None:
        return {
            "kind": CLONE_TICKET,
            "value": args.clone_ticket or None,
            "target_name": args.target_pipeline,
        }
    return {"kind": SEND_EMAIL, "template_name": args.send_email}


async def cmd_action_edit(args: argparse.Namespace) -> int:
    target = _action_target(args)

    def edit(repo: SqlRepository, user: Any) -> None:
        _in_workflow(repo, user, args)
        admin.edit_action(repo, user, args.action_id, **target)

    await act(args, edit)
    print(f"Action {args.action_id} changed")
    return 0


async def cmd_action_comment(args: argparse.Namespace) -> int:
    def comment(repo: SqlRepository, user: Any) -> None:
        _in_workflow(repo, user, args)
        admin.comment_action(repo, user, args.action_id, args.text)

    await act(args, comment)
    print(f"Comment added to action {args.action_id}")
    return 0


async def cmd_action_clone(args: argparse.Namespace) -> int:
    def clone(repo: SqlRepository, user: Any) -> int:
        _in_workflow(repo, user, args)
        return int(admin.clone_action(repo, user, args.action_id).id)

    copy = await act(args, clone)
    print(f"Action {copy} added right after action {args.action_id}")
    return 0


async def cmd_action_move(args: argparse.Namespace) -> int:
    """Within its list to POSITION, or with --into / --top into a branch's path / the workflow's
    own list (at POSITION, else at the end)."""
    into = _branch_path(args.into, "--into")
    relocate = into is not None or args.top
    if args.position is None and not relocate:
        raise UserError("say where: a POSITION in its list, --into BRANCH_ID:yes|no or --top")

    def move(repo: SqlRepository, user: Any) -> int:
        _in_workflow(repo, user, args)
        if relocate:
            action = admin.move_action_into(repo, user, args.action_id, into, args.position)
        else:
            action = admin.move_action(repo, user, args.action_id, args.position)
        return int(action.position) + 1

    position = await act(args, move)
    place = f" of the {_path_name(into)}" if relocate else ""
    print(f"Action {args.action_id} moved to position {position}{place}")
    return 0


async def cmd_action_retry(args: argparse.Namespace) -> int:
    state = await act(
        args, lambda repo, user: retry_action(repo, services.actor_of(user), args.run_id)
    )
    print(f"Action run {args.run_id} retried: {state}")
    return 0 if state == "ok" else 1


async def cmd_template_list(args: argparse.Namespace) -> int:
    async with opened(args) as desk:
        rows = await desk.store(
            lambda repo: [
                {"name": t.name, "subject": t.subject, "builtin": t.builtin}
                for t in repo.templates()
            ]
        )
    if args.json:
        output.dump({"version": 1, "templates": rows})
    else:
        for row in rows:
            kind = "built-in" if row["builtin"] else "custom"
            print(f"{output.clean(row['name']):<24} {kind:<8} {output.clean(row['subject'])}")
    return 0


async def cmd_template_show(args: argparse.Namespace) -> int:
    def show(repo: SqlRepository) -> str:
        template = repo.template_by_name(args.name)
        if template is None:
            raise admin.SettingsError(f"no template {args.name!r}")
        text = f"Subject: {template.subject}\n\n{template.body}"
        if args.preview is None:
            return text
        variables = admin.preview_variables(repo, args.preview or None)
        try:
            done = render(template.subject, template.body, variables)
        except TemplateRenderError as exc:
            return f"{text}\n--- preview failed: {exc}"
        return f"{text}\n--- preview ---\nSubject: {done.subject}\n\n{done.body}"

    async with opened(args) as desk:
        print(output.clean_block(await desk.store(show)))
    return 0


async def cmd_template_set(args: argparse.Namespace) -> int:
    body = read_body(args) if args.body_file else None
    await act(
        args,
        lambda repo, user: admin.set_template(
            repo, user, args.name, subject=args.subject, body=body
        ),
    )
    print(f"Template {args.name} saved")
    return 0


async def cmd_workflow_list(args: argparse.Namespace) -> int:
    async with opened(args) as desk:
        pipeline, rows = await desk.store(
            lambda repo: _pipeline_workflows(repo, admin.pipeline_or_default(repo, args.pipeline))
        )
    output.print_workflows(pipeline, rows, as_json=args.json)
    return 0


def _pipeline_workflows(repo: SqlRepository, pipeline: Any) -> tuple[str, list[dict[str, Any]]]:
    return str(pipeline.name), queries.workflow_summaries(repo.session, pipeline)


async def cmd_workflow_show(args: argparse.Namespace) -> int:
    async with opened(args) as desk:
        detail = await desk.query(lambda s: queries.workflow_detail(s, args.workflow_id))
    if detail is None:
        raise UserError(f"no workflow {args.workflow_id} (see `deskline workflow list`)")
    output.print_workflow(detail, as_json=args.json)
    return 0


async def cmd_workflow_clone(args: argparse.Namespace) -> int:
    def clone(repo: SqlRepository, user: Any) -> tuple[int, str, int]:
        copy = admin.clone_workflow(repo, user, args.workflow_id)
        return copy.id, copy.name, flow.count(copy.actions)

    clone_id, name, count = await act(args, clone)
    print(
        f"Workflow {clone_id} “{output.clean(name)}” created from workflow {args.workflow_id} "
        f"with {count} action{'s' if count != 1 else ''}; it is off (R-A7, E7)."
    )
    print(
        f"Next: `deskline workflow reenroll {clone_id} on` to let tickets enroll again, "
        f"`deskline workflow enable {clone_id}`, then `deskline workflow delete "
        f"{args.workflow_id}` so no ticket is enrolled twice."
    )
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


async def cmd_workflow_switch(args: argparse.Namespace) -> int:
    """`workflow enable ID` / `workflow disable ID` (args.enabled is set by the parser)."""

    def switch(repo: SqlRepository, user: Any) -> tuple[str, list[tuple[int, str]]]:
        workflow = admin.set_workflow(repo, user, args.workflow_id, enabled=args.enabled)
        others = [(w.id, w.name) for w in _same_status(repo, workflow) if w.enabled and w.actions]
        return workflow.name, others if args.enabled else []

    name, others = await act(args, switch)
    state = "on" if args.enabled else "off"
    print(f"Workflow {args.workflow_id} “{output.clean(name)}” is {state}")
    for other_id, other_name in others:
        print(
            f"Note: workflow {other_id} “{output.clean(other_name)}” is on for the same status: "
            f"a ticket entering it runs both (delete it: `deskline workflow delete {other_id}`)"
        )
    return 0


def _same_status(repo: SqlRepository, workflow: Any) -> list[Any]:
    """The other workflows of the workflow's status (a ticket entering it runs each one on)."""
    return [
        w
        for w in repo.workflows(workflow.pipeline_id)
        if w.id != workflow.id and w.status_id == workflow.status_id
    ]


async def cmd_workflow_reenroll(args: argparse.Namespace) -> int:
    await act(
        args,
        lambda repo, user: admin.set_workflow(
            repo, user, args.workflow_id, reenroll=args.state == "on"
        ),
    )
    if args.state == "on":
        print(
            f"Workflow {args.workflow_id}: re-enrollment on (a ticket enrolls every time it "
            "enters the status)"
        )
    else:
        print(f"Workflow {args.workflow_id}: re-enrollment off (a ticket enrolls once)")
    return 0


async def cmd_workflow_sources(args: argparse.Namespace) -> int:
    sources = sorted(set(args.sources))
    await act(
        args,
        lambda repo, user: admin.set_workflow(repo, user, args.workflow_id, sources=sources),
    )
    print(
        f"Workflow {args.workflow_id} enrolls tickets whose source is {' or '.join(sources)} (R-A8)"
    )
    return 0


def _condition_json(text: str, *, flag: str = "") -> dict[str, Any]:
    """A condition tree given as JSON (automation.conditions checks what it says)."""
    said = f"{flag}: " if flag else ""
    try:
        condition = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{said}the condition is not JSON: {exc}") from exc
    if not isinstance(condition, dict):
        raise UserError(
            f'{said}the condition is a JSON object, e.g. {{"field": "priority", "value": "high"}}'
        )
    return condition


async def cmd_workflow_condition(args: argparse.Namespace) -> int:
    condition = _condition_json(args.condition)
    await act(
        args,
        lambda repo, user: admin.set_workflow(repo, user, args.workflow_id, conditions=condition),
    )
    print(
        f"Workflow {args.workflow_id}: enrollment condition changed (see `deskline workflow show`)"
    )
    return 0


async def cmd_workflow_delete(args: argparse.Namespace) -> int:
    def delete(repo: SqlRepository, user: Any) -> tuple[str, int, list[tuple[int, str]]]:
        admin.require_admin(user)
        workflow = admin.workflow_by_id(repo, args.workflow_id)
        name, count = workflow.name, flow.count(workflow.actions)
        waiting = [(w.id, w.name) for w in _same_status(repo, workflow) if not w.enabled]
        admin.delete_workflow(repo, user, args.workflow_id)
        return name, count, waiting

    name, count, waiting = await act(args, delete)
    print(
        f"Workflow {args.workflow_id} “{output.clean(name)}” deleted "
        f"({count} action{'s' if count != 1 else ''})"
    )
    for other_id, other_name in waiting:
        print(
            f"Note: workflow {other_id} “{output.clean(other_name)}” for the same status is off: "
            f"`deskline workflow enable {other_id}` switches it on"
        )
    return 0


# --- tickets ----------------------------------------------------------------------------------


async def cmd_reply(args: argparse.Namespace) -> int:
    body = read_body(args)
    outbox_id = await act(
        args,
        lambda repo, user: services.reply(
            repo,
            user,
            args.ticket,
            body,
            from_contact_record=args.from_contact_record,
            conversation_id=args.conversation,
        ),
    )
    print(f"Reply queued (outbox {outbox_id})")
    return 0


async def cmd_compose(args: argparse.Namespace) -> int:
    body = read_body(args)
    outbox_id = await act(
        args, lambda repo, user: services.compose(repo, user, args.ticket, args.subject, body)
    )
    print(f"Email queued in a new thread of #{args.ticket} (outbox {outbox_id})")
    return 0


async def cmd_note(args: argparse.Namespace) -> int:
    body = read_body(args)
    await act(args, lambda repo, user: services.add_note(repo, user, args.ticket, body))
    print(f"Note added to #{args.ticket}")
    return 0


async def cmd_move(args: argparse.Namespace) -> int:
    await act(args, lambda repo, user: services.move_ticket(repo, user, args.ticket, args.status))
    print(f"Ticket #{args.ticket} moved to {args.status}")
    return 0


async def cmd_close(args: argparse.Namespace) -> int:
    await act(args, lambda repo, user: services.close_ticket(repo, user, args.ticket))
    print(f"Ticket #{args.ticket} closed")
    return 0


async def cmd_reopen(args: argparse.Namespace) -> int:
    await act(args, lambda repo, user: services.reopen_ticket(repo, user, args.ticket))
    print(f"Ticket #{args.ticket} reopened")
    return 0


async def cmd_assign(args: argparse.Namespace) -> int:
    if not args.none and not args.owner:
        raise UserError("name the owner, or pass --none")
    owner = None if args.none else args.owner
    await act(args, lambda repo, user: services.assign(repo, user, args.ticket, owner))
    print(f"Ticket #{args.ticket} owner: {owner or '(none)'}")
    return 0


async def cmd_tickets(args: argparse.Namespace) -> int:
    async with opened(args) as desk:
        rows = await desk.query(
            lambda s: queries.list_tickets(s, status=args.status, pipeline=args.pipeline)
        )
    output.print_tickets(rows, as_json=args.json)
    return 0


async def cmd_ticket_show(args: argparse.Namespace) -> int:
    async with opened(args) as desk:
        detail = await desk.query(lambda s: queries.ticket_detail(s, args.number))
    if detail is None:
        raise UserError(f"no ticket #{args.number}")
    output.print_ticket(detail, as_json=args.json)
    return 0


async def cmd_ticket_create(args: argparse.Namespace) -> int:
    ticket_id = await act(
        args,
        lambda repo, user: services.create_ticket_by_hand(repo, user, args.conversation).id,
    )
    print(f"Ticket #{ticket_id} created from conversation {args.conversation}")
    return 0


async def cmd_conversations(args: argparse.Namespace) -> int:
    async with opened(args) as desk:
        rows = await desk.query(
            lambda s: queries.list_conversations(s, automated=True if args.automated else None)
        )
    output.print_conversations(rows, as_json=args.json)
    return 0


async def cmd_outbox(args: argparse.Namespace) -> int:
    async with opened(args) as desk:
        if args.raw is not None:
            raw = await desk.query(lambda s: queries.outbox_raw(s, args.raw))
            if raw is None:
                raise UserError(f"no outbox email {args.raw}")
            sys.stdout.write(raw.decode("utf-8", "replace"))
            return 0
        rows = await desk.query(lambda s: queries.list_outbox(s, state=args.state))
    output.print_outbox(rows, as_json=args.json)
    return 0


async def cmd_retry(args: argparse.Namespace) -> int:
    from automation.importer import retry_failure

    async with opened(args) as desk:
        try:
            summary = await retry_failure(desk.runner, args.failure_id)
        except LookupError as exc:
            raise UserError(str(exc)) from exc
    if summary.failed:
        print(f"Failed again: {output.clean(summary.failures[0][1])} (kept: deskline failed)")
        return 1
    print(f"Stored ({(summary.duplicates and 'a duplicate of a stored message') or 'new'})")
    return 0


async def cmd_failed(args: argparse.Namespace) -> int:
    async with opened(args) as desk:
        rows = await desk.query(queries.import_failures)
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        for row in rows:
            print(f"{row['id']:>5}  {output.clean(row['source'])}: {output.clean(row['reason'])}")
        if not rows:
            print("No failed messages.")
    return 0


# --- people -----------------------------------------------------------------------------------


async def cmd_user_add(args: argparse.Namespace) -> int:
    def add(repo: SqlRepository, user: Any) -> Any:
        admin.require_admin(user)
        if repo.user_by_name(args.name) is not None:
            raise admin.SettingsError(f"a user named {args.name!r} exists already")
        return repo.add_user(
            args.name, display_name=args.display_name, email=args.email, is_admin=args.admin
        )

    await act(args, add)
    print(f"User {args.name} added{' (admin)' if args.admin else ''}")
    return 0


async def cmd_user_list(args: argparse.Namespace) -> int:
    async with opened(args) as desk:
        rows = await desk.store(
            lambda repo: [
                {
                    "name": u.name,
                    "display_name": u.display_name,
                    "email": u.email,
                    "admin": u.is_admin,
                    "away": u.away,
                }
                for u in repo.users()
            ]
        )
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            role = "admin" if row["admin"] else "rep"
            print(f"{row['name']:<16} {role:<6} {row['email'] or ''}")
    return 0


async def cmd_team_add(args: argparse.Namespace) -> int:
    names = [n.strip() for n in args.members.split(",") if n.strip()]

    def add(repo: SqlRepository, user: Any) -> Any:
        admin.require_admin(user)
        members = []
        for name in names:
            member = repo.user_by_name(name)
            if member is None:
                raise admin.SettingsError(f"no user {name!r}")
            members.append(member)
        return repo.add_team(args.name, members)

    await act(args, add)
    print(f"Team {args.name} added ({len(names)} members)")
    return 0
