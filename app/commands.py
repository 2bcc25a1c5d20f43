"""Command handlers of the CLI: open the database, call the domain, print the result."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from app import output
from app.errors import UserError
from automation import admin, services
from automation.actions import retry_action
from automation.engine import Engine
from automation.importer import import_paths
from automation.templates import TemplateRenderError, render
from storage import queries
from storage.database import HEAD_REVISION, Database
from storage.repository import SqlRepository

T = TypeVar("T")


@asynccontextmanager
async def opened(args: argparse.Namespace, *, initialized: bool = True) -> AsyncIterator[Database]:
    db = Database(args.db)
    try:
        if initialized:
            revision = await db.schema_revision()
            if revision is None:
                raise UserError(f"the database {args.db} is not initialised: run `deskline init`")
            if revision != HEAD_REVISION:
                raise UserError(
                    f"the database {args.db} has an older schema ({revision}): "
                    "run `deskline init` to upgrade it"
                )
        yield db
    finally:
        await db.close()


def current_user(repo: SqlRepository, as_user: str | None) -> Any:
    """`--as`, else the login name if it is a user, else the first admin."""
    if as_user:
        user = repo.user_by_name(as_user)
        if user is None:
            raise services.DomainError(f"no user {as_user!r} (see `deskline user list`)")
        return user
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = ""
    user = repo.user_by_name(login) if login else None
    if user is not None:
        return user
    admins = [u for u in repo.users() if u.is_admin]
    if not admins:
        raise services.DomainError("no admin user: run `deskline init`")
    return admins[0]


async def act(args: argparse.Namespace, fn: Callable[[SqlRepository, Any], T]) -> T:
    """Run a change as the current user, then let the engine react to it (SPEC E2)."""
    async with opened(args) as db:
        result = await db.run(lambda repo: fn(repo, current_user(repo, args.as_user)))
        await Engine(db).drain()
        return result


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
    async with opened(args, initialized=False) as db:
        await db.migrate()
        created = await db.run(lambda repo: admin.ensure_defaults(repo, args.admin))
    print(f"Database ready: {args.db}")
    for item in created:
        print(f"  created {item}")
    if not created:
        print("  nothing to create: already initialised")
    return 0


async def cmd_demo(args: argparse.Namespace) -> int:
    from app.demo import build_demo

    path = await build_demo(args.path)
    args.db = str(path)
    if not (args.no_app or args.json):
        args.open_app_after = True  # main() opens it once this event loop is closed
        print(f"Demo database: {path}", file=sys.stderr)
        return 0
    if not args.json:
        print(f"Demo database: {path}\n")
    async with opened(args) as db:
        rows = await db.query(lambda s: queries.list_tickets(s))
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
    async with opened(args, initialized=False) as db:
        if await db.schema_revision() is None:
            await db.migrate()
            await db.run(lambda repo: admin.ensure_defaults(repo, "admin"))
            print(f"Created a new help desk in {args.db}", file=sys.stderr)


async def cmd_import(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.paths]
    async with opened(args) as db:
        channel = await db.run(lambda repo: admin.channel_named(repo, args.channel))
        progress = output.progress_bar("Importing") if sys.stderr.isatty() else None
        summary = await import_paths(
            db, channel.id, paths, historical=args.historical, progress=progress
        )
        await Engine(db).drain()
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
    async with opened(args) as db:
        rows = await db.query(queries.channel_rows)
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
    from app.mailer import smtp_settings
    from mail.smtp import SmtpError, check

    async with opened(args) as db:
        channel = await db.run(lambda repo: admin.channel_named(repo, args.name))
    failures = 0
    if channel.imap_host:
        from mail.imap import ImapAccount, ImapError
        from mail.imap import check as check_imap

        account = ImapAccount(
            host=channel.imap_host,
            port=channel.imap_port,
            tls=channel.imap_tls,
            user=channel.imap_user or "",
            folder=channel.imap_folder,
            auth=channel.auth,
            secret_ref=channel.imap_secret,
        )
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
        async with opened(args) as db:
            rows = await db.query(lambda s: queries.list_outbox(s, state="held"))
        output.print_outbox(rows, as_json=args.json)
        return 0
    if args.outbox_id is None:
        raise UserError(f"say which email to {args.action}: deskline held {args.action} ID")
    review = release_held if args.action == "release" else drop_held
    await act(args, lambda repo, user: review(repo, services.actor_of(user), args.outbox_id))
    print(f"Email {args.outbox_id} {'released' if args.action == 'release' else 'dropped'}")
    return 0


async def cmd_sync(args: argparse.Namespace) -> int:
    from app.inbound import run_inbound
    from app.worker import Worker, stop_on_signals

    logging.basicConfig(level=logging.WARNING, format="deskline: %(message)s")
    async with opened(args) as db:
        worker = Worker(db, inbound=run_inbound)
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
    async with opened(args) as db:
        return await db.run(
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
    async with opened(args) as db:
        limits = await db.run(admin.loop_limits)
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
    kind, template, to, target = "send_email", args.send_email, None, None
    if args.notify:
        kind = "notify"
        to, _, target = args.notify.partition(":")
    action = await act(
        args,
        lambda repo, user: admin.add_action(
            repo,
            user,
            pipeline_name=args.pipeline,
            status_label=args.status,
            kind=kind,
            template_name=template,
            to=to,
            target_name=target or None,
            message=args.message,
        ),
    )
    print(f"Action {action.id} added to “{args.status}”")
    return 0


async def cmd_action_list(args: argparse.Namespace) -> int:
    view = await _automation_view(args)
    output.print_actions(view, as_json=args.json)
    return 0


async def cmd_action_delete(args: argparse.Namespace) -> int:
    count = await act(
        args,
        lambda repo, user: admin.delete_action(
            repo, user, args.action_id, and_following=args.and_following
        ),
    )
    print(f"Deleted {count} action{'s' if count != 1 else ''}")
    return 0


def _action_target(args: argparse.Namespace) -> dict[str, Any]:
    if args.notify:
        to, _, target = args.notify.partition(":")
        return {"kind": "notify", "to": to, "target_name": target or None, "message": args.message}
    return {"kind": "send_email", "template_name": args.send_email}


async def cmd_action_edit(args: argparse.Namespace) -> int:
    target = _action_target(args)
    await act(args, lambda repo, user: admin.edit_action(repo, user, args.action_id, **target))
    print(f"Action {args.action_id} changed")
    return 0


async def cmd_action_comment(args: argparse.Namespace) -> int:
    await act(args, lambda repo, user: admin.comment_action(repo, user, args.action_id, args.text))
    print(f"Comment added to action {args.action_id}")
    return 0


async def cmd_action_clone(args: argparse.Namespace) -> int:
    copy = await act(args, lambda repo, user: admin.clone_action(repo, user, args.action_id).id)
    print(f"Action {copy} added right after action {args.action_id}")
    return 0


async def cmd_action_move(args: argparse.Namespace) -> int:
    await act(args, lambda repo, user: admin.move_action(repo, user, args.action_id, args.position))
    print(f"Action {args.action_id} moved to position {args.position}")
    return 0


async def cmd_action_retry(args: argparse.Namespace) -> int:
    state = await act(
        args, lambda repo, user: retry_action(repo, services.actor_of(user), args.run_id)
    )
    print(f"Action run {args.run_id} retried: {state}")
    return 0 if state == "ok" else 1


async def cmd_template_list(args: argparse.Namespace) -> int:
    async with opened(args) as db:
        rows = await db.run(
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

    async with opened(args) as db:
        print(output.clean_block(await db.run(show)))
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


async def cmd_workflow_clone(args: argparse.Namespace) -> int:
    clone = await act(args, lambda repo, user: admin.clone_workflow(repo, user, args.workflow_id))
    print(
        f"Workflow {clone.id} “{clone.name}” created (off; switch it on with "
        f"`deskline automation workflow set {clone.id} --enabled on`)"
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


async def cmd_workflow_delete(args: argparse.Namespace) -> int:
    await act(args, lambda repo, user: admin.delete_workflow(repo, user, args.workflow_id))
    print(f"Workflow {args.workflow_id} deleted")
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
    async with opened(args) as db:
        rows = await db.query(
            lambda s: queries.list_tickets(s, status=args.status, pipeline=args.pipeline)
        )
    output.print_tickets(rows, as_json=args.json)
    return 0


async def cmd_ticket_show(args: argparse.Namespace) -> int:
    async with opened(args) as db:
        detail = await db.query(lambda s: queries.ticket_detail(s, args.number))
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
    async with opened(args) as db:
        rows = await db.query(
            lambda s: queries.list_conversations(s, automated=True if args.automated else None)
        )
    output.print_conversations(rows, as_json=args.json)
    return 0


async def cmd_outbox(args: argparse.Namespace) -> int:
    async with opened(args) as db:
        if args.raw is not None:
            raw = await db.query(lambda s: queries.outbox_raw(s, args.raw))
            if raw is None:
                raise UserError(f"no outbox email {args.raw}")
            sys.stdout.write(raw.decode("utf-8", "replace"))
            return 0
        rows = await db.query(lambda s: queries.list_outbox(s, state=args.state))
    output.print_outbox(rows, as_json=args.json)
    return 0


async def cmd_retry(args: argparse.Namespace) -> int:
    from automation.importer import retry_failure

    async with opened(args) as db:
        try:
            summary = await retry_failure(db, args.failure_id)
        except LookupError as exc:
            raise UserError(str(exc)) from exc
    if summary.failed:
        print(f"Failed again: {output.clean(summary.failures[0][1])} (kept: deskline failed)")
        return 1
    print(f"Stored ({(summary.duplicates and 'a duplicate of a stored message') or 'new'})")
    return 0


async def cmd_failed(args: argparse.Namespace) -> int:
    async with opened(args) as db:
        rows = await db.query(queries.import_failures)
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
    async with opened(args) as db:
        rows = await db.run(
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
