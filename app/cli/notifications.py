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
    p = sub.add_parser(
        "notifications",
        help="your notifications, newest first; `notifications read ID` (or --all) marks read",
    )
    p.add_argument("action", nargs="?", choices=("read",), metavar="read", help="mark read")
    p.add_argument("notification_id", type=int, metavar="ID", nargs="?", help="with read")
    p.add_argument("--all", action="store_true", help="with read: every unread notification")
    p.add_argument("--unread", action="store_true", help="only the unread ones")
    p.add_argument(
        "--bell", choices=("on", "off"), help="the app rings the terminal bell on a new one"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_notifications)
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
    if args.action == "read":
        if (args.notification_id is None) == (not args.all):
            raise UserError("notifications read takes an ID or --all", exit_code=2)
        return await cmd_read(args)
    if args.notification_id is not None or args.all:
        raise UserError("an ID and --all go with read: notifications read ID", exit_code=2)
    if args.bell is not None:
        return await cmd_bell(args)
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


async def cmd_bell(args: argparse.Namespace) -> int:
    on = args.bell == "on"

    def switch(repo: Any) -> None:
        repo.set_setting(f"notifications.bell.{current_user(repo, args.as_user).id}", on)

    async with opened(args) as desk:
        await desk.store(switch)
    print(f"The bell on new notifications is {args.bell} (in the app)")
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
