"""The outbox: emails written with their change, claimed and sent by the delivery loop."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select

from storage import models as m
from storage.repository.base import RepositoryBase

_OUTBOX = cast(Table, m.OutboxMail.__table__)
_RECENT_AUTOMATED = select(_OUTBOX.c.ticket_id, _OUTBOX.c.created_at).where(
    _OUTBOX.c.recipient == bindparam("recipient"),
    _OUTBOX.c.created_at >= bindparam("since"),
    _OUTBOX.c.kind == "automated",
    _OUTBOX.c.state.not_in(("held", "dropped", "cancelled")),
)


class OutboxMixin(RepositoryBase):
    """The outbox: queued emails, the loop limits' count, the sender's claims."""

    def add_outbox(
        self,
        *,
        message_row_id: int | None,
        ticket_id: int | None,
        channel_id: int | None,
        kind: str,
        template_name: str | None,
        message_id: str,
        mail_from: str,
        rcpt_to: list[str],
        subject: str,
        raw: bytes,
        held_reason: str | None,
        not_before: datetime | None = None,
    ) -> int:
        """`not_before`: no sender takes it earlier (an undo window); default: at once."""
        now = self.now()
        return self._insert(
            m.OutboxMail,
            message_row_id=message_row_id,
            ticket_id=ticket_id,
            channel_id=channel_id,
            kind=kind,
            template_name=template_name,
            message_id=message_id,
            mail_from=mail_from,
            rcpt_to=rcpt_to,
            recipient=rcpt_to[0].lower() if rcpt_to else None,
            subject=subject,
            raw=raw,
            state="held" if held_reason else "queued",
            held_reason=held_reason,
            next_attempt_at=not_before or now,
            created_at=now,
        )

    def recent_automated_mail(
        self, recipient: str, since: datetime
    ) -> list[tuple[int | None, datetime]]:
        """(ticket id, created at) of automated emails to `recipient` since then that were not
        held, dropped or cancelled: what the loop limits count (SPEC §7)."""
        rows = self._read(_RECENT_AUTOMATED, recipient=recipient.lower(), since=since)
        return [(ticket_id, created_at) for ticket_id, created_at in rows]

    def claim_due_mail(self, holder: str, limit: int) -> list[dict[str, Any]]:
        """Take up to `limit` queued emails that are due and whose channel has an SMTP server:
        state `sending`, claimed by `holder`.
        PostgreSQL skips rows another sender holds; SQLite has one writer at a time."""
        now = self.now()
        rows = list(
            self.session.scalars(
                select(m.OutboxMail)
                .where(
                    m.OutboxMail.state == "queued",
                    m.OutboxMail.next_attempt_at <= now,
                    m.OutboxMail.channel_id.in_(  # mail of channels with no server waits
                        select(m.Channel.id).where(m.Channel.smtp_host.is_not(None))
                    ),
                )
                .order_by(m.OutboxMail.next_attempt_at, m.OutboxMail.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        claims = []
        for row in rows:
            row.state, row.claimed_by, row.claimed_at = "sending", holder, now
            claims.append(
                {
                    "id": row.id,
                    "channel_id": row.channel_id,
                    "ticket_id": row.ticket_id,
                    "message_row_id": row.message_row_id,
                    "mail_from": row.mail_from,
                    "rcpt_to": list(row.rcpt_to),
                    "raw": row.raw,
                    "attempts": row.attempts,
                    "subject": row.subject,
                }
            )
        return claims

    def outbox_row(self, outbox_id: int) -> m.OutboxMail | None:
        return self.session.get(m.OutboxMail, outbox_id)

    def interrupted_mail(self, claimed_before: datetime) -> list[m.OutboxMail]:
        """Emails a sender claimed and never finished (it stopped or died)."""
        return list(
            self.session.scalars(
                select(m.OutboxMail)
                .where(
                    m.OutboxMail.state.in_(("sending", "handed")),
                    m.OutboxMail.claimed_at < claimed_before,
                )
                .order_by(m.OutboxMail.id)
            )
        )

    def outbox_by_state(self, state: str) -> list[m.OutboxMail]:
        return list(
            self.session.scalars(
                select(m.OutboxMail).where(m.OutboxMail.state == state).order_by(m.OutboxMail.id)
            )
        )

    def newest_inbound_addresses(self, conversation_id: int) -> list[str]:
        """From, To and Cc of the conversation's newest non-automated inbound message: who a
        reply keeps in copy (SPEC D16)."""
        row = self.session.execute(
            select(m.Message.from_addr, m.Message.to_addrs, m.Message.cc_addrs)
            .where(
                m.Message.conversation_id == conversation_id,
                m.Message.direction == "inbound",
                m.Message.automated_kind.is_(None),
            )
            .order_by(m.Message.id.desc())
            .limit(1)
        ).first()
        if row is None:
            return []
        return [row.from_addr, *(row.to_addrs or []), *(row.cc_addrs or [])]

    def forward_source(self, message_row_id: int) -> dict[str, Any] | None:
        """What a forward carries of a stored message (SPEC D17): its headers as shown, its
        text and its attachments' bytes in their stored (D13) order. None for a note or a
        message that does not exist."""
        message = self.session.get(m.Message, message_row_id)
        if message is None or message.direction == "note":
            return None
        files = self.session.scalars(
            select(m.Attachment)
            .where(m.Attachment.message_row_id == message.id)
            .order_by(m.Attachment.id)
        )
        return {
            "id": message.id,
            "conversation_id": message.conversation_id,
            "from_addr": message.from_addr,
            "from_name": message.from_name,
            "to": list(message.to_addrs or []),
            "cc": list(message.cc_addrs or []),
            "subject": message.subject,
            "sent_at": message.sent_at,
            "body": message.body_text,
            "attachments": [(a.filename, a.content_type, bytes(a.data)) for a in files],
        }
