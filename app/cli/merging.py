"""`deskline ticket merge|split|attach`: one ticket into another, a mis-threaded message into a
new ticket, a conversation onto a ticket (automation/merge.py, automation/split.py; B3)."""

from __future__ import annotations

import argparse

from app.cli.errors import UserError
from app.cli.shared import act
from automation import merge, split
from automation.services import DomainError


def register(tsub: argparse._SubParsersAction) -> None:
    p = tsub.add_parser(
        "merge",
        help="merge a ticket into another (it closes, pointing at the survivor)",
        description="The survivor keeps its contact, status and owner and takes the absorbed "
        "ticket's conversations; mail to either ticket goes to the survivor. The absorbed "
        "ticket closes pointing at the survivor, without running status actions; its waiting "
        "workflow steps, tasks and snooze end, and later changes to it are refused.",
    )
    p.add_argument("absorbed", type=int, metavar="ABSORBED", help="the ticket that goes")
    p.add_argument("--into", type=int, required=True, metavar="SURVIVOR", help="the ticket kept")
    p.set_defaults(func=cmd_merge)

    p = tsub.add_parser(
        "split",
        help="move a received message (and replies to it) into a new ticket",
        description="The message, and the replies to it in its thread, become a new "
        "conversation and the origin of a new ticket, as a ticket made by hand: its first "
        "status's actions run (their email waits the undo window, and is held when the "
        "message is old mail). MESSAGE is the id `ticket show` prints.",
    )
    p.add_argument("message", type=int, metavar="MESSAGE")
    p.set_defaults(func=cmd_split)

    p = tsub.add_parser(
        "attach",
        help="attach a conversation to a ticket",
        description="The conversation joins the ticket (from no ticket, or from another "
        "ticket that is not its origin: merge those tickets instead).",
    )
    p.add_argument("conversation", type=int, metavar="CONV")
    p.add_argument("ticket", type=int, metavar="TICKET")
    p.set_defaults(func=cmd_attach)


async def cmd_merge(args: argparse.Namespace) -> int:
    try:
        done = await act(args, lambda repo, user: merge.merge(repo, user, args.absorbed, args.into))
    except DomainError as exc:
        raise UserError(f"merge: {exc}") from exc
    print(done.describe())
    return 0


async def cmd_split(args: argparse.Namespace) -> int:
    try:
        number = await act(
            args, lambda repo, user: split.split_message(repo, user, args.message).id
        )
    except DomainError as exc:
        raise UserError(f"split: {exc}") from exc
    print(f"Message {args.message} split off into ticket #{number}")
    return 0


async def cmd_attach(args: argparse.Namespace) -> int:
    try:
        await act(
            args,
            lambda repo, user: (
                split.attach_conversation(repo, user, args.conversation, args.ticket).id
            ),
        )
    except DomainError as exc:
        raise UserError(f"attach: {exc}") from exc
    print(f"Conversation {args.conversation} attached to ticket #{args.ticket}")
    return 0
