"""`deskline explain MESSAGE|#N|--ticket N|--eml FILE`: why a message went where it went and what
it caused (storage/explain.py), and `--eml`: what a message not yet stored would do
(runtime/dry_run.py, rolled back)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.cli import output
from app.cli.errors import UserError
from app.cli.shared import opened
from automation import admin
from runtime.dry_run import explain_eml
from storage.explain import (
    TRACE_VERSION,
    find_message,
    message_trace,
    ticket_trace,
    trace_lines,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explain",
        help="why a message was threaded and classified, and what it caused",
        description="The trace of a stored message (its id as `ticket show` prints it, or its "
        "Message-ID in <…>) or of every message of a ticket (#N or --ticket N): when and from "
        "whom, automated or forwarded and why, how it was threaded, the triggers, workflows "
        "and actions it caused, and every email with the verdict of the loop guards. With "
        "--eml FILE, a message not yet stored goes through the real pipeline and automation "
        "and everything is rolled back: nothing is kept, sent or notified.",
    )
    p.add_argument("target", nargs="?", metavar="MESSAGE|#N", help="a message or a ticket")
    p.add_argument("--ticket", type=int, metavar="N", help="every message of ticket N")
    p.add_argument("--eml", metavar="FILE", help="what this .eml would do if it arrived now")
    p.add_argument(
        "--channel", help="the channel it arrives on, with --eml (default: the only one)"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_explain)


async def cmd_explain(args: argparse.Namespace) -> int:
    if args.eml:
        return await _explain_eml(args)
    ticket = _ticket_number(args)
    async with opened(args) as desk:
        if ticket is not None:
            trace = await desk.query(lambda s: ticket_trace(s, ticket))
            if trace is None:
                raise UserError(f"no ticket #{ticket}")
        else:
            trace = await desk.query(lambda s: _message(s, args.target))
    if args.json:
        output.dump({"version": TRACE_VERSION, **trace})
    else:
        print("\n".join(trace_lines(trace, output.clean)))
    return 0


def _ticket_number(args: argparse.Namespace) -> int | None:
    if args.ticket is not None:
        return int(args.ticket)
    target = (args.target or "").strip()
    if not target:
        raise UserError(
            "explain: give a message (its id or <Message-ID>), #N, --ticket N or --eml FILE"
        )
    if target.startswith("#") and target[1:].isdigit():
        return int(target[1:])
    return None


def _message(session: Session, ref: str) -> dict[str, Any]:
    message = find_message(session, ref)
    if message is None:
        raise UserError(
            f"no message {ref} (give its id as `ticket show` prints it, or <Message-ID>)"
        )
    return message_trace(session, message)


async def _explain_eml(args: argparse.Namespace) -> int:
    path = Path(args.eml)
    if not path.is_file():
        raise UserError(f"no file {path}")
    async with opened(args) as desk:
        channel_id = await desk.read(lambda repo: _channel_id(repo, args.channel))
        try:
            outcome = await explain_eml(desk.db, channel_id, path)
        except ValueError as exc:
            raise UserError(str(exc)) from exc
    if args.json:
        output.dump({"version": TRACE_VERSION, "dry_run": True, **outcome})
    else:
        print("\n".join(eml_lines(outcome)))
    return 0


def _channel_id(repo: Any, name: str | None) -> int:
    if name:
        return int(admin.channel_named(repo, name).id)
    email = [c for c in repo.channels() if c.kind == "email"]
    if len(email) != 1:
        raise UserError("explain --eml: say which channel it arrives on: --channel NAME")
    return int(email[0].id)


def eml_lines(outcome: dict[str, Any]) -> list[str]:
    """What a message would do (nothing of it kept)."""
    head = f"Dry run of {output.clean(outcome['source'])} (nothing is kept, sent or notified)"
    if outcome["outcome"] == "duplicate":
        return [head, "  already stored: it would be skipped as a duplicate"]
    if outcome["trace"] is None:
        return [head, f"  it would fail: {output.clean(outcome['failure'])}"]
    emails = outcome["emails"]
    return [
        head,
        f"  it would cause {emails['queued']} email(s) queued, {emails['held']} held",
        *trace_lines(outcome["trace"], output.clean),
    ]
