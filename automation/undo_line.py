"""Undo from one timeline line (SPEC B5, B5.1, B3, D21): revert that change, as new events.

A merge, a split or an attach is reverted whole from either of its lines (B3: "every step on
both timelines and undoable"):

- un-merge: the absorbed ticket's conversations go back to it, its origin thread is its own
  again, its pointer to the survivor is cleared (mail to either token goes to its own ticket
  again) and it returns to the status it had before the merge, without any status action or
  trigger (B5.1 acts as D3). The absorbed contact leaves the survivor's threads the merge
  made them a participant of (so their mail there no longer joins those threads). The
  workflow steps, tasks and snooze the merge stopped stay stopped, and the report says so.
- un-split: the messages go back to the thread they were split from; the ticket the split made
  is a creation, kept (B5.1: listed, not reverted): it closes pointing at the ticket it came
  from, as a merge's absorbed ticket does, so later mail to its token goes there (D21: a
  required property unset is noted, not blocking).
- un-attach: the conversation goes back to the ticket it came from (or to none).

Every other line is reverted with what it caused (E8) by the window undo (automation/
undo_window.py), selecting that line alone. A value changed since is left as it is and said so.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from automation import close_rules
from automation.events import Actor, Timeline
from automation.ports import Repository, TicketLike, UserLike
from automation.undo_window import (
    HistoryLine,
    Report,
    Row,
    Selector,
    UndoWindowError,
    mail_rows,
    undo_window,
)

STRUCTURAL = (Timeline.MERGED, Timeline.SPLIT, Timeline.CONVERSATION_ATTACHED)
UNDOABLE_ACTORS = ("user", "trigger", "workflow")


def root(line: HistoryLine, lines: Sequence[HistoryLine]) -> HistoryLine:
    """A merge's, split's or attach's first line when `line` is part of one (the other
    ticket's line, the absorbed ticket's close name it as cause); else `line` itself."""
    by_id = {other.id: other for other in lines}
    top = line
    while top.cause_id is not None and top.cause_id in by_id:  # E8: up the chain of causes
        top = by_id[top.cause_id]
    return top if top.type in STRUCTURAL else line


def check_allowed(user: UserLike, line: HistoryLine) -> None:
    """B5.1: admins revert anyone's and any rule's change; a rep only their own."""
    if line.actor_kind not in UNDOABLE_ACTORS or line.type == Timeline.UNDONE:
        raise UndoWindowError(f"line {line.id} is not a change that can be reverted")
    if user.is_admin:
        return
    if line.actor_kind != "user" or line.actor_id != user.id:
        raise UndoWindowError("only an admin can revert another person's or a rule's change")


def undo_line(
    repo: Repository,
    user: UserLike,
    line: HistoryLine,
    lines: Sequence[HistoryLine],
    *,
    dry_run: bool,
) -> Report:
    """Revert the change of `line` (`lines`: the timeline since it, with the earlier lines of
    the tickets written on since, in id order). With `dry_run` nothing is written."""
    line = root(line, lines)
    check_allowed(user, line)
    actor = Actor("user", user.id, user.name)
    if line.type == Timeline.MERGED:
        report = Report(f"the merge of line {line.id}", line.at, dry_run)
        report.rows = _unmerge(repo, actor, line, lines, dry_run=dry_run)
        return report
    if line.type == Timeline.SPLIT:
        report = Report(f"the split of line {line.id}", line.at, dry_run)
        report.rows = _unsplit(repo, actor, line, lines, dry_run=dry_run)
        return report
    if line.type == Timeline.CONVERSATION_ATTACHED:
        report = Report(f"the attach of line {line.id}", line.at, dry_run)
        report.rows = _unattach(repo, actor, line, dry_run=dry_run)
        return report
    selector = Selector("line", f"line {line.id}", frozenset({line.id}))
    return undo_span(repo, user, selector, line.at, lines, dry_run=dry_run)


def undo_span(
    repo: Repository,
    user: UserLike,
    selector: Selector,
    since: datetime,
    lines: Sequence[HistoryLine],
    *,
    dry_run: bool,
) -> Report:
    """The window undo (B5.1 `--user U --since`), a merge, split or attach in it reverted whole."""
    actor = Actor("user", user.id, user.name)

    def whole(line: HistoryLine) -> list[Row]:
        if line.type == Timeline.MERGED:
            return _unmerge(repo, actor, line, lines, dry_run=dry_run)
        if line.type == Timeline.SPLIT:
            return _unsplit(repo, actor, line, lines, dry_run=dry_run)
        return _unattach(repo, actor, line, dry_run=dry_run)

    return undo_window(repo, user, selector, since, lines, dry_run=dry_run, whole=whole)


# --- merge ----------------------------------------------------------------------------------


def _unmerge(
    repo: Repository,
    actor: Actor,
    line: HistoryLine,
    lines: Sequence[HistoryLine],
    *,
    dry_run: bool,
) -> list[Row]:
    data = line.data
    absorbed, survivor = repo.ticket(data["absorbed"]), repo.ticket(data["survivor"])
    if absorbed is None or survivor is None:
        return [Row(data["absorbed"], None, "merge", "not found", detail="a ticket was removed")]
    if absorbed.merged_into_id != survivor.id:
        return [
            Row(
                absorbed.id,
                None,
                "merge",
                "changed since",
                detail=f"#{absorbed.id} is no longer merged into #{survivor.id}",
            )
        ]
    rows = [Row(absorbed.id, None, "merged into", "reverted", f"#{survivor.id}", "none")]
    moving = []
    for conversation_id in data.get("conversations") or []:
        conversation = repo.conversation_or_none(conversation_id)
        if conversation is None or conversation.ticket_id != survivor.id:
            where = "gone" if conversation is None else f"now on #{conversation.ticket_id}"
            rows.append(
                Row(absorbed.id, conversation_id, "conversation", "changed since", "", "", where)
            )
            continue
        moving.append(conversation)
        rows.append(
            Row(
                absorbed.id,
                conversation_id,
                "conversation",
                "reverted",
                f"#{survivor.id}",
                f"#{absorbed.id}",
            )
        )
    status_line = next(
        (
            other
            for other in lines
            if other.cause_id == line.id and other.type == Timeline.STATUS_CHANGED
        ),
        None,
    )
    target = None
    if status_line is not None:
        was, set_to = str(status_line.data.get("from")), str(status_line.data.get("to"))
        current = absorbed.status.label
        row = Row(absorbed.id, None, "status", "reverted", current, was)
        target = next((s for s in repo.statuses(absorbed.pipeline_id) if s.label == was), None)
        if current != set_to:
            row.outcome, row.detail = "changed since", f"set to {set_to}, now {current}"
            target = None
        elif target is None:
            row.outcome, row.detail = "changed since", f"the status {was} was removed since"
        rows.append(row)
    added = {int(k): list(v) for k, v in (data.get("participants_added") or {}).items()}
    for conversation_id, addresses in added.items():
        for address in addresses:
            rows.append(
                Row(survivor.id, conversation_id, "participant", "reverted", address, "none")
            )
    stopped = int(data.get("steps_stopped") or 0) + int(data.get("tasks_closed") or 0)
    if stopped:
        rows.append(
            Row(
                absorbed.id,
                None,
                "workflow steps, tasks",
                "listed",
                detail=f"{data.get('steps_stopped', 0)} waiting steps and "
                f"{data.get('tasks_closed', 0)} tasks the merge stopped stay stopped",
            )
        )
    if dry_run:
        return rows
    now = repo.now()
    for conversation in moving:
        conversation.ticket_id = absorbed.id
        if conversation.id == absorbed.origin_conversation_id:
            conversation.association = data.get("association") or "origin"
        conversation.updated_at = now
    for conversation_id, addresses in added.items():
        # the absorbed contact out of the survivor's threads: their mail no longer joins them
        repo.remove_participants(conversation_id, addresses)
    absorbed.merged_into_id = None
    if target is not None:
        absorbed.status_id, absorbed.status = target.id, target  # no StatusEntered (B5.1, D3)
        if target.state != "CLOSED":
            absorbed.closed_at = None
        elif data.get("closed_at"):
            absorbed.closed_at = datetime.fromisoformat(str(data["closed_at"]))
    absorbed.updated_at = survivor.updated_at = now
    here = _said(repo, actor, absorbed.id, line, rows, f"Merge into #{survivor.id}")
    _said(repo, actor, survivor.id, line, rows, f"Merge of #{absorbed.id}", cause_id=here)
    if target is not None:
        _status_back(repo, actor, absorbed, rows, here)
    return rows


# --- split ----------------------------------------------------------------------------------


def _unsplit(
    repo: Repository,
    actor: Actor,
    line: HistoryLine,
    lines: Sequence[HistoryLine],
    *,
    dry_run: bool,
) -> list[Row]:
    data = line.data
    old_id, new_id = data["from_conversation"], data["conversation"]
    made = next(
        (o for o in lines if o.cause_id == line.id and o.type == Timeline.SPLIT),
        None,
    )
    new_ticket = repo.ticket(made.data["ticket"]) if made is not None else None
    old = repo.conversation_or_none(old_id)
    if old is None:
        return [
            Row(
                data.get("from_ticket"),
                old_id,
                "split",
                "not found",
                detail="the thread was removed",
            )
        ]
    if new_ticket is not None and new_ticket.merged_into_id is not None:
        return [
            Row(
                new_ticket.id,
                None,
                "split",
                "changed since",
                detail=f"#{new_ticket.id} was merged into #{new_ticket.merged_into_id} since",
            )
        ]
    moving = []
    rows = []
    for message_id in data.get("messages") or []:
        try:
            message = repo.message(message_id)
        except Exception:  # the repository's "no such row"
            rows.append(
                Row(data.get("from_ticket"), old_id, "message", "not found", detail=str(message_id))
            )
            continue
        if message.conversation_id != new_id:
            rows.append(
                Row(
                    data.get("from_ticket"),
                    old_id,
                    "message",
                    "changed since",
                    detail=f"message {message_id} moved since",
                )
            )
            continue
        moving.append(message)
        rows.append(
            Row(
                data.get("from_ticket"),
                old_id,
                "message",
                "reverted",
                f"conversation {new_id}",
                f"conversation {old_id}",
                f"“{message.subject}”",
            )
        )
    closed = None
    if new_ticket is not None:
        closed = next(
            (s for s in repo.statuses(new_ticket.pipeline_id) if s.state == "CLOSED"), None
        )
        rows.append(
            Row(
                new_ticket.id,
                None,
                "ticket created",
                "listed",
                detail=f"kept, closed pointing at #{data['from_ticket']}"
                if data.get("from_ticket")
                else "kept, closed",
            )
        )
    # the email the new ticket's first status queued (D2: it waits the undo window) is
    # cancelled if no sender took it; one already handed is said to be beyond recall (B5)
    rows += mail_rows(repo, actor, _descendants(line, lines), dry_run=dry_run)
    if dry_run:
        return rows
    now = repo.now()
    for message in moving:
        message.conversation_id = old_id
    repo.move_message_lines([m.id for m in moving], old_id)
    old.updated_at = now
    target = data.get("from_ticket")
    here = _said(repo, actor, target, line, rows, "Split", conversation_id=old_id)
    if new_ticket is not None:
        label = new_ticket.status.label
        if target is not None and repo.ticket(target) is not None:
            new_ticket.merged_into_id = target  # its token leads back (B3.1)
        new_ticket.updated_at = now
        _said(repo, actor, new_ticket.id, line, rows, "Split", cause_id=here)
        if closed is not None and closed.id != new_ticket.status_id:
            new_ticket.status_id, new_ticket.status = closed.id, closed  # no status action
            new_ticket.closed_at = now
            close_rules.quiet_move_line(  # SPEC D21's note with it
                repo, new_ticket, actor, label, cause_id=here, reason="undo", why="undo"
            )
    return rows


def _descendants(line: HistoryLine, lines: Sequence[HistoryLine]) -> list[HistoryLine]:
    ids, found = {line.id}, []
    for other in lines:
        if other.cause_id is not None and other.cause_id in ids:
            ids.add(other.id)
            found.append(other)
    return found


# --- attach ---------------------------------------------------------------------------------


def _unattach(repo: Repository, actor: Actor, line: HistoryLine, *, dry_run: bool) -> list[Row]:
    data = line.data
    conversation = repo.conversation_or_none(data["conversation"])
    ticket, was = data["ticket"], data.get("from_ticket")
    if conversation is None:
        return [Row(ticket, data["conversation"], "conversation", "not found")]
    if conversation.ticket_id != ticket:
        return [
            Row(
                ticket,
                conversation.id,
                "conversation",
                "changed since",
                detail=f"now on #{conversation.ticket_id}"
                if conversation.ticket_id
                else "now on no ticket",
            )
        ]
    back = f"#{was}" if was is not None else "no ticket"
    rows = [Row(ticket, conversation.id, "conversation", "reverted", f"#{ticket}", back)]
    if was is not None and repo.ticket(was) is None:
        rows[0].outcome, rows[0].detail = "changed since", f"ticket #{was} was removed since"
        return rows
    if dry_run:
        return rows
    conversation.ticket_id = was
    conversation.association = "attached" if was is not None else None
    conversation.updated_at = repo.now()
    here = _said(repo, actor, ticket, line, rows, "Attach", conversation_id=conversation.id)
    if was is not None:
        _said(repo, actor, was, line, rows, "Attach", cause_id=here)
    return rows


# --- the timeline -----------------------------------------------------------------------------


def _said(
    repo: Repository,
    actor: Actor,
    ticket_id: int | None,
    line: HistoryLine,
    rows: list[Row],
    what: str,
    *,
    cause_id: int | None = None,
    conversation_id: int | None = None,
) -> int:
    parts = [f"{r.field} back to {r.back_to}" for r in rows if r.outcome == "reverted"]
    kept = [f"{r.field} ({r.detail})" for r in rows if r.outcome == "changed since"]
    if kept:
        parts.append("changed since, left as it is: " + ", ".join(kept))
    return repo.add_timeline(
        Timeline.UNDONE,
        actor,
        ticket_id=ticket_id,
        conversation_id=conversation_id if ticket_id is None else None,
        cause_id=cause_id,
        summary=f"{what} reverted by {actor.name}" + (f": {'; '.join(parts)}" if parts else ""),
        data={
            "undid_event": line.id,
            "reverted": {
                r.field: {"from": r.was, "to": r.back_to} for r in rows if r.outcome == "reverted"
            },
            "changes": [r.as_json() for r in rows],
        },
    )


def _status_back(
    repo: Repository, actor: Actor, ticket: TicketLike, rows: list[Row], cause_id: int
) -> None:
    for r in rows:
        if r.field == "status" and r.outcome == "reverted":  # SPEC D21's note with it
            close_rules.quiet_move_line(
                repo, ticket, actor, str(r.was), cause_id=cause_id, reason="undo", why="undo"
            )


def describe(report: Report) -> str:
    """One line for the app's notice."""
    done = sum(1 for r in report.rows if r.outcome in ("reverted", "cancelled"))
    kept = report.count("changed since")
    text = f"Reverted {report.selector}: {done} change{'s' if done != 1 else ''}"
    return text + (f", {kept} changed since and left as they are" if kept else "")
