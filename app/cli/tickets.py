"""Tickets and conversations: `reply`, `compose`, `note`, `move`, `close`, `reopen`, `assign`,
`undo`, `tickets`, `ticket show|create|priority|subject` and `conversations`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from app.cli import merging, output, undo_window
from app.cli.errors import UserError
from app.cli.outgoing import addressing_of, outgoing_flags
from app.cli.shared import (
    act,
    opened,
    page_flags,
    read_body,
    read_page,
    send_now_flag,
    undoable,
)
from app.cli.snippets import reply_body, reply_text_flags
from automation import services, undo
from automation.tickets import PRIORITIES
from storage import pages, queries


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reply",
        help="email the ticket's contact (its trigger 'Email sent to customer' moves the ticket)",
    )
    p.add_argument("ticket", type=int)
    body = p.add_mutually_exclusive_group()
    body.add_argument("--body-file", metavar="F", help="file with the text ('-' for stdin)")
    body.add_argument("--text", help="the text itself")
    p.add_argument("--from-contact-record", action="store_true", help="the ticket's status stays")
    p.add_argument("--conversation", type=int, help="thread to reply in (default: the origin)")
    reply_text_flags(p)
    outgoing_flags(p)
    send_now_flag(p)
    p.set_defaults(func=cmd_reply)

    p = sub.add_parser(
        "compose",
        help="a new email thread on the ticket (its trigger 'Email sent to customer' moves it)",
    )
    p.add_argument("ticket", type=int)
    p.add_argument("--subject", default="", help="default: the ticket's subject")
    body = p.add_mutually_exclusive_group()
    body.add_argument("--body-file", metavar="F", help="file with the text ('-' for stdin)")
    body.add_argument("--text", help="the text itself")
    reply_text_flags(p)
    outgoing_flags(p, default_cc=False)
    send_now_flag(p)
    p.set_defaults(func=cmd_compose)

    p = sub.add_parser("note", help="add an internal note to a ticket")
    p.add_argument("ticket", type=int)
    body = p.add_mutually_exclusive_group(required=True)
    body.add_argument("--body-file", metavar="F")
    body.add_argument("--text")
    p.set_defaults(func=cmd_note)

    p = sub.add_parser("move", help="move a ticket to a status (its status actions run)")
    p.add_argument("ticket", type=int)
    p.add_argument("status")
    send_now_flag(p)
    p.set_defaults(func=cmd_move)

    p = sub.add_parser("close", help="move a ticket to its pipeline's closed status")
    p.add_argument("ticket", type=int)
    send_now_flag(p)
    p.set_defaults(func=cmd_close)

    p = sub.add_parser("reopen", help="move a closed ticket to the first open status")
    p.add_argument("ticket", type=int)
    send_now_flag(p)
    p.set_defaults(func=cmd_reopen)

    p = sub.add_parser(
        "undo",
        help="take back your latest change, or what a rule or person did since a time",
        description="Takes back your latest change (a close, a move, a reply, an assignment…), "
        "made in any session, while its undo window is open and none of its email has been "
        "handed to the mail server: the ticket's values return, its waiting email is "
        "cancelled, and no status action or trigger runs. Exits 1 when nothing can be undone. "
        "With --rule, --workflow or --user and --since, reverts what that rule, workflow or "
        "person changed since then, field by field, where the field still holds the value it "
        "set (else says 'changed since'); what they created is listed, not removed.",
    )
    p.add_argument("--json", action="store_true")
    undo_window.add_flags(p)
    p.set_defaults(func=cmd_undo)

    p = sub.add_parser("assign", help="set a ticket's owner")
    p.add_argument("ticket", type=int)
    p.add_argument("owner", nargs="?", help="user name (omit with --none)")
    p.add_argument("--none", action="store_true", help="remove the owner")
    p.set_defaults(func=cmd_assign)

    p = sub.add_parser("tickets", help="list tickets, newest number first")
    p.add_argument("--status", help="only tickets in this status")
    p.add_argument("--pipeline", help="only tickets of this pipeline")
    page_flags(p, "tickets")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tickets)

    ticket = sub.add_parser(
        "ticket", help="one ticket: show it, create one by hand, set its priority or subject"
    )
    tsub = ticket.add_subparsers(dest="ticket_command", metavar="ACTION", required=True)
    p = tsub.add_parser("show", help="properties, threads and the timeline with causes")
    p.add_argument("number", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ticket_show)
    p = tsub.add_parser("create", help="create a ticket from a conversation (by hand)")
    p.add_argument("--conversation", type=int, required=True)
    p.set_defaults(func=cmd_ticket_create)
    p = tsub.add_parser("priority", help=f"set a ticket's priority: {', '.join(PRIORITIES)}")
    p.add_argument("number", type=int)
    p.add_argument("priority", metavar="PRIORITY", help=", ".join(PRIORITIES))
    p.set_defaults(func=cmd_ticket_priority)
    p = tsub.add_parser("subject", help="change a ticket's subject")
    p.add_argument("number", type=int)
    p.add_argument("subject", metavar="TEXT", help="the new subject")
    p.set_defaults(func=cmd_ticket_subject)
    merging.register(tsub)

    p = sub.add_parser("conversations", help="list inbox conversations, latest activity first")
    p.add_argument(
        "--automated",
        action="store_true",
        help="only automated mail (auto-replies, bounces, bulk mail)",
    )
    p.add_argument(
        "--snoozed",
        action="store_true",
        help="only the snoozed ones (without it they are left out, as in the inbox)",
    )
    page_flags(p, "conversations")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_conversations)


async def cmd_reply(args: argparse.Namespace) -> int:
    body = await reply_body(args)
    addressing = addressing_of(args)
    outbox_id, hint = await undoable(
        args,
        lambda repo, user: services.reply(
            repo,
            user,
            args.ticket,
            body,
            from_contact_record=args.from_contact_record,
            conversation_id=args.conversation,
            send_now=args.send_now,
            addressing=addressing,
            markdown=args.markdown,
        ),
    )
    if outbox_id == 0:  # C4: on a chat the reply goes to the visitor live, no email
        print("Chat message sent to the visitor")
        return 0
    print(f"Reply queued (outbox {outbox_id}){hint}")
    return 0


async def cmd_compose(args: argparse.Namespace) -> int:
    body = await reply_body(args, what="an email")
    addressing = addressing_of(args)
    outbox_id, hint = await undoable(
        args,
        lambda repo, user: services.compose(
            repo,
            user,
            args.ticket,
            args.subject,
            body,
            send_now=args.send_now,
            addressing=addressing,
            markdown=args.markdown,
        ),
    )
    print(f"Email queued in a new thread of #{args.ticket} (outbox {outbox_id}){hint}")
    return 0


async def cmd_note(args: argparse.Namespace) -> int:
    body = read_body(args)
    await act(args, lambda repo, user: services.add_note(repo, user, args.ticket, body))
    print(f"Note added to #{args.ticket}")
    return 0


async def cmd_move(args: argparse.Namespace) -> int:
    return await _status_command(args, services.move_ticket, args.status, done="moved to")


async def cmd_close(args: argparse.Namespace) -> int:
    return await _status_command(args, services.close_ticket, done="closed")


async def cmd_reopen(args: argparse.Namespace) -> int:
    return await _status_command(args, services.reopen_ticket, done="reopened")


async def _status_command(
    args: argparse.Namespace, service: Callable[..., Any], *extra: str, done: str
) -> int:
    """move / close / reopen: the change, then what it did and how to take it back."""
    _, hint = await undoable(
        args,
        lambda repo, user: service(repo, user, args.ticket, *extra, send_now=args.send_now),
    )
    print(" ".join([f"Ticket #{args.ticket} {done}", *extra]) + hint)
    return 0


async def cmd_undo(args: argparse.Namespace) -> int:
    if undo_window.asked(args):
        return await undo_window.cmd_undo_window(args)
    try:
        undone = await act(args, undo.undo_last)
    except undo.UndoError as exc:
        raise UserError(str(exc)) from exc
    if args.json:
        output.dump({"version": 1, "undone": undone.as_json()})
    else:
        print(undone.describe())
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
        page = await read_page(
            desk, args, pages.ticket_page, status=args.status, pipeline=args.pipeline
        )
    output.print_tickets(page, as_json=args.json)
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


async def cmd_ticket_priority(args: argparse.Namespace) -> int:
    _, hint = await undoable(
        args,
        lambda repo, user: services.set_priority(repo, user, args.number, args.priority),
    )
    print(f"Ticket #{args.number} priority: {args.priority}{hint}")
    return 0


async def cmd_ticket_subject(args: argparse.Namespace) -> int:
    _, hint = await undoable(
        args,
        lambda repo, user: services.set_subject(repo, user, args.number, args.subject),
    )
    subject = " ".join(args.subject.split())
    print(f"Ticket #{args.number} subject: {output.clean(subject)}{hint}")
    return 0


async def cmd_conversations(args: argparse.Namespace) -> int:
    automated = True if args.automated else None
    async with opened(args) as desk:
        page = await read_page(
            desk,
            args,
            pages.conversation_page,
            automated=automated,
            snoozed_at=desk.db.now(),  # SPEC D23: snoozed ones are out, as in the inbox
            only_snoozed=args.snoozed,
        )
    output.print_conversations(page, as_json=args.json)
    return 0
