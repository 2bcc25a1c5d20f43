"""`deskline attachment list|get`: the attachments of a message, for scripts and for
`ssh desk attachment get MESSAGE N > file` (SPEC D13, D14, S3)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.cli import output
from app.cli.errors import UserError
from app.cli.shared import opened
from runtime.files import FileRefused, downloads_dir, save_at, save_in
from storage.attachments import attachment_files, message_attachments
from storage.queries import JSON_VERSION

STDOUT = "-"
JSON_FIELDS = ("number", "name", "filename", "content_type", "size", "inline", "sha256")


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser(
        "attachment",
        help="the files a message carried: list them, save them",
        description="MESSAGE is the message's number, as `ticket show` gives it (or its "
        "Message-ID in <>). Attachments are numbered from 1 in the order the message carries "
        "them, inline images and attached emails (.eml) included.",
    )
    actions = group.add_subparsers(dest="attachment_command", metavar="ACTION", required=True)
    p = actions.add_parser("list", help="number, name, type and size of each attachment")
    p.add_argument("message", metavar="MESSAGE")
    p.add_argument("--json", action="store_true", help="with each file's sha256")
    p.set_defaults(func=cmd_attachment_list)

    p = actions.add_parser(
        "get",
        help="save one attachment (N) or all of them, byte for byte as they arrived",
        description="Saves attachment N of MESSAGE, or all of them, under safe names in your "
        "downloads directory or -o DIR, where a taken name becomes 'name (1).ext'. -o FILE "
        "saves one attachment as FILE (an existing FILE needs --overwrite); -o - writes its "
        "bytes to standard output. Files are readable by you only. Prints where each went.",
    )
    p.add_argument("message", metavar="MESSAGE")
    p.add_argument("number", metavar="N", nargs="?", type=int, help="default: all")
    p.add_argument("-o", "--output", metavar="PATH", help="a directory, a file, or - (stdout)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing -o FILE")
    p.set_defaults(func=cmd_attachment_get)


async def cmd_attachment_list(args: argparse.Namespace) -> int:
    listing = await _listing(args)
    if args.json:
        rows = [{key: row[key] for key in JSON_FIELDS} for row in listing["attachments"]]
        output.dump({"version": JSON_VERSION, "message": listing["message"], "attachments": rows})
        return 0
    print(
        f"Message {listing['message']} from {output.clean(listing['from']) or '(unknown)'}: "
        f"{output.clean(listing['subject']) or '(no subject)'}"
    )
    if not listing["attachments"]:
        print("No attachments.")
    for line in _table(listing["attachments"]):
        print(line)
    return 0


async def cmd_attachment_get(args: argparse.Namespace) -> int:
    if args.number is None and args.output == STDOUT:
        raise UserError("-o - writes one attachment: give its number N")
    numbers = None if args.number is None else [args.number]
    async with opened(args) as desk:
        listing = _found(args, await desk.query(lambda s: message_attachments(s, args.message)))
        message, count = listing["message"], len(listing["attachments"])
        if count == 0:
            raise UserError(f"message {message} has no attachments")
        if args.number is not None and not 1 <= args.number <= count:
            raise UserError(f"message {message} has {_count(count)}: N is 1 to {count}")
        files = await desk.query(lambda s: attachment_files(s, message, numbers))
    if args.output == STDOUT:
        sys.stdout.buffer.write(files[0][1])
        sys.stdout.buffer.flush()
        return 0
    try:
        for row, data in files:
            where = _save(args, row, data)
            print(f"{row['number']} {output.clean(row['name'])} → {output.clean(where)}")
    except FileRefused as exc:
        raise UserError(str(exc)) from exc
    return 0


async def _listing(args: argparse.Namespace) -> dict[str, Any]:
    async with opened(args) as desk:
        return _found(args, await desk.query(lambda s: message_attachments(s, args.message)))


def _found(args: argparse.Namespace, listing: dict[str, Any] | None) -> dict[str, Any]:
    if listing is None:
        raise UserError(
            f"no message {args.message} (its number is in `deskline ticket show TICKET`)"
        )
    return listing


def _save(args: argparse.Namespace, row: dict[str, Any], data: bytes) -> Path:
    """Into the downloads directory or -o DIR under its safe name; to -o FILE exactly."""
    if args.output is None:
        return save_in(downloads_dir(), row["name"], data)
    target = Path(args.output).expanduser()
    if args.number is None or target.is_dir():
        if target.exists() and not target.is_dir():
            raise UserError(f"{target} is not a directory (all attachments go into one)")
        return save_in(target, row["name"], data)
    return save_at(target, data, overwrite=args.overwrite)


def _table(rows: list[dict[str, Any]]) -> list[str]:
    names = [output.clean(row["name"]) for row in rows]
    kinds = [output.clean(row["content_type"]) for row in rows]
    name_width = max((len(n) for n in names), default=0)
    kind_width = max((len(k) for k in kinds), default=0)
    lines = []
    for row, name, kind in zip(rows, names, kinds, strict=True):
        inline = "  inline" if row["inline"] else ""
        lines.append(
            f"  {row['number']:>2}  {name:<{name_width}}  {kind:<{kind_width}}  "
            f"{human_size(row['size']):>8}{inline}".rstrip()
        )
    return lines


def human_size(size: int) -> str:
    if size >= 1_048_576:
        return f"{size / 1_048_576:.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size} B"


def _count(n: int) -> str:
    return "1 attachment" if n == 1 else f"{n} attachments"
