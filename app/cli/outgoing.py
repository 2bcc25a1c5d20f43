"""The flags of a person's email on the command line (SPEC D15, D16): `--attach FILE...`,
`--cc`, `--bcc` and `--no-cc`, read into an `automation.recipients.Addressing`."""

from __future__ import annotations

import argparse

from app.cli.errors import UserError
from automation.recipients import Addressing
from mail.attach import AttachError, read_attachment
from mail.recipients import RecipientError, parse_recipients


def outgoing_flags(p: argparse.ArgumentParser, *, default_cc: bool = True) -> None:
    p.add_argument(
        "--attach",
        nargs="+",
        action="extend",
        default=[],
        metavar="FILE",
        help="attach these files (their type guessed from the name)",
    )
    p.add_argument(
        "--cc",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="also in copy (repeatable; 'a@x.org, b@y.org' works too)"
        + ("; added to the thread's others, kept in copy by default" if default_cc else ""),
    )
    p.add_argument(
        "--bcc",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="blind copy: in the envelope only, never in a header (repeatable)",
    )
    if default_cc:
        p.add_argument(
            "--no-cc",
            action="store_true",
            help="to the contact alone: leave out the thread's others",
        )


def addressing_of(args: argparse.Namespace) -> Addressing:
    """The flags as an Addressing; a bad address or file is one line naming it."""
    try:
        cc = parse_recipients(args.cc, field="--cc")
        bcc = parse_recipients(args.bcc, field="--bcc")
        files = tuple(read_attachment(path) for path in args.attach)
    except (RecipientError, AttachError) as exc:
        raise UserError(str(exc)) from exc
    no_cc = getattr(args, "no_cc", False)
    return Addressing(cc=() if no_cc else None, add_cc=cc, bcc=bcc, attachments=files)
