"""Conversations, their participants and messages."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, exists, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from mail.parse import ParsedMail
from storage import models as m
from storage import search_index
from storage.repository.channels import ChannelsMixin

_PARTICIPANTS = cast(Table, m.Participant.__table__)
_MESSAGES = cast(Table, m.Message.__table__)
_MESSAGE_EXISTS = (
    select(_MESSAGES.c.id)
    .where(
        _MESSAGES.c.channel_id == bindparam("channel"), _MESSAGES.c.message_id == bindparam("mid")
    )
    .limit(1)
)
_WITH_ID = (
    select(_MESSAGES.c.message_id, _MESSAGES.c.refs.label("references"))
    .where(
        _MESSAGES.c.conversation_id == bindparam("conversation"),
        _MESSAGES.c.direction != "note",
        _MESSAGES.c.message_id.is_not(None),
    )
    .order_by(_MESSAGES.c.id.desc())
    .limit(1)
)
_LAST_WITH_ID = _WITH_ID
_LAST_HUMAN = _WITH_ID.where(
    _MESSAGES.c.direction == "inbound", _MESSAGES.c.automated_kind.is_(None)
)
_INBOUND_KINDS = (
    select(_MESSAGES.c.automated_kind)
    .where(
        _MESSAGES.c.conversation_id == bindparam("conversation"),
        _MESSAGES.c.direction == "inbound",
    )
    .order_by(_MESSAGES.c.id)
)
_BY_MESSAGE_ID = (
    select(
        _MESSAGES.c.message_id,
        _MESSAGES.c.conversation_id,
        _MESSAGES.c.direction,
        _MESSAGES.c.forwarded,
    )
    .where(_MESSAGES.c.message_id.in_(bindparam("ids", expanding=True)))
    .order_by(_MESSAGES.c.id)
)


class ConversationsMixin(ChannelsMixin):
    """Conversations, participants and messages (inbound, ours, notes)."""

    def conversation(self, conversation_id: int) -> m.Conversation:
        return self.session.get_one(m.Conversation, conversation_id)

    def conversation_or_none(self, conversation_id: int) -> m.Conversation | None:
        return self.session.get(m.Conversation, conversation_id)

    def add_conversation(
        self,
        *,
        channel: Any,
        contact: Any,
        subject: str,
        automated: bool,
    ) -> m.Conversation:
        conversation = m.Conversation(
            channel=channel,
            contact=contact,
            source=channel.kind,
            subject=subject,
            automated=automated,
            state="open",
            created_at=self.now(),
            updated_at=self.now(),
        )
        self.session.add(conversation)  # inserted with its first message, in one flush
        return conversation

    def add_participants(
        self, conversation_id: int, addrs: Iterable[str], *, new: bool = False
    ) -> list[str]:
        """Add the addresses that are not ours nor there yet; the ones added."""
        own = self.own_addresses()
        wanted = {a.lower() for a in addrs if a and a.lower() not in own}
        if not wanted:
            return []
        present = (
            set()
            if new
            else set(
                self.session.scalars(
                    select(m.Participant.address).where(
                        m.Participant.conversation_id == conversation_id,
                        m.Participant.address.in_(wanted),
                    )
                )
            )
        )
        rows = [
            {"conversation_id": conversation_id, "address": a} for a in sorted(wanted - present)
        ]
        if rows:
            # Another transaction may add the same address between the read and this insert
            # (two reps replying at once, on PostgreSQL): the row is there, which is the point.
            connection = self.session.connection()
            dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
            connection.execute(dialect.insert(_PARTICIPANTS).on_conflict_do_nothing(), rows)
        return [str(row["address"]) for row in rows]

    def remove_participants(self, conversation_id: int, addrs: Iterable[str]) -> list[str]:
        """Remove these addresses from the thread; the ones that were there."""
        wanted = {a.lower() for a in addrs if a}
        if not wanted:
            return []
        p = m.Participant
        where = (p.conversation_id == conversation_id, p.address.in_(wanted))
        found = sorted(self.session.scalars(select(p.address).where(*where)))
        if found:
            self.session.execute(delete(p).where(*where))
        return found

    def is_participant(self, conversation_id: int, addr: str) -> bool:
        return bool(
            self.session.scalar(
                select(
                    exists().where(
                        m.Participant.conversation_id == conversation_id,
                        m.Participant.address == addr.lower(),
                    )
                )
            )
        )

    def ticket_conversations(self, ticket_id: int) -> list[m.Conversation]:
        return list(
            self.session.scalars(
                select(m.Conversation)
                .where(m.Conversation.ticket_id == ticket_id)
                .order_by(m.Conversation.id)
            )
        )

    def conversation_for_automated_mail(self, ticket: Any) -> m.Conversation | None:
        """The origin thread if it is an email thread, else the newest email thread. A form's
        thread is one when its channel names an email channel to reply through (SPEC C2)."""
        if ticket.origin_conversation_id is not None:
            origin = self.conversation(ticket.origin_conversation_id)
            if self._emails(origin.channel):
                return origin
        for conversation in [
            c for c in self.ticket_conversations(ticket.id) if c.id == ticket.origin_conversation_id
        ] + list(reversed(self.ticket_conversations(ticket.id))):
            if self._emails(conversation.channel):
                return conversation
        return None

    def _emails(self, channel: m.Channel) -> bool:
        if channel.address:
            return True
        if channel.kind != "form":
            return False
        form = self.session.get(m.FormSettings, channel.id)
        return form is not None and form.reply_channel_id is not None

    def message(self, message_row_id: int) -> m.Message:
        return self.session.get_one(m.Message, message_row_id)

    def message_exists(self, channel_id: int, message_id: str) -> bool:
        return self._read(_MESSAGE_EXISTS, channel=channel_id, mid=message_id).first() is not None

    def messages_by_message_id(self, ids: Sequence[str]) -> dict[str, Any]:
        """Stored messages (inbound and ours) by Message-ID: rows with `message_id`,
        `conversation_id`, `direction` and `forwarded`; the oldest wins a duplicate id."""
        if not ids:
            return {}
        found: dict[str, Any] = {}
        for row in self._read(_BY_MESSAGE_ID, ids=list(ids)):
            found.setdefault(row.message_id, row)
        return found

    def last_inbound_at(self, conversation_id: int) -> datetime | None:
        return self.session.scalar(
            select(func.max(m.Message.sent_at)).where(
                m.Message.conversation_id == conversation_id,
                m.Message.direction == "inbound",
                m.Message.automated_kind.is_(None),
            )
        )

    def last_message_for_reply(self, conversation_id: int) -> Any:
        """The newest human message from the customer, else the newest message with an id
        (a row with `message_id` and `references`). Inbound messages are flushed when they are
        added and ours are Core inserts, so this read needs no flush."""
        human = self._read(_LAST_HUMAN, conversation=conversation_id).first()
        return human or self._read(_LAST_WITH_ID, conversation=conversation_id).first()

    def only_automated_inbound(self, conversation_id: int) -> str | None:
        """The kind of automated mail when every inbound message of the thread is automated."""
        kinds = self._read(_INBOUND_KINDS, conversation=conversation_id).scalars().all()
        if kinds and all(kinds):
            return str(kinds[-1])
        return None

    def add_inbound_message(
        self,
        *,
        conversation: Any,
        channel_id: int,
        mail: ParsedMail,
        raw: bytes,
        thread_reason: str,
        thread_conflict: str | None,
        author_user_id: int | None,
        forwarded_reason: str | None,
        automated_kind: str | None,
        automated_reason: str | None,
        sent_by_us: bool = False,
    ) -> m.Message:
        """A received message; `sent_by_us` (or a user's address) stores it as outgoing mail."""
        now = self.now()
        message = m.Message(
            conversation=conversation,
            channel_id=channel_id,
            direction="outbound" if author_user_id is not None or sent_by_us else "inbound",
            message_id=mail.message_id,
            in_reply_to=mail.in_reply_to[0] if mail.in_reply_to else None,
            references=list(mail.references),
            from_addr=mail.sender.addr if mail.sender else "",
            from_name=mail.sender.name if mail.sender else "",
            to_addrs=[a.addr for a in mail.to],
            cc_addrs=[a.addr for a in mail.cc],
            subject=mail.subject,
            sent_at=mail.date or now,
            created_at=now,
            body_text=mail.text,
            body_html=mail.html,
            raw=raw,
            forwarded=forwarded_reason is not None,
            forwarded_reason=forwarded_reason,
            automated_kind=automated_kind,
            automated_reason=automated_reason,
            author_user_id=author_user_id,
            thread_reason=thread_reason,
            thread_conflict=thread_conflict,
            attachments=[
                m.Attachment(
                    filename=a.filename,
                    content_type=a.content_type,
                    size=len(a.data),
                    inline=a.inline,
                    data=a.data,
                )
                for a in mail.attachments
            ],
        )
        self.session.add(message)
        self.session.flush()
        self._index_message(
            message.id,
            subject=mail.subject,
            sender=[message.from_name, message.from_addr],
            recipients=[*message.to_addrs, *message.cc_addrs],
            body=mail.text,
            files=[a.filename for a in mail.attachments],
        )
        return message

    def add_outbound_message(
        self,
        *,
        conversation: Any,
        message_id: str,
        in_reply_to: str | None,
        references: list[str],
        from_addr: str,
        from_name: str,
        to: list[str],
        subject: str,
        body: str,
        sent_from: str,
        author_user_id: int | None,
        template_name: str | None,
        cc: Sequence[str] = (),
        bcc: Sequence[str] = (),
        attachments: Sequence[tuple[str, str, bytes]] = (),
        forwarded_reason: str | None = None,
    ) -> int:
        """`bcc`: kept on the message for its timeline, never in its headers (SPEC D16);
        `attachments`: (name, type, bytes) of the files sent, listed like received ones."""
        now = self.now()
        message_id_row = self._insert(
            m.Message,
            conversation_id=conversation.id,
            channel_id=conversation.channel_id,
            direction="outbound",
            message_id=message_id,
            in_reply_to=in_reply_to,
            from_addr=from_addr,
            from_name=from_name,
            to_addrs=to,
            cc_addrs=list(cc),
            bcc_addrs=list(bcc),
            subject=subject,
            sent_at=now,
            created_at=now,
            body_text=body,
            sent_from=sent_from,
            author_user_id=author_user_id,
            template_name=template_name,
            thread_reason="written in this conversation",
            refs=references,
            forwarded=forwarded_reason is not None,
            forwarded_reason=forwarded_reason,
        )
        if attachments:
            self.session.connection().execute(
                insert(cast(Table, m.Attachment.__table__)),
                [
                    {
                        "message_row_id": message_id_row,
                        "filename": name,
                        "content_type": ctype,
                        "size": len(data),
                        "inline": False,
                        "data": data,
                    }
                    for name, ctype, data in attachments
                ],
            )
        self._index_message(
            message_id_row,
            subject=subject,
            sender=[from_name, from_addr],
            recipients=[*to, *cc],
            body=body,
        )
        return message_id_row

    def add_note_message(self, conversation_id: int, user_id: int | None, body: str) -> m.Message:
        conversation = self.conversation(conversation_id)
        now = self.now()
        message = m.Message(
            conversation_id=conversation_id,
            channel_id=conversation.channel_id,
            direction="note",
            body_text=body,
            author_user_id=user_id,
            thread_reason="internal note",
            sent_at=now,
            created_at=now,
        )
        self.session.add(message)
        self.session.flush()
        author = message.author
        self._index_message(
            message.id,
            subject="",
            sender=[author.display_name, author.name] if author else [],
            recipients=[],
            body=body,
        )
        return message

    def _index_message(
        self,
        message_id: int,
        *,
        subject: str,
        sender: list[str],
        recipients: list[str],
        body: str,
        files: list[str] | None = None,
    ) -> None:
        """The message's words into the search index, in this transaction (D19)."""
        doc = search_index.document(
            message_id,
            subject=subject,
            sender=sender,
            recipients=recipients,
            body=body,
            files=files or [],
        )
        search_index.index(self.session.connection(), [doc])
