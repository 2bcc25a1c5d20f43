"""SQLAlchemy 2 typed models: every object of SPEC §1 and the engine's bookkeeping.

The domain core (`automation/`) never imports this module: it reaches these objects through the
repository in `storage/repository/`, typed by the protocols in `automation/ports.py`.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes; SQLite gives naive ones back, so they are re-tagged as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class TicketState(enum.StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


class Setting(Base):
    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


class Pipeline(Base):
    __tablename__ = "pipelines"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    position: Mapped[int] = mapped_column(default=0)
    statuses: Mapped[list[Status]] = relationship(
        back_populates="pipeline", order_by="Status.position", cascade="all, delete-orphan"
    )
    triggers: Mapped[list[Trigger]] = relationship(
        back_populates="pipeline", cascade="all, delete-orphan"
    )


class Status(Base):
    __tablename__ = "statuses"
    __table_args__ = (UniqueConstraint("pipeline_id", "label"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(200))
    position: Mapped[int]
    state: Mapped[str] = mapped_column(String(6), default=TicketState.OPEN)
    pipeline: Mapped[Pipeline] = relationship(back_populates="statuses")

    @property
    def is_closed(self) -> bool:
        return self.state == TicketState.CLOSED


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    away: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The OS login that acts as this user on the local CLI and app (SPEC S7; default its name).
    login: Mapped[str | None] = mapped_column(String(100), unique=True)


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    members: Mapped[list[User]] = relationship(secondary="team_members", order_by="User.id")


class TeamMember(Base):
    __tablename__ = "team_members"
    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )


class Channel(Base):
    __tablename__ = "channels"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # email, chat, messenger, form
    address: Mapped[str | None] = mapped_column(String(320), index=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id"))
    ticket_automation: Mapped[bool] = mapped_column(Boolean, default=True)
    bulk_opens_tickets: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Mail servers (email channels). Secrets are references (env:, file:, keyring:, command:),
    # never the secret itself (SPEC §7).
    imap_host: Mapped[str | None] = mapped_column(String(255))
    imap_port: Mapped[int | None]
    imap_tls: Mapped[str] = mapped_column(String(8), default="implicit")  # implicit/starttls/none
    imap_user: Mapped[str | None] = mapped_column(String(320))
    imap_folder: Mapped[str] = mapped_column(String(255), default="INBOX")
    imap_secret: Mapped[str | None] = mapped_column(Text)
    smtp_host: Mapped[str | None] = mapped_column(String(255))
    smtp_port: Mapped[int | None]
    smtp_tls: Mapped[str] = mapped_column(String(8), default="starttls")
    smtp_user: Mapped[str | None] = mapped_column(String(320))
    smtp_secret: Mapped[str | None] = mapped_column(Text)
    auth: Mapped[str] = mapped_column(String(8), default="password")  # password / xoauth2
    pipeline: Mapped[Pipeline] = relationship()


class FormSettings(Base):
    """A form channel's web settings (SPEC C2, C5): the email channel its mail goes out through
    (none: no email is queued, the timeline says why) and the site origins that may embed its
    page (an iframe; its frame-ancestors)."""

    __tablename__ = "form_settings"
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True
    )
    origins: Mapped[list[Any]] = mapped_column(JSON, default=list)  # https://www.example.com
    reply_channel_id: Mapped[int | None] = mapped_column(
        ForeignKey("channels.id", ondelete="SET NULL")
    )


class Contact(Base):
    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lowercased
    name: Mapped[str] = mapped_column(String(200), default="")
    bouncing_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A chat visitor (SPEC C3): the name and email were typed, never checked. Its `email` is the
    # visitor's own made-up address, so it never meets that address's email conversations.
    unverified: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_state_updated", "state", "updated_at", "id"),
        Index("ix_conversations_channel_updated", "channel_id", "updated_at", "id"),
        Index("ix_conversations_updated", "updated_at", "id"),
        Index("ix_conversations_assignee_updated", "assignee_id", "updated_at", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(8), default="open")  # open / closed
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    automated: Mapped[bool] = mapped_column(Boolean, default=False)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", use_alter=True, ondelete="SET NULL"), index=True
    )
    # Why this conversation belongs to its ticket: origin, composed, token, attached (SPEC E4).
    association: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Out of the open views until then (SPEC D23): a time, not a state.
    snoozed_until: Mapped[datetime | None] = mapped_column(index=True)
    channel: Mapped[Channel] = relationship()
    contact: Mapped[Contact | None] = relationship()
    assignee: Mapped[User | None] = relationship()
    ticket: Mapped[Ticket | None] = relationship(foreign_keys=[ticket_id])


class Participant(Base):
    """An outside address that took part in a conversation (SPEC §6 sender check, E10)."""

    __tablename__ = "participants"
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    address: Mapped[str] = mapped_column(String(320), primary_key=True)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel_id", "message_id"),
        Index("ix_messages_conversation", "conversation_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    direction: Mapped[str] = mapped_column(String(8))  # inbound / outbound / note
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    references: Mapped[list[Any]] = mapped_column("refs", JSON, default=list)
    from_addr: Mapped[str] = mapped_column(String(320), default="")
    from_name: Mapped[str] = mapped_column(String(200), default="")
    to_addrs: Mapped[list[Any]] = mapped_column(JSON, default=list)
    cc_addrs: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Our own email's Bcc (SPEC D16): on its timeline, never in a header.
    bcc_addrs: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")
    subject: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    forwarded: Mapped[bool] = mapped_column(Boolean, default=False)
    forwarded_reason: Mapped[str | None] = mapped_column(Text)
    automated_kind: Mapped[str | None] = mapped_column(String(16))
    automated_reason: Mapped[str | None] = mapped_column(Text)
    sent_from: Mapped[str | None] = mapped_column(String(16))  # ticket / contact / automation
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    template_name: Mapped[str | None] = mapped_column(String(200))
    thread_reason: Mapped[str] = mapped_column(Text, default="")
    thread_conflict: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="message", cascade="all, delete-orphan", order_by="Attachment.id"
    )
    conversation: Mapped[Conversation] = relationship()
    author: Mapped[User | None] = relationship()

    @property
    def automated(self) -> bool:
        return self.automated_kind is not None


class Attachment(Base):
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_row_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(Text, default="")
    content_type: Mapped[str] = mapped_column(String(200), default="application/octet-stream")
    size: Mapped[int] = mapped_column(default=0)
    inline: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    message: Mapped[Message] = relationship(back_populates="attachments")


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_status_updated", "status_id", "updated_at", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)  # the ticket number shown as #N
    subject: Mapped[str] = mapped_column(Text, default="")
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id"))
    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"))
    source: Mapped[str] = mapped_column(String(16), default="email")
    origin_conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    reopened: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_response_at: Mapped[datetime | None]
    last_customer_reply_at: Mapped[datetime | None]
    last_rep_reply_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    snoozed_until: Mapped[datetime | None] = mapped_column(index=True)  # SPEC D23
    # SPEC B3.1: set when this ticket was merged into another (closed; writes are refused)
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), index=True
    )
    pipeline: Mapped[Pipeline] = relationship()
    status: Mapped[Status] = relationship()
    owner: Mapped[User | None] = relationship()
    contact: Mapped[Contact | None] = relationship()
    channel: Mapped[Channel | None] = relationship()
    origin: Mapped[Conversation | None] = relationship(foreign_keys=[origin_conversation_id])
    conversations: Mapped[list[Conversation]] = relationship(
        foreign_keys=[Conversation.ticket_id], viewonly=True, order_by=Conversation.id
    )
    tags: Mapped[list[TicketTag]] = relationship(viewonly=True, order_by="TicketTag.tag")
    property_values: Mapped[list[TicketProperty]] = relationship(viewonly=True)


class TimelineEvent(Base):
    __tablename__ = "timeline_events"
    __table_args__ = (
        Index("ix_timeline_ticket", "ticket_id", "id"),
        Index("ix_timeline_conversation", "conversation_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    type: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    message_row_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL")
    )
    actor_kind: Mapped[str] = mapped_column(String(16))  # user, contact, trigger, workflow, system
    actor_id: Mapped[int | None]
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    cause_id: Mapped[int | None] = mapped_column(
        ForeignKey("timeline_events.id", ondelete="SET NULL")
    )
    summary: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class DomainEvent(Base):
    """The durable event queue (SPEC E2): written with the change, handled after commit."""

    __tablename__ = "domain_events"
    __table_args__ = (Index("ix_domain_events_pending", "processed_at", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class Trigger(Base):
    __tablename__ = "triggers"
    __table_args__ = (UniqueConstraint("pipeline_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))  # email_sent / customer_replied
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    target_status_id: Mapped[int | None] = mapped_column(
        ForeignKey("statuses.id", ondelete="SET NULL")
    )
    pipeline: Mapped[Pipeline] = relationship(back_populates="triggers")
    target_status: Mapped[Status | None] = relationship()


class Template(Base):
    __tablename__ = "templates"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Workflow(Base):
    """A status-action list is a workflow with enrollment "ticket status is X" (SPEC R-A7)."""

    __tablename__ = "workflows"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"))
    status_id: Mapped[int | None] = mapped_column(
        ForeignKey("statuses.id", ondelete="CASCADE"), index=True
    )
    builtin: Mapped[bool] = mapped_column(Boolean, default=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    reenroll: Mapped[bool] = mapped_column(Boolean, default=False)
    # Extra enrollment conditions, e.g. {"sources": ["chat"]} (SPEC R-A8).
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    cloned_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("workflows.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The top-level list; a branch's paths hang under it (WorkflowAction.children).
    actions: Mapped[list[WorkflowAction]] = relationship(
        primaryjoin="and_(Workflow.id == WorkflowAction.workflow_id, "
        "WorkflowAction.parent_id.is_(None))",
        order_by="WorkflowAction.position",
        cascade="all, delete-orphan",
    )
    status: Mapped[Status | None] = relationship()


class WorkflowAction(Base):
    __tablename__ = "workflow_actions"
    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    # In a branch's "yes" or "no" path (SPEC R-A5 if/else) when parent_id is set.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("workflow_actions.id", ondelete="CASCADE"), index=True
    )
    branch: Mapped[str | None] = mapped_column(String(8))
    position: Mapped[int]  # within its list: the workflow's, or one path of its parent
    kind: Mapped[str] = mapped_column(String(32))  # send_email / notify / branch / ...
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    workflow: Mapped[Workflow] = relationship(overlaps="actions")
    parent: Mapped[WorkflowAction | None] = relationship(
        back_populates="children", remote_side="WorkflowAction.id"
    )
    children: Mapped[list[WorkflowAction]] = relationship(
        back_populates="parent",
        order_by="WorkflowAction.position",
        cascade="all, delete-orphan",
    )
    comments: Mapped[list[ActionComment]] = relationship(
        cascade="all, delete-orphan", order_by="ActionComment.id"
    )


class ActionComment(Base):
    __tablename__ = "action_comments"
    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("workflow_actions.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Enrollment(Base):
    __tablename__ = "enrollments"
    __table_args__ = (Index("ix_enrollments_workflow_ticket", "workflow_id", "ticket_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    cause_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("timeline_events.id", ondelete="SET NULL")
    )
    # Set when the person's action that caused it was undone: it no longer counts (SPEC E7).
    undone_at: Mapped[datetime | None]


class ActionRun(Base):
    """One action of one enrollment: ok, failed (retryable) or skipped, with why."""

    __tablename__ = "action_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"))
    action_id: Mapped[int | None] = mapped_column(
        ForeignKey("workflow_actions.id", ondelete="SET NULL")
    )
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(8))
    detail: Mapped[str] = mapped_column(Text, default="")
    depth: Mapped[int] = mapped_column(default=0)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMail(Base):
    """An email waiting for SMTP, written in the transaction of the change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_state", "state", "next_attempt_at", "id"),
        Index("ix_outbox_recipient", "recipient", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    message_row_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL")
    )
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), index=True
    )
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"))
    kind: Mapped[str] = mapped_column(String(16))  # reply / automated / notification
    template_name: Mapped[str | None] = mapped_column(String(200))
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    mail_from: Mapped[str] = mapped_column(String(320))
    rcpt_to: Mapped[list[Any]] = mapped_column(JSON)
    recipient: Mapped[str | None] = mapped_column(String(320))  # the first, lowercased: limits
    subject: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    # queued / sending / handed / sent / failed / held / dropped / cancelled
    state: Mapped[str] = mapped_column(String(16), default="queued")
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]
    held_reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class PersonAction(Base):
    """A person's change (close, move, reply…), kept so that it can be undone (SPEC D3).

    `before` and `after` hold the values of the ticket (and its conversation) the change could
    touch, before it and right after it. What its automation did is found from `event_id`, the
    change's own timeline event: every automated change names the event it descends from (E8),
    so the mail and the enrollments it caused are that event's descendants on the timeline.
    Mail it causes may not leave before `undo_until` (`window_seconds` after it; 0 when it was
    sent at once)."""

    __tablename__ = "person_actions"
    __table_args__ = (Index("ix_person_actions_user", "user_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))  # close, move, reopen, reply, compose, ...
    summary: Mapped[str] = mapped_column(Text, default="")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("timeline_events.id", ondelete="SET NULL"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    window_seconds: Mapped[int] = mapped_column(default=0)
    undo_until: Mapped[datetime] = mapped_column(default=utcnow)
    before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    undone_at: Mapped[datetime | None]
    undo_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("timeline_events.id", ondelete="SET NULL")
    )


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user", "user_id", "read_at", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    # notify (a workflow's), assigned, mention, task
    kind: Mapped[str] = mapped_column(String(16), default="notify", server_default="notify")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]


class ImportFailure(Base):
    """Raw mail that could not be stored, kept with its reason so nothing is lost."""

    __tablename__ = "import_failures"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"))
    source: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MailboxState(Base):
    """The IMAP checkpoint of a channel, written with the messages it covers (SPEC §6)."""

    __tablename__ = "mailbox_states"
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True
    )
    folder: Mapped[str] = mapped_column(String(255), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Lease(Base):
    """A named lease (a channel's inbound, the outbox sender) held by one process until expiry."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime]


class Draft(Base):
    """Text a user is typing (reply, contact-record email, note), kept so a crash loses nothing."""

    __tablename__ = "drafts"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # What the draft answers, e.g. "conversation:12:ticket" or "ticket:7:note".
    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    body: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DraftAttachment(Base):
    """A file attached to a draft (SPEC D18): kept with it until the email is sent or dropped."""

    __tablename__ = "draft_attachments"
    __table_args__ = (Index("ix_draft_attachments_scope", "user_id", "scope", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(200))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScheduledStep(Base):
    """The rest of a workflow run, waiting for its delay (SPEC R-A5): durable, so it resumes
    after a restart or a crash, on time or, when overdue, at once and marked late."""

    __tablename__ = "scheduled_steps"
    __table_args__ = (Index("ix_scheduled_steps_due", "done_at", "due_at", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"))
    next_position: Mapped[int]  # the index in the workflow's action list to go on from
    # The delay that waits: the run goes on after it, wherever it sits now (a plain id, so a
    # deleted delay is noticed instead of silently nulled). None on steps written before 0006.
    after_action_id: Mapped[int | None]
    due_at: Mapped[datetime]
    depth: Mapped[int] = mapped_column(default=0)
    cause_id: Mapped[int | None] = mapped_column(
        ForeignKey("timeline_events.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]


class Task(Base):
    """A follow-up for a person, made by a workflow (SPEC R-A5) or by hand; listed per user."""

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_user_open", "user_id", "done_at", "due_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime]
    workflow_id: Mapped[int | None] = mapped_column(ForeignKey("workflows.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
    notified_at: Mapped[datetime | None]  # its owner was told it is due


class Presence(Base):
    """Who is looking at what right now (SPEC D22): one row per app session, beaten every few
    seconds; a row whose last beat is older than a few seconds is a session that went away."""

    __tablename__ = "presence"
    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    ticket_id: Mapped[int | None] = mapped_column(index=True)
    conversation_id: Mapped[int | None] = mapped_column(index=True)
    replying_since: Mapped[datetime | None]
    beat_at: Mapped[datetime]


class SshKey(Base):
    """One OpenSSH public key of one user: a key belongs to one user (SPEC S1), so its
    fingerprint is unique across the desk."""

    __tablename__ = "ssh_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_type: Mapped[str] = mapped_column(String(64))
    key_data: Mapped[str] = mapped_column(Text)  # the base64 of the public key's blob
    fingerprint: Mapped[str] = mapped_column(String(100), unique=True)  # SHA256:...
    comment: Mapped[str] = mapped_column(String(500), default="")
    added_at: Mapped[datetime]
    user: Mapped[User] = relationship()


class SshLogin(Base):
    """One SSH connection that reached a user (or was refused after its key was known)."""

    __tablename__ = "ssh_logins"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    user_name: Mapped[str] = mapped_column(String(100))  # kept when the user is removed
    fingerprint: Mapped[str] = mapped_column(String(100))
    source_address: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # session (the app) or command
    started_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime | None]
    # open, ended, refused: too many sessions
    outcome: Mapped[str] = mapped_column(String(200), default="open")


class SettingsChange(Base):
    """One change of the desk's settings (SPEC S11): append-only, never updated or deleted.
    One `automation apply` shares one apply_id."""

    __tablename__ = "settings_audit"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    actor_name: Mapped[str] = mapped_column(String(100))  # kept when the user is removed
    apply_id: Mapped[str | None] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # channel, trigger, template, user, ...
    object_key: Mapped[str] = mapped_column(String(300))  # the object's name or id
    action: Mapped[str] = mapped_column(String(16))  # added, changed, removed
    old: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    new: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class UserKeymap(Base):
    """A user's own keys (SPEC S3): action id -> key, kept in the desk, not in a file."""

    __tablename__ = "user_keymaps"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    keys: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime]


class StagedAttachment(Base):
    """A file a user sent with `attachment put NAME < file` (SPEC S3), waiting for the user's
    next composer draft to take it (then deleted)."""

    __tablename__ = "staged_attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(200))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    added_at: Mapped[datetime]


class TicketTag(Base):
    """A free tag on a ticket (lower case, one per ticket and text)."""

    __tablename__ = "ticket_tags"
    __table_args__ = (Index("ix_ticket_tags_tag", "tag", "ticket_id"),)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
    added_at: Mapped[datetime]


class ChatSettings(Base):
    """A chat channel's live settings (SPEC C4-C6): whose team answers, its hours, the sites
    the widget answers, and the email channel transcripts go out through."""

    __tablename__ = "chat_settings"
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True
    )
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    hours: Mapped[str] = mapped_column(Text, default="")  # "mon-fri 09:00-17:00 Europe/Warsaw"
    origins: Mapped[list[Any]] = mapped_column(JSON, default=list)  # https://www.example.com
    reply_channel_id: Mapped[int | None] = mapped_column(
        ForeignKey("channels.id", ondelete="SET NULL")
    )


class ChatVisitor(Base):
    """A browser that chats (SPEC C3), known by the hash of the token in its cookie."""

    __tablename__ = "chat_visitors"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320))  # typed, unverified
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    address: Mapped[str] = mapped_column(String(100), default="")  # the client's IP address
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    typing_at: Mapped[datetime | None]


class Chat(Base):
    """One chat of a visitor: its conversation, until a rep (or the visitor) ends it."""

    __tablename__ = "chats"
    __table_args__ = (Index("ix_chats_visitor", "visitor_id", "ended_at"),)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    visitor_id: Mapped[int] = mapped_column(ForeignKey("chat_visitors.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(200))


class BoardCount(Base):
    """How many tickets a pipeline's status holds, kept by triggers on tickets in the same
    transaction as the change (SPEC B8.6; storage/repository/board_counts.py)."""

    __tablename__ = "board_counts"
    pipeline_id: Mapped[int] = mapped_column(
        ForeignKey("pipelines.id", ondelete="CASCADE"), primary_key=True
    )
    status_id: Mapped[int] = mapped_column(
        ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    tickets: Mapped[int] = mapped_column(default=0)


class BoardCountChange(Base):
    """A change to a board count not folded into `board_counts` yet (PostgreSQL's triggers
    append these so that writers share no hot row; SPEC B8.6, storage/repository/board_counts)."""

    __tablename__ = "board_count_changes"
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"))
    status_id: Mapped[int] = mapped_column(
        ForeignKey("statuses.id", ondelete="CASCADE"), index=True
    )
    delta: Mapped[int]


class Snippet(Base):
    """A canned response (SPEC D18): a named Jinja text, shared (no owner, kept by admins) or a
    rep's own; a rep's own shadows a shared one of the same name."""

    __tablename__ = "snippets"
    __table_args__ = (UniqueConstraint("owner_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class Signature(Base):
    """A signature (SPEC D18) for a rep on a channel, a rep, or a channel: most specific wins."""

    __tablename__ = "signatures"
    __table_args__ = (UniqueConstraint("user_id", "channel_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class PropertyDef(Base):
    """A custom ticket property an admin defined (issue 13, SPEC D21)."""

    __tablename__ = "property_defs"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)  # lower case, an identifier
    kind: Mapped[str] = mapped_column(String(16))  # text, number, date, choice, checkbox
    choices: Mapped[list[str]] = mapped_column(JSON, default=list)  # choice only
    required_to_close: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class TicketProperty(Base):
    """A ticket's value of a custom property, in its type's stored form."""

    __tablename__ = "ticket_properties"
    __table_args__ = (Index("ix_ticket_properties_value", "property_id", "value"),)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    property_id: Mapped[int] = mapped_column(
        ForeignKey("property_defs.id", ondelete="CASCADE"), primary_key=True
    )
    value: Mapped[str] = mapped_column(String(1000))
    updated_at: Mapped[datetime]
    prop: Mapped[PropertyDef] = relationship(lazy="joined")


class SavedView(Base):
    """A search saved under a name (SPEC D20): the viewer's own, or shared (owner_id NULL)."""

    __tablename__ = "saved_views"
    __table_args__ = (Index("ix_saved_views_owner", "owner_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    query: Mapped[str] = mapped_column(Text)
    list_name: Mapped[str] = mapped_column(String(16), default="inbox")  # inbox or board
    created_at: Mapped[datetime]


class WebRateCount(Base):
    """A rate limit's count of the web side (SPEC C5), shared by every serving process of the
    desk: `key` is the limit's name and the address or visitor, `window_start` (epoch seconds)
    when its minute began. Rows of a minute past are pruned (storage.rate_counts)."""

    __tablename__ = "web_rate_counts"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[float] = mapped_column(Float, index=True)
    count: Mapped[int] = mapped_column(Integer)
