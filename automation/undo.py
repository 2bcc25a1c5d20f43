"""A person's action, its undo window and its undo (SPEC D2, D3, D4, E7, E8).

Every change a person makes through `automation.services` is recorded (`record`): the values of
the ticket and conversation it could touch, before it and right after it, and its own timeline
line. The mail it queues, and the mail its automation queues later (an email whose chain of
causes leads back to that line, E8), waits `undo_seconds` before a sender may take it (D2).
Inside that window `undo_last` takes the person's latest change back (D3): the values return,
its waiting mail is cancelled, the enrollments it caused stop counting (E7), and no status
action or trigger runs. A value someone else changed since is left as it is, and said so.

The record keeps what a later, larger undo needs (B5.1: a rule's or a user's changes over a
time window, "changed since"): before and after values per field, and the line its automation
descends from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from automation import close_rules
from automation.events import Actor, Timeline
from automation.ports import (
    ConversationLike,
    OutboxRowLike,
    PendingEvent,
    PersonActionLike,
    Repository,
    TicketLike,
    TimelineLineLike,
    UserLike,
)

UNDO_SETTING = "undo_seconds"
UNDO_SECONDS = 10  # D2's default; 0 switches the window off
MAX_UNDO_SECONDS = 3600
CANCELLABLE = ("queued", "held")  # mail waiting for a retry is queued again
HANDED = ("sending", "handed", "sent")  # a sender has it, or the server may

TICKET_FIELDS = (
    "status_id",
    "owner_id",
    "priority",
    "subject",
    "reopened",
    "closed_at",
    "first_response_at",
    "last_rep_reply_at",
    "updated_at",
)
CONVERSATION_FIELDS = ("state", "assignee_id")
FIELD_NAMES = {
    "ticket.status_id": "status",
    "ticket.owner_id": "owner",
    "ticket.priority": "priority",
    "ticket.subject": "subject",
    "ticket.reopened": "reopened flag",
    "ticket.closed_at": "closed time",
    "ticket.first_response_at": "first response time",
    "ticket.last_rep_reply_at": "last rep reply time",
    "ticket.updated_at": "updated time",
    "conversation.state": "conversation state",
    "conversation.assignee_id": "assignee",
}
TIMES = frozenset(k for k in FIELD_NAMES if k.endswith("_at"))


class UndoError(Exception):
    """Nothing can be undone, or not any more; the message says why."""


# --- the window (D2) ------------------------------------------------------------------------


def undo_seconds(repo: Repository) -> int:
    return int(repo.setting(UNDO_SETTING, UNDO_SECONDS))


def window(repo: Repository, *, send_now: bool = False) -> int:
    """How long a person's change stays undoable and its mail waits (`--send-now`: none)."""
    return 0 if send_now else undo_seconds(repo)


def inherited_window(repo: Repository, cause_id: int | None) -> int:
    """D2: mail whose outside event is a person's change (the "Ticket closed" of a close, the
    status actions after a reply's trigger) waits as long as that change's own mail; mail of
    another person's doing that undo does not take back (a ticket made by hand, an action
    retried) waits the window too, so that `outbox cancel` can still stop it."""
    if cause_id is None:
        return 0
    root = repo.cause_root(cause_id)
    if root is None or root.actor_kind != "user":
        return 0
    recorded = repo.action_window(root.id)
    return recorded if recorded is not None else undo_seconds(repo)


def not_before(repo: Repository, seconds: int) -> datetime | None:
    """When mail that waits `seconds` may go (None: at once)."""
    return repo.now() + timedelta(seconds=seconds) if seconds > 0 else None


# --- recording a person's change ----------------------------------------------------------------


@dataclass(frozen=True)
class Before:
    """What a person's change starts from: the ticket and conversation it may touch (a ticket's
    is its origin conversation), with their values."""

    ticket: TicketLike | None
    conversation: ConversationLike | None
    values: dict[str, Any]
    at: datetime  # when the change began: everything it writes is as new or newer


def before(
    repo: Repository,
    *,
    ticket: TicketLike | None = None,
    conversation: ConversationLike | None = None,
) -> Before:
    if conversation is None and ticket is not None and ticket.origin_conversation_id is not None:
        conversation = repo.conversation(ticket.origin_conversation_id)
    return Before(ticket, conversation, _values(ticket, conversation), repo.now())


def record(
    repo: Repository,
    user: UserLike,
    start: Before,
    *,
    kind: str,
    summary: str,
    event_id: int | None,
    seconds: int,
) -> int:
    """Keep the change that began at `start` (its own timeline line `event_id`), undoable for
    `seconds`. Returns the record's id."""
    ticket, conversation = start.ticket, start.conversation
    return repo.add_person_action(
        user_id=user.id,
        kind=kind,
        summary=summary,
        ticket_id=ticket.id if ticket is not None else None,
        conversation_id=conversation.id if conversation is not None else None,
        event_id=event_id,
        at=start.at,
        window_seconds=seconds,
        undo_until=start.at + timedelta(seconds=seconds),
        before=start.values,
        after=_values(ticket, conversation),
    )


def _values(ticket: TicketLike | None, conversation: ConversationLike | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if ticket is not None:
        for name in TICKET_FIELDS:
            values[f"ticket.{name}"] = _stored(getattr(ticket, name))
    if conversation is not None:
        for name in CONVERSATION_FIELDS:
            values[f"conversation.{name}"] = _stored(getattr(conversation, name))
    return values


def _stored(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


# --- undo (D3) --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reverted:
    field: str  # "ticket.status_id", ...
    was: str  # as shown: "Closed"
    back_to: str  # as shown: "New"


@dataclass(frozen=True)
class Undone:
    """What an undo did, for the notice, the command's output and the timeline."""

    action_id: int
    kind: str
    summary: str
    ticket: int | None
    conversation: int | None
    reverted: tuple[Reverted, ...]
    kept: tuple[str, ...]  # fields changed since by someone or something else: left as they are
    cancelled: tuple[tuple[int, str], ...]  # (outbox id, subject)
    enrollments: tuple[int, ...]

    def describe(self) -> str:
        parts = [
            f"{FIELD_NAMES[r.field]} back to {r.back_to}"
            for r in self.reverted
            if r.field not in TIMES
        ]
        parts += [f"email “{subject}” cancelled" for _, subject in self.cancelled]
        kept = [FIELD_NAMES[k] for k in self.kept if k not in TIMES]
        if kept:
            parts.append("changed since, left as it is: " + ", ".join(kept))
        return f"Undone: {self.summary}" + (f" — {'; '.join(parts)}" if parts else "")

    def as_json(self) -> dict[str, Any]:
        return {
            "action_id": self.action_id,
            "kind": self.kind,
            "summary": self.summary,
            "ticket": self.ticket,
            "conversation": self.conversation,
            "reverted": {
                FIELD_NAMES[r.field]: {"from": r.was, "to": r.back_to} for r in self.reverted
            },
            "kept": [FIELD_NAMES[k] for k in self.kept],
            "cancelled": [{"outbox_id": i, "subject": s} for i, s in self.cancelled],
            "enrollments": list(self.enrollments),
        }


def undo_last(repo: Repository, user: UserLike) -> Undone:
    """Take back `user`'s latest change (from any session) while its undo window is open and
    none of its mail has been handed to a mail server; else UndoError says why."""
    action = repo.latest_person_action(user.id)
    if action is None:
        raise UndoError("nothing to undo: you have no change left that could be undone")
    now = repo.now()
    if now >= action.undo_until:
        raise UndoError(_too_late(action, now))
    # Its automation not handled yet must not run later (no status action, no trigger): the
    # pending events since the change are locked first, so an engine handling one now finishes
    # before the change's descendants are read.
    pending = repo.pending_events_since(action.at)
    family, others = _descendants(repo, action)
    _drop_pending(repo, pending, {line.id for line in family})
    mail = repo.outbox_rows_locked(_outbox_ids(family))
    handed = [row for row in mail if row.state in HANDED]
    if handed:
        raise UndoError(
            f"cannot undo “{action.summary}”: its email “{handed[0].subject}” was already "
            "handed to the mail server"
        )
    ticket = repo.ticket(action.ticket_id) if action.ticket_id is not None else None
    conversation = (
        repo.conversation_or_none(action.conversation_id)
        if action.conversation_id is not None
        else None
    )
    reverted, kept = _revert(repo, action, ticket, conversation, _touched_by(others))
    waiting = [row for row in mail if row.state in CANCELLABLE]
    undone = Undone(
        action_id=action.id,
        kind=action.kind,
        summary=action.summary,
        ticket=action.ticket_id,
        conversation=action.conversation_id,
        reverted=tuple(reverted),
        kept=tuple(kept),
        cancelled=tuple((row.id, row.subject) for row in waiting),
        enrollments=tuple(
            repo.undo_enrollments([e.id for e in family if e.type == Timeline.ENROLLED])
        ),
    )
    actor = Actor("user", user.id, user.name)
    event_id = _on_timeline(repo, actor, action, undone)
    for row in waiting:
        cancel_row(repo, actor, row, cause_id=event_id, why="undone")
    action.undone_at = now
    action.undo_event_id = event_id
    return undone


def _too_late(action: PersonActionLike, now: datetime) -> str:
    if action.window_seconds <= 0:
        return f"cannot undo “{action.summary}”: it had no undo window (it was sent at once)"
    over = max(1, int((now - action.undo_until).total_seconds()))
    return (
        f"cannot undo “{action.summary}”: its undo window of {action.window_seconds} s "
        f"closed {over} s ago"
    )


def _descendants(
    repo: Repository, action: PersonActionLike
) -> tuple[list[TimelineLineLike], list[TimelineLineLike]]:
    """The action's line and every line descending from it (E8), and the other lines written
    on its ticket (or conversation) since: someone else's changes."""
    if action.event_id is None:
        return [], []
    lines = repo.timeline_from(
        action.event_id, ticket_id=action.ticket_id, conversation_id=action.conversation_id
    )
    ids = {action.event_id}
    family, others = [], []
    for line in lines:
        if line.id == action.event_id or line.cause_id in ids:
            ids.add(line.id)
            family.append(line)
        else:
            others.append(line)
    return family, others


def _drop_pending(repo: Repository, pending: Sequence[PendingEvent], family: set[int]) -> None:
    for event in pending:
        if event.payload.get("cause_id") in family:
            repo.mark_event_processed(event.id)


def _outbox_ids(lines: Iterable[TimelineLineLike]) -> list[int]:
    mail = (Timeline.MAIL_QUEUED, Timeline.MAIL_HELD)
    found = (line.data.get("outbox_id") for line in lines if line.type in mail)
    return sorted({i for i in found if isinstance(i, int)})


_PROPERTY_FIELDS = {
    "owner": ("ticket.owner_id", "conversation.assignee_id"),
    "priority": ("ticket.priority",),
    "subject": ("ticket.subject",),
    "assignee": ("conversation.assignee_id",),
    "state": ("conversation.state",),
}


def _touched_by(lines: Sequence[TimelineLineLike]) -> set[str]:
    """The fields these lines (changes not descending from the action) set."""
    touched: set[str] = set()
    for line in lines:
        if line.type == Timeline.STATUS_CHANGED:
            touched |= {"ticket.status_id", "ticket.closed_at"}
        elif line.type == Timeline.REOPENED:
            touched |= {"ticket.reopened", "ticket.closed_at", "conversation.state"}
        elif line.type == Timeline.PROPERTY_CHANGED:
            touched |= set(_PROPERTY_FIELDS.get(str(line.data.get("property")), ()))
        elif line.type == Timeline.MAIL_QUEUED and line.actor_kind == "user":
            touched |= {"ticket.first_response_at", "ticket.last_rep_reply_at"}
        elif line.type == Timeline.UNDONE:
            reverted = line.data.get("reverted") or {}
            touched |= {k for k, name in FIELD_NAMES.items() if name in reverted}
    if touched:
        touched.add("ticket.updated_at")
    return touched


def _revert(
    repo: Repository,
    action: PersonActionLike,
    ticket: TicketLike | None,
    conversation: ConversationLike | None,
    touched: set[str],
) -> tuple[list[Reverted], list[str]]:
    reverted: list[Reverted] = []
    kept: list[str] = []
    for key, old in action.before.items():
        owner = ticket if key.startswith("ticket.") else conversation
        if owner is None or key not in FIELD_NAMES:
            continue
        name = key.split(".", 1)[1]
        current = _stored(getattr(owner, name))
        if current == old:
            continue
        if key in touched or not _restore(repo, owner, name, old):
            kept.append(key)
            continue
        reverted.append(Reverted(key, _shown(repo, key, current), _shown(repo, key, old)))
    return reverted, kept


def _restore(repo: Repository, owner: Any, name: str, old: Any) -> bool:
    """Put the old value back without running anything (no status action, no trigger)."""
    if name == "status_id":
        status = repo.status(old)
        if status is None:
            return False  # the status was removed since
        owner.status_id, owner.status = status.id, status
    elif name in ("owner_id", "assignee_id"):
        user = repo.user(old) if old is not None else None
        if old is not None and user is None:
            return False  # the user was removed since: their tickets stay where they went
        if name == "owner_id":
            owner.owner_id, owner.owner = old, user
        else:
            setattr(owner, name, old)
    elif name.endswith("_at"):
        setattr(owner, name, datetime.fromisoformat(old) if old else None)
    else:
        setattr(owner, name, old)
    return True


def _shown(repo: Repository, key: str, value: Any) -> str:
    if value is None:
        return "none"
    if key == "ticket.status_id":
        status = repo.status(value)
        return status.label if status is not None else f"status {value}"
    if key in ("ticket.owner_id", "conversation.assignee_id"):
        user = repo.user(value)
        return user.name if user is not None else f"user {value}"
    if key == "ticket.reopened":
        return "on" if value else "off"
    return str(value)


def _on_timeline(repo: Repository, actor: Actor, action: PersonActionLike, undone: Undone) -> int:
    event_id = repo.add_timeline(
        Timeline.UNDONE,
        actor,
        ticket_id=action.ticket_id,
        conversation_id=action.conversation_id if action.ticket_id is None else None,
        summary=undone.describe(),
        data={**undone.as_json(), "undid_event": action.event_id},
    )
    for change in undone.reverted:
        if change.field == "ticket.status_id":
            moved = repo.add_timeline(
                Timeline.STATUS_CHANGED,
                actor,
                ticket_id=action.ticket_id,
                cause_id=event_id,
                summary=f"Status {change.was} → {change.back_to} (undo)",
                data={"from": change.was, "to": change.back_to, "depth": 0, "reason": "undo"},
            )
            ticket = repo.ticket(action.ticket_id) if action.ticket_id is not None else None
            if ticket is not None and ticket.status.state == "CLOSED":
                close_rules.note_if_missing(repo, ticket, actor, moved)  # SPEC D21
    return event_id


# --- cancelling mail (D3, D4) -------------------------------------------------------------------


def cancel_row(
    repo: Repository, actor: Actor, row: OutboxRowLike, *, cause_id: int | None, why: str
) -> None:
    """An email no sender has taken is cancelled, on its ticket's (or conversation's) timeline."""
    was = row.state
    row.state = "cancelled"
    conversation_id = None
    if row.ticket_id is None and row.message_row_id is not None:
        conversation_id = repo.message(row.message_row_id).conversation_id
    if row.ticket_id is None and conversation_id is None:
        return
    repo.add_timeline(
        Timeline.MAIL_CANCELLED,
        actor,
        ticket_id=row.ticket_id,
        conversation_id=conversation_id,
        message_row_id=row.message_row_id,
        cause_id=cause_id,
        summary=f"Email “{row.subject}” to {', '.join(row.rcpt_to)} cancelled ({why})",
        data={"outbox_id": row.id, "was": was, "held_reason": row.held_reason, "why": why},
    )
