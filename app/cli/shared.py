"""What every command group uses: the desk of `--db`, a change as `--as`, and reading flags."""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from app.cli.errors import UserError
from automation import undo
from automation.action_kinds.branch import condition_from_json
from runtime import files
from runtime.desk import Desk, DeskError
from storage.pages import DEFAULT_LIMIT, Page
from storage.repository import SqlRepository

T = TypeVar("T")

ON_OFF = ("on", "off")


@asynccontextmanager
async def opened(args: argparse.Namespace, *, initialized: bool = True) -> AsyncIterator[Desk]:
    """The desk of `--db`, acting as `--as` (or the login name): see runtime.desk."""
    try:
        desk = await Desk.open(args.db, as_user=args.as_user, initialized=initialized)
    except DeskError as exc:
        raise UserError(str(exc)) from exc
    if desk.db.path is not None and not hasattr(args, "fix_permissions"):  # init says it
        warning = files.open_warning(desk.db.path, files.data_dir())  # SPEC S9
        if warning:
            print(f"deskline: warning: {warning}", file=sys.stderr)
    try:
        yield desk
    finally:
        await desk.close()


async def act(args: argparse.Namespace, fn: Callable[[SqlRepository, Any], T]) -> T:
    """Run a change as the current user, then let the engine react to it (SPEC E2)."""
    async with opened(args) as desk:
        return await desk.act(fn)


def page_flags(parser: argparse.ArgumentParser, noun: str, *, all_flag: bool = True) -> None:
    """--limit, --after and --all of a list (D7); `all_flag` False where --all is the
    command's own (`held`), which then reads it as every row too."""
    how = parser.add_mutually_exclusive_group() if all_flag else parser
    how.add_argument(
        "--limit",
        type=_positive,
        metavar="N",
        help=f"at most N {noun}, newest first (default {DEFAULT_LIMIT})",
    )
    if all_flag:
        how.add_argument("--all", action="store_true", help=f"all {noun}, however many")
    parser.add_argument(
        "--after",
        metavar="CURSOR",
        help="the page after this cursor (a cut list ends with it: the `next` of its JSON, or "
        "the line on stderr)",
    )


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a number of at least 1, not {text!r}")
    return int(text)


async def read_page(
    desk: Desk, args: argparse.Namespace, fn: Callable[..., Page], **filters: Any
) -> Page:
    """One page of a list (storage.pages) as its flags ask: --after, --limit, --all."""
    every = getattr(args, "all", False)
    limit = None if every else (args.limit or DEFAULT_LIMIT)
    return await desk.query(lambda s: fn(s, **filters, after=args.after, limit=limit))


def on_off(value: str | None) -> bool | None:
    return None if value is None else value == "on"


def read_body(args: argparse.Namespace) -> str:
    if getattr(args, "text", None) is not None:
        return str(args.text)
    if args.body_file == "-":
        return sys.stdin.read()
    try:
        return Path(args.body_file).read_text("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{args.body_file}: not UTF-8 text") from exc


def condition_json(text: str, *, flag: str = "") -> dict[str, Any]:
    """A condition tree given as JSON (automation.conditions checks what it says)."""
    return condition_from_json(text, flag=flag)


def send_now_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--send-now",
        action="store_true",
        help="no undo window: the email it causes may go out at once",
    )


async def undoable(args: argparse.Namespace, change: Callable[[Any, Any], T]) -> tuple[T, str]:
    """Run a person's change; returns its result and how to take it back (or "")."""

    def run(repo: Any, user: Any) -> tuple[T, int]:
        return change(repo, user), undo.window(repo, send_now=getattr(args, "send_now", False))

    result, seconds = await act(args, run)
    return result, (f"; `deskline undo` takes it back within {seconds} s" if seconds else "")
