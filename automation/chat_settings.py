"""A chat channel's settings (SPEC C4-C6), changed by admins: the team that answers, the hours,
the sites its widget answers (C5) and the email channel transcripts and offline messages go
through."""

from __future__ import annotations

from typing import Any

from automation.admin.common import SettingsError, require_admin
from automation.chat import ChatRepository, ChatSettingsLike, parse_hours
from automation.ports import UserLike
from automation.web_channel_settings import normalize_origins, reply_channel_id

# --- settings (admins) --------------------------------------------------------------------------


def set_chat_channel(
    repo: ChatRepository,
    user: UserLike,
    name: str,
    *,
    team: str | None = None,
    hours: str | None = None,
    origins: list[str] | None = None,
    reply_through: str | None = None,
) -> ChatSettingsLike:
    """An admin sets a chat channel's answering team ("-": any user), its hours ("": always),
    the site origins its widget answers (C5) and the email channel transcripts and offline
    messages go through ("-": none)."""
    require_admin(user)
    channel = repo.channel_by_name(name)
    if channel is None or channel.kind != "chat":
        chats = ", ".join(c.name for c in repo.channels() if c.kind == "chat") or "none yet"
        raise SettingsError(f"no chat channel {name!r} (chat channels: {chats})")
    values: dict[str, Any] = {}
    if team is not None:
        found = repo.team_by_name(team) if team not in ("", "-") else None
        if team not in ("", "-") and found is None:
            raise SettingsError(f"no team {team!r}")
        values["team_id"] = found.id if found is not None else None
    if hours is not None:
        try:
            parse_hours(hours)
        except ValueError as exc:
            raise SettingsError(str(exc)) from exc
        values["hours"] = " ".join(hours.split())
    if origins is not None:
        values["origins"] = normalize_origins(origins)
    if reply_through is not None:
        values["reply_channel_id"] = reply_channel_id(
            repo, reply_through, purpose="a chat sends transcripts through"
        )
    return repo.set_chat_settings(channel.id, **values)
