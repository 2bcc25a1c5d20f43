"""Read models of the automation settings screen (SPEC §5): one pipeline's settings in one read.

Plain dicts with ids, so the screen can keep its cursor on the same row across refreshes. The
per-pipeline part reuses `storage.queries` (the CLI's `automation show` read model).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from automation.admin import TRIGGER_KINDS, preview_variables, uses_by_template
from automation.tickets import LIVE_SOURCES_EXCLUDED
from storage import models as m
from storage.queries import automation_view, enrollment_conditions
from storage.repository import SqlRepository

TRIGGER_KEYS = {kind: key for key, kind in TRIGGER_KINDS.items()}  # email_sent → email-sent


def settings_view(session: Session, pipeline_id: int | None = None) -> dict[str, Any]:
    """Everything the settings screen lists for one pipeline (the first when none is asked)."""
    pipelines = list(
        session.scalars(select(m.Pipeline).order_by(m.Pipeline.position, m.Pipeline.id))
    )
    if not pipelines:
        return {"pipelines": [], "pipeline": None}
    pipeline = next((p for p in pipelines if p.id == pipeline_id), pipelines[0])
    view = automation_view(session, pipeline)
    counts = dict(
        session.execute(
            select(m.Ticket.status_id, func.count())
            .where(m.Ticket.pipeline_id == pipeline.id)
            .group_by(m.Ticket.status_id)
        ).all()
    )
    statuses = []
    for status, shown in zip(pipeline.statuses, view["statuses"], strict=True):
        for workflow in shown["workflows"]:  # in words, as the workflow editor says it
            found = session.get(m.Workflow, workflow["id"])
            workflow["enrollment_conditions"] = enrollment_conditions(found) if found else []
        statuses.append({"id": status.id, "tickets": int(counts.get(status.id, 0)), **shown})
    triggers = [{**t, "key": TRIGGER_KEYS.get(t["kind"], t["kind"])} for t in view["triggers"]]
    channels = [
        {
            "id": c.id,
            "name": c.name,
            "kind": c.kind,
            "address": c.address,
            "ticket_automation": c.ticket_automation,
            "live": c.kind in LIVE_SOURCES_EXCLUDED,
        }
        for c in session.scalars(
            select(m.Channel).where(m.Channel.pipeline_id == pipeline.id).order_by(m.Channel.id)
        )
    ]
    uses = uses_by_template(SqlRepository(session))  # which actions send each template
    templates = [
        {
            "id": t.id,
            "name": t.name,
            "subject": t.subject,
            "body": t.body,
            "builtin": t.builtin,
            "used_by": uses.get(t.id, []),
        }
        for t in session.scalars(select(m.Template).order_by(m.Template.id))
    ]
    return {
        "pipelines": [{"id": p.id, "name": p.name} for p in pipelines],
        "pipeline": {"id": pipeline.id, "name": pipeline.name},
        "channels": channels,
        "triggers": triggers,
        "statuses": statuses,
        "templates": templates,
        "branding": bool(view["branding"]),
    }


def people(session: Session) -> dict[str, list[str]]:
    """Who a notification can go to (R-A4): user and team names."""
    return {
        "users": list(session.scalars(select(m.User.name).order_by(m.User.name))),
        "teams": list(session.scalars(select(m.Team.name).order_by(m.Team.name))),
    }


def template_names(session: Session) -> list[str]:
    """What a "send email" action can send (R-A2), oldest first."""
    return list(session.scalars(select(m.Template.name).order_by(m.Template.id)))


def template_preview(session: Session, ticket_number: int | None = None) -> dict[str, Any]:
    """B7: the variables of a real ticket (the newest, or the one asked for) to preview a template
    against, and which ticket that is. Raises SettingsError for an unknown ticket number."""
    repo = SqlRepository(session)
    variables = preview_variables(repo, ticket_number)
    ticket = variables.get("ticket") or {}
    real = ticket_number is not None or repo.latest_ticket() is not None
    return {
        "variables": variables,
        "ticket": ticket.get("number") if real else None,
        "subject": ticket.get("subject") if real else None,
    }


def status_removal(session: Session, status_id: int) -> dict[str, int]:
    """What removing a status deletes with it (the settings screen's question names it): its
    workflows, their actions, the tickets enrolled in them, the failed action runs of the
    failure history and the delayed steps still waiting."""
    from storage.queries import FAILURE_STATES

    workflow_ids = select(m.Workflow.id).where(m.Workflow.status_id == status_id)
    enrollment_ids = select(m.Enrollment.id).where(m.Enrollment.workflow_id.in_(workflow_ids))

    def count(query: Any) -> int:
        return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)

    return {
        "workflows": count(workflow_ids),
        "actions": count(
            select(m.WorkflowAction.id).where(m.WorkflowAction.workflow_id.in_(workflow_ids))
        ),
        "enrollments": count(enrollment_ids),
        "failures": count(
            select(m.ActionRun.id).where(
                m.ActionRun.enrollment_id.in_(enrollment_ids),
                m.ActionRun.state.in_(FAILURE_STATES),
            )
        ),
        "waiting": count(
            select(m.ScheduledStep.id).where(
                m.ScheduledStep.workflow_id.in_(workflow_ids), m.ScheduledStep.done_at.is_(None)
            )
        ),
    }
