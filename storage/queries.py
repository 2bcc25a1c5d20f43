"""Read models: plain dicts for the CLI's JSON (stable, documented in the README) and screens.

Everything here only reads. Lists use keyset pagination (`after_id`) and the indexes in models.py;
the CLI's lists, in their documented orders and with cursors, are in `storage.pages`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from automation.property_types import json_value as property_json
from storage import models as m

JSON_VERSION = 1


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def ticket_row(ticket: m.Ticket) -> dict[str, Any]:
    return {
        "number": ticket.id,
        "subject": ticket.subject,
        "pipeline": ticket.pipeline.name,
        "status": ticket.status.label,
        "state": ticket.status.state,
        "owner": ticket.owner.name if ticket.owner else None,
        "priority": ticket.priority,
        "contact": ticket.contact.email if ticket.contact else None,
        "contact_name": ticket.contact.name if ticket.contact else None,
        "source": ticket.source,
        "channel": ticket.channel.name if ticket.channel else None,
        "origin_conversation": ticket.origin_conversation_id,
        "reopened": ticket.reopened,
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at),
        "first_response_at": iso(ticket.first_response_at),
        "last_customer_reply_at": iso(ticket.last_customer_reply_at),
        "last_rep_reply_at": iso(ticket.last_rep_reply_at),
        "closed_at": iso(ticket.closed_at),
        "merged_into": ticket.merged_into_id,  # SPEC B3.1
        "tags": [t.tag for t in ticket.tags],
        "properties": ticket_properties(ticket),
    }


def ticket_properties(ticket: m.Ticket) -> dict[str, Any]:
    """The custom properties the ticket has a value for, by name, JSON-typed (issue 13)."""
    found = sorted(ticket.property_values, key=lambda v: v.prop.name)
    return {v.prop.name: property_json(v.prop.kind, v.value) for v in found}


def list_tickets(
    session: Session,
    *,
    status: str | None = None,
    pipeline: str | None = None,
    after_id: int = 0,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    query = select(m.Ticket).where(m.Ticket.id > after_id).order_by(m.Ticket.id).limit(limit)
    query = query.options(selectinload(m.Ticket.tags), selectinload(m.Ticket.property_values))
    if status is not None:
        query = query.join(m.Status, m.Ticket.status_id == m.Status.id).where(
            func.lower(m.Status.label) == status.lower()
        )
    if pipeline is not None:
        query = query.join(m.Pipeline, m.Ticket.pipeline_id == m.Pipeline.id).where(
            m.Pipeline.name == pipeline
        )
    return [ticket_row(t) for t in session.scalars(query)]


def message_row(message: m.Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "direction": message.direction,
        "message_id": message.message_id,
        "in_reply_to": message.in_reply_to,
        "from": message.from_addr,
        "from_name": message.from_name,
        "to": message.to_addrs,
        "cc": message.cc_addrs,
        "bcc": message.bcc_addrs,  # our own mail's only (D16): never in a header
        "subject": message.subject,
        "sent_at": iso(message.sent_at),
        "sent_from": message.sent_from,
        "author": message.author.name if message.author else None,
        "forwarded": message.forwarded_reason,
        "automated": message.automated_kind,
        "automated_reason": message.automated_reason,
        "template": message.template_name,
        "thread_reason": message.thread_reason,
        "thread_conflict": message.thread_conflict,
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size}
            for a in message.attachments
        ],
        "text": message.body_text,
    }


def timeline_row(event: m.TimelineEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": iso(event.at),
        "type": event.type,
        "actor": {"kind": event.actor_kind, "id": event.actor_id, "name": event.actor_name},
        "cause": event.cause_id,
        "conversation": event.conversation_id,
        "message": event.message_row_id,
        "summary": event.summary,
        "data": event.data,
    }


def conversation_row(session: Session, conversation: m.Conversation) -> dict[str, Any]:
    messages = session.scalars(
        select(m.Message).where(m.Message.conversation_id == conversation.id).order_by(m.Message.id)
    )
    return {
        "id": conversation.id,
        "channel": conversation.channel.name,
        "source": conversation.source,
        "contact": conversation.contact.email if conversation.contact else None,
        "subject": conversation.subject,
        "state": conversation.state,
        "assignee": conversation.assignee.name if conversation.assignee else None,
        "automated": conversation.automated,
        "ticket": conversation.ticket_id,
        "association": conversation.association,
        "messages": [message_row(x) for x in messages],
    }


def ticket_detail(session: Session, number: int) -> dict[str, Any] | None:
    ticket = session.get(m.Ticket, number)
    if ticket is None:
        return None
    conversations = session.scalars(
        select(m.Conversation).where(m.Conversation.ticket_id == number).order_by(m.Conversation.id)
    )
    events = session.scalars(
        select(m.TimelineEvent)
        .where(m.TimelineEvent.ticket_id == number)
        .order_by(m.TimelineEvent.id)
    )
    outbox = session.scalars(
        select(m.OutboxMail).where(m.OutboxMail.ticket_id == number).order_by(m.OutboxMail.id)
    )
    return {
        "version": JSON_VERSION,
        "ticket": ticket_row(ticket),
        "conversations": [conversation_row(session, c) for c in conversations],
        "timeline": [timeline_row(e) for e in events],
        "outbox": [outbox_row(o) for o in outbox],
    }


def list_conversations(
    session: Session, *, after_id: int = 0, limit: int = 1000, automated: bool | None = None
) -> list[dict[str, Any]]:
    query = (
        select(m.Conversation)
        .where(m.Conversation.id > after_id)
        .order_by(m.Conversation.id)
        .limit(limit)
    )
    if automated is not None:
        query = query.where(m.Conversation.automated == automated)
    counts = dict(
        session.execute(
            select(m.Message.conversation_id, func.count()).group_by(m.Message.conversation_id)
        ).all()
    )
    return [conversation_summary(c, counts.get(c.id, 0)) for c in session.scalars(query)]


def conversation_summary(c: m.Conversation, messages: int) -> dict[str, Any]:
    """A conversation in a list (no messages, their count)."""
    return {
        "id": c.id,
        "channel": c.channel.name,
        "source": c.source,
        "contact": c.contact.email if c.contact else None,
        "subject": c.subject,
        "state": c.state,
        "automated": c.automated,
        "ticket": c.ticket_id,
        "association": c.association,
        "messages": messages,
        "updated_at": iso(c.updated_at),
    }


def outbox_row(row: m.OutboxMail) -> dict[str, Any]:
    return {
        "id": row.id,
        "state": row.state,
        "kind": row.kind,
        "ticket": row.ticket_id,
        "template": row.template_name,
        "message_id": row.message_id,
        "from": row.mail_from,
        "to": row.rcpt_to,
        "subject": row.subject,
        "held_reason": row.held_reason,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "created_at": iso(row.created_at),
        "sent_at": iso(row.sent_at),
    }


def list_outbox(
    session: Session, *, state: str | None = None, after_id: int = 0, limit: int = 1000
) -> list[dict[str, Any]]:
    query = select(m.OutboxMail).where(m.OutboxMail.id > after_id).order_by(m.OutboxMail.id)
    if state is not None:
        query = query.where(m.OutboxMail.state == state)
    return [outbox_row(r) for r in session.scalars(query.limit(limit))]


def outbox_raw(session: Session, outbox_id: int) -> bytes | None:
    row = session.get(m.OutboxMail, outbox_id)
    return row.raw if row is not None else None


def channel_rows(session: Session) -> list[dict[str, Any]]:
    from automation.web_paths import web_path

    channels = list(session.scalars(select(m.Channel).order_by(m.Channel.id)))
    names = {c.id: c.name for c in channels}
    forms = {f.channel_id: f for f in session.scalars(select(m.FormSettings))}
    rows = []
    for c in channels:
        row: dict[str, Any] = {
            "name": c.name,
            "kind": c.kind,
            "address": c.address,
            "pipeline": c.pipeline.name,
            "ticket_automation": c.ticket_automation,
            "bulk_opens_tickets": c.bulk_opens_tickets,
            "web_path": web_path(c.kind, c.id, c.name),  # C1: its page on `serve --http`'s address
        }
        if c.kind == "form":
            form = forms.get(c.id)
            reply = form.reply_channel_id if form is not None else None
            row["reply_through"] = names.get(reply) if reply is not None else None
            row["origins"] = list(form.origins) if form is not None else []
        rows.append(row)
    return rows


def automation_view(session: Session, pipeline: m.Pipeline) -> dict[str, Any]:
    """Triggers and status actions of one pipeline, as the settings screen shows them."""
    from automation.triggers import TRIGGER_NAMES

    triggers = session.scalars(
        select(m.Trigger).where(m.Trigger.pipeline_id == pipeline.id).order_by(m.Trigger.id)
    )
    statuses = []
    for status in pipeline.statuses:
        workflows = session.scalars(
            select(m.Workflow).where(m.Workflow.status_id == status.id).order_by(m.Workflow.id)
        )
        statuses.append(
            {
                "status": status.label,
                "state": status.state,
                "workflows": [workflow_row(session, w) for w in workflows],
            }
        )
    branding = session.get(m.Setting, "branding")
    return {
        "version": JSON_VERSION,
        "pipeline": pipeline.name,
        "triggers": [
            {
                "kind": t.kind,
                "name": TRIGGER_NAMES[t.kind],
                "enabled": t.enabled,
                "target": t.target_status.label if t.target_status else None,
                "broken": t.target_status is None,
                "workflow": {
                    "enrollment": _trigger_enrollment(t.kind),
                    "action": f"Set ticket status to {t.target_status.label}"
                    if t.target_status
                    else "Set ticket status to (removed status: broken)",
                },
            }
            for t in triggers
        ],
        "statuses": statuses,
        "branding": branding.value if branding is not None else True,
    }


def _trigger_enrollment(kind: str) -> str:
    if kind == "email_sent":
        return "A user sends an email to the contact from the ticket record"
    return "The contact replies in the thread the ticket was created from"


def workflow_row(session: Session, workflow: m.Workflow) -> dict[str, Any]:
    from storage.repository import SqlRepository

    repo = SqlRepository(session)
    enrolled = session.scalar(
        select(func.count())
        .select_from(m.Enrollment)
        .where(m.Enrollment.workflow_id == workflow.id)
    )
    return {
        "id": workflow.id,
        "name": workflow.name,
        "builtin": workflow.builtin,
        "enabled": workflow.enabled,
        "reenroll": workflow.reenroll,
        "enrollment": f"Ticket status is {workflow.status.label}" if workflow.status else None,
        "conditions": workflow.conditions,
        "enrolled_tickets": enrolled or 0,
        "actions": [_action_row(repo, a) for a in workflow.actions],
    }


@dataclass(frozen=True)
class FlowRow:
    """One line of a drawn workflow (see `flow_rows`): an action, or the start of one path of a
    branch (`action` is None, `which` is "yes"/"no", `branch` the branch's row)."""

    depth: int  # how many branches it sits in; a path's start counts its own branch
    action: dict[str, Any] | None
    into: tuple[int, str] | None  # the (branch id, path) its list is; None: the top list
    count: int = 0  # an action: how many actions share its list; a path start: how many it has
    which: str | None = None
    branch: dict[str, Any] | None = None


def flow_rows(actions: list[dict[str, Any]], depth: int = 0, into: Any = None) -> list[FlowRow]:
    """The action rows of `workflow_row` in reading order, each branch followed by its "yes"
    and "no" paths (a start line, then its actions one level deeper)."""
    rows: list[FlowRow] = []
    for action in actions:
        rows.append(FlowRow(depth, action, into, len(actions)))
        for which, path in action.get("paths", {}).items():
            inner = (action["id"], which)
            rows.append(FlowRow(depth + 1, None, inner, len(path), which, action))
            rows.extend(flow_rows(path, depth + 1, inner))
    return rows


def _action_row(repo: Any, action: m.WorkflowAction) -> dict[str, Any]:
    """One action; a branch carries its two paths ("yes", "no") as nested lists."""
    from automation.actions import BRANCH, describe_action
    from automation.flow import PATHS, path

    row: dict[str, Any] = {
        "id": action.id,
        "position": action.position,
        "kind": action.kind,
        "description": describe_action(repo, action),
        "config": action.config,
        "comments": [c.body for c in action.comments],
    }
    if action.kind == BRANCH:
        row["paths"] = {
            which: [_action_row(repo, a) for a in path(action, which)] for which in PATHS
        }
    return row


def import_failures(session: Session) -> list[dict[str, Any]]:
    return [
        failure_row(f, len(f.raw))
        for f in session.scalars(select(m.ImportFailure).order_by(m.ImportFailure.id))
    ]


def failure_row(f: m.ImportFailure, size: int) -> dict[str, Any]:
    return {
        "id": f.id,
        "source": f.source,
        "reason": f.reason,
        "size": size,
        "at": iso(f.created_at),
    }


# --- the workflow editor (`deskline workflow ...`, SPEC §5, R-A6, R-A7) -------------------------

RECENT_DAYS = 7
FAILURE_STATES = ("failed", "retried")  # a retried run failed first; its retry is a run of its own


def enrollment_conditions(workflow: m.Workflow) -> list[str]:
    """A workflow's enrollment in words: "Ticket status is X", then its source conditions
    (R-A7, R-A8; built-in workflows skip chat and messenger unless told otherwise, E9)."""
    from automation.tickets import LIVE_SOURCES_EXCLUDED

    def names(sources: Any) -> str:
        return " or ".join(str(s).capitalize() for s in sources) or "(none)"

    words = [f"Ticket status is {workflow.status.label}" if workflow.status else "(no status)"]
    conditions = workflow.conditions or {}
    if "sources" in conditions:
        words.append(f"Conversation source is {names(conditions['sources'])}")
    elif conditions.get("exclude_sources"):
        words.append(f"Conversation source is not {names(conditions['exclude_sources'])}")
    elif workflow.builtin and "exclude_sources" not in conditions:
        words.append(
            f"Conversation source is not {names(sorted(LIVE_SOURCES_EXCLUDED))} "
            "(built-in status workflows)"
        )
    else:
        words.append("Any conversation source")
    tree = {k: v for k, v in conditions.items() if k not in ("sources", "exclude_sources")}
    if tree:
        from automation.conditions import describe

        said = describe(tree)
        if said and said != "always":
            words.append(f"Ticket matches: {said}")
    return words


def _failure_row(session: Session, run: m.ActionRun) -> dict[str, Any]:
    from automation.actions import describe_action
    from storage.repository import SqlRepository

    action = session.get(m.WorkflowAction, run.action_id) if run.action_id else None
    return {
        "run_id": run.id,
        "at": iso(run.at),
        "ticket": run.ticket_id,
        "action_id": run.action_id,
        "action": describe_action(SqlRepository(session), action) if action else None,
        "detail": run.detail,
        "retried": run.state == "retried",
    }


def _workflow_failures(session: Session, workflow_id: int, limit: int) -> list[dict[str, Any]]:
    runs = session.scalars(
        select(m.ActionRun)
        .join(m.Enrollment, m.ActionRun.enrollment_id == m.Enrollment.id)
        .where(m.Enrollment.workflow_id == workflow_id, m.ActionRun.state.in_(FAILURE_STATES))
        .order_by(m.ActionRun.at.desc(), m.ActionRun.id.desc())
        .limit(limit)
    )
    return [_failure_row(session, run) for run in runs]


def pipeline_workflows(session: Session, pipeline_id: int | None) -> dict[str, Any]:
    """The workflow editor's list: a pipeline (the first when none or a removed one is asked
    for) and its workflow summaries."""
    pipeline = session.get(m.Pipeline, pipeline_id) if pipeline_id else None
    if pipeline is None:
        pipeline = session.scalar(select(m.Pipeline).order_by(m.Pipeline.position, m.Pipeline.id))
    if pipeline is None:
        return {"pipeline": None, "workflows": []}
    return {
        "pipeline": {"id": pipeline.id, "name": pipeline.name},
        "workflows": workflow_summaries(session, pipeline),
    }


def workflow_summaries(
    session: Session, pipeline: m.Pipeline, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Every workflow of a pipeline (built-in per-status ones and clones) with its enrollment,
    switches and what it did: enrollments all time and in the last 7 days, action runs of the
    last 7 days by state, tickets waiting in one of its delays, and its last failure."""
    from datetime import timedelta

    from automation import flow

    since = (now or m.utcnow()) - timedelta(days=RECENT_DAYS)
    workflows = list(
        session.scalars(
            select(m.Workflow)
            .outerjoin(m.Status, m.Workflow.status_id == m.Status.id)
            .where(m.Workflow.pipeline_id == pipeline.id)
            .order_by(m.Status.position, m.Workflow.id)
        )
    )
    ids = [w.id for w in workflows]
    enrolled = dict(
        session.execute(
            select(m.Enrollment.workflow_id, func.count())
            .where(m.Enrollment.workflow_id.in_(ids))
            .group_by(m.Enrollment.workflow_id)
        ).all()
    )
    recent = dict(
        session.execute(
            select(m.Enrollment.workflow_id, func.count())
            .where(m.Enrollment.workflow_id.in_(ids), m.Enrollment.at >= since)
            .group_by(m.Enrollment.workflow_id)
        ).all()
    )
    waiting = dict(
        session.execute(
            select(m.ScheduledStep.workflow_id, func.count())
            .where(m.ScheduledStep.workflow_id.in_(ids), m.ScheduledStep.done_at.is_(None))
            .group_by(m.ScheduledStep.workflow_id)
        ).all()
    )
    runs: dict[int, dict[str, int]] = {
        w.id: {"ok": 0, "failed": 0, "skipped": 0} for w in workflows
    }
    for workflow_id, state, count in session.execute(
        select(m.Enrollment.workflow_id, m.ActionRun.state, func.count())
        .join(m.Enrollment, m.ActionRun.enrollment_id == m.Enrollment.id)
        .where(m.Enrollment.workflow_id.in_(ids), m.ActionRun.at >= since)
        .group_by(m.Enrollment.workflow_id, m.ActionRun.state)
    ).all():
        key = "failed" if state in FAILURE_STATES else str(state)
        runs[workflow_id][key] = runs[workflow_id].get(key, 0) + int(count)
    rows = []
    for workflow in workflows:
        failures = _workflow_failures(session, workflow.id, 1)
        rows.append(
            {
                "id": workflow.id,
                "name": workflow.name,
                "pipeline": pipeline.name,
                "status": workflow.status.label if workflow.status else None,
                "builtin": workflow.builtin,
                "enabled": workflow.enabled,
                "reenroll": workflow.reenroll,
                "cloned_from": workflow.cloned_from_id,
                "enrollment": enrollment_conditions(workflow)[0],
                "enrollment_conditions": enrollment_conditions(workflow),
                "conditions": workflow.conditions,
                "action_count": flow.count(workflow.actions),
                "enrolled_tickets": int(enrolled.get(workflow.id, 0)),
                "enrolled_7d": int(recent.get(workflow.id, 0)),
                "runs_7d": runs[workflow.id],
                "waiting": int(waiting.get(workflow.id, 0)),
                "last_failure": failures[0] if failures else None,
            }
        )
    return rows


def workflow_detail(
    session: Session, workflow_id: int, *, now: datetime | None = None, failures: int = 5
) -> dict[str, Any] | None:
    """One workflow as the editor shows it: its summary, its ordered actions with their comments,
    and its last failures (newest first)."""
    workflow = session.get(m.Workflow, workflow_id)
    if workflow is None:
        return None
    pipeline = session.get_one(m.Pipeline, workflow.pipeline_id)
    summary = next(
        w for w in workflow_summaries(session, pipeline, now=now) if w["id"] == workflow_id
    )
    return {
        "version": JSON_VERSION,
        "workflow": {**summary, "actions": workflow_row(session, workflow)["actions"]},
        "failures": _workflow_failures(session, workflow.id, failures),
    }


def next_mail_at(session: Session) -> datetime | None:
    """When the next queued email for a channel with an SMTP server is due (now or in the past
    when one is due already; later when the earliest waits for its undo window or a retry)."""
    return session.scalar(
        select(func.min(m.OutboxMail.next_attempt_at)).where(
            m.OutboxMail.state == "queued",
            m.OutboxMail.channel_id.in_(
                select(m.Channel.id).where(m.Channel.smtp_host.is_not(None))
            ),
        )
    )


def channel_smtp(session: Session, channel_id: int) -> dict[str, Any] | None:
    """What sending needs of a channel (its secret as a reference), or None if it is gone."""
    channel = session.get(m.Channel, channel_id)
    if channel is None:
        return None
    return {
        "name": channel.name,
        "smtp_host": channel.smtp_host,
        "smtp_port": channel.smtp_port,
        "smtp_tls": channel.smtp_tls,
        "smtp_user": channel.smtp_user,
        "smtp_secret": channel.smtp_secret,
        "auth": channel.auth,
    }
