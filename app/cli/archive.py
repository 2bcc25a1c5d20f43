"""`deskline export`, `backup` and `restore`: the desk's mail out, and the desk itself kept."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app.cli import output
from app.cli.errors import UserError
from app.cli.shared import opened
from automation.search.query import QueryError, date_bound
from mail.mailbox_out import FORMATS, ExportError, write
from runtime.backup import BackupError, backup, restore
from storage.database import HEAD_REVISION, Database, normalize_url
from storage.export import stored_mail


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="write the desk's mail, received and sent, byte for byte",
        description="Every stored message as it arrived and every email as it was sent, oldest "
        "first, into a new mbox file (mboxrd), a folder of .eml files or a Maildir. Files are "
        "private (0600) and nothing is overwritten. `deskline import --historical` reads it "
        "back into a fresh desk with the same tickets and threads.",
    )
    p.add_argument("--format", choices=FORMATS, default="mbox")
    p.add_argument("--ticket", type=int, metavar="N", help="only the mail of ticket #N")
    p.add_argument("--since", metavar="WHEN", help="from this day (2026-11-30) or span ago (7d)")
    p.add_argument("--until", metavar="WHEN", help="before this day or span ago")
    p.add_argument(
        "-o", "--output", required=True, metavar="PATH", help="a path that does not exist"
    )
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "backup",
        help="a consistent, checked copy of the desk while it runs",
        description="SQLite: a copy made from one snapshot while sessions and the mail worker "
        "go on, then checked (integrity, row counts). PostgreSQL: pg_dump's custom format. The "
        "copy is private (0600); the SSH host key and the host's secrets are not in it.",
    )
    p.add_argument("path", metavar="PATH", help="a new file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser(
        "restore",
        help="put a backup in place of the desk (SQLite)",
        description="Refused while the desk is in use (a mail worker's lease or an open app "
        "session) and for a backup from a newer Deskline. The replaced file is kept beside it; "
        "mail that was waiting to be sent is held ('restored from backup') for an admin.",
    )
    p.add_argument("backup", metavar="BACKUP")
    p.add_argument("--yes", action="store_true", help="do not ask (needed without a terminal)")
    p.set_defaults(func=cmd_restore)


async def cmd_export(args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    since, until = _when(args.since, "since", now), _when(args.until, "until", now)
    target = Path(args.output).expanduser()
    async with opened(args) as desk:

        def run(session: Session) -> int:
            found = stored_mail(session, ticket=args.ticket, since=since, until=until)
            return write(found, target, args.format)

        try:
            count = await desk.query(run)
        except ExportError as exc:
            raise UserError(f"export: {exc}") from exc
    print(f"Exported {count} messages to {target} ({args.format})")
    return 0


async def cmd_backup(args: argparse.Namespace) -> int:
    url = normalize_url(args.db)
    async with opened(args):
        pass  # the desk opens: a Deskline database, of a schema this version reads
    sync_url = (
        make_url(url)
        .set(drivername=make_url(url).get_backend_name())
        .render_as_string(hide_password=False)
    )
    try:
        report = await asyncio.to_thread(backup, sync_url, Path(args.path).expanduser())
    except BackupError as exc:
        raise UserError(f"backup: {exc}") from exc
    if args.json:
        output.dump(
            {
                "version": output.JSON_VERSION,
                "path": str(report.path),
                "kind": report.kind,
                "counts": report.counts,
                "notes": report.notes,
            }
        )
        return 0
    rows = sum(report.counts.values())
    checked = f", checked: {rows} rows in {len(report.counts)} tables" if report.counts else ""
    print(f"Backup written to {report.path}{checked}")
    for note in report.notes:
        print(note)
    return 0


async def cmd_restore(args: argparse.Namespace) -> int:
    parsed = make_url(normalize_url(args.db))
    if parsed.get_backend_name() != "sqlite":
        raise UserError("restore: a PostgreSQL desk is restored with pg_restore from its pg_dump")
    target = Path(parsed.database or "")
    source = Path(args.backup).expanduser()
    if not source.is_file():
        raise UserError(f"restore: {source} is not a file")
    if not args.yes and not _confirmed(f"Replace {target} with {source}? [y/N] "):
        raise UserError("restore: not confirmed (without a terminal, add --yes)")
    try:
        kept = await asyncio.to_thread(restore, source, target, head_revision=HEAD_REVISION)
    except BackupError as exc:
        raise UserError(f"restore: {exc}") from exc
    db = Database(normalize_url(args.db))
    try:
        await db.migrate()  # an older backup is brought to this version's schema
    finally:
        await db.close()
    print(f"Restored {target} from {source}")
    if kept is not None:
        print(f"The replaced desk is kept as {kept}")
    print("Mail that was waiting to be sent is held: see `deskline held list`")
    return 0


def _when(value: str | None, name: str, now: datetime) -> datetime | None:
    if value is None:
        return None
    try:
        return date_bound(name, value, now)
    except QueryError as exc:
        raise UserError(f"--{name}: {exc}") from exc


def _confirmed(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    return input(question).strip().lower() in ("y", "yes")
