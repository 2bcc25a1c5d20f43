"""`deskline forward MESSAGE --to ADDRESS [--note TEXT]`: a stored message, with its
attachments, to anyone, as an outgoing email on the ticket's timeline (SPEC D17)."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli.errors import UserError
from app.cli.shared import opened, send_now_flag, undoable
from app.cli.snippets import forward_signature
from automation import forward as forwarding
from mail.recipients import RecipientError, parse_recipients
from storage.attachments import find_message


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "forward",
        help="forward a message with its attachments to anyone (on the ticket's timeline)",
        description="Sends the message (its text under a 'Forwarded message' block, and every "
        "attachment it carries) as a new email thread of its ticket. A forward to the ticket's "
        "contact counts as an email to the customer; to anyone else it moves nothing, and "
        "replies to it never reopen the ticket. It waits the undo window unless --send-now.",
    )
    p.add_argument(
        "message", metavar="MESSAGE", help="message number (ticket show) or <Message-ID>"
    )
    p.add_argument(
        "--to", action="append", required=True, metavar="ADDRESS", help="recipient (repeatable)"
    )
    p.add_argument("--cc", action="append", default=[], metavar="ADDRESS", help="in copy")
    p.add_argument(
        "--bcc", action="append", default=[], metavar="ADDRESS", help="blind copy (envelope only)"
    )
    p.add_argument("--note", default="", metavar="TEXT", help="a line above the forwarded message")
    p.add_argument("--no-signature", action="store_true", help="send this one without signature")
    send_now_flag(p)
    p.set_defaults(func=cmd_forward)


def _message_id(session: Any, reference: str) -> int | None:
    found = find_message(session, reference)
    return found.id if found is not None else None


async def cmd_forward(args: argparse.Namespace) -> int:
    try:
        to = parse_recipients(args.to, field="--to")
        cc = parse_recipients(args.cc, field="--cc")
        bcc = parse_recipients(args.bcc, field="--bcc")
    except RecipientError as exc:
        raise UserError(str(exc)) from exc
    async with opened(args) as desk:
        message_id = await desk.query(lambda s: _message_id(s, args.message))
    if message_id is None:
        raise UserError(f"no message {args.message!r} (a number from ticket show, or <Message-ID>)")
    signature = None if args.no_signature else await forward_signature(args, message_id)
    outbox_id, hint = await undoable(
        args,
        lambda repo, user: forwarding.forward(
            repo,
            user,
            message_id,
            to,
            note=args.note,
            cc=cc,
            bcc=bcc,
            send_now=args.send_now,
            signature=signature,
        ),
    )
    print(f"Forward of message {message_id} to {to[0].addr} queued (outbox {outbox_id}){hint}")
    return 0
