"""Coordination from the command line: your notifications (`notifications`, `notifications
read`) and snoozing a ticket or a conversation (`snooze`, `unsnooze`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from app.cli import output
from app.cli.errors import UserError
from app.cli.output import clean
from app.cli.shared import opened
from app.cli.tables import Col, print_table
from automation import snooze
from runtime.desk import Desk
from runtime.identity import current_user
from storage import coordination_views

T = TypeVar("T")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("notifications", help="your notifications, newest first")
    p.add_argument("--unread", action="store_true", help="only the unread ones")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_notifications)
    nsub = p.add_subparsers(dest="notifications_command", metavar="ACTION")
    read = nsub.add_parser("read", help="mark a notification read (or --all of them)")
    which = read.add_mutually_exclusive_group(required=True)
    which.add_argument("notification_id", type=int, metavar="ID", nargs="?")
    which.add_argument("--all", action="store_true", help="every unread notification")
    read.set_defaults(func=cmd_read)
    p = sub.add_parser(
        "snooze",
        help="take a ticket out of the open views until a time; it comes back then, when "
        "the customer writes, or when it closes",
    )
    p.add_argument("number", type=int, metavar="N", nargs="?", help="the ticket")
    p.add_argument("until", metavar="UNTIL", help=f"e.g. {snooze.EXAMPLES} (UTC)")
    p.add_argument("--conversation", type=int, metavar="ID", help="a conversation instead")
    p.set_defaults(func=cmd_snooze)
    p = sub.add_parser("unsnooze", help="bring a snoozed ticket back now")
    p.add_argument("number", type=int, metavar="N", nargs="?", help="the ticket")
    p.add_argument("--conversation", type=int, metavar="ID", help="a conversation instead")
    p.set_defaults(func=cmd_unsnooze)


async def cmd_notifications(args: argparse.Namespace) -> int:
    async with opened(args) as desk:
        me = await desk.read(lambda repo: current_user(repo, args.as_user).id)
        rows = await desk.query(
            lambda s: coordination_views.notifications_for(s, me, unread=args.unread)
        )
    if args.json:
        output.dump({"version": 1, "notifications": [_as_json(row) for row in rows]})
        return 0
    if not rows:
        print("No unread notifications." if args.unread else "No notifications.")
        return 0
    print_table(
        (
            Col("ID", right=True, fixed=True),
            Col("When", fixed=True),
            Col("", fixed=True),
            Col("Ticket", right=True, fixed=True),
            Col("Notification"),
        ),
        [
            [
                str(row["id"]),
                _iso(row["created_at"])[:16].replace("T", " "),
                "" if row["read_at"] else "new",
                f"#{row['ticket']}" if row["ticket"] else "",
                clean(row["text"]),
            ]
            for row in rows
        ],
    )
    return 0


async def cmd_read(args: argparse.Namespace) -> int:
    wanted = None if args.all else args.notification_id

    def mark(repo: Any) -> int:
        me = current_user(repo, args.as_user)
        if wanted is not None and not repo.notification_exists(me.id, wanted):
            raise UserError(f"no notification {wanted} of yours")
        return int(repo.mark_notifications_read(me.id, wanted))

    async with opened(args) as desk:
        count = await desk.store(mark)
    if wanted is None:
        print(f"{count} notification{'s' if count != 1 else ''} marked read")
    else:
        print(f"Notification {wanted} {'marked read' if count else 'was read already'}")
    return 0


async def cmd_snooze(args: argparse.Namespace) -> int:
    number, conversation = _target(args)
    async with opened(args) as desk:
        until = _guarded(lambda: snooze.parse_until(args.until, desk.db.now()))
        await _act(
            desk,
            lambda repo, user: snooze.snooze_by(
                repo, user, until, number=number, conversation_id=conversation
            ),
        )
    print(f"{_what(number, conversation)} snoozed until {snooze.describe(until)}")
    return 0


async def cmd_unsnooze(args: argparse.Namespace) -> int:
    number, conversation = _target(args)
    async with opened(args) as desk:
        await _act(
            desk,
            lambda repo, user: snooze.unsnooze_by(
                repo, user, number=number, conversation_id=conversation
            ),
        )
    print(f"{_what(number, conversation)} is back in the open views")
    return 0


def _guarded(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except snooze.SnoozeError as exc:
        raise UserError(str(exc)) from exc


async def _act(desk: Desk, fn: Callable[[Any, Any], Any]) -> None:
    try:
        await desk.act(fn)
    except snooze.SnoozeError as exc:
        raise UserError(str(exc)) from exc


def _what(number: int | None, conversation: int | None) -> str:
    return f"#{number}" if number is not None else f"Conversation {conversation}"


def _target(args: argparse.Namespace) -> tuple[int | None, int | None]:
    if (args.number is None) == (args.conversation is None):
        raise UserError("name a ticket number N or --conversation ID", exit_code=2)
    return args.number, args.conversation


def _as_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "created_at": _iso(row["created_at"]),
        "read_at": _iso(row["read_at"]) or None,
    }


def _iso(value: datetime | str | None) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value or "")
