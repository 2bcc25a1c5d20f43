"""One inbox conversation, with or without a ticket (the inbox's keys on a conversation):
`conversation assign|close|email`. With a ticket, each acts on the ticket as `assign`, `close`
and `reply --from-contact-record` do."""

from __future__ import annotations

import argparse

from app.cli import forward
from app.cli.errors import UserError
from app.cli.outgoing import addressing_of, outgoing_flags
from app.cli.shared import act, read_body, send_now_flag, undoable
from automation import services


def register(sub: argparse._SubParsersAction) -> None:
    conversation = sub.add_parser(
        "conversation", help="one inbox conversation: assign, close or email its contact"
    )
    csub = conversation.add_subparsers(dest="conversation_command", metavar="ACTION", required=True)
    p = csub.add_parser("assign", help="set the owner (the ticket's, when it has one)")
    p.add_argument("conversation", type=int, metavar="ID")
    p.add_argument("owner", nargs="?", help="user name (omit with --none)")
    p.add_argument("--none", action="store_true", help="remove the owner")
    p.set_defaults(func=cmd_conversation_assign)
    p = csub.add_parser("close", help="close it (its ticket, when it has one)")
    p.add_argument("conversation", type=int, metavar="ID")
    send_now_flag(p)
    p.set_defaults(func=cmd_conversation_close)
    p = csub.add_parser(
        "email",
        help="email its contact from the contact record (no ticket needed; no status moves)",
    )
    p.add_argument("conversation", type=int, metavar="ID")
    body = p.add_mutually_exclusive_group(required=True)
    body.add_argument("--body-file", metavar="F", help="file with the text ('-' for stdin)")
    body.add_argument("--text", help="the text itself")
    outgoing_flags(p)
    send_now_flag(p)
    p.set_defaults(func=cmd_conversation_email)
    forward.register(sub)


async def cmd_conversation_assign(args: argparse.Namespace) -> int:
    if not args.none and not args.owner:
        raise UserError("name the owner, or pass --none")
    owner = None if args.none else args.owner
    await act(
        args,
        lambda repo, user: services.assign_conversation(repo, user, args.conversation, owner),
    )
    print(f"Conversation {args.conversation} owner: {owner or '(none)'}")
    return 0


async def cmd_conversation_close(args: argparse.Namespace) -> int:
    _, hint = await undoable(
        args,
        lambda repo, user: services.close_conversation(
            repo, user, args.conversation, send_now=args.send_now
        ),
    )
    print(f"Conversation {args.conversation} closed{hint}")
    return 0


async def cmd_conversation_email(args: argparse.Namespace) -> int:
    body = read_body(args)
    addressing = addressing_of(args)
    outbox_id, hint = await undoable(
        args,
        lambda repo, user: services.email_conversation(
            repo, user, args.conversation, body, send_now=args.send_now, addressing=addressing
        ),
    )
    print(
        f"Email queued to the contact of conversation {args.conversation} "
        f"(outbox {outbox_id}){hint}"
    )
    return 0
