"""Live chat (SPEC C3-C7): visitors known by the hash of their cookie's token, their chats (a
conversation of the chat channel, until it ends), each chat channel's settings, who is online
(presence, D22), and the reads the web side polls: what was written in a chat after a message.

Writes go through `ChatMixin` (part of `SqlRepository`); the web side's frequent reads are plain
functions over a `Session` (`feed`, `new_rep_messages`), so a poll never takes the write lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from storage import models as m
from storage.repository.base import RepositoryBase
from storage.repository.coordination import PRESENCE_GONE_AFTER


class ChatMixin(RepositoryBase):
    # --- settings ---------------------------------------------------------------------------

    def chat_settings(self, channel_id: int) -> m.ChatSettings | None:
        return self.session.get(m.ChatSettings, channel_id)

    def set_chat_settings(self, channel_id: int, **values: Any) -> m.ChatSettings:
        row = self.session.get(m.ChatSettings, channel_id)
        if row is None:
            row = m.ChatSettings(channel_id=channel_id, hours="", origins=[])
            self.session.add(row)
        for name, value in values.items():
            setattr(row, name, value)
        self.session.flush()
        return row

    # --- visitors and chats -----------------------------------------------------------------

    def chat_visitor(self, visitor_id: int) -> m.ChatVisitor | None:
        return self.session.get(m.ChatVisitor, visitor_id)

    def chat_visitor_by_token(self, token_hash: str) -> m.ChatVisitor | None:
        return self.session.scalar(
            select(m.ChatVisitor).where(m.ChatVisitor.token_hash == token_hash)
        )

    def add_chat_visitor(
        self, *, channel_id: int, token_hash: str, name: str, email: str | None, address: str
    ) -> m.ChatVisitor:
        now = self.now()
        visitor = m.ChatVisitor(
            channel_id=channel_id,
            token_hash=token_hash,
            name=name,
            email=email,
            address=address,
            created_at=now,
            seen_at=now,
        )
        self.session.add(visitor)
        self.session.flush()
        return visitor

    def add_unverified_contact(self, address: str, name: str) -> m.Contact:
        contact = m.Contact(
            email=address.lower(), name=name, unverified=True, created_at=self.now()
        )
        self.session.add(contact)
        self.session.flush()
        return contact

    def open_chat_of(self, visitor_id: int) -> m.Chat | None:
        c = m.Chat
        query = select(c).where(c.visitor_id == visitor_id, c.ended_at.is_(None))
        return self.session.scalar(query.order_by(c.started_at.desc()).limit(1))

    def chat(self, conversation_id: int) -> m.Chat | None:
        return self.session.get(m.Chat, conversation_id)

    def add_chat(self, conversation_id: int, visitor_id: int) -> m.Chat:
        chat = m.Chat(conversation_id=conversation_id, visitor_id=visitor_id, started_at=self.now())
        self.session.add(chat)
        self.session.flush()
        return chat

    def chat_thread_ids(self, conversation_id: int) -> list[str]:
        """The Message-IDs of a chat's messages, oldest first: the next one replies to them."""
        msg = m.Message
        query = (
            select(msg.message_id)
            .where(msg.conversation_id == conversation_id, msg.message_id.is_not(None))
            .order_by(msg.id)
        )
        return [mid for mid in self.session.scalars(query) if mid]

    def chat_transcript(self, conversation_id: int) -> list[m.Message]:
        msg = m.Message
        query = (
            select(msg)
            .where(msg.conversation_id == conversation_id, msg.direction != "note")
            .order_by(msg.id)
        )
        return list(self.session.scalars(query))

    # --- who answers (C6) -------------------------------------------------------------------

    def users_online(self, team_id: int | None) -> list[m.User]:
        """Users with an app session that beat lately (local or SSH) who are not away; of the
        team when one is given."""
        since = self.now() - PRESENCE_GONE_AFTER
        query = (
            select(m.User)
            .join(m.Presence, m.Presence.user_id == m.User.id)
            .where(m.Presence.beat_at >= since, m.User.away.is_(False))
        )
        if team_id is not None:
            query = query.join(
                m.TeamMember,
                and_(m.TeamMember.user_id == m.User.id, m.TeamMember.team_id == team_id),
            )
        return list(self.session.scalars(query.distinct().order_by(m.User.id)))

    def touch_chat_visitor(self, visitor_id: int, *, typing: bool = False) -> None:
        now = self.now()
        values: dict[str, Any] = {"seen_at": now}
        if typing:
            values["typing_at"] = now
        self.session.execute(
            update(m.ChatVisitor).where(m.ChatVisitor.id == visitor_id).values(**values)
        )


# --- the web side's reads ------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatLine:
    """One message of a chat as the visitor sees it."""

    id: int
    conversation_id: int
    mine: bool  # written by the visitor
    author: str
    text: str
    at: datetime


def _line(row: Any) -> ChatLine:
    mine = row.direction == "inbound"
    author = row.from_name if mine else (row.author_name or row.from_name or "Support")
    return ChatLine(row.id, row.conversation_id, mine, author, row.body_text, row.sent_at)


def _lines_query() -> Any:
    msg = m.Message
    return (
        select(
            msg.id,
            msg.conversation_id,
            msg.direction,
            msg.from_name,
            msg.body_text,
            msg.sent_at,
            m.User.display_name.label("author_name"),
        )
        .outerjoin(m.User, m.User.id == msg.author_user_id)
        .where(msg.direction != "note")
        .order_by(msg.id)
    )


def feed(session: Session, conversation_id: int, after: int = 0) -> list[ChatLine]:
    """A chat's messages after message row `after` (all of them with 0)."""
    query = _lines_query().where(m.Message.conversation_id == conversation_id)
    return [_line(r) for r in session.execute(query.where(m.Message.id > after))]


def new_messages(session: Session, conversation_ids: list[int], after: int) -> list[ChatLine]:
    """The messages of these chats after row `after` (the visitor's, the reps', the
    automation's), oldest first."""
    if not conversation_ids:
        return []
    query = _lines_query().where(
        m.Message.conversation_id.in_(conversation_ids), m.Message.id > after
    )
    return [_line(r) for r in session.execute(query)]


def newest_message_row(session: Session) -> int:
    from sqlalchemy import func

    return int(session.scalar(select(func.max(m.Message.id))) or 0)


@dataclass(frozen=True)
class ChatState:
    """What the widget shows besides the messages: has the chat ended, is a rep typing."""

    ended: bool
    rep_typing: bool


def chat_states(
    session: Session, conversation_ids: list[int], now: datetime
) -> dict[int, ChatState]:
    if not conversation_ids:
        return {}
    ended = {
        cid
        for cid, at in session.execute(
            select(m.Chat.conversation_id, m.Chat.ended_at).where(
                m.Chat.conversation_id.in_(conversation_ids)
            )
        )
        if at is not None
    }
    since = now - PRESENCE_GONE_AFTER
    typing = set(
        session.scalars(
            select(m.Presence.conversation_id).where(
                m.Presence.conversation_id.in_(conversation_ids),
                m.Presence.replying_since.is_not(None),
                m.Presence.beat_at >= since,
            )
        )
    )
    return {cid: ChatState(cid in ended, cid in typing) for cid in conversation_ids}


def visitor_chat(session: Session, token_hash: str) -> tuple[int, int | None, int, bool] | None:
    """(visitor id, its open chat's conversation id or None, its channel id, whether it gave
    an email) for a cookie's token hash."""
    row = session.execute(
        select(m.ChatVisitor.id, m.ChatVisitor.channel_id, m.ChatVisitor.email).where(
            m.ChatVisitor.token_hash == token_hash
        )
    ).first()
    if row is None:
        return None
    chat_id = session.scalar(
        select(m.Chat.conversation_id)
        .where(m.Chat.visitor_id == row.id, m.Chat.ended_at.is_(None))
        .order_by(m.Chat.started_at.desc())
        .limit(1)
    )
    return row.id, chat_id, row.channel_id, bool(row.email)


def latest_chat(session: Session, visitor_id: int) -> tuple[int, bool] | None:
    """The visitor's newest chat, open or ended: (conversation id, ended)."""
    row = session.execute(
        select(m.Chat.conversation_id, m.Chat.ended_at)
        .where(m.Chat.visitor_id == visitor_id)
        .order_by(m.Chat.started_at.desc(), m.Chat.conversation_id.desc())
        .limit(1)
    ).first()
    return (row.conversation_id, row.ended_at is not None) if row is not None else None


def visitor_typing(session: Session, conversation_id: int, since: datetime) -> bool:
    """Has the chat's visitor typed lately (the app's reading pane may show it)."""
    query = (
        select(m.ChatVisitor.typing_at)
        .join(m.Chat, m.Chat.visitor_id == m.ChatVisitor.id)
        .where(m.Chat.conversation_id == conversation_id)
    )
    at = session.scalar(query)
    return at is not None and at >= since


def open_chats(session: Session) -> list[dict[str, Any]]:
    """The chats that have not ended, newest activity first, with their visitors (as typed:
    unverified) and tickets."""
    c, v, conv = m.Chat, m.ChatVisitor, m.Conversation
    query = (
        select(
            c.conversation_id,
            c.started_at,
            v.name,
            v.email,
            v.seen_at,
            v.typing_at,
            conv.ticket_id,
            m.Channel.name.label("channel"),
        )
        .join(v, v.id == c.visitor_id)
        .join(conv, conv.id == c.conversation_id)
        .join(m.Channel, m.Channel.id == conv.channel_id)
        .where(c.ended_at.is_(None))
        .order_by(conv.updated_at.desc(), c.conversation_id.desc())
    )
    return [
        {
            "conversation": row.conversation_id,
            "channel": row.channel,
            "ticket": row.ticket_id,
            "visitor": row.name,
            "email": row.email,
            "verified": False,
            "started_at": row.started_at.isoformat(),
            "seen_at": row.seen_at.isoformat(),
            "typing_at": row.typing_at.isoformat() if row.typing_at else None,
        }
        for row in session.execute(query)
    ]
