"""Domain events, actors and timeline vocabulary.

Domain events are small frozen dataclasses. They are written to the durable queue in the same
transaction as the change that raised them (SPEC E2), handled by `automation.engine` after commit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

MAX_DEPTH = 10  # R-T8 / E8: a change at depth 11 is not applied


@dataclass(frozen=True)
class Actor:
    kind: str  # user, contact, trigger, workflow, system
    id: int | None = None
    name: str = ""

    @classmethod
    def system(cls, name: str = "Deskline") -> Actor:
        return cls("system", None, name)


@dataclass(frozen=True)
class DomainEvent:
    type: ClassVar[str]

    def payload(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class MessageReceived(DomainEvent):
    """An inbound message was stored (live, not historical)."""

    type: ClassVar[str] = "message_received"
    message_row_id: int
    cause_id: int | None = None  # the "message received" timeline event
    new_conversation: bool = False  # the message started its conversation


@dataclass(frozen=True)
class EmailSent(DomainEvent):
    """A user sent an email to a contact (from the ticket record or the contact record)."""

    type: ClassVar[str] = "email_sent"
    message_row_id: int
    cause_id: int | None = None


@dataclass(frozen=True)
class StatusEntered(DomainEvent):
    """A ticket entered a status: its status actions run (R-A1)."""

    type: ClassVar[str] = "status_entered"
    ticket_id: int
    status_id: int
    depth: int
    cause_id: int | None = None


EVENT_TYPES: dict[str, type[DomainEvent]] = {
    cls.type: cls for cls in (MessageReceived, EmailSent, StatusEntered)
}


def event_from_row(type_: str, payload: dict[str, Any]) -> DomainEvent:
    cls = EVENT_TYPES[type_]
    return cls(**payload)


class Timeline:
    """Timeline event types (SPEC E12); the README documents their JSON."""

    MESSAGE_RECEIVED = "message_received"
    MESSAGE_SENT = "message_sent"
    NOTE = "note"
    TICKET_CREATED = "ticket_created"
    STATUS_CHANGED = "status_changed"
    REOPENED = "reopened"
    TRIGGER_FIRED = "trigger_fired"
    TRIGGER_SKIPPED = "trigger_skipped"
    ENROLLED = "enrolled"
    ENROLLMENT_SKIPPED = "enrollment_skipped"
    ACTION_RAN = "action_ran"
    ACTION_FAILED = "action_failed"
    ACTION_SKIPPED = "action_skipped"
    ACTION_RETRIED = "action_retried"
    WAITING = "waiting"  # a workflow's delay began; the rest runs at its due time
    RESUMED = "resumed"  # the delay is over (late when the engine was down past the due time)
    TASK_CREATED = "task_created"
    TASK_DONE = "task_done"
    MAIL_QUEUED = "mail_queued"
    MAIL_HELD = "mail_held"
    MAIL_SENT = "mail_sent"
    MAIL_FAILED = "mail_failed"
    MAIL_DROPPED = "mail_dropped"
    MAIL_CANCELLED = "mail_cancelled"  # by a person, or by the undo of the action that caused it
    UNDONE = "undone"  # a person undid their latest action (SPEC D3)
    SNOOZED = "snoozed"  # out of the open views until a time (SPEC D23)
    SNOOZE_ENDED = "snooze_ended"  # its time came, the customer wrote, it closed, or by hand
    INBOX_NOTE = "inbox_note"
    PROPERTY_CHANGED = "property_changed"
    TAGS_CHANGED = "tags_changed"  # tags added to or removed from a ticket
    CLOSED_WITHOUT = "closed_without_required"  # not a person's close: required props passed
    CONVERSATION_ATTACHED = "conversation_attached"
    MERGED = "merged"  # one ticket merged into another: on both (SPEC B3.1)
    SPLIT = "split"  # a message split off into a new ticket: on both (SPEC B3.2)
    BOUNCE = "bounce"
    DEPTH_CAP = "depth_cap"
    AUTOMATION_ERROR = "automation_error"
