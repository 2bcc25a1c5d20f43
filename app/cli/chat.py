"""Live chat (SPEC C3-C7): `chat list|end|set|show`. A chat's messages are answered like any
conversation (`reply`, the inbox's composer): on a chat they go over the live connection,
never by email."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli import output
from app.cli.errors import UserError
from app.cli.shared import act, opened
from automation import chat, chat_settings
from automation.services import actor_of
from storage.repository import chat as chat_store


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser(
        "chat", help="live chats on the web: list, end; a chat channel's settings"
    )
    csub = group.add_subparsers(dest="chat_command", metavar="ACTION", required=True)
    p = csub.add_parser("list", help="chats that have not ended, with their visitors")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_chat_list)
    p = csub.add_parser("end", help="end a chat (its visitor's next message starts a new one)")
    p.add_argument("conversation", type=int, metavar="CONV", help="the chat's conversation id")
    p.set_defaults(func=cmd_chat_end)
    p = csub.add_parser("show", help="a chat channel's settings and whether it is online now")
    p.add_argument("name", metavar="CHANNEL")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_chat_show)
    p = csub.add_parser("set", help="change a chat channel's web settings (admins)")
    p.add_argument("name", metavar="CHANNEL")
    p.add_argument("--team", help="the team whose users answer ('-': any user)")
    p.add_argument(
        "--hours",
        help="when it answers, e.g. 'mon-fri 09:00-17:00 Europe/Warsaw' ('': always)",
    )
    p.add_argument(
        "--origins",
        metavar="ORIGINS",
        help="sites whose pages may carry the widget, space separated "
        "(https://www.example.com; '': only Deskline's own chat page)",
    )
    p.add_argument(
        "--reply-through",
        metavar="EMAIL_CHANNEL",
        help="the email channel transcripts and offline messages go through ('-': none)",
    )
    p.set_defaults(func=cmd_chat_set)


async def cmd_chat_list(args: argparse.Namespace) -> int:
    async with opened(args) as desk:
        rows = await desk.query(chat_store.open_chats)
    if args.json:
        output.dump({"version": 1, "chats": rows})
        return 0
    if not rows:
        print("No open chats.")
        return 0
    for row in rows:
        email = f" <{output.clean(row['email'])}> (unverified)" if row["email"] else ""
        ticket = f"#{row['ticket']}" if row["ticket"] else "no ticket"
        print(
            f"{row['conversation']:>6}  {output.clean(row['channel'])}  "
            f"{output.clean(row['visitor'])}{email}  {ticket}  since {row['started_at'][:16]}"
        )
    return 0


async def cmd_chat_end(args: argparse.Namespace) -> int:
    try:
        await act(args, lambda repo, user: chat.end_chat(repo, args.conversation, actor_of(user)))
    except chat.ChatError as exc:
        raise UserError(str(exc)) from exc
    print(f"Chat {args.conversation} ended")
    return 0


async def cmd_chat_set(args: argparse.Namespace) -> int:
    origins = args.origins.split() if args.origins is not None else None
    await act(
        args,
        lambda repo, user: chat_settings.set_chat_channel(
            repo,
            user,
            args.name,
            team=args.team,
            hours=args.hours,
            origins=origins,
            reply_through=args.reply_through,
        ),
    )
    print(f"Chat channel {args.name} updated")
    return 0


async def cmd_chat_show(args: argparse.Namespace) -> int:
    def load(repo: Any) -> dict[str, Any]:
        channel = repo.channel_by_name(args.name)
        if channel is None or channel.kind != "chat":
            raise UserError(f"no chat channel {args.name!r}")
        settings = repo.chat_settings(channel.id)
        team = repo.team(settings.team_id) if settings and settings.team_id else None
        reply = (
            repo.channel_or_none(settings.reply_channel_id)
            if settings and settings.reply_channel_id
            else None
        )
        now = chat.availability(repo, channel.id)
        return {
            "channel": channel.name,
            "page": f"/chat/{channel.name}",
            "team": team.name if team else None,
            "hours": settings.hours if settings else "",
            "origins": list(settings.origins) if settings else [],
            "reply_through": reply.name if reply else None,
            "online": now.online,
            "why_offline": now.reason or None,
            "next_open": now.next_open.isoformat() if now.next_open else None,
        }

    async with opened(args) as desk:
        view = await desk.read(load)
    if args.json:
        output.dump({"version": 1, **view})
        return 0
    print(f"Chat channel {output.clean(view['channel'])}: page {output.clean(view['page'])}")
    print(f"  team: {output.clean(view['team'] or 'any user')}")
    print(f"  hours: {output.clean(view['hours'] or 'always')}")
    print(f"  sites: {output.clean(' '.join(view['origins']) or 'only its own page')}")
    print(f"  transcripts through: {output.clean(view['reply_through'] or 'none')}")
    state = "online" if view["online"] else f"offline ({view['why_offline']})"
    print(f"  now: {state}")
    return 0
