"""Setting up: `init`, `app` (also no command at all), `demo` and `import`."""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
from collections.abc import Callable
from pathlib import Path

from app.cli import output
from app.cli.errors import UserError
from app.cli.shared import opened
from app.cli.tables import progress_bar
from automation import admin
from automation.importer import import_paths
from demo import DemoExists, build_demo
from demo.build import demo_target
from mail.sources import holds_mail
from runtime import files
from runtime.dry_run import import_dry_run
from runtime.identity import bootstrap_login, current_user
from storage import pages
from storage.repository import SqlRepository


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help="create or upgrade the database and its defaults (safe twice)")
    p.add_argument("--admin", default="admin", help="name of the admin user to create")
    p.add_argument(
        "--fix-permissions",
        action="store_true",
        help="make the database file (and its -wal, -shm) 0600 and the data directory 0700, "
        "so no other account on this machine can read the desk",
    )
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("app", help="open the terminal app (the same as no command)")
    p.add_argument(
        "--no-mail",
        action="store_true",
        default=argparse.SUPPRESS,
        help="do not fetch or send mail from the app",
    )
    p.set_defaults(func=None)

    p = sub.add_parser(
        "demo",
        help="a fresh demo help desk opened in the app; customers write in every few seconds",
    )
    p.add_argument(
        "--path",
        help="where to create the demo database, a new SQLite file (default: a new temp file)",
    )
    p.add_argument(
        "--replace",
        action="store_true",
        help="build the demo over an existing file at --path (its data is lost)",
    )
    p.add_argument(
        "--no-app", action="store_true", help="build the demo and print its tickets instead"
    )
    p.add_argument(
        "--json", action="store_true", help="print the tickets as JSON (implies --no-app)"
    )
    p.add_argument(
        "--feed-seconds",
        type=float,
        default=4.0,
        metavar="S",
        help="seconds between simulated customer emails in the app (0: no feed)",
    )
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("import", help="import .eml files, Maildir folders or mbox files")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--channel", required=True, help="the channel the mail arrived on")
    p.add_argument(
        "--historical",
        action="store_true",
        help="store and thread only: no trigger, no status action, no email (migrations)",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="say what the import would do, live, and keep nothing (each batch rolled back)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_import)


async def cmd_init(args: argparse.Namespace) -> int:
    async with opened(args, initialized=False) as desk:
        new_file = not desk.db.exists()
        await desk.db.migrate()
        created = await desk.store(lambda repo: _defaults(repo, args.admin))
    if new_file:  # the full path: a mistyped --db shows at once
        print(f"Created a new database file: {desk.db.where}")
    print(f"Database ready: {desk.db.where}")
    for item in created:
        print(f"  created {item}")
    if not created:
        print("  nothing to create: already initialised")
    if desk.db.path is not None:
        _private_files(desk.db.path, fix=args.fix_permissions)
    return 0


def _private_files(path: Path, *, fix: bool) -> None:
    """SPEC S9: a new desk is 0600 in a 0700 data directory; `--fix-permissions` closes an
    old one, and without it an open desk is said."""
    data_dir = files.data_dir()
    if not fix:
        warning = files.open_warning(path, data_dir)
        if warning:
            print(f"deskline: warning: {warning}", file=sys.stderr)
        return
    changed = files.close_to_others(path, data_dir)
    for item in changed:
        print(f"  made {item} {'0700' if item.is_dir() else '0600'}")
    if not changed:
        print("  permissions: nothing to fix (only this account can read the desk)")


def _defaults(repo: SqlRepository, admin_name: str) -> list[str]:
    """The defaults; a new desk's admin is the login that made it (SPEC S7: the bootstrap, the
    same on PostgreSQL, where no file has an owner)."""
    created = admin.ensure_defaults(repo, admin_name)
    if any(item.startswith("admin user") for item in created):
        login = bootstrap_login(repo, admin_name)
        if login:
            created.append(f"the login “{login}” as {admin_name}")
    return created


async def cmd_demo(args: argparse.Namespace) -> int:
    if getattr(args, "db_given", False):
        raise UserError(
            "the demo builds a database of its own: give its file with --path FILE, not --db "
            "(so a real database is never overwritten by demo data)"
        )
    try:
        path = demo_target(args.path, replace=args.replace)
    except DemoExists as exc:
        raise UserError(str(exc)) from exc
    args.db = str(path)
    # The demo's file is this account's own: it acts as the demo's admin (S7, the file owner).
    args.as_user = args.as_user or "admin"
    if not (args.no_app or args.json):
        # main() opens the app once this event loop is closed; the app paints at once and
        # builds the demo on a thread of its own, showing how far it got.
        args.open_app_after = True
        args.prepare = functools.partial(_build_in_thread, str(path), args.replace)
        print(f"Demo database: {path}", file=sys.stderr)
        return 0
    with progress_bar("Building the demo") as progress:
        await build_demo(str(path), replace=args.replace, progress=progress)
    if not args.json:
        print(f"Demo database: {path}\n")
    async with opened(args) as desk:
        page = await desk.query(lambda s: pages.ticket_page(s, limit=None))
    output.print_tickets(page, as_json=args.json)
    if not args.json:
        print(f"\nOpen it: deskline --db {path}")
    return 0


def _build_in_thread(path: str, replace: bool, progress: Callable[[int, int], None]) -> None:
    """The demo build, on the calling (not the app's) thread, with an event loop of its own."""
    asyncio.run(build_demo(path, replace=replace, progress=progress))


def open_app(args: argparse.Namespace, *, feed_seconds: float = 0.0) -> int:
    """Run the terminal app on `args.db` (a new database is created first; the demo's is built
    by the app itself, `args.prepare`)."""
    # Imported here, not at the top: Textual would slow every other command (`deskline --help`
    # too). This is no import cycle: app.tui never imports app.cli.
    from app.tui import run_app

    if getattr(args, "command", None) is None or args.command == "app":
        asyncio.run(_create_if_missing(args))
    return run_app(
        args.db,
        as_user=args.as_user,
        mail=not getattr(args, "no_mail", False),
        feed_seconds=feed_seconds,
        prepare=getattr(args, "prepare", None),
    )


async def _create_if_missing(args: argparse.Namespace) -> None:
    """Before the app starts: a new desk for a path with none, or the reason it cannot open,
    in one line (the errors of `--db` are the commands')."""
    async with opened(args, initialized=False) as desk:
        if await desk.db.schema_revision() is None:
            await desk.db.migrate()
            await desk.store(lambda repo: _defaults(repo, "admin"))
            print(f"Created a new help desk in {desk.db.where}", file=sys.stderr)
        elif desk.db.read_only:
            raise UserError(
                f"the database {desk.db.where} is read-only: the app writes to it (drafts, "
                "presence, changes); make it writable, or read it with `deskline tickets`, "
                "`deskline ticket show N` and the other list commands"
            )
        else:
            await desk.check_schema()
        # S7: who acts is known before the app starts; an unknown login reads the fix here.
        await desk.read(lambda repo: current_user(repo, args.as_user))


async def cmd_import(args: argparse.Namespace) -> int:
    async with opened(args) as desk:
        channel = await desk.store(lambda repo: admin.channel_named(repo, args.channel))
        paths = _paths_with_mail(args.paths)
        if args.dry_run:
            if args.historical:
                raise UserError("import: --dry-run shows a live import; leave out --historical")
            summary = await import_dry_run(desk.db, channel.id, paths)
            if not args.json:
                print("Dry run (nothing was kept, sent or notified):")
            output.print_import_summary(summary, as_json=args.json)
            return 0
        with progress_bar("Importing") as progress:
            summary = await import_paths(
                desk.runner, channel.id, paths, historical=args.historical, progress=progress
            )
    output.print_import_summary(summary, as_json=args.json)
    return 1 if summary.failed and not summary.stored else 0


def _paths_with_mail(given: list[str]) -> list[Path]:
    """The paths that hold mail (D8): one without is a warning among others, an error alone;
    a missing path or one that is not a file or folder (a device, a FIFO) is an error."""
    paths = [Path(p) for p in given]
    empty = [p for p in paths if not holds_mail(p)]
    if len(empty) == len(paths):
        raise UserError(f"no mail found in {', '.join(str(p) for p in empty)}")
    for path in empty:
        print(f"deskline: warning: no mail found in {path}", file=sys.stderr)
    return [p for p in paths if p not in empty]
