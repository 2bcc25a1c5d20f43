"""Channels: `channel add|list|set|test`."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from app.cli import output
from app.cli.shared import ON_OFF, act, on_off, opened
from automation import admin, forms
from automation.admin import CHANNEL_KINDS
from mail.imap import ImapError
from mail.imap import check as check_imap
from mail.smtp import SmtpError, check
from runtime.identity import current_user
from runtime.mail_settings import imap_account, smtp_settings
from storage import queries
from storage.repository import SqlRepository


def register(sub: argparse._SubParsersAction) -> None:
    channel = sub.add_parser("channel", help="email, chat, messenger and form channels")
    csub = channel.add_subparsers(dest="channel_command", metavar="ACTION", required=True)
    p = csub.add_parser("add", help="add a channel")
    p.add_argument("name")
    p.add_argument("--kind", choices=CHANNEL_KINDS, default="email")
    p.add_argument("--address", help="the channel's email address (email channels)")
    p.add_argument("--pipeline", help="pipeline for its tickets (default: the first)")
    p.add_argument("--ticket-automation", choices=ON_OFF)
    p.set_defaults(func=cmd_channel_add)
    p = csub.add_parser("list", help="list channels")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_channel_list)
    p = csub.add_parser("set", help="change a channel, its IMAP and SMTP servers")
    p.add_argument("name")
    p.add_argument("--address")
    p.add_argument("--pipeline")
    p.add_argument("--ticket-automation", choices=ON_OFF)
    p.add_argument("--bulk-opens-tickets", choices=ON_OFF, help="let bulk/list mail open tickets")
    web = p.add_argument_group("form channels (deskline serve --http)")
    web.add_argument(
        "--reply-through",
        metavar="EMAIL_CHANNEL",
        help="the email channel a form's tickets are answered through ('-': none, no email)",
    )
    web.add_argument(
        "--origins",
        metavar="ORIGINS",
        help="sites that may embed the form, space separated (https://www.example.com; '': none)",
    )
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
    p.set_defaults(func=cmd_channel_set)
    p = csub.add_parser(
        "test", help="log in to the channel's IMAP and SMTP servers (admins: it uses the secrets)"
    )
    p.add_argument("name")
    p.set_defaults(func=cmd_channel_test)


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
        if args.reply_through is not None or args.origins is not None:
            forms.set_form_channel(
                repo,
                user,
                args.name,
                reply_through=args.reply_through,
                origins=args.origins.split() if args.origins is not None else None,
            )

    await act(args, change)
    print(f"Channel {args.name} updated")
    return 0


async def cmd_channel_test(args: argparse.Namespace) -> int:
    def channel_for_an_admin(repo: SqlRepository) -> Any:
        admin.require_admin(current_user(repo, args.as_user))  # SPEC S8: it runs the secrets
        return admin.channel_named(repo, args.name)

    async with opened(args) as desk:
        channel = await desk.store(channel_for_an_admin)  # its attributes stay loaded
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
