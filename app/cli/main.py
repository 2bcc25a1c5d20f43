"""The top-level `deskline` parser, built from each command group's `register`, and `main()`."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from app.cli.errors import UserError, run_command, user_errors
from app.cli.setup import open_app
from runtime import files
from storage.database import default_database_url

# The command groups: each module of app.cli named here has a `register(sub)` that adds its
# commands. In the order `deskline --help` lists them; a new group is one more line.
GROUPS = (
    "setup",
    "channels",
    "automation",
    "pipelines",
    "workflows",
    "templates",
    "snippets",
    "tickets",
    "conversations",
    "chat",
    "search",
    "tags",
    "properties",
    "views",
    "explain",
    "backtest",
    "archive",
    "tasks",
    "notifications",
    "outbox",
    "attachments",
    "people",
    "ssh",
    "paths",
    "docs",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deskline",
        description="A help desk that lives in the terminal. Without a command it opens the app "
        "(inbox, board, settings) on the database; the commands below script everything.",
        epilog="Database: --db URL, else $DESKLINE_DB, else a file in your data directory. "
        "URLs: a file path, sqlite:///PATH or postgresql://user@host/db (postgres:// too).",
    )
    parser.add_argument("--version", action="version", version=f"deskline {installed_version()}")
    parser.add_argument("--db", metavar="URL", help="database URL or SQLite file path")
    parser.add_argument(
        "--as",
        dest="as_user",
        metavar="USER",
        help="act as this Deskline user, for admins (default: $DESKLINE_USER, else the user "
        "your OS login maps to: user add --login)",
    )
    parser.add_argument(
        "--no-mail", action="store_true", help="the app neither fetches nor sends mail"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in GROUPS:
        importlib.import_module(f"app.cli.{group}").register(sub)
    for leaf in _leaves(parser):
        _global_options(leaf, argparse.SUPPRESS)
    return parser


def installed_version() -> str:
    """The version of the installed package (its metadata), read without opening a database:
    `--version` works whatever the database holds."""
    try:
        return version("deskline")
    except PackageNotFoundError:
        return "(not installed)"


def _global_options(parser: argparse.ArgumentParser, default: object = None) -> None:
    """--db and --as work before or after the command (a leaf never overrides with a default)."""
    parser.add_argument(
        "--db", metavar="URL", default=default, help="database URL or SQLite file path"
    )
    parser.add_argument(
        "--as",
        dest="as_user",
        metavar="USER",
        default=default,
        help="act as this Deskline user, for admins (default: $DESKLINE_USER, else the user "
        "your OS login maps to: user add --login)",
    )


def _leaves(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found += _leaves(child) or [child]
    return found


def main(argv: Sequence[str] | None = None) -> int:
    files.private_umask()  # SPEC S9: what Deskline creates is its account's alone
    parser = build_parser()
    args = parser.parse_args(argv)
    args.parser = parser  # `help`, `man` and `completion` read the commands from it
    args.db_given = args.db is not None
    args.db = args.db or default_database_url()
    args.as_user = args.as_user or os.environ.get("DESKLINE_USER")
    try:
        if args.command in (None, "app"):
            with user_errors():  # a bad --db: one line, as for every command
                return open_app(args)
        code = asyncio.run(run_command(args))
        if getattr(args, "open_app_after", False):
            with user_errors():
                return open_app(args, feed_seconds=args.feed_seconds)
        return code
    except UserError as exc:
        print(f"deskline: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("deskline: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `deskline tickets | head`: the reader left; not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
