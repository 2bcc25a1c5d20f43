"""The SQL side of `automation.ports.Repository`: every query the domain core needs, in one place.

One `SqlRepository` lives for one transaction (a synchronous `Session`, possibly driven by an async
engine through `run_sync`). Small per-transaction caches keep hot lookups (own addresses, users by
address, settings) to one query each.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from automation.events import Actor, DomainEvent
from mail.parse import ParsedMail
from storage import models as m


class SqlRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._settings: dict[str, Any] = {}
        self._own: frozenset[str] | None = None
        self._users_by_email: dict[str, m.User | None] = {}

    # --- instance and settings -------------------------------------------------------------

    def now(self) -> datetime:
        return m.utcnow()

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

    # --- people ----------------------------------------------------------------------------

    def user(self, user_id: Any) -> m.User | None:
        return self.session.get(m.User, user_id) if isinstance(user_id, int) else None

    def user_by_email(self, addr: str) -> m.User | None:
        key = addr.lower()
        if key not in self._users_by_email:
            self._users_by_email[key] = self.session.scalar(
                select(m.User).where(func.lower(m.User.email) == key)
            )
        return self._users_by_email[key]

    def user_by_name(self, name: str) -> m.User | None:
        return self.session.scalar(select(m.User).where(m.User.name == name))

    def users(self) -> list[m.User]:
        return list(self.session.scalars(select(m.User).order_by(m.User.id)))

    def team(self, team_id: Any) -> m.Team | None:
        return self.session.get(m.Team, team_id) if isinstance(team_id, int) else None

    def team_by_name(self, name: str) -> m.Team | None:
        return self.session.scalar(select(m.Team).where(m.Team.name == name))

    def contact_by_email(self, addr: str) -> m.Contact | None:
        return self.session.scalar(select(m.Contact).where(m.Contact.email == addr.lower()))

    def upsert_contact(self, addr: str, name: str) -> m.Contact:
        contact = self.contact_by_email(addr)
        if contact is None:
            contact = m.Contact(email=addr.lower(), name=name)
            self.session.add(contact)
            self.session.flush()
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

    def statuses(self, pipeline_id: int) -> list[m.Status]:
        return list(
            self.session.scalars(
                select(m.Status)
                .where(m.Status.pipeline_id == pipeline_id)
                .order_by(m.Status.position, m.Status.id)
            )
        )

    def trigger(self, pipeline_id: int, kind: str) -> m.Trigger | None:
        return self.session.scalar(
            select(m.Trigger).where(m.Trigger.pipeline_id == pipeline_id, m.Trigger.kind == kind)
        )

    def status_workflows(self, status_id: int) -> list[m.Workflow]:
        return list(
            self.session.scalars(
                select(m.Workflow).where(m.Workflow.status_id == status_id).order_by(m.Workflow.id)
            )
        )

    def workflow(self, workflow_id: int) -> m.Workflow | None:
        return self.session.get(m.Workflow, workflow_id)

    def template(self, template_id: Any) -> m.Template | None:
        return self.session.get(m.Template, template_id) if isinstance(template_id, int) else None

    def template_by_name(self, name: str) -> m.Template | None:
        return self.session.scalar(select(m.Template).where(m.Template.name == name))

    def templates(self) -> list[m.Template]:
        return list(self.session.scalars(select(m.Template).order_by(m.Template.id)))

    def enrollment_exists(self, workflow_id: int, ticket_id: int) -> bool:
        return bool(
            self.session.scalar(
                select(
                    exists().where(
                        m.Enrollment.workflow_id == workflow_id,
                        m.Enrollment.ticket_id == ticket_id,
                    )
                )
            )
        )

    def add_enrollment(self, workflow_id: int, ticket_id: int, cause_id: int | None) -> int:
        row = m.Enrollment(workflow_id=workflow_id, ticket_id=ticket_id, cause_event_id=cause_id)
        self.session.add(row)
        self.session.flush()
        return row.id

    def add_action_run(
        self,
        enrollment_id: int,
        action_id: int,
        ticket_id: int,
        state: str,
        detail: str,
        depth: int,
    ) -> int:
        row = m.ActionRun(
            enrollment_id=enrollment_id,
            action_id=action_id,
            ticket_id=ticket_id,
            state=state,
            detail=detail,
            depth=depth,
        )
        self.session.add(row)
        self.session.flush()
        return row.id

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
            channel_id=channel.id,
            channel=channel,
            contact_id=contact.id if contact is not None else None,
            contact=contact,
            source=channel.kind,
            subject=subject,
            automated=automated,
            state="open",
        )
        self.session.add(conversation)
        self.session.flush()
        return conversation

    def add_participants(self, conversation_id: int, addrs: Iterable[str]) -> None:
        own = self.own_addresses()
        wanted = {a.lower() for a in addrs if a and a.lower() not in own}
        if not wanted:
            return
        present = set(
            self.session.scalars(
                select(m.Participant.address).where(
                    m.Participant.conversation_id == conversation_id,
                    m.Participant.address.in_(wanted),
                )
            )
        )
        for addr in sorted(wanted - present):
            self.session.add(m.Participant(conversation_id=conversation_id, address=addr))

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

    def message_exists(self, channel_id: int, message_id: str) -> bool:
        return bool(
            self.session.scalar(
                select(
                    exists().where(
                        m.Message.channel_id == channel_id, m.Message.message_id == message_id
                    )
                )
            )
        )

    def messages_by_message_id(self, ids: Sequence[str]) -> dict[str, m.Message]:
        if not ids:
            return {}
        rows = self.session.scalars(
            select(m.Message).where(m.Message.message_id.in_(list(ids))).order_by(m.Message.id)
        )
        found: dict[str, m.Message] = {}
        for row in rows:
            if row.message_id is not None:
                found.setdefault(row.message_id, row)
        return found

    def first_message_id(self, conversation_id: int) -> int | None:
        return self.session.scalar(
            select(func.min(m.Message.id)).where(m.Message.conversation_id == conversation_id)
        )

    def last_inbound_at(self, conversation_id: int) -> datetime | None:
        return self.session.scalar(
            select(func.max(m.Message.sent_at)).where(
                m.Message.conversation_id == conversation_id,
                m.Message.direction == "inbound",
                m.Message.automated_kind.is_(None),
            )
        )

    def last_message_for_reply(self, conversation_id: int) -> m.Message | None:
        """The newest human message from the customer, else the newest message with an id."""
        newest_first = (
            select(m.Message)
            .where(
                m.Message.conversation_id == conversation_id,
                m.Message.direction != "note",
                m.Message.message_id.is_not(None),
            )
            .order_by(m.Message.id.desc())
            .limit(1)
        )
        human = self.session.scalar(
            newest_first.where(
                m.Message.direction == "inbound", m.Message.automated_kind.is_(None)
            )
        )
        return human or self.session.scalar(newest_first)

    def only_automated_inbound(self, conversation_id: int) -> str | None:
        """The kind of automated mail when every inbound message of the thread is automated."""
        kinds = list(
            self.session.scalars(
                select(m.Message.automated_kind).where(
                    m.Message.conversation_id == conversation_id,
                    m.Message.direction == "inbound",
                )
            )
        )
        if kinds and all(kinds):
            return kinds[-1]
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
            conversation_id=conversation.id,
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
    ) -> m.Message:
        message = m.Message(
            conversation_id=conversation.id,
            channel_id=conversation.channel_id,
            direction="outbound",
            message_id=message_id,
            in_reply_to=in_reply_to,
            references=references,
            from_addr=from_addr,
            from_name=from_name,
            to_addrs=to,
            cc_addrs=[],
            subject=subject,
            sent_at=self.now(),
            body_text=body,
            sent_from=sent_from,
            author_user_id=author_user_id,
            template_name=template_name,
            thread_reason="written in this conversation",
        )
        self.session.add(message)
        self.session.flush()
        return message

    def add_note_message(self, conversation_id: int, user_id: int, body: str) -> m.Message:
        conversation = self.conversation(conversation_id)
        message = m.Message(
            conversation_id=conversation_id,
            channel_id=conversation.channel_id,
            direction="note",
            body_text=body,
            author_user_id=user_id,
            thread_reason="internal note",
        )
        self.session.add(message)
        self.session.flush()
        return message

    # --- tickets ----------------------------------------------------------------------------

    def ticket(self, number: int) -> m.Ticket | None:
        return self.session.get(m.Ticket, number)

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
    ) -> m.Ticket:
        now = self.now()
        ticket = m.Ticket(
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
        self.session.execute(
            update(m.TimelineEvent)
            .where(
                m.TimelineEvent.conversation_id == conversation_id,
                m.TimelineEvent.ticket_id.is_(None),
            )
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
        row = m.TimelineEvent(
            type=type_,
            at=self.now(),
            ticket_id=ticket_id,
            conversation_id=conversation_id,
            message_row_id=message_row_id,
            actor_kind=actor.kind,
            actor_id=actor.id,
            actor_name=actor.name,
            cause_id=cause_id,
            summary=summary,
            data=data or {},
        )
        self.session.add(row)
        self.session.flush()
        return row.id

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
        row = m.OutboxMail(
            message_row_id=message_row_id,
            ticket_id=ticket_id,
            channel_id=channel_id,
            kind=kind,
            template_name=template_name,
            message_id=message_id,
            mail_from=mail_from,
            rcpt_to=rcpt_to,
            subject=subject,
            raw=raw,
            state="held" if held_reason else "queued",
            held_reason=held_reason,
            created_at=self.now(),
        )
        self.session.add(row)
        self.session.flush()
        return row.id

    def add_notification(self, user_id: int, ticket_id: int, text: str) -> None:
        self.session.add(m.Notification(user_id=user_id, ticket_id=ticket_id, text=text))

    def emit(self, event: DomainEvent) -> None:
        self.session.add(m.DomainEvent(type=event.type, payload=event.payload()))

    def pending_events(self, limit: int) -> Sequence[m.DomainEvent]:
        self.session.flush()
        return list(
            self.session.scalars(
                select(m.DomainEvent)
                .where(m.DomainEvent.processed_at.is_(None))
                .order_by(m.DomainEvent.id)
                .limit(limit)
            )
        )

    def record_event_failure(self, event_id: int, error: str) -> int:
        row = self.session.get_one(m.DomainEvent, event_id)
        row.attempts += 1
        row.last_error = error
        return row.attempts

    def mark_event_processed(self, event_id: int) -> None:
        self.session.get_one(m.DomainEvent, event_id).processed_at = self.now()

    # --- settings objects (admin) -------------------------------------------------------------

    def add_pipeline(self, name: str) -> m.Pipeline:
        position = self.session.scalar(select(func.count()).select_from(m.Pipeline)) or 0
        pipeline = m.Pipeline(name=name, position=position)
        self.session.add(pipeline)
        self.session.flush()
        return pipeline

    def add_status(self, pipeline_id: int, label: str, state: str) -> m.Status:
        position = len(self.statuses(pipeline_id))
        status = m.Status(pipeline_id=pipeline_id, label=label, state=state, position=position)
        self.session.add(status)
        self.session.flush()
        return status

    def add_trigger(self, pipeline_id: int, kind: str, target_status_id: int | None) -> m.Trigger:
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
        template = m.Template(name=name, subject=subject, body=body, builtin=builtin)
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
        )
        self.session.add(user)
        self.session.flush()
        self._users_by_email.clear()
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
        workflow = m.Workflow(
            name=name,
            pipeline_id=pipeline_id,
            status_id=status_id,
            builtin=builtin,
            enabled=enabled,
            conditions=conditions or {},
            cloned_from_id=cloned_from_id,
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
        self, workflow: m.Workflow, kind: str, config: dict[str, Any]
    ) -> m.WorkflowAction:
        action = m.WorkflowAction(position=len(workflow.actions), kind=kind, config=config)
        workflow.actions.append(action)
        self.session.flush()
        return action

    def workflow_action(self, action_id: int) -> m.WorkflowAction | None:
        return self.session.get(m.WorkflowAction, action_id)

    def delete_workflow_action(self, action: m.WorkflowAction) -> None:
        action.workflow.actions.remove(action)  # delete-orphan removes the row

    def delete_workflow(self, workflow: m.Workflow) -> None:
        self.session.delete(workflow)

    def channel(self, channel_id: int) -> m.Channel:
        return self.session.get_one(m.Channel, channel_id)

    def add_import_failure(
        self, channel_id: int | None, source: str, reason: str, raw: bytes
    ) -> None:
        self.session.add(
            m.ImportFailure(channel_id=channel_id, source=source, reason=reason, raw=raw)
        )

    def tickets_in_status(self, status_id: int) -> list[m.Ticket]:
        return list(
            self.session.scalars(
                select(m.Ticket).where(m.Ticket.status_id == status_id).order_by(m.Ticket.id)
            )
        )

    def delete_status(self, status: m.Status) -> None:
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
