"""What the domain core needs from persistence. `storage.repository.SqlRepository` implements it.

`Repository` is what the rules need; `AdminRepository` adds what the settings functions
(`automation.admin`) need. The entity protocols name only what the rules read and write; storage's
typed models satisfy them (mypy checks both ports against `SqlRepository` in `storage`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from automation.events import Actor, DomainEvent
from mail.parse import ParsedMail


class PipelineLike(Protocol):
    id: int
    name: str
    position: int


class StatusLike(Protocol):
    id: int
    pipeline_id: int
    label: str
    position: int
    state: str


class UserLike(Protocol):
    id: int
    name: str
    display_name: str
    email: str | None
    is_admin: bool
    away: bool
    login: str | None  # the OS login acting as this user (SPEC S7)


class TeamLike(Protocol):
    id: int
    name: str
    members: list[Any]


class ContactLike(Protocol):
    id: int
    email: str
    name: str
    bouncing_until: datetime | None


class ChannelLike(Protocol):
    id: int
    name: str
    kind: str
    address: str | None
    pipeline_id: int
    ticket_automation: bool
    bulk_opens_tickets: bool
    pipeline: Any  # PipelineLike


class ConversationLike(Protocol):
    id: int
    channel_id: int
    contact_id: int | None
    source: str
    subject: str
    state: str
    assignee_id: int | None
    automated: bool
    ticket_id: int | None
    association: str | None
    updated_at: datetime
    snoozed_until: datetime | None
    channel: Any  # ChannelLike
    contact: Any  # ContactLike | None


class MessageLike(Protocol):
    id: int
    conversation_id: int
    direction: str
    message_id: str | None
    references: list[Any]
    from_addr: str
    subject: str
    sent_at: datetime
    created_at: datetime
    forwarded: bool
    forwarded_reason: str | None
    automated_kind: str | None
    automated_reason: str | None
    sent_from: str | None
    thread_reason: str
    thread_conflict: str | None
    to_addrs: list[Any]


class StoredMessageRef(Protocol):
    """What threading needs of a stored message."""

    message_id: str
    conversation_id: int
    direction: str
    forwarded: bool


class ParentMessage(Protocol):
    """What a reply needs of the message it answers."""

    message_id: str
    references: list[Any]


class TicketLike(Protocol):
    id: int
    subject: str
    pipeline_id: int
    status_id: int
    owner_id: int | None
    priority: str
    contact_id: int | None
    channel_id: int | None
    source: str
    origin_conversation_id: int | None
    reopened: bool
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    last_customer_reply_at: datetime | None
    last_rep_reply_at: datetime | None
    closed_at: datetime | None
    snoozed_until: datetime | None
    merged_into_id: int | None  # SPEC B3.1
    pipeline: Any  # PipelineLike
    status: Any  # StatusLike
    owner: Any  # UserLike | None
    contact: Any  # ContactLike | None
    channel: Any  # ChannelLike | None


class TriggerLike(Protocol):
    id: int
    pipeline_id: int
    kind: str
    enabled: bool
    target_status_id: int | None
    target_status: Any  # StatusLike | None


class TemplateLike(Protocol):
    id: int
    name: str
    subject: str
    body: str


class ActionLike(Protocol):
    id: int
    workflow_id: int
    parent_id: int | None
    branch: str | None  # "yes" / "no": which path of the parent branch
    position: int
    kind: str
    config: dict[str, Any]

    @property
    def parent(self) -> Any: ...  # ActionLike | None

    @property
    def children(self) -> Sequence[Any]: ...  # ActionLike

    @property
    def workflow(self) -> Any: ...  # WorkflowLike

    @property
    def comments(self) -> Sequence[Any]: ...  # ActionCommentLike, oldest first


class ActionCommentLike(Protocol):
    id: int
    action_id: int
    author_id: int | None
    body: str
    at: datetime


class TaskLike(Protocol):
    id: int
    ticket_id: int
    user_id: int | None
    title: str
    due_at: datetime
    notified_at: datetime | None
    done_at: datetime | None


class ScheduledStepLike(Protocol):
    id: int
    workflow_id: int
    ticket_id: int
    enrollment_id: int
    next_position: int
    after_action_id: int | None
    due_at: datetime
    depth: int
    cause_id: int | None
    done_at: datetime | None


class WorkflowLike(Protocol):
    id: int
    name: str
    pipeline_id: int
    status_id: int | None
    builtin: bool
    enabled: bool
    reenroll: bool
    conditions: dict[str, Any]

    @property
    def actions(self) -> Sequence[Any]: ...  # ActionLike


class ActionRunLike(Protocol):
    id: int
    enrollment_id: int
    action_id: int | None
    ticket_id: int
    state: str
    depth: int


class LocalEventLike(Protocol):
    @property
    def id(self) -> int | None: ...
    @property
    def type(self) -> str: ...
    @property
    def payload(self) -> dict[str, Any]: ...


class CauseRootLike(Protocol):
    """The outside event a chain of changes descends from (SPEC E8): the first timeline line
    of its chain of causes."""

    @property
    def id(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def actor_kind(self) -> str: ...
    @property
    def data(self) -> dict[str, Any]: ...


class PersonActionLike(Protocol):
    """A person's recorded change (`automation.undo`)."""

    id: int
    user_id: int
    kind: str
    summary: str
    ticket_id: int | None
    conversation_id: int | None
    event_id: int | None
    at: datetime
    window_seconds: int
    undo_until: datetime
    before: dict[str, Any]
    after: dict[str, Any]
    undone_at: datetime | None
    undo_event_id: int | None


class TimelineLineLike(Protocol):
    id: int
    type: str
    cause_id: int | None
    actor_kind: str
    data: dict[str, Any]


class OutboxRowLike(Protocol):
    id: int
    state: str
    subject: str
    rcpt_to: list[Any]
    ticket_id: int | None
    message_row_id: int | None
    held_reason: str | None


class PendingEvent(Protocol):
    id: int
    type: str
    payload: dict[str, Any]


class PropertyDefLike(Protocol):
    """A custom ticket property an admin defined (issue 13)."""

    id: int
    name: str
    kind: str
    choices: list[Any]
    required_to_close: bool


class Repository(Protocol):
    # --- instance and settings
    def now(self) -> datetime: ...
    def instance_id(self) -> str: ...
    def secret(self) -> bytes: ...
    def own_addresses(self) -> frozenset[str]: ...
    def setting(self, key: str, default: Any) -> Any: ...
    def savepoint(self) -> AbstractContextManager[object]: ...
    def flush(self) -> None: ...
    def is_transient_conflict(self, exc: BaseException) -> bool: ...

    # --- people
    def user(self, user_id: Any) -> UserLike | None: ...
    def user_by_email(self, addr: str) -> UserLike | None: ...
    def user_by_name(self, name: str) -> UserLike | None: ...
    def team(self, team_id: Any) -> TeamLike | None: ...

    def teams_of(self, user_id: int) -> Sequence[TeamLike]: ...
    def contact_by_email(self, addr: str) -> ContactLike | None: ...
    def upsert_contact(self, addr: str, name: str) -> ContactLike: ...

    # --- pipelines, triggers, workflows, templates
    def pipeline(self, pipeline_id: int) -> PipelineLike: ...
    def statuses(self, pipeline_id: int) -> Sequence[StatusLike]: ...

    def status(self, status_id: Any) -> StatusLike | None: ...
    def trigger(self, pipeline_id: int, kind: str) -> TriggerLike | None: ...
    def status_workflows(self, status_id: int) -> Sequence[WorkflowLike]: ...

    def workflow(self, workflow_id: int) -> WorkflowLike | None: ...

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
    ) -> int: ...

    def due_steps(self, now: datetime, limit: int) -> Sequence[ScheduledStepLike]: ...
    def preload_tickets(self, ids: list[int]) -> None: ...

    def add_task(
        self,
        *,
        ticket_id: int,
        user_id: int | None,
        title: str,
        due_at: datetime,
        workflow_id: int | None,
    ) -> int: ...

    def task(self, task_id: int) -> TaskLike | None: ...
    def template(self, template_id: Any) -> TemplateLike | None: ...
    def workflow_action(self, action_id: int) -> ActionLike | None: ...
    def workflow_name(self, workflow_id: int) -> str: ...
    def action_run(self, run_id: int) -> ActionRunLike | None: ...
    def enrollment_exists(self, workflow_id: int, ticket_id: int) -> bool: ...
    def add_enrollment(self, workflow_id: int, ticket_id: int, cause_id: int | None) -> int: ...
    def add_action_run(
        self,
        enrollment_id: int,
        action_id: int,
        ticket_id: int,
        state: str,
        detail: str,
        depth: int,
    ) -> int: ...

    # --- channels and import
    def channel(self, channel_id: int) -> ChannelLike: ...
    def reply_channel(self, channel: ChannelLike) -> ChannelLike | None: ...  # a form's (C2)
    def add_import_failure(
        self, channel_id: int | None, source: str, reason: str, raw: bytes
    ) -> None: ...
    def import_failure(self, failure_id: int) -> tuple[int | None, str, bytes] | None: ...
    def delete_import_failure(self, failure_id: int) -> None: ...

    # --- conversations and messages
    def conversation(self, conversation_id: int) -> ConversationLike: ...
    def conversation_or_none(self, conversation_id: int) -> ConversationLike | None: ...
    def add_conversation(
        self, *, channel: ChannelLike, contact: ContactLike | None, subject: str, automated: bool
    ) -> ConversationLike: ...
    def add_participants(
        self, conversation_id: int, addrs: Iterable[str], *, new: bool = False
    ) -> list[str]: ...
    def remove_participants(self, conversation_id: int, addrs: Iterable[str]) -> list[str]: ...
    def is_participant(self, conversation_id: int, addr: str) -> bool: ...
    def newest_inbound_addresses(self, conversation_id: int) -> list[str]: ...
    def forward_source(self, message_row_id: int) -> dict[str, Any] | None: ...
    def message(self, message_row_id: int) -> MessageLike: ...
    def message_exists(self, channel_id: int, message_id: str) -> bool: ...
    def messages_by_message_id(self, ids: Sequence[str]) -> dict[str, StoredMessageRef]: ...
    def last_inbound_at(self, conversation_id: int) -> datetime | None: ...
    def last_message_for_reply(self, conversation_id: int) -> ParentMessage | None: ...
    def only_automated_inbound(self, conversation_id: int) -> str | None: ...
    def add_inbound_message(
        self,
        *,
        conversation: ConversationLike,
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
    ) -> MessageLike: ...
    def add_outbound_message(
        self,
        *,
        conversation: ConversationLike,
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
    ) -> int: ...
    def add_note_message(
        self, conversation_id: int, user_id: int | None, body: str
    ) -> MessageLike: ...

    # --- tickets
    def ticket(self, number: int) -> TicketLike | None: ...
    def ticket_tags(self, ticket_id: int) -> list[str]: ...
    def add_ticket_tag(self, ticket_id: int, tag: str) -> bool: ...
    def remove_ticket_tag(self, ticket_id: int, tag: str) -> bool: ...
    def tag_counts(self) -> list[tuple[str, int]]: ...
    def property_defs(self) -> Sequence[PropertyDefLike]: ...
    def property_def(self, name: str) -> PropertyDefLike | None: ...
    def add_property_def(
        self, name: str, kind: str, choices: list[str], required_to_close: bool
    ) -> PropertyDefLike: ...
    def remove_property_def(self, prop: Any) -> int: ...
    def ticket_property_values(self, ticket_id: int) -> dict[int, str]: ...
    def set_ticket_property_value(
        self, ticket_id: int, property_id: int, value: str | None
    ) -> str | None: ...
    def ticket_conversations(self, ticket_id: int) -> Sequence[ConversationLike]: ...
    def stop_ticket_work(self, ticket_id: int) -> tuple[int, int]: ...  # B3.1: steps, tasks
    def conversation_messages(self, conversation_id: int) -> Sequence[MessageLike]: ...
    def move_message_lines(self, message_row_ids: list[int], conversation_id: int) -> None: ...
    def conversation_for_automated_mail(self, ticket: TicketLike) -> ConversationLike | None: ...
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
    ) -> TicketLike: ...
    def attach_conversation_timeline(self, conversation_id: int, ticket_id: int) -> None: ...

    # --- timeline, outbox, notifications, events
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
    ) -> int: ...
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
    ) -> int: ...
    def cause_root(self, timeline_id: int) -> CauseRootLike | None: ...
    def add_notification(self, user_id: int, ticket_id: int, text: str) -> None: ...
    def notify_user(self, user_id: int, ticket_id: int | None, text: str, kind: str) -> int: ...
    def recent_automated_mail(
        self, recipient: str, since: datetime
    ) -> list[tuple[int | None, datetime]]: ...
    def emit(self, event: DomainEvent) -> None: ...

    # a person's changes and their undo (automation.undo)
    def add_person_action(
        self,
        *,
        user_id: int,
        kind: str,
        summary: str,
        ticket_id: int | None,
        conversation_id: int | None,
        event_id: int | None,
        at: datetime,
        window_seconds: int,
        undo_until: datetime,
        before: dict[str, Any],
        after: dict[str, Any],
    ) -> int: ...
    def action_window(self, event_id: int) -> int | None: ...
    def latest_person_action(self, user_id: int) -> PersonActionLike | None: ...
    def timeline_from(
        self, event_id: int, *, ticket_id: int | None, conversation_id: int | None
    ) -> Sequence[TimelineLineLike]: ...
    def pending_events_since(self, since: datetime) -> Sequence[PendingEvent]: ...
    def outbox_rows_locked(self, outbox_ids: Sequence[int]) -> Sequence[OutboxRowLike]: ...
    def undo_enrollments(self, enrolled_event_ids: Sequence[int]) -> list[int]: ...
    def pending_events(self, limit: int) -> Sequence[PendingEvent]: ...
    def take_local_events(self) -> Sequence[LocalEventLike]: ...
    def untaken_events(self) -> int: ...
    def leave_to_queue(self, rows: Sequence[LocalEventLike], emitted_before: int) -> None: ...
    def handle_events_inline(self) -> None: ...
    def batch_caches(self) -> dict[str, Any]: ...
    def adopt_batch_caches(self, caches: dict[str, Any]) -> None: ...
    def record_event_failure(self, event_id: int, error: str) -> int: ...
    def mark_event_processed(self, event_id: int) -> None: ...


class AdminRepository(Repository, Protocol):
    """What the settings functions (`automation.admin`) need besides the rules' `Repository`."""

    # --- settings
    def set_setting(self, key: str, value: Any) -> None: ...

    # --- people
    def users(self) -> Sequence[UserLike]: ...
    def add_user(
        self,
        name: str,
        *,
        display_name: str,
        email: str | None,
        is_admin: bool,
        login: str | None = None,
    ) -> UserLike: ...
    def team_by_name(self, name: str) -> TeamLike | None: ...
    def teams(self) -> Sequence[TeamLike]: ...

    # --- pipelines, statuses, triggers
    def pipelines(self) -> Sequence[PipelineLike]: ...
    def pipeline_by_name(self, name: str) -> PipelineLike | None: ...
    def add_pipeline(self, name: str) -> PipelineLike: ...
    def delete_pipeline(self, pipeline: PipelineLike) -> None: ...
    def add_status(self, pipeline_id: int, label: str, state: str) -> StatusLike: ...
    def delete_status(self, status: StatusLike) -> None: ...
    def add_trigger(
        self, pipeline_id: int, kind: str, target_status_id: int | None
    ) -> TriggerLike: ...

    # --- channels
    def channels(self) -> Sequence[ChannelLike]: ...
    def channel_by_name(self, name: str) -> ChannelLike | None: ...
    def add_channel(
        self,
        *,
        name: str,
        kind: str,
        address: str | None,
        pipeline_id: int,
        ticket_automation: bool,
    ) -> ChannelLike: ...

    # --- workflows and their actions
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
    ) -> WorkflowLike: ...
    def delete_workflow(self, workflow: WorkflowLike) -> None: ...
    def add_workflow_action(
        self,
        workflow: WorkflowLike,
        kind: str,
        config: dict[str, Any],
        *,
        parent: ActionLike | None = None,
        branch: str | None = None,
    ) -> ActionLike: ...
    def delete_workflow_action(self, action: ActionLike) -> None: ...
    def relocate_workflow_action(
        self, action: ActionLike, parent: ActionLike | None, branch: str | None
    ) -> None: ...
    def add_action_comment(
        self, action: ActionLike, user_id: int, body: str
    ) -> ActionCommentLike: ...

    # --- templates
    def templates(self) -> Sequence[TemplateLike]: ...
    def template_by_name(self, name: str) -> TemplateLike | None: ...
    def add_template(
        self, name: str, subject: str, body: str, *, builtin: bool
    ) -> TemplateLike: ...
    def set_template(self, name: str, subject: str, body: str) -> TemplateLike: ...
    def delete_template(self, template: TemplateLike) -> None: ...
    def workflow_actions_of_kind(self, kind: str) -> Sequence[ActionLike]: ...

    # --- tickets
    def tickets_in_status(self, status_id: int) -> Sequence[TicketLike]: ...
    def latest_ticket(self) -> TicketLike | None: ...
    def newest_tickets(self, limit: int) -> Sequence[TicketLike]: ...
