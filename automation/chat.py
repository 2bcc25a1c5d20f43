"""Live chat, the domain side (SPEC C3-C7): who a visitor is, when the desk answers, and how a
rep's message reaches a visitor.

- C3 A visitor is known by an unguessable token (the cookie holds it; the database only its
  SHA-256). The name and email a visitor types are unverified: the visitor's contact has an
  address of its own (`visitor_address`), so a chat never meets that email address's
  conversations or tickets.
- C4 A rep's message on a chat is never email: `deliver_rep_message` stores it as an outbound
  message of the chat's conversation (with its timeline line), and the web side pushes every new
  one to the visitor's live connection, or shows it when the visitor comes back.
  `automation.outbound.queue_conversation_mail` hands chat conversations here, so a rep's reply
  (app, `deskline reply`) and a workflow's email action on a chat ticket both arrive in the chat.
- C6 Online: a user of the channel's team has an app session (presence, D22) and is not away,
  inside the channel's hours (`Hours`).
- C7 Messages are timeline events; typing is not.

The visitor's side (writing, the offline message, the transcript) is `automation.chat_visitors`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from automation.events import Actor, Timeline
from automation.ports import ConversationLike, Repository, TicketLike
from mail.compose import make_message_id

CHAT_DOMAIN = "chat.deskline.invalid"  # RFC 2606: never a deliverable address
TOKEN_BYTES = 32
COOKIE = "deskline_chat"
NAME_CHARS = 100


class ChatError(ValueError):
    """A chat request that cannot be carried out; the message is shown as is."""


class ChatSettingsLike(Protocol):
    channel_id: int
    team_id: int | None
    hours: str
    origins: list[Any]
    reply_channel_id: int | None


class ChatVisitorLike(Protocol):
    id: int
    channel_id: int
    name: str
    email: str | None
    contact_id: int | None


class ChatLike(Protocol):
    conversation_id: int
    visitor_id: int
    started_at: datetime
    ended_at: datetime | None
    ended_by: str | None


class ChatRepository(Repository, Protocol):
    """What the chat needs beyond `Repository` (storage.repository.chat.ChatMixin)."""

    def channel_or_none(self, channel_id: int) -> Any: ...

    def channel_by_name(self, name: str) -> Any: ...

    def channels(self) -> Sequence[Any]: ...

    def team_by_name(self, name: str) -> Any: ...

    def chat_settings(self, channel_id: int) -> ChatSettingsLike | None: ...

    def set_chat_settings(self, channel_id: int, **values: Any) -> ChatSettingsLike: ...

    def chat_visitor(self, visitor_id: int) -> ChatVisitorLike | None: ...

    def chat_visitor_by_token(self, token_hash: str) -> ChatVisitorLike | None: ...

    def add_chat_visitor(
        self, *, channel_id: int, token_hash: str, name: str, email: str | None, address: str
    ) -> ChatVisitorLike: ...

    def add_unverified_contact(self, address: str, name: str) -> Any: ...

    def open_chat_of(self, visitor_id: int) -> ChatLike | None: ...

    def chat(self, conversation_id: int) -> ChatLike | None: ...

    def add_chat(self, conversation_id: int, visitor_id: int) -> ChatLike: ...

    def chat_thread_ids(self, conversation_id: int) -> list[str]: ...

    def chat_transcript(self, conversation_id: int) -> Sequence[Any]: ...

    def users_online(self, team_id: int | None) -> Sequence[Any]: ...

    def touch_chat_visitor(self, visitor_id: int, *, typing: bool = False) -> None: ...


# --- visitors (C3) ------------------------------------------------------------------------------


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def visitor_address(visitor_id: int) -> str:
    """The visitor's own address: a contact no email can come from or go to."""
    return f"visitor-{visitor_id}@{CHAT_DOMAIN}"


def is_visitor_address(address: str) -> bool:
    return address.lower().endswith("@" + CHAT_DOMAIN)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_EMAIL = re.compile(r"[^@\s<>\"',;:()\[\]\\]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


def clean_name(name: str) -> str:
    """A typed name as one line of text (kept as typed otherwise: it is shown as text)."""
    return " ".join(_CONTROL.sub(" ", name).split())[:NAME_CHARS]


def clean_email(email: str) -> str | None:
    """A typed email address, or None when it is empty; ChatError when it is not an address."""
    email = email.strip()
    if not email:
        return None
    if len(email) > 254 or not _EMAIL.fullmatch(email) or is_visitor_address(email):
        raise ChatError("that is not an email address")
    return email.lower()


def clean_text(text: str, limit_bytes: int) -> str:
    """A visitor's message: no control characters but newlines and tabs; ChatError when it is
    empty or over the limit (C5, counted in UTF-8 bytes)."""
    if len(text.encode("utf-8", "surrogatepass")) > limit_bytes:
        raise ChatError(f"the message is over {limit_bytes // 1000} kB")
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", "", text)
    text = text.encode("utf-8", "replace").decode("utf-8")
    if not text.strip():
        raise ChatError("the message is empty")
    return text


# --- hours and who answers (C6) -----------------------------------------------------------------

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Hours:
    """Opening hours, e.g. ``mon-fri 09:00-17:00, sat 10:00-13:00 Europe/Warsaw``: day ranges
    with a time range each, then an optional time zone (default UTC). Empty: always open."""

    windows: tuple[tuple[frozenset[int], time, time], ...]
    zone: ZoneInfo

    def open_at(self, when: datetime) -> bool:
        if not self.windows:
            return True
        local = when.astimezone(self.zone)
        return any(
            local.weekday() in days and start <= local.time() < end
            for days, start, end in self.windows
        )

    def next_open(self, when: datetime) -> datetime | None:
        """When the next window opens after `when` (None: always open, or never)."""
        if not self.windows:
            return None
        local = when.astimezone(self.zone)
        for ahead in range(8):
            day = (local + timedelta(days=ahead)).date()
            starts = sorted(
                datetime.combine(day, start, self.zone)
                for days, start, _ in self.windows
                if day.weekday() in days
            )
            for start_at in starts:
                if start_at > local:
                    return start_at
        return None


def parse_hours(text: str) -> Hours:
    """`Hours` from its text; ValueError with the reason when it cannot be read."""
    text = " ".join(text.split())
    zone = ZoneInfo("UTC")
    if not text:
        return Hours((), zone)
    parts = text.rsplit(" ", 1)
    if (len(parts) == 2 and "/" in parts[1]) or parts[-1].upper() == "UTC":
        try:
            zone = ZoneInfo(parts[-1])
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {parts[-1]!r}") from exc
        text = parts[0] if len(parts) == 2 else ""
    windows = []
    for chunk in filter(None, (c.strip() for c in text.split(","))):
        match = re.fullmatch(
            r"([a-z]{3})(?:-([a-z]{3}))? (\d\d):(\d\d)-(\d\d):(\d\d)", chunk.lower()
        )
        if match is None or match[1] not in DAYS or (match[2] and match[2] not in DAYS):
            raise ValueError(
                f"cannot read {chunk!r}: write days and hours like 'mon-fri 09:00-17:00'"
            )
        first = DAYS.index(match[1])
        last = DAYS.index(match[2]) if match[2] else first
        days = frozenset((first + i) % 7 for i in range((last - first) % 7 + 1))
        hh1, mm1, hh2, mm2 = (int(match[i]) for i in range(3, 7))
        if hh1 > 23 or hh2 > 24 or mm1 > 59 or mm2 > 59:
            raise ValueError(f"cannot read {chunk!r}: no such time")
        end = time.max if (hh2, mm2) == (24, 0) else time(hh2, mm2)
        if time(hh1, mm1) >= end:
            raise ValueError(f"cannot read {chunk!r}: the window ends before it starts")
        windows.append((days, time(hh1, mm1), end))
    return Hours(tuple(windows), zone)


@dataclass(frozen=True)
class Availability:
    online: bool
    reason: str  # why not, for the admin (never shown to a visitor)
    next_open: datetime | None  # outside hours: when the hours begin again


def availability(repo: ChatRepository, channel_id: int) -> Availability:
    """C6: online when a user of the channel's team (any user, when the channel names no team)
    has an app session open and is not away, inside the channel's hours."""
    settings = repo.chat_settings(channel_id)
    hours = _hours_of(settings)
    now = repo.now()
    if not hours.open_at(now):
        return Availability(False, "outside the channel's hours", hours.next_open(now))
    team_id = settings.team_id if settings is not None else None
    if not repo.users_online(team_id):
        return Availability(False, "no user of the channel's team has a session open", None)
    return Availability(True, "", None)


def _hours_of(settings: ChatSettingsLike | None) -> Hours:
    try:
        return parse_hours(settings.hours if settings is not None else "")
    except ValueError:
        return parse_hours("")  # stored hours are checked when set; an old row stays open


# --- the rep's side (C4) ------------------------------------------------------------------------


def is_chat(conversation: ConversationLike) -> bool:
    return conversation.source == "chat"


def deliver_rep_message(
    repo: Repository,
    *,
    ticket: TicketLike | None,
    conversation: ConversationLike,
    body: str,
    actor: Actor,
    sent_from: str,
    cause_id: int | None,
    template_name: str | None = None,
) -> tuple[int, int]:
    """C4: a message to the chat's visitor, never an email. Stored as an outbound message of
    the chat (the web side delivers it at once to a connected visitor, else on return), with a
    timeline line. Returns (message row id, timeline id)."""
    channel = conversation.channel
    message_id = make_message_id(CHAT_DOMAIN, repo.secret(), f"chat{conversation.id}")
    contact = conversation.contact
    message_row_id = repo.add_outbound_message(
        conversation=conversation,
        message_id=message_id,
        in_reply_to=None,
        references=[],
        from_addr="",
        from_name=actor.name if actor.kind == "user" else channel.name,
        to=[contact.email] if contact is not None else [],
        subject=conversation.subject,
        body=body,
        sent_from=sent_from,
        author_user_id=actor.id if actor.kind == "user" else None,
        template_name=template_name,
    )
    conversation.updated_at = repo.now()
    first_line = (body.strip().splitlines() or [""])[0][:120]
    timeline_id = repo.add_timeline(
        Timeline.MESSAGE_SENT,
        actor,
        ticket_id=ticket.id if ticket is not None else conversation.ticket_id,
        conversation_id=conversation.id,
        message_row_id=message_row_id,
        cause_id=cause_id,
        summary=f"Chat message: {first_line}",
        data={
            "source": "chat",
            "message_id": message_id,
            "sent_from": sent_from,
            "template": template_name,
        },
    )
    return message_row_id, timeline_id


def end_chat(repo: ChatRepository, conversation_id: int, actor: Actor) -> int:
    """The chat ends (a rep's key or `deskline chat end`, or the visitor): its visitor's next
    message starts a new chat (C3). A timeline line says who ended it. Returns its id."""
    conversation = repo.conversation_or_none(conversation_id)
    chat = repo.chat(conversation_id)
    if conversation is None or chat is None:
        raise ChatError(f"conversation {conversation_id} is not a live chat")
    if chat.ended_at is not None:
        raise ChatError(f"the chat of conversation {conversation_id} has ended already")
    chat.ended_at = repo.now()
    chat.ended_by = actor.name
    conversation.updated_at = repo.now()
    return repo.add_timeline(
        Timeline.PROPERTY_CHANGED,
        actor,
        ticket_id=conversation.ticket_id,
        conversation_id=conversation_id,
        summary="Chat ended",
        data={"property": "chat", "from": "open", "to": "ended"},
    )
