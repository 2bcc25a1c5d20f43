"""Mail on its way in and out: `outbox`, `held`, `sync`, and the messages that could not be
stored, `retry` and `failed`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from app.cli import output
from app.cli.errors import UserError
from app.cli.shared import act, opened, page_flags, read_page
from automation import services
from automation.delivery import cancel_mail, review_held
from automation.importer import counting_stored_mail, retry_failure
from runtime.inbound import run_inbound
from runtime.worker import Worker, stop_on_signals
from storage import pages, queries


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "outbox",
        help="email waiting for SMTP, sent, failed or held; `outbox cancel ID` cancels one",
        description="Lists the outbox. `deskline outbox cancel ID` cancels an email no sender "
        "has taken yet (queued, waiting for a retry, or held), by anyone, on the ticket's "
        "timeline; an email being handed to the mail server can no longer be cancelled.",
    )
    p.add_argument("action", nargs="?", choices=("list", "cancel"), default="list")
    p.add_argument("outbox_id", nargs="?", type=int, metavar="ID", help="the email to cancel")
    p.add_argument("--state", choices=("queued", "sent", "failed", "held", "cancelled"))
    page_flags(p, "emails")
    p.add_argument("--json", action="store_true")
    p.add_argument("--raw", type=int, metavar="ID", help="print one email exactly as it will go")
    p.set_defaults(func=cmd_outbox)

    p = sub.add_parser(
        "held",
        help="email a safety rule held back: review, release or drop",
        description="Held email waits for a person. Anyone may drop it; only an admin releases "
        "email a safety rule held (loop limits, automated or never-notify addresses, bounces, "
        "old mail).",
    )
    p.add_argument("action", nargs="?", choices=("list", "release", "drop"), default="list")
    p.add_argument("outbox_id", nargs="?", type=int)
    p.add_argument(
        "--all",
        action="store_true",
        help="release or drop every held email (of --reason, when given); "
        "with list: every held email, however many",
    )
    p.add_argument(
        "--reason",
        metavar="R",
        help='with --all: only email held for this reason, e.g. "old mail" or "loop protection"',
    )
    page_flags(p, "held emails", all_flag=False)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_held)

    p = sub.add_parser("sync", help="fetch mail, run the automation, send the outbox")
    p.add_argument("--once", action="store_true", help="process what is waiting, then exit")
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("retry", help="store a failed message again (see `deskline failed`)")
    p.add_argument("failure_id", type=int)
    p.set_defaults(func=cmd_retry)

    p = sub.add_parser("failed", help="messages that could not be stored, with the reason")
    page_flags(p, "failed messages")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_failed)


async def cmd_outbox(args: argparse.Namespace) -> int:
    if args.action == "cancel":
        return await _cancel(args)
    async with opened(args) as desk:
        if args.raw is not None:
            raw = await desk.query(lambda s: queries.outbox_raw(s, args.raw))
            if raw is None:
                raise UserError(f"no outbox email {args.raw}")
            sys.stdout.write(raw.decode("utf-8", "replace"))
            return 0
        page = await read_page(desk, args, pages.outbox_page, state=args.state)
    output.print_outbox(page, as_json=args.json)
    return 0


async def _cancel(args: argparse.Namespace) -> int:
    """D4: `outbox cancel ID`."""
    if args.outbox_id is None:
        raise UserError("say which email to cancel: deskline outbox cancel ID")
    await act(args, lambda repo, user: cancel_mail(repo, services.actor_of(user), args.outbox_id))
    print(f"Email {args.outbox_id} cancelled")
    return 0


async def cmd_held(args: argparse.Namespace) -> int:
    if args.action == "list":
        async with opened(args) as desk:
            page = await read_page(desk, args, pages.outbox_page, state="held")
        output.print_outbox(page, as_json=args.json, noun="held emails")
        return 0
    done = "released" if args.action == "release" else "dropped"
    if args.all or args.reason is not None:
        return await _review_all(args, done)
    if args.outbox_id is None:
        raise UserError(
            f"say which email to {args.action}: deskline held {args.action} ID, "
            f'or --all [--reason "old mail"]'
        )
    await act(
        args,
        lambda repo, user: review_held(repo, user, args.action, outbox_id=args.outbox_id),
    )
    print(f"Email {args.outbox_id} {done}")
    return 0


async def _review_all(args: argparse.Namespace, done: str) -> int:
    """`held release|drop --all [--reason R]`: every held email, or those of one reason."""
    if args.outbox_id is not None:
        raise UserError("give an email's ID or --all, not both")
    if not args.all:
        raise UserError(f"--reason goes with --all: deskline held {args.action} --all --reason R")
    ids = await act(
        args, lambda repo, user: review_held(repo, user, args.action, reason=args.reason)
    )
    which = f" with the reason “{output.clean(args.reason)}”" if args.reason is not None else ""
    if not ids:
        print(f"No held email{which}.")
    else:
        print(f"{len(ids)} email{'s' if len(ids) != 1 else ''}{which} {done}")
    return 0


async def cmd_sync(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="deskline: %(message)s")
    async with opened(args) as desk:
        worker = Worker(desk, inbound=run_inbound)
        if args.once:
            with counting_stored_mail() as emails:
                summary = await worker.run_once()
            output.print_sync_summary(summary, emails)
            return 1 if summary.delivery.failed else 0
        stop = asyncio.Event()
        stop_on_signals(stop)
        print("Syncing mail; Ctrl-C to stop.", file=sys.stderr)
        await worker.run(stop)
    return 0


async def cmd_retry(args: argparse.Namespace) -> int:
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
        page = await read_page(desk, args, pages.failed_page)
    output.print_failed(page, as_json=args.json)
    return 0
