"""Users and teams: `user add|list`, `team add`."""

from __future__ import annotations

import argparse
import json
from typing import Any

from app.cli.output import clean
from app.cli.shared import act, opened
from app.cli.tables import Col, print_table
from automation import admin
from storage.repository import SqlRepository


def register(sub: argparse._SubParsersAction) -> None:
    user = sub.add_parser("user", help="Deskline users (reps and admins)")
    usub = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    p = usub.add_parser("add", help="add a user")
    p.add_argument("name")
    p.add_argument("--email")
    p.add_argument("--display-name", default="")
    p.add_argument("--admin", action="store_true")
    p.set_defaults(func=cmd_user_add)
    p = usub.add_parser("list", help="list users")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_user_list)

    team = sub.add_parser("team", help="teams of users")
    tsub = team.add_subparsers(dest="team_command", metavar="ACTION", required=True)
    p = tsub.add_parser("add", help="add a team")
    p.add_argument("name")
    p.add_argument("--members", default="", help="comma-separated user names")
    p.set_defaults(func=cmd_team_add)


async def cmd_user_add(args: argparse.Namespace) -> int:
    def add(repo: SqlRepository, user: Any) -> Any:
        admin.require_admin(user)
        if repo.user_by_name(args.name) is not None:
            raise admin.SettingsError(f"a user named {args.name!r} exists already")
        return repo.add_user(
            args.name, display_name=args.display_name, email=args.email, is_admin=args.admin
        )

    await act(args, add)
    print(f"User {args.name} added{' (admin)' if args.admin else ''}")
    return 0


async def cmd_user_list(args: argparse.Namespace) -> int:
    async with opened(args) as desk:
        rows = await desk.read(
            lambda repo: [
                {
                    "name": u.name,
                    "display_name": u.display_name,
                    "email": u.email,
                    "admin": u.is_admin,
                    "away": u.away,
                }
                for u in repo.users()
            ]
        )
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print_table(
            (Col("Name"), Col("Role", fixed=True), Col("Email")),
            [
                [clean(row["name"]), "admin" if row["admin"] else "rep", clean(row["email"] or "-")]
                for row in rows
            ],
        )
    return 0


async def cmd_team_add(args: argparse.Namespace) -> int:
    names = [n.strip() for n in args.members.split(",") if n.strip()]

    def add(repo: SqlRepository, user: Any) -> Any:
        admin.require_admin(user)
        members = []
        for name in names:
            member = repo.user_by_name(name)
            if member is None:
                raise admin.SettingsError(f"no user {name!r}")
            members.append(member)
        return repo.add_team(args.name, members)

    await act(args, add)
    print(f"Team {args.name} added ({len(names)} members)")
    return 0
