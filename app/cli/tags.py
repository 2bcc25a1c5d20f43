"""`deskline tag`, `untag` and `tags`: free tags on tickets."""

from __future__ import annotations

import argparse

from app.cli import output
from app.cli.shared import act, opened
from automation import tags


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tag",
        help="add tags to a ticket",
        description="Tags are free words (folded to lower case); several at once, as separate "
        "words or separated by commas. Search them with tag:NAME.",
    )
    p.add_argument("ticket", type=int, metavar="N")
    p.add_argument("tags", nargs="+", metavar="TAG")
    p.set_defaults(func=cmd_tag)

    p = sub.add_parser("untag", help="remove tags from a ticket")
    p.add_argument("ticket", type=int, metavar="N")
    p.add_argument("tags", nargs="+", metavar="TAG")
    p.set_defaults(func=cmd_untag)

    p = sub.add_parser("tags", help="every tag in use, with its number of tickets")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tags)


def _typed(values: list[str]) -> list[str]:
    return [tag for value in values for tag in tags.split(value)]


async def cmd_tag(args: argparse.Namespace) -> int:
    wanted = _typed(args.tags)
    added = await act(args, lambda repo, user: tags.tag_ticket(repo, user, args.ticket, wanted))
    if added:
        print(f"Ticket #{args.ticket} tagged {output.clean(', '.join(added))}")
    else:
        print(f"Ticket #{args.ticket} already had {output.clean(', '.join(wanted))}")
    return 0


async def cmd_untag(args: argparse.Namespace) -> int:
    wanted = _typed(args.tags)
    gone = await act(args, lambda repo, user: tags.untag_ticket(repo, user, args.ticket, wanted))
    if gone:
        print(f"Ticket #{args.ticket} untagged {output.clean(', '.join(gone))}")
    else:
        print(f"Ticket #{args.ticket} had none of {output.clean(', '.join(wanted))}")
    return 0


async def cmd_tags(args: argparse.Namespace) -> int:
    async with opened(args) as desk:
        counts = await desk.db.read(lambda repo: repo.tag_counts())
    if args.json:
        found = [{"tag": tag, "tickets": count} for tag, count in counts]
        output.dump({"version": output.JSON_VERSION, "tags": found})
        return 0
    if not counts:
        print("No tags yet.")
    for tag, count in counts:
        print(f"{count:>6}  {output.clean(tag)}")
    return 0
