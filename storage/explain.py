"""The explain read model (SPEC §8 B1, B1.1): what happened to a message, from the facts recorded
then. Pure reads over a Session: the message's parse facts and classification (automated,
forwarded and why), its threading decision, the timeline lines its arrival caused (followed by
`cause_id`, as undo follows them), and every email among them with its state and hold reason.

`deskline explain` prints it (app/cli/explain.py); `explain --eml` reads it inside a
transaction that is then rolled back (runtime/dry_run.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from storage.models import Conversation, Message, OutboxMail, Ticket, TimelineEvent

TRACE_VERSION = 1
_MAIL_LINES = ("mail_queued", "mail_held")
Clean = Callable[[object], str]


def find_message(session: Session, ref: str) -> Message | None:
    """A message by its row id (as `ticket show` prints it) or its Message-ID in <…>."""
    ref = ref.strip()
    if ref.startswith("<"):
        rows = session.scalars(
            select(Message).where(Message.message_id == ref).order_by(Message.id)
        ).all()
        inbound = [row for row in rows if row.direction == "inbound"]
        found = inbound or list(rows)
        return found[0] if found else None
    if ref.isdigit():
        return session.get(Message, int(ref))
    return None


def message_trace(session: Session, message: Message) -> dict[str, Any]:
    """One message's trace: facts, classification, threading, caused lines and emails."""
    conversation = session.get(Conversation, message.conversation_id)
    ticket_id = conversation.ticket_id if conversation is not None else None
    events = _caused_lines(session, message, ticket_id)
    return {
        "message": _facts(message),
        "classification": {
            "automated": message.automated_kind is not None,
            "automated_kind": message.automated_kind,
            "automated_reason": message.automated_reason,
            "forwarded": bool(message.forwarded),
            "forwarded_reason": message.forwarded_reason,
        },
        "threading": {
            "reason": message.thread_reason or "",
            "conflict": message.thread_conflict,
            "conversation": message.conversation_id,
            "ticket": ticket_id,
        },
        "events": events,
        "emails": _emails(session, events),
    }


def ticket_trace(session: Session, number: int) -> dict[str, Any] | None:
    """Every received message of the ticket's conversations, each with its trace, in order."""
    ticket = session.get(Ticket, number)
    if ticket is None:
        return None
    conversations = select(Conversation.id).where(Conversation.ticket_id == number)
    messages = session.scalars(
        select(Message)
        .where(Message.conversation_id.in_(conversations), Message.direction == "inbound")
        .order_by(Message.id)
    ).all()
    return {
        "ticket": number,
        "subject": ticket.subject,
        "messages": [message_trace(session, message) for message in messages],
    }


def _facts(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "message_id": message.message_id,
        "direction": message.direction,
        "date": _iso(message.sent_at),
        "received": _iso(message.created_at),
        "from": message.from_addr,
        "from_name": message.from_name,
        "to": list(message.to_addrs or []),
        "cc": list(message.cc_addrs or []),
        "subject": message.subject,
        "in_reply_to": message.in_reply_to,
        "references": list(message.references or []),
    }


def _caused_lines(
    session: Session, message: Message, ticket_id: int | None
) -> list[dict[str, Any]]:
    """The lines written about the message's arrival, then every line descending from them by
    `cause_id` (triggers, workflows, actions, emails, delayed steps), in the order written.
    Descendants are looked for among the later lines of its conversation and ticket (both
    indexed; `cause_id` is not)."""
    roots = session.scalars(
        select(TimelineEvent)
        .where(TimelineEvent.message_row_id == message.id, TimelineEvent.cause_id.is_(None))
        .order_by(TimelineEvent.id)
    ).all()
    if not roots:
        return []
    where = TimelineEvent.conversation_id == message.conversation_id
    if ticket_id is not None:
        where = or_(where, TimelineEvent.ticket_id == ticket_id)
    later = session.scalars(
        select(TimelineEvent)
        .where(TimelineEvent.id > roots[0].id, where)
        .order_by(TimelineEvent.id)
    ).all()
    depth = {line.id: 0 for line in roots}
    found = list(roots)
    for line in later:  # in id order: a cause is always older than what it caused
        if line.id not in depth and line.cause_id in depth:
            depth[line.id] = depth[line.cause_id] + 1
            found.append(line)
    return [_line(line, depth[line.id]) for line in sorted(found, key=lambda row: row.id)]


def _line(line: TimelineEvent, depth: int) -> dict[str, Any]:
    return {
        "id": line.id,
        "at": _iso(line.at),
        "type": line.type,
        "actor": {"kind": line.actor_kind, "name": line.actor_name},
        "ticket": line.ticket_id,
        "cause": line.cause_id,
        "depth": depth,
        "summary": line.summary,
        "data": dict(line.data or {}),
    }


def _emails(session: Session, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every email the lines queued or held: the verdict then (held and why, or passed every
    loop guard) and its state now."""
    emails = []
    for line in events:
        if line["type"] not in _MAIL_LINES:
            continue
        data = line["data"]
        outbox_id = data.get("outbox_id")
        row = session.get(OutboxMail, outbox_id) if isinstance(outbox_id, int) else None
        held = data.get("held_reason") or (row.held_reason if row is not None else None)
        emails.append(
            {
                "outbox_id": outbox_id,
                "line": line["id"],
                "to": data.get("to"),
                "subject": row.subject if row is not None else None,
                "kind": row.kind if row is not None else None,
                "template": data.get("template"),
                "verdict": "held" if line["type"] == "mail_held" else "queued",
                "held_reason": held,
                "state": row.state if row is not None else "gone",
                "last_error": row.last_error if row is not None else None,
            }
        )
    return emails


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def trace_lines(trace: dict[str, Any], clean: Clean) -> list[str]:
    """A message's or a ticket's trace as an indented tree (`deskline explain`, the app's
    explain screen); `clean` makes untrusted text one safe line."""
    if "messages" in trace:
        lines = [f"Ticket #{trace['ticket']}: {clean(trace['subject'])}"]
        if not trace["messages"]:
            lines.append("  no message received")
        for message in trace["messages"]:
            lines += ["", *message_lines(message, clean)]
        return lines
    return message_lines(trace, clean)


def message_lines(trace: dict[str, Any], clean: Clean) -> list[str]:
    facts, kind, thread = trace["message"], trace["classification"], trace["threading"]
    where = f"ticket #{thread['ticket']}" if thread["ticket"] else "no ticket"
    lines = [
        f"Message {facts['id']} {clean(facts['message_id'] or '(no Message-ID)')}",
        f"  date {facts['date']}, received {facts['received']}",
        f"  from {clean(facts['from'] or '(nobody)')}: {clean(facts['subject'])}",
        "  automated: "
        + (f"yes ({clean(kind['automated_reason'])})" if kind["automated"] else "no"),
        "  forwarded: "
        + (f"yes ({clean(kind['forwarded_reason'])})" if kind["forwarded"] else "no"),
        f"  threading: {clean(thread['reason'] or '(no reason recorded)')}",
        f"    conversation {thread['conversation']}, {where}",
    ]
    if thread["conflict"]:
        lines.append(f"    conflict: {clean(thread['conflict'])}")
    lines.append("  what it caused:" if trace["events"] else "  it caused nothing")
    for event in trace["events"]:
        pad = "    " + "  " * event["depth"]
        lines.append(f"{pad}{event['type'].replace('_', ' ')}: {clean(event['summary'])}")
    for email in trace["emails"]:
        lines.append(_email_line(email, clean))
    return lines


def _email_line(email: dict[str, Any], clean: Clean) -> str:
    verdict = (
        f"held: {clean(email['held_reason'])}"
        if email["verdict"] == "held"
        else "passed every loop guard"
    )
    to = clean(email["to"] or "(nobody)")
    return f"  email {email['outbox_id']} to {to}: {verdict}; now {email['state']}"
