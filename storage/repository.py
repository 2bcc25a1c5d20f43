"""The SQL side of `automation.ports.Repository`: every query the domain core needs, in one place.

One `SqlRepository` lives for one transaction (a synchronous `Session`, possibly driven by an async
engine through `run_sync`). Small per-transaction caches keep hot lookups (own addresses, users by
address, settings) to one query each.

Time comes from the repository's clock (`now()`: the real UTC time unless the `Database` was given
another clock). Every row written here takes its timestamps from it, never from a model's column
default, so a desk built on a fake clock has every time on that clock.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Table, bindparam, event, exists, func, insert, select, update
from sqlalchemy.orm import Session, selectinload

from automation.events import Actor, DomainEvent
from automation.ports import AdminRepository, Repository
from mail.parse import ParsedMail
from storage import models as m

T = TypeVar("T")
_TIMELINE = cast(Table, m.TimelineEvent.__table__)
_EVENTS = cast(Table, m.DomainEvent.__table__)
_PARTICIPANTS = cast(Table, m.Participant.__table__)
_INSERT_TIMELINE = insert(_TIMELINE).returning(_TIMELINE.c.id)
_INSERT_EVENT = insert(_EVENTS).returning(_EVENTS.c.id)
_INSERTS: dict[str, Any] = {}
_MESSAGES = cast(Table, m.Message.__table__)
_MESSAGE_EXISTS = (
    select(_MESSAGES.c.id)
    .where(
        _MESSAGES.c.channel_id == bindparam("channel"), _MESSAGES.c.message_id == bindparam("mid")
    )
    .limit(1)
)
_ENROLLED = (
    select(m.Enrollment.__table__.c.id)
    .where(
        m.Enrollment.__table__.c.workflow_id == bindparam("workflow"),
        m.Enrollment.__table__.c.ticket_id == bindparam("ticket"),
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
_CONTACT_ID = select(m.Contact.__table__.c.id).where(
    m.Contact.__table__.c.email == bindparam("email")
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
_OUTBOX = cast(Table, m.OutboxMail.__table__)
_RECENT_AUTOMATED = select(_OUTBOX.c.ticket_id, _OUTBOX.c.created_at).where(
    _OUTBOX.c.recipient == bindparam("recipient"),
    _OUTBOX.c.created_at >= bindparam("since"),
    _OUTBOX.c.kind == "automated",
    _OUTBOX.c.state.not_in(("held", "dropped")),
)
_EVENT_DONE = (
    update(_EVENTS).where(_EVENTS.c.id == bindparam("event")).values(processed_at=bindparam("at"))
)


@dataclass(frozen=True)
class LocalEvent:
    id: int | None  # None: handled inline, never queued (see `handle_events_inline`)
    type: str
    payload: dict[str, Any]


Clock = Callable[[], datetime]
_CLOCK = "deskline.clock"  # the session's clock, in `Session.info`


class SqlRepository:
    def __init__(self, session: Session, *, clock: Clock | None = None) -> None:
        """`clock` defaults to the clock of the session's first repository, else real UTC time:
        a repository built later on the same session (storage.inbound) keeps the same time."""
        self.session = session
        self.clock: Clock = clock or session.info.get(_CLOCK) or m.utcnow
        session.info[_CLOCK] = self.clock
        self._settings: dict[str, Any] = {}
        self._own: frozenset[str] | None = None
        self._config: dict[tuple[str, object], Any] = {}  # pipelines, triggers, workflows
        self._local_events: list[LocalEvent] = []
        self._inline_events = False
        self._user_ids_by_email: dict[str, int] | None = None
        # The Session's identity map holds clean objects weakly; a transaction that touches the
        # same ticket, conversation and contact from several handlers would re-select them after
        # every garbage collection. Holding them here keeps each to one SELECT per transaction.
        self._held: list[object] = []
        event.listen(session, "loaded_as_persistent", self._hold)
        event.listen(session, "pending_to_persistent", self._hold)

    def _hold(self, _session: Session, instance: object) -> None:
        self._held.append(instance)

    def _cached(self, key: tuple[str, object], load: Callable[[], T]) -> T:
        """Settings-like rows read on every message; admin changes call `_forget_config`."""
        if key not in self._config:
            self._config[key] = load()
        return cast(T, self._config[key])

    def _forget_config(self) -> None:
        self._config.clear()

    def _insert(self, model: type[m.Base], **values: Any) -> int:
        """A Core insert for rows nothing reads back as objects (no flush, no ORM state)."""
        table = cast(Table, model.__table__)
        statement = _INSERTS.get(table.name)
        if statement is None:
            statement = _INSERTS[table.name] = insert(table).returning(table.c.id)
        return int(self.session.connection().execute(statement, values).scalar_one())

    # --- instance and settings -------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock()

    def setting(self, key: str, default: Any) -> Any:
        if key not in self._settings:
            row = self.session.get(m.Setting, key)
            self._settings[key] = row.value if row is not None else default
        return self._settings[key]

    def set_setting(self, key: str, value: Any) -> None:
        self.session.merge(m.Setting(key=key, value=value))
        self._settings[key] = value

    def instance_id(self) -> str:
        value = self.setting("instance_id", None)
        if value is None:
            value = secrets.token_hex(8)
            self.set_setting("instance_id", value)
        return str(value)

    def secret(self) -> bytes:
        value = self.setting("message_id_secret", None)
        if value is None:
            value = secrets.token_hex(32)
            self.set_setting("message_id_secret", value)
        return bytes.fromhex(value)

    def own_addresses(self) -> frozenset[str]:
        if self._own is None:
            rows = self.session.scalars(
                select(m.Channel.address).where(m.Channel.address.is_not(None))
            )
            self._own = frozenset(a.lower() for a in rows if a)
        return self._own

    @contextmanager
    def savepoint(self) -> Iterator[object]:
        with self.session.begin_nested() as nested:
            yield nested

    # --- drafts (the app's typed text, kept across crashes) ---------------------------------

    def save_draft(self, user_id: int, scope: str, body: str) -> None:
        if body.strip():
            self.session.merge(
                m.Draft(user_id=user_id, scope=scope, body=body, updated_at=self.now())
            )
        else:
            self.discard_draft(user_id, scope)

    def discard_draft(self, user_id: int, scope: str) -> None:
        row = self.session.get(m.Draft, (user_id, scope))
        if row is not None:
            self.session.delete(row)

    # --- people ----------------------------------------------------------------------------

    def user(self, user_id: Any) -> m.User | None:
        return self.session.get(m.User, user_id) if isinstance(user_id, int) else None

    def user_by_email(self, addr: str) -> m.User | None:
        """Every inbound message asks; one query per transaction answers them all."""
        if self._user_ids_by_email is None:
            rows = self.session.execute(
                select(m.User.email, m.User.id).where(m.User.email.is_not(None))
            )
            self._user_ids_by_email = {(email or "").lower(): uid for email, uid in rows}
        user_id = self._user_ids_by_email.get(addr.lower())
        return self.session.get(m.User, user_id) if user_id is not None else None

    def user_by_name(self, name: str) -> m.User | None:
        return self.session.scalar(select(m.User).where(m.User.name == name))

    def users(self) -> list[m.User]:
        return list(self.session.scalars(select(m.User).order_by(m.User.id)))

    def team(self, team_id: Any) -> m.Team | None:
        return self.session.get(m.Team, team_id) if isinstance(team_id, int) else None

    def teams_of(self, user_id: int) -> list[m.Team]:
        return list(
            self.session.scalars(
                select(m.Team)
                .join(m.TeamMember, m.TeamMember.team_id == m.Team.id)
                .where(m.TeamMember.user_id == user_id)
                .order_by(m.Team.name)
            )
        )

    def team_by_name(self, name: str) -> m.Team | None:
        return self.session.scalar(select(m.Team).where(m.Team.name == name))

    def contact_by_email(self, addr: str) -> m.Contact | None:
        contact_id = self._read(_CONTACT_ID, email=addr.lower()).scalar()
        return self.session.get(m.Contact, contact_id) if contact_id is not None else None

    def upsert_contact(self, addr: str, name: str) -> m.Contact:
        contact = self.contact_by_email(addr)
        if contact is None:  # inserted by the next flush, with whatever refers to it
            contact = m.Contact(email=addr.lower(), name=name, created_at=self.now())
            self.session.add(contact)
        elif name and not contact.name:
            contact.name = name
        return contact

    # --- pipelines, triggers, workflows, templates ------------------------------------------

    def pipeline(self, pipeline_id: int) -> m.Pipeline:
        return self.session.get_one(m.Pipeline, pipeline_id)

    def pipelines(self) -> list[m.Pipeline]:
        return list(self.session.scalars(select(m.Pipeline).order_by(m.Pipeline.position)))

    def pipeline_by_name(self, name: str) -> m.Pipeline | None:
        return self.session.scalar(select(m.Pipeline).where(m.Pipeline.name == name))

    def status(self, status_id: Any) -> m.Status | None:
        return self.session.get(m.Status, status_id) if isinstance(status_id, int) else None

    def statuses(self, pipeline_id: int) -> list[m.Status]:
        return self._cached(
            ("statuses", pipeline_id),
            lambda: list(
                self.session.scalars(
                    select(m.Status)
                    .where(m.Status.pipeline_id == pipeline_id)
                    .order_by(m.Status.position, m.Status.id)
                )
            ),
        )

    def trigger(self, pipeline_id: int, kind: str) -> m.Trigger | None:
        return self._cached(
            ("trigger", (pipeline_id, kind)),
            lambda: self.session.scalar(
                select(m.Trigger).where(
                    m.Trigger.pipeline_id == pipeline_id, m.Trigger.kind == kind
                )
            ),
        )

    def status_workflows(self, status_id: int) -> list[m.Workflow]:
        return self._cached(
            ("workflows", status_id),
            lambda: list(
                self.session.scalars(
                    select(m.Workflow)
                    .where(m.Workflow.status_id == status_id)
                    .order_by(m.Workflow.id)
                )
            ),
        )

    def workflow(self, workflow_id: int) -> m.Workflow | None:
        return self.session.get(m.Workflow, workflow_id)

    def add_scheduled_step(
        self,
        *,
        workflow_id: int,
        ticket_id: int,
        enrollment_id: int,
        next_position: int,
        after_action_id: int | None,
        due_at: datetime,
        depth: int,
        cause_id: int | None,
    ) -> int:
        return self._insert(
            m.ScheduledStep,
            workflow_id=workflow_id,
            ticket_id=ticket_id,
            enrollment_id=enrollment_id,
            next_position=next_position,
            after_action_id=after_action_id,
            due_at=due_at,
            depth=depth,
            cause_id=cause_id,
            created_at=self.now(),
        )

    def add_task(
        self,
        *,
        ticket_id: int,
        user_id: int | None,
        title: str,
        due_at: datetime,
        workflow_id: int | None,
    ) -> int:
        return self._insert(
            m.Task,
            ticket_id=ticket_id,
            user_id=user_id,
            title=title,
            due_at=due_at,
            workflow_id=workflow_id,
            created_at=self.now(),
        )

    def task(self, task_id: int) -> m.Task | None:
        return self.session.get(m.Task, task_id)

    def due_steps(self, now: datetime, limit: int) -> list[m.ScheduledStep]:
        """Steps whose delay is over, oldest due first; locked like pending events (PostgreSQL
        skips rows another engine holds)."""
        self.session.flush()
        return list(
            self.session.scalars(
                select(m.ScheduledStep)
                .where(m.ScheduledStep.done_at.is_(None), m.ScheduledStep.due_at <= now)
                .order_by(m.ScheduledStep.due_at, m.ScheduledStep.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )

    def template(self, template_id: Any) -> m.Template | None:
        return self.session.get(m.Template, template_id) if isinstance(template_id, int) else None

    def template_by_name(self, name: str) -> m.Template | None:
        return self.session.scalar(select(m.Template).where(m.Template.name == name))

    def templates(self) -> list[m.Template]:
        return list(self.session.scalars(select(m.Template).order_by(m.Template.id)))

    def enrollment_exists(self, workflow_id: int, ticket_id: int) -> bool:
        found = self._read(_ENROLLED, workflow=workflow_id, ticket=ticket_id).first()
        return found is not None

    def add_enrollment(self, workflow_id: int, ticket_id: int, cause_id: int | None) -> int:
        return self._insert(
            m.Enrollment,
            workflow_id=workflow_id,
            ticket_id=ticket_id,
            cause_event_id=cause_id,
            at=self.now(),
        )

    def add_action_run(
        self,
        enrollment_id: int,
        action_id: int,
        ticket_id: int,
        state: str,
        detail: str,
        depth: int,
    ) -> int:
        return self._insert(
            m.ActionRun,
            enrollment_id=enrollment_id,
            action_id=action_id,
            ticket_id=ticket_id,
            state=state,
            detail=detail,
            depth=depth,
            at=self.now(),
        )

    # --- conversations and messages ---------------------------------------------------------

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
    ) -> None:
        own = self.own_addresses()
        wanted = {a.lower() for a in addrs if a and a.lower() not in own}
        if not wanted:
            return
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
            self.session.connection().execute(insert(_PARTICIPANTS), rows)

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

    def message(self, message_row_id: int) -> m.Message:
        return self.session.get_one(m.Message, message_row_id)

    def _read(self, statement: Any, **params: Any) -> Any:
        """A prepared Core read on this transaction's connection: no statement building, no
        autoflush. Only for rows written by Core inserts or already flushed ORM objects."""
        return self.session.connection().execute(statement, params)

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
    ) -> m.Message:
        now = self.now()
        message = m.Message(
            conversation=conversation,
            channel_id=channel_id,
            direction="outbound" if author_user_id is not None else "inbound",
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
    ) -> int:
        now = self.now()
        return self._insert(
            m.Message,
            conversation_id=conversation.id,
            channel_id=conversation.channel_id,
            direction="outbound",
            message_id=message_id,
            in_reply_to=in_reply_to,
            from_addr=from_addr,
            from_name=from_name,
            to_addrs=to,
            cc_addrs=[],
            subject=subject,
            sent_at=now,
            created_at=now,
            body_text=body,
            sent_from=sent_from,
            author_user_id=author_user_id,
            template_name=template_name,
            thread_reason="written in this conversation",
            refs=references,
        )

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
        return message

    # --- tickets ----------------------------------------------------------------------------

    def ticket(self, number: int) -> m.Ticket | None:
        return self.session.get(m.Ticket, number)

    def preload_tickets(self, ids: list[int]) -> None:
        """Load these tickets with what actions read (contact, origin thread, owner) in three
        queries, so the per-ticket lookups that follow find them in the session."""
        if ids:
            self.session.scalars(
                select(m.Ticket)
                .where(m.Ticket.id.in_(ids))
                .options(
                    selectinload(m.Ticket.contact),
                    selectinload(m.Ticket.origin),
                    selectinload(m.Ticket.owner),
                )
            ).all()

    def ticket_conversations(self, ticket_id: int) -> list[m.Conversation]:
        return list(
            self.session.scalars(
                select(m.Conversation)
                .where(m.Conversation.ticket_id == ticket_id)
                .order_by(m.Conversation.id)
            )
        )

    def conversation_for_automated_mail(self, ticket: Any) -> m.Conversation | None:
        """The origin thread if it is an email thread, else the newest email thread."""
        if ticket.origin_conversation_id is not None:
            origin = self.conversation(ticket.origin_conversation_id)
            if origin.channel.address:
                return origin
        for conversation in [
            c for c in self.ticket_conversations(ticket.id) if c.id == ticket.origin_conversation_id
        ] + list(reversed(self.ticket_conversations(ticket.id))):
            if conversation.channel.address:
                return conversation
        return None

    def add_ticket(
        self,
        *,
        subject: str,
        pipeline_id: int,
        status_id: int,
        contact_id: int | None,
        channel_id: int | None,
        source: str,
        origin_conversation_id: int | None,
        last_customer_reply_at: datetime | None = None,
    ) -> m.Ticket:
        now = self.now()
        ticket = m.Ticket(
            last_customer_reply_at=last_customer_reply_at,
            subject=subject,
            pipeline_id=pipeline_id,
            status_id=status_id,
            contact_id=contact_id,
            channel_id=channel_id,
            source=source,
            origin_conversation_id=origin_conversation_id,
            created_at=now,
            updated_at=now,
        )
        self.session.add(ticket)
        self.session.flush()
        return ticket

    def attach_conversation_timeline(self, conversation_id: int, ticket_id: int) -> None:
        table = _TIMELINE
        self.session.connection().execute(
            update(table)
            .where(table.c.conversation_id == conversation_id, table.c.ticket_id.is_(None))
            .values(ticket_id=ticket_id)
        )

    # --- timeline, outbox, notifications, events ---------------------------------------------

    def add_timeline(
        self,
        type_: str,
        actor: Actor,
        *,
        ticket_id: int | None = None,
        conversation_id: int | None = None,
        message_row_id: int | None = None,
        cause_id: int | None = None,
        summary: str = "",
        data: dict[str, Any] | None = None,
    ) -> int:
        # A Core insert: timeline rows are the most numerous writes and need no ORM state.
        return int(
            self.session.connection()
            .execute(
                _INSERT_TIMELINE,
                {
                    "type": type_,
                    "at": self.now(),
                    "ticket_id": ticket_id,
                    "conversation_id": conversation_id,
                    "message_row_id": message_row_id,
                    "actor_kind": actor.kind,
                    "actor_id": actor.id,
                    "actor_name": actor.name,
                    "cause_id": cause_id,
                    "summary": summary,
                    "data": data or {},
                },
            )
            .scalar_one()
        )

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
    ) -> int:
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
            next_attempt_at=now,
            created_at=now,
        )

    def add_notification(self, user_id: int, ticket_id: int, text: str) -> None:
        self._insert(
            m.Notification, user_id=user_id, ticket_id=ticket_id, text=text, created_at=self.now()
        )

    def handle_events_inline(self) -> None:
        """From now on, events are handed to `take_local_events` only, not written to the queue.

        For a caller that handles every event in this same transaction (the bulk import's
        fast path): the change and its automation then commit together, so no queue needs to
        stand between them (SPEC E2), and a failure aborts both.
        """
        self._inline_events = True

    def emit(self, event: DomainEvent) -> None:
        payload = event.payload()
        if self._inline_events:
            self._local_events.append(LocalEvent(None, event.type, payload))
            return
        row_id = (
            self.session.connection()
            .execute(
                _INSERT_EVENT, {"type": event.type, "payload": payload, "created_at": self.now()}
            )
            .scalar_one()
        )
        self._local_events.append(LocalEvent(int(row_id), event.type, payload))

    def pending_events(self, limit: int) -> Sequence[m.DomainEvent]:
        """The oldest unhandled events. On PostgreSQL they are locked for this transaction and
        rows another process holds are skipped, so two engines never handle one event twice
        (SQLite has one writer at a time anyway)."""
        self.session.flush()
        return list(
            self.session.scalars(
                select(m.DomainEvent)
                .where(m.DomainEvent.processed_at.is_(None))
                .order_by(m.DomainEvent.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )

    def take_local_events(self) -> Sequence[LocalEvent]:
        """Events emitted through this repository and not yet taken (bulk import's fast path)."""
        taken, self._local_events = self._local_events, []
        return taken

    def record_event_failure(self, event_id: int, error: str) -> int:
        table = _EVENTS
        return int(
            self.session.execute(
                update(table)
                .where(table.c.id == event_id)
                .values(attempts=table.c.attempts + 1, last_error=error)
                .returning(table.c.attempts)
            ).scalar_one()
        )

    def mark_event_processed(self, event_id: int) -> None:
        self._read(_EVENT_DONE, event=event_id, at=self.now())

    def recent_automated_mail(
        self, recipient: str, since: datetime
    ) -> list[tuple[int | None, datetime]]:
        """(ticket id, created at) of automated emails to `recipient` since then that were not
        held or dropped: what the loop limits count (SPEC §7)."""
        rows = self._read(_RECENT_AUTOMATED, recipient=recipient.lower(), since=since)
        return [(ticket_id, created_at) for ticket_id, created_at in rows]

    # --- settings objects (admin) -------------------------------------------------------------

    def add_pipeline(self, name: str) -> m.Pipeline:
        self._forget_config()
        position = self.session.scalar(select(func.count()).select_from(m.Pipeline)) or 0
        pipeline = m.Pipeline(name=name, position=position)
        self.session.add(pipeline)
        self.session.flush()
        return pipeline

    def add_status(self, pipeline_id: int, label: str, state: str) -> m.Status:
        self._forget_config()
        position = len(self.statuses(pipeline_id))
        status = m.Status(pipeline_id=pipeline_id, label=label, state=state, position=position)
        self.session.add(status)
        self.session.flush()
        self._forget_config()
        return status

    def add_trigger(self, pipeline_id: int, kind: str, target_status_id: int | None) -> m.Trigger:
        self._forget_config()
        trigger = m.Trigger(pipeline_id=pipeline_id, kind=kind, target_status_id=target_status_id)
        self.session.add(trigger)
        self.session.flush()
        return trigger

    def triggers(self, pipeline_id: int) -> list[m.Trigger]:
        return list(
            self.session.scalars(
                select(m.Trigger).where(m.Trigger.pipeline_id == pipeline_id).order_by(m.Trigger.id)
            )
        )

    def add_template(self, name: str, subject: str, body: str, *, builtin: bool) -> m.Template:
        template = m.Template(
            name=name, subject=subject, body=body, builtin=builtin, updated_at=self.now()
        )
        self.session.add(template)
        self.session.flush()
        return template

    def add_user(
        self, name: str, *, display_name: str, email: str | None, is_admin: bool
    ) -> m.User:
        user = m.User(
            name=name,
            display_name=display_name,
            email=email.lower() if email else None,
            is_admin=is_admin,
            created_at=self.now(),
        )
        self.session.add(user)
        self.session.flush()
        self._user_ids_by_email = None
        return user

    def add_team(self, name: str, members: Sequence[m.User]) -> m.Team:
        team = m.Team(name=name, members=list(members))
        self.session.add(team)
        self.session.flush()
        return team

    def channel_by_name(self, name: str) -> m.Channel | None:
        return self.session.scalar(select(m.Channel).where(m.Channel.name == name))

    def channels(self) -> list[m.Channel]:
        return list(self.session.scalars(select(m.Channel).order_by(m.Channel.id)))

    def add_channel(
        self,
        *,
        name: str,
        kind: str,
        address: str | None,
        pipeline_id: int,
        ticket_automation: bool,
    ) -> m.Channel:
        channel = m.Channel(
            name=name,
            kind=kind,
            address=address,
            pipeline_id=pipeline_id,
            ticket_automation=ticket_automation,
            created_at=self.now(),
        )
        self.session.add(channel)
        self.session.flush()
        self._own = None
        return channel

    def add_workflow(
        self,
        *,
        name: str,
        pipeline_id: int,
        status_id: int | None,
        builtin: bool,
        enabled: bool = True,
        conditions: dict[str, Any] | None = None,
        cloned_from_id: int | None = None,
    ) -> m.Workflow:
        self._forget_config()
        workflow = m.Workflow(
            name=name,
            pipeline_id=pipeline_id,
            status_id=status_id,
            builtin=builtin,
            enabled=enabled,
            conditions=conditions or {},
            cloned_from_id=cloned_from_id,
            created_at=self.now(),
        )
        self.session.add(workflow)
        self.session.flush()
        return workflow

    def workflows(self, pipeline_id: int) -> list[m.Workflow]:
        return list(
            self.session.scalars(
                select(m.Workflow)
                .where(m.Workflow.pipeline_id == pipeline_id)
                .order_by(m.Workflow.id)
            )
        )

    def add_workflow_action(
        self,
        workflow: Any,
        kind: str,
        config: dict[str, Any],
        *,
        parent: Any = None,
        branch: str | None = None,
    ) -> m.WorkflowAction:
        """At the end of the workflow's list, or of one path ("yes"/"no") of a branch."""
        self._forget_config()
        if parent is None:
            action = m.WorkflowAction(position=len(workflow.actions), kind=kind, config=config)
            workflow.actions.append(action)
        else:
            taken = [a for a in parent.children if a.branch == branch]
            action = m.WorkflowAction(
                workflow=workflow, branch=branch, position=len(taken), kind=kind, config=config
            )
            parent.children.append(action)
        self.session.flush()
        return action

    def workflow_action(self, action_id: int) -> m.WorkflowAction | None:
        return self.session.get(m.WorkflowAction, action_id)

    def delete_workflow_action(self, action: Any) -> None:
        """The action and, for a branch, both its paths (delete-orphan removes the rows)."""
        self._forget_config()
        if action.parent is None:
            action.workflow.actions.remove(action)
        else:
            action.parent.children.remove(action)
        self.session.flush()

    def relocate_workflow_action(self, action: Any, parent: Any, branch: str | None) -> None:
        """Put the action in another list (the workflow's, or a path of a branch); the caller
        numbers the positions."""
        self._forget_config()
        workflow, old_parent = action.workflow, action.parent
        # A plain UPDATE: moving between two delete-orphan collections through the ORM would
        # let the flush delete the row as an orphan of the list it left.
        self.session.flush()
        self.session.execute(
            update(m.WorkflowAction)
            .where(m.WorkflowAction.id == action.id)
            .values(
                parent_id=parent.id if parent is not None else None,
                branch=branch if parent is not None else None,
            )
        )
        self.session.expire(action)
        self.session.expire(workflow, ["actions"])
        for each in (old_parent, parent):
            if each is not None:
                self.session.expire(each, ["children"])

    def delete_workflow(self, workflow: Any) -> None:
        self._forget_config()
        self.session.delete(workflow)

    def channel(self, channel_id: int) -> m.Channel:
        return self.session.get_one(m.Channel, channel_id)

    def add_import_failure(
        self, channel_id: int | None, source: str, reason: str, raw: bytes
    ) -> None:
        self.session.add(
            m.ImportFailure(
                channel_id=channel_id, source=source, reason=reason, raw=raw, created_at=self.now()
            )
        )

    def tickets_in_status(self, status_id: int) -> list[m.Ticket]:
        return list(
            self.session.scalars(
                select(m.Ticket).where(m.Ticket.status_id == status_id).order_by(m.Ticket.id)
            )
        )

    def delete_pipeline(self, pipeline: Any) -> None:
        """Its statuses, triggers and workflows go with it; its tickets and channels must have
        moved first (automation.admin.remove_pipeline)."""
        self._forget_config()
        self.session.delete(pipeline)
        self.session.flush()
        for position, each in enumerate(self.pipelines()):
            each.position = position

    def delete_status(self, status: Any) -> None:
        self._forget_config()
        for trigger in self.session.scalars(
            select(m.Trigger).where(m.Trigger.target_status_id == status.id)
        ):
            trigger.target_status_id = None
            trigger.target_status = None
        self.session.flush()
        self.session.delete(status)
        self.session.flush()
        for position, each in enumerate(self.statuses(status.pipeline_id)):
            each.position = position

    def add_action_comment(self, action: Any, user_id: int, body: str) -> m.ActionComment:
        comment = m.ActionComment(author_id=user_id, body=body, at=self.now())
        action.comments.append(comment)
        self.session.flush()
        return comment

    def action_run(self, run_id: int) -> m.ActionRun | None:
        return self.session.get(m.ActionRun, run_id)

    def workflow_name(self, workflow_id: int) -> str:
        workflow = self.session.get(m.Workflow, workflow_id)
        return workflow.name if workflow is not None else "(deleted workflow)"

    def set_template(self, name: str, subject: str, body: str) -> m.Template:
        template = self.template_by_name(name)
        if template is None:
            return self.add_template(name, subject, body, builtin=False)
        template.subject, template.body, template.updated_at = subject, body, self.now()
        return template

    def latest_ticket(self) -> m.Ticket | None:
        return self.session.scalar(select(m.Ticket).order_by(m.Ticket.id.desc()).limit(1))

    def flush(self) -> None:
        self.session.flush()

    # --- delivery (the outbox sender) ---------------------------------------------------------

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

    def channel_or_none(self, channel_id: int) -> m.Channel | None:
        return self.session.get(m.Channel, channel_id)

    def import_failure(self, failure_id: int) -> tuple[int | None, str, bytes] | None:
        row = self.session.get(m.ImportFailure, failure_id)
        return (row.channel_id, row.source, row.raw) if row is not None else None

    def delete_import_failure(self, failure_id: int) -> None:
        row = self.session.get(m.ImportFailure, failure_id)
        if row is not None:
            self.session.delete(row)


def _implements_the_ports(repo: SqlRepository) -> tuple[Repository, AdminRepository]:
    """Never called: mypy checks here that `SqlRepository` is both of the domain's ports.

    Entity parameters are `Any` above (the ports say which protocol): the models are what
    SqlRepository really takes, and a parameter typed with a model would not accept the
    protocol the port promises."""
    return repo, repo
