"""Users and teams: `user add|list|edit|role|away|remove`, `team add|list|rename|remove`,
`team member add|remove` (the settings screen's People section does the same)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from app.cli.output import clean
from app.cli.shared import act, opened
from automation import admin
from storage.repository import SqlRepository


def register(sub: argparse._SubParsersAction) -> None:
    _register_users(sub)
    _register_teams(sub)


def _register_users(sub: argparse._SubParsersAction) -> None:
    user = sub.add_parser("user", help="Deskline users (reps and admins)")
    usub = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    p = usub.add_parser("add", help="add a user")
    p.add_argument("name")
    p.add_argument("--email")
    p.add_argument("--display-name", default="")
    p.add_argument("--admin", action="store_true")
    p.add_argument(
        "--login", help="the OS login that acts as this user here (default: the user's name)"
    )
    p.set_defaults(func=cmd_user_add)
    p = usub.add_parser("list", help="list users")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_user_list)
    p = usub.add_parser("edit", help="change a user's email address, shown name or login")
    p.add_argument("name")
    p.add_argument("--email", help="the new address ('' for none)")
    p.add_argument("--display-name")
    p.add_argument("--login", help="the OS login that acts as this user here")
    p.set_defaults(func=cmd_user_edit)
    p = usub.add_parser("role", help="make a user an admin or a rep")
    p.add_argument("name")
    p.add_argument("role", choices=admin.ROLES)
    p.set_defaults(func=cmd_user_role)
    p = usub.add_parser("away", help="mark a user away or back")
    p.add_argument("name")
    p.add_argument("state", choices=("on", "off"))
    p.set_defaults(func=cmd_user_away)
    p = usub.add_parser("remove", help="remove a user (its tickets go to --tickets-to or nobody)")
    p.add_argument("name")
    p.add_argument("--tickets-to", metavar="USER", help="who takes its tickets (default nobody)")
    p.set_defaults(func=cmd_user_remove)


def _register_teams(sub: argparse._SubParsersAction) -> None:
    team = sub.add_parser("team", help="teams of users")
    tsub = team.add_subparsers(dest="team_command", metavar="ACTION", required=True)
    p = tsub.add_parser("add", help="add a team")
    p.add_argument("name")
    p.add_argument("--members", default="", help="comma-separated user names")
    p.set_defaults(func=cmd_team_add)
    p = tsub.add_parser("list", help="list teams and their members")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_team_list)
    p = tsub.add_parser("rename", help="rename a team")
    p.add_argument("name")
    p.add_argument("new_name")
    p.set_defaults(func=cmd_team_rename)
    p = tsub.add_parser("remove", help="remove a team (its members stay users)")
    p.add_argument("name")
    p.set_defaults(func=cmd_team_remove)
    member = tsub.add_parser("member", help="add or remove a team's member")
    msub = member.add_subparsers(dest="member_command", metavar="ACTION", required=True)
    for action, what in (("add", "add a user to a team"), ("remove", "take a user off a team")):
        p = msub.add_parser(action, help=what)
        p.add_argument("team")
        p.add_argument("user")
        p.set_defaults(func=cmd_team_member, member_action=action)


async def cmd_user_add(args: argparse.Namespace) -> int:
    role = "admin" if args.admin else "rep"
    await act(
        args,
        lambda repo, user: admin.add_user(
            repo,
            user,
            args.name,
            email=args.email,
            display_name=args.display_name,
            role=role,
            login=args.login,
        ),
    )
    print(f"User {clean(args.name)} added{' (admin)' if args.admin else ''}")
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
                    "login": u.login,
                }
                for u in repo.users()
            ]
        )
    if args.json:
        print(json.dumps({"version": 1, "users": rows}, indent=2))
    else:
        for row in rows:
            role = "admin" if row["admin"] else "rep"
            login = f"login {row['login']}" if row["login"] else "no login"
            print(f"{row['name']:<16} {role:<6} {login:<22} {row['email'] or ''}")
    return 0


async def cmd_user_edit(args: argparse.Namespace) -> int:
    def edit(repo: SqlRepository, user: Any) -> Any:
        target = repo.user_by_name(args.name)
        email = args.email if args.email is not None else (target.email if target else None)
        shown = (
            args.display_name
            if args.display_name is not None
            else (target.display_name if target else "")
        )
        edited = admin.edit_user(repo, user, args.name, email=email, display_name=shown)
        if args.login is not None:
            admin.set_login(repo, user, args.name, args.login)
        return edited

    await act(args, edit)
    print(f"User {clean(args.name)} saved")
    return 0


async def cmd_user_role(args: argparse.Namespace) -> int:
    await act(args, lambda repo, user: admin.set_role(repo, user, args.name, args.role))
    print(f"{clean(args.name)} is now {'an admin' if args.role == 'admin' else 'a rep'}")
    return 0


async def cmd_user_away(args: argparse.Namespace) -> int:
    away = args.state == "on"
    await act(args, lambda repo, user: admin.set_away(repo, user, args.name, away))
    print(f"{clean(args.name)} is {'away' if away else 'back'}")
    return 0


async def cmd_user_remove(args: argparse.Namespace) -> int:
    moved = await act(
        args,
        lambda repo, user: admin.remove_user(repo, user, args.name, tickets_to=args.tickets_to),
    )
    where = clean(args.tickets_to or "nobody")
    tickets = f"{moved} ticket{'' if moved == 1 else 's'}"
    print(f"User {clean(args.name)} removed; {tickets} to {where}")
    return 0


async def cmd_team_add(args: argparse.Namespace) -> int:
    names = [n.strip() for n in args.members.split(",") if n.strip()]
    await act(args, lambda repo, user: admin.add_team(repo, user, args.name, names))
    print(f"Team {clean(args.name)} added ({len(names)} members)")
    return 0


async def cmd_team_list(args: argparse.Namespace) -> int:
    async with opened(args) as desk:
        rows = await desk.read(
            lambda repo: [
                {"name": t.name, "members": [m.name for m in t.members]} for t in repo.teams()
            ]
        )
    if args.json:
        print(json.dumps({"version": 1, "teams": rows}, indent=2))
    else:
        for row in rows:
            print(f"{row['name']:<20} {', '.join(row['members']) or '(no members)'}")
    return 0


async def cmd_team_rename(args: argparse.Namespace) -> int:
    await act(args, lambda repo, user: admin.rename_team(repo, user, args.name, args.new_name))
    print(f"Team {clean(args.name)} renamed to {clean(args.new_name)}")
    return 0


async def cmd_team_remove(args: argparse.Namespace) -> int:
    await act(args, lambda repo, user: admin.remove_team(repo, user, args.name))
    print(f"Team {clean(args.name)} removed")
    return 0


async def cmd_team_member(args: argparse.Namespace) -> int:
    change = admin.add_member if args.member_action == "add" else admin.remove_member
    await act(args, lambda repo, user: change(repo, user, args.team, args.user))
    verb = "joined" if args.member_action == "add" else "left"
    print(f"{clean(args.user)} {verb} {clean(args.team)}")
    return 0
