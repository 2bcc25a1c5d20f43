"""`deskline view list|save|delete|show`: searches saved under a name (issue 13, SPEC D20)."""

from __future__ import annotations

import argparse

from app.cli import output
from app.cli.shared import act, opened
from automation import saved_views
from runtime.identity import current_user
from storage.repository import SqlRepository


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser(
        "view",
        help="saved views: a search under a name, yours or shared",
        description="A view is a search (the language of / and deskline search) saved under a "
        "name, for the inbox (conversations) or the board (tickets). owner:me in it is whoever "
        "uses it. Your own view shadows a shared one of the same name; admins save shared ones. "
        "Run one with deskline search --view NAME.",
    )
    vsub = group.add_subparsers(dest="view_command", metavar="COMMAND", required=True)

    p = vsub.add_parser("list", help="the views you see: yours, then the shared ones")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = vsub.add_parser("save", help="save a search as a view (replaces yours of that name)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("query", nargs="+", metavar="QUERY", help="the search, as typed after /")
    p.add_argument("--board", action="store_true", help="a view of the board's tickets")
    p.add_argument("--shared", action="store_true", help="everyone's view (admins)")
    p.set_defaults(func=cmd_save)

    p = vsub.add_parser("delete", help="delete one of your views (--shared: a shared one)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--shared", action="store_true", help="the shared view (admins)")
    p.set_defaults(func=cmd_delete)

    p = vsub.add_parser("show", help="a view's search, list and whose it is")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)


def _line(view: saved_views.View) -> str:
    whose = "shared" if view.shared else "yours"
    return (
        f"{output.clean(view.name):<24} {view.list_name:<6} {whose:<7} {output.clean(view.query)}"
    )


async def cmd_list(args: argparse.Namespace) -> int:
    async with opened(args) as desk:

        def read(repo: SqlRepository) -> list[saved_views.View]:
            return saved_views.views_of(repo, current_user(repo, args.as_user))

        found = await desk.db.read(read)
    if args.json:
        rows = [v.as_json() for v in found]
        output.dump({"version": output.JSON_VERSION, "views": rows})
        return 0
    if not found:
        print("No views saved yet: deskline view save NAME QUERY")
    for view in found:
        print(_line(view))
    return 0


async def cmd_save(args: argparse.Namespace) -> int:
    text = " ".join(args.query)
    view, replaced = await act(
        args,
        lambda repo, user: saved_views.save_view(
            repo,
            user,
            args.name,
            text,
            list_name="board" if args.board else "inbox",
            shared=args.shared,
        ),
    )
    verb = "replaced" if replaced else "saved"
    print(f"View {output.clean(view.name)} {verb}: {output.clean(view.query)}")
    return 0


async def cmd_delete(args: argparse.Namespace) -> int:
    view = await act(
        args, lambda repo, user: saved_views.delete_view(repo, user, args.name, shared=args.shared)
    )
    print(f"View {output.clean(view.name)} deleted")
    return 0


async def cmd_show(args: argparse.Namespace) -> int:
    async with opened(args) as desk:

        def read(repo: SqlRepository) -> saved_views.View:
            return saved_views.find_view(repo, current_user(repo, args.as_user), args.name)

        view = await desk.db.read(read)
    if args.json:
        output.dump({"version": output.JSON_VERSION, "view": view.as_json()})
        return 0
    print(_line(view))
    return 0
