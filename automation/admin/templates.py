"""Email templates (R-A2, R-A9, B7): saved only when they render against a real ticket."""

from __future__ import annotations

from typing import Any

from automation.action_kinds.send_email import template_variables
from automation.admin.common import SettingsError, require_admin
from automation.admin.defaults import DEFAULT_PIPELINE
from automation.ports import AdminRepository, TemplateLike, UserLike
from automation.templates import lint

SAMPLE_VARIABLES: dict[str, Any] = {
    "ticket": {
        "number": 1,
        "subject": "Sample subject",
        "priority": "normal",
        "source": "email",
        "created_at": None,
    },
    "contact": {"name": "Sample Contact", "email": "contact@example.com"},
    "owner": {"name": "Sample Owner", "email": "owner@example.com"},
    "pipeline": {"name": DEFAULT_PIPELINE},
    "status": {"label": "New", "state": "OPEN"},
    "channel": {"name": "support", "address": "support@example.com"},
}


def preview_variables(repo: AdminRepository, ticket_number: int | None) -> dict[str, Any]:
    """The variables of a real ticket (the newest, or the one asked for), else a sample."""
    ticket = repo.ticket(ticket_number) if ticket_number else repo.latest_ticket()
    if ticket_number and ticket is None:
        raise SettingsError(f"no ticket #{ticket_number}")
    return template_variables(repo, ticket) if ticket is not None else SAMPLE_VARIABLES


def set_template(
    repo: AdminRepository, user: UserLike, name: str, *, subject: str | None, body: str | None
) -> TemplateLike:
    """Save a template after it renders against a real ticket (B7: undefined names are errors)."""
    require_admin(user)
    name = " ".join(name.split())
    if not name:
        raise SettingsError("a template needs a name")
    current = repo.template_by_name(name)
    subject = subject if subject is not None else (current.subject if current else None)
    body = body if body is not None else (current.body if current else None)
    if not subject or not body:
        raise SettingsError("a new template needs both --subject and a body")
    problem = lint(subject, body, preview_variables(repo, None))
    if problem is not None:
        raise SettingsError(f"template not saved: {problem}")
    return repo.set_template(name, subject, body)
