"""Undo over a time window (SPEC B5.1): what a rule, a workflow or a person did since WHEN.

The changes are read from the timeline: the lines the chosen actor wrote since then, and every
line descending from one of them (E8: the status actions a rule's move caused, the trigger a
person's reply fired). Per ticket and field, the value before the first of those changes comes
back only if the field still holds the value the last of them set; otherwise it is reported as
"changed since" and left as it is. Everything else acts as the single undo (D3, automation.undo):
the mail they queued that no sender has taken is cancelled, mail already handed to a server is
said to be beyond recall, their enrollments stop counting (E7), their pending events never run,
and no status action or trigger runs. What they created (tickets, tasks, messages, notes) is
listed, never deleted. Every revert is a new timeline line; no history is removed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from automation import close_rules
from automation.events import Actor, Timeline
from automation.ports import Repository, TicketLike, UserLike
from automation.tickets import set_owner
from automation.undo import CANCELLABLE, HANDED, cancel_row


class UndoWindowError(Exception):
    """The request cannot be carried out; the message says why."""


class HistoryLine(Protocol):
    id: int
    at: datetime
    type: str
    ticket_id: int | None
    conversation_id: int | None
    actor_kind: str
    actor_id: int | None
    actor_name: str
    cause_id: int | None
    summary: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Selector:
    """Whose changes: a trigger kind (`rule`), a workflow id, or a user id."""

    kind: str  # rule / workflow / user
    value: str  # the trigger kind, the workflow id, the user name
    actor_ids: frozenset[int]

    def describe(self) -> str:
        return self.value if self.kind == "line" else f"{self.kind} {self.value}"

    def matches(self, line: HistoryLine) -> bool:
        if line.type == Timeline.UNDONE or line.data.get("reason") == "undo":
            return False
        if self.kind == "line":  # one timeline line and what it caused (B5 from the timeline)
            return line.id in self.actor_ids
        actor = {"rule": "trigger", "workflow": "workflow", "user": "user"}[self.kind]
        return line.actor_kind == actor and line.actor_id in self.actor_ids


_STRUCTURAL = (Timeline.MERGED, Timeline.SPLIT, Timeline.CONVERSATION_ATTACHED)
CREATIONS = {
    Timeline.TICKET_CREATED: "ticket created",
    Timeline.TASK_CREATED: "task created",
    Timeline.MESSAGE_SENT: "message sent",
    Timeline.NOTE: "note added",
    Timeline.TAGS_CHANGED: "tags changed",
}


@dataclass
class Row:
    """One line of the report."""

    ticket: int | None
    conversation: int | None
    field: str  # status, owner, priority, subject, reopened flag, assignee, email, ...
    outcome: str  # reverted / changed since / cancelled / handed / listed / not found
    was: str = ""
    back_to: str = ""
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "ticket": self.ticket,
            "conversation": self.conversation,
            "field": self.field,
            "outcome": self.outcome,
            "from": self.was,
            "to": self.back_to,
            "detail": self.detail,
        }


@dataclass
class Report:
    selector: str
    since: datetime
    dry_run: bool
    rows: list[Row] = field(default_factory=list)
    enrollments: list[int] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.rows if r.outcome == outcome)

    def as_json(self) -> dict[str, Any]:
        return {
            "selector": self.selector,
            "since": self.since.isoformat(),
            "dry_run": self.dry_run,
            "changes": [r.as_json() for r in self.rows],
            "enrollments": self.enrollments,
        }


def family(lines: Sequence[HistoryLine], selector: Selector, since: datetime) -> list[HistoryLine]:
    """The selector's own lines since then and every line descending from one (lines in id
    order)."""
    ids: set[int] = set()
    found = []
    for line in lines:
        own = line.at >= since and selector.matches(line)
        if own or (line.cause_id is not None and line.cause_id in ids):
            ids.add(line.id)
            found.append(line)
    return found


# A field's state: (value as stored on the timeline, how the current value is read)
_TICKET_PROPERTIES = {"owner", "priority", "subject"}
_CONVERSATION_PROPERTIES = {"assignee", "state"}


def undo_window(
    repo: Repository,
    user: UserLike,
    selector: Selector,
    since: datetime,
    lines: Sequence[HistoryLine],
    *,
    dry_run: bool,
    whole: Callable[[HistoryLine], list[Row]] | None = None,
) -> Report:
    """Revert what `selector` did since `since` (`lines`: the timeline since then, in id order).
    With `dry_run`, nothing is written: the report says what would happen. `whole` reverts a
    merge, split or attach found (automation.undo_line.undo_span); without it they are listed."""
    report = Report(selector.describe(), since, dry_run)
    changes = family(lines, selector, since)
    if not changes:
        return report
    actor = Actor("user", user.id, user.name)
    ids = {line.id for line in changes}
    # A merge, split or attach is reverted whole (automation/undo_line.py, B3); the lines it
    # wrote itself (its other ticket's line, the absorbed ticket's close) go with it.
    roots = [c for c in changes if c.type in _STRUCTURAL and c.cause_id not in ids]
    parts = {r.id for r in roots}
    changes = [c for c in changes if c.id not in parts and c.cause_id not in parts]
    if not dry_run:
        for event in repo.pending_events_since(since):
            if event.payload.get("cause_id") in ids:
                repo.mark_event_processed(event.id)  # no status action, no trigger runs
    tickets = sorted({c.ticket_id for c in changes if c.ticket_id is not None})
    for number in tickets:
        mine = [c for c in changes if c.ticket_id == number]
        before = [line for line in lines if line.ticket_id == number and line.id not in ids]
        rows = _ticket(repo, number, mine, before, dry_run=dry_run)
        report.rows += rows
        if not dry_run and any(r.outcome == "reverted" for r in rows):
            _on_timeline(repo, actor, number, None, selector, since, rows)
    loose = sorted(
        {c.conversation_id for c in changes if c.ticket_id is None and c.conversation_id}
    )
    for conversation_id in loose:
        mine = [c for c in changes if c.conversation_id == conversation_id and c.ticket_id is None]
        rows = _conversation(repo, conversation_id, mine, dry_run=dry_run)
        report.rows += rows
        if not dry_run and any(r.outcome == "reverted" for r in rows):
            _on_timeline(repo, actor, None, conversation_id, selector, since, rows)
    report.rows += mail_rows(repo, actor, changes, dry_run=dry_run)
    for line in roots:
        if whole is None:
            report.rows.append(
                Row(line.ticket_id, line.conversation_id, line.type, "listed", detail=line.summary)
            )
        else:
            report.rows += whole(line)
    for line in changes:
        if line.type in CREATIONS:
            report.rows.append(
                Row(
                    line.ticket_id,
                    line.conversation_id,
                    CREATIONS[line.type],
                    "listed",
                    detail=line.summary,
                )
            )
    enrolled = [c.id for c in changes if c.type == Timeline.ENROLLED]
    if enrolled and not dry_run:
        report.enrollments = list(repo.undo_enrollments(enrolled))
    elif enrolled:
        report.enrollments = []
    return report


def _ticket(
    repo: Repository,
    number: int,
    mine: list[HistoryLine],
    others: list[HistoryLine],
    *,
    dry_run: bool,
) -> list[Row]:
    ticket = repo.ticket(number)
    if ticket is None:
        return [Row(number, None, "ticket", "not found", detail="the ticket was removed")]
    rows: list[Row] = []
    moves = [c for c in mine if c.type == Timeline.STATUS_CHANGED]
    if moves:
        rows.append(_status(repo, ticket, moves, mine, others, dry_run=dry_run))
    for name in sorted(_TICKET_PROPERTIES):
        changed = [
            c
            for c in mine
            if c.type == Timeline.PROPERTY_CHANGED and c.data.get("property") == name
        ]
        if changed:
            rows.append(_property(repo, ticket, name, changed, dry_run=dry_run))
    return rows


def _status(
    repo: Repository,
    ticket: TicketLike,
    moves: list[HistoryLine],
    mine: list[HistoryLine],
    others: list[HistoryLine],
    *,
    dry_run: bool,
) -> Row:
    was, set_to = str(moves[0].data.get("from")), str(moves[-1].data.get("to"))
    current = ticket.status.label
    row = Row(ticket.id, None, "status", "reverted", current, was)
    if current != set_to:
        row.outcome, row.detail = "changed since", f"set to {set_to}, now {current}"
        return row
    target = next((s for s in repo.statuses(ticket.pipeline_id) if s.label == was), None)
    if target is None:
        row.outcome, row.detail = "changed since", f"the status {was} was removed since"
        return row
    if dry_run:
        return row
    ticket.status_id, ticket.status = target.id, target
    ticket.updated_at = repo.now()
    if target.state == "CLOSED":
        earlier = [
            o
            for o in others
            if o.id < moves[0].id and o.type == Timeline.STATUS_CHANGED and o.data.get("to") == was
        ]
        ticket.closed_at = earlier[-1].at if earlier else moves[0].at
        reopens = [c for c in mine if c.type == Timeline.REOPENED]
        if reopens:
            ticket.reopened = any(o.type == Timeline.REOPENED for o in others)
    else:
        ticket.closed_at = None
    return row


def _property(
    repo: Repository, ticket: TicketLike, name: str, changed: list[HistoryLine], *, dry_run: bool
) -> Row:
    was, set_to = changed[0].data.get("from"), changed[-1].data.get("to")
    current: Any
    if name == "owner":
        current = ticket.owner.name if ticket.owner is not None else None
    else:
        current = getattr(ticket, name)
    row = Row(ticket.id, None, name, "reverted", _shown(current), _shown(was))
    if current != set_to:
        row.outcome, row.detail = "changed since", f"set to {_shown(set_to)}, now {_shown(current)}"
        return row
    if name == "owner":
        owner = repo.user_by_name(str(was)) if was else None
        if was and owner is None:
            row.outcome, row.detail = "changed since", f"the user {was} was removed since"
            return row
        if not dry_run:
            set_owner(repo, ticket, owner)
    elif not dry_run:
        setattr(ticket, name, was)
        ticket.updated_at = repo.now()
    return row


def _conversation(
    repo: Repository, conversation_id: int, mine: list[HistoryLine], *, dry_run: bool
) -> list[Row]:
    conversation = repo.conversation_or_none(conversation_id)
    if conversation is None:
        return []
    rows = []
    for name in sorted(_CONVERSATION_PROPERTIES):
        changed = [
            c
            for c in mine
            if c.type == Timeline.PROPERTY_CHANGED and c.data.get("property") == name
        ]
        if not changed:
            continue
        was, set_to = changed[0].data.get("from"), changed[-1].data.get("to")
        if name == "assignee":
            user = repo.user(conversation.assignee_id) if conversation.assignee_id else None
            current: Any = user.name if user is not None else None
        else:
            current = conversation.state
        row = Row(None, conversation_id, name, "reverted", _shown(current), _shown(was))
        rows.append(row)
        if current != set_to:
            row.outcome = "changed since"
            row.detail = f"set to {_shown(set_to)}, now {_shown(current)}"
            continue
        if dry_run:
            continue
        if name == "assignee":
            back = repo.user_by_name(str(was)) if was else None
            conversation.assignee_id = back.id if back is not None else None
        else:
            conversation.state = str(was)
        conversation.updated_at = repo.now()
    return rows


def mail_rows(
    repo: Repository, actor: Actor, changes: list[HistoryLine], *, dry_run: bool
) -> list[Row]:
    kinds = (Timeline.MAIL_QUEUED, Timeline.MAIL_HELD)
    where = {
        c.data["outbox_id"]: c
        for c in changes
        if c.type in kinds and isinstance(c.data.get("outbox_id"), int)
    }
    rows = []
    for mail in repo.outbox_rows_locked(sorted(where)):
        line = where[mail.id]
        row = Row(
            line.ticket_id,
            line.conversation_id,
            "email",
            "",
            mail.state,
            "",
            detail=f"“{mail.subject}” to {', '.join(mail.rcpt_to)}",
        )
        if mail.state in CANCELLABLE:
            row.outcome, row.back_to = "cancelled", "cancelled"
            if not dry_run:
                cancel_row(repo, actor, mail, cause_id=None, why="undone")
        elif mail.state in HANDED:
            row.outcome = "handed"
            row.detail += ": already handed to the mail server, it cannot be recalled"
        else:
            row.outcome = "left"
            row.detail += f": {mail.state}"
        rows.append(row)
    return rows


def _shown(value: Any) -> str:
    return "none" if value is None or value == "" else str(value)


def _on_timeline(
    repo: Repository,
    actor: Actor,
    ticket_id: int | None,
    conversation_id: int | None,
    selector: Selector,
    since: datetime,
    rows: list[Row],
) -> None:
    reverted = [r for r in rows if r.outcome == "reverted"]
    parts = [f"{r.field} back to {r.back_to}" for r in reverted]
    kept = [r.field for r in rows if r.outcome == "changed since"]
    if kept:
        parts.append("changed since, left as it is: " + ", ".join(kept))
    event_id = repo.add_timeline(
        Timeline.UNDONE,
        actor,
        ticket_id=ticket_id,
        conversation_id=conversation_id if ticket_id is None else None,
        summary=f"Reverted by {actor.name} (what {selector.describe()} did since "
        f"{since:%Y-%m-%d %H:%M} UTC): " + "; ".join(parts),
        data={
            "selector": selector.describe(),
            "since": since.isoformat(),
            "reverted": {r.field: {"from": r.was, "to": r.back_to} for r in reverted},
            "kept": kept,
        },
    )
    for r in reverted:
        if r.field == "status":
            moved = repo.add_timeline(
                Timeline.STATUS_CHANGED,
                actor,
                ticket_id=ticket_id,
                cause_id=event_id,
                summary=f"Status {r.was} → {r.back_to} (undo)",
                data={"from": r.was, "to": r.back_to, "depth": 0, "reason": "undo"},
            )
            closed_without(repo, ticket_id, actor, moved)


def closed_without(repo: Repository, ticket_id: int | None, actor: Actor, cause_id: int) -> None:
    """D21: an undo that closes a ticket passes its required properties, and says so."""
    ticket = repo.ticket(ticket_id) if ticket_id is not None else None
    if ticket is not None and ticket.status.state == "CLOSED":
        close_rules.note_if_missing(repo, ticket, actor, cause_id)


def allowed(user: UserLike, selector: Selector) -> None:
    """B5.1: admins undo anyone's and any rule's changes; a rep only their own."""
    if user.is_admin:
        return
    if selector.kind != "user":
        raise UndoWindowError(
            "only an admin can undo what a rule or a workflow did (use --user me)"
        )
    if selector.actor_ids != frozenset({user.id}):
        raise UndoWindowError("only an admin can undo another person's changes (use --user me)")
