"""Email templates (R-A2, R-A9, B7, D10): checked before they are saved, renamed, deleted.

A template is checked twice. The static check (`automation.template_check`) reads every name it
uses, in every branch, and refuses unknown ones; `set_template` runs it in the transaction (it is
cheap). The lint renders it against the newest tickets and one with its optional fields empty:
callers gather the samples in a read (`lint_samples`), render them with no transaction open
(`lint_renders`, each render in a worker within budget) and save only when nothing failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from automation.action_kinds.send_email import SEND_EMAIL, template_variables
from automation.admin.common import SettingsError, require_admin
from automation.admin.defaults import DEFAULT_PIPELINE
from automation.ports import ActionLike, AdminRepository, TemplateLike, UserLike
from automation.render_worker import Budget, OverBudget, render_within
from automation.template_check import check_template
from automation.templates import TemplateRenderError

LINT_TICKETS = 20  # D10: the lint renders against this many of the newest tickets
LINT_MAX_OVERRUNS = 3  # renders over the time limit before the lint stops trying more

SAMPLE_VARIABLES: dict[str, Any] = {
    "ticket": {
        "number": 1,
        "subject": "Sample subject",
        "priority": "normal",
        "source": "email",
        "created_at": None,
        "tags": ["vip"],
        "properties": {},
    },
    "contact": {"name": "Sample Contact", "email": "contact@example.com"},
    "owner": {"name": "Sample Owner", "email": "owner@example.com"},
    "pipeline": {"name": DEFAULT_PIPELINE},
    "status": {"label": "New", "state": "OPEN"},
    "channel": {"name": "support", "address": "support@example.com"},
}

# D10: a ticket whose optional fields are all empty (no owner, no contact name, a channel
# without an address), as the lint's last sample.
EMPTY_VARIABLES: dict[str, Any] = {
    "ticket": {
        "number": 0,
        "subject": "",
        "priority": "normal",
        "source": "email",
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
        "tags": [],
        "properties": {},
    },
    "contact": {"name": "", "email": ""},
    "owner": None,
    "pipeline": {"name": DEFAULT_PIPELINE},
    "status": {"label": "New", "state": "OPEN"},
    "channel": {"name": "", "address": ""},
}


def preview_variables(repo: AdminRepository, ticket_number: int | None) -> dict[str, Any]:
    """The variables of a real ticket (the newest, or the one asked for), else a sample."""
    ticket = repo.ticket(ticket_number) if ticket_number else repo.latest_ticket()
    if ticket_number and ticket is None:
        raise SettingsError(f"no ticket #{ticket_number}")
    if ticket is not None:
        return template_variables(repo, ticket)
    return _with_properties(repo, SAMPLE_VARIABLES)


def _with_properties(repo: AdminRepository, variables: dict[str, Any]) -> dict[str, Any]:
    """A sample with every custom property the desk defines, unset (issue 13)."""
    unset = {p.name: None for p in repo.property_defs()}
    return {**variables, "ticket": {**variables["ticket"], "properties": unset}}


# --- the static check and the lint --------------------------------------------------------------


def check_text(subject: str, body: str) -> None:
    """Refuse a template that names what the renderer does not offer (B7), or is empty."""
    if not subject.strip() or not body.strip():
        raise SettingsError("a template needs both a subject and a body")
    problems = check_template(subject, body)
    if problems:
        raise SettingsError("template not saved: " + "; ".join(problems))


@dataclass(frozen=True)
class LintSample:
    ticket: int | None  # None: the ticket with empty optional fields
    variables: dict[str, Any]


@dataclass(frozen=True)
class LintFailure:
    ticket: int | None
    message: str

    def __str__(self) -> str:
        return f"{describe_sample(self.ticket)}: {self.message}"


def describe_sample(ticket: int | None) -> str:
    return f"ticket #{ticket}" if ticket is not None else "a ticket with empty optional fields"


def lint_samples(repo: AdminRepository) -> list[LintSample]:
    """D10: the 20 newest tickets and one with its optional fields empty (a read)."""
    samples = [
        LintSample(ticket.id, template_variables(repo, ticket))
        for ticket in repo.newest_tickets(LINT_TICKETS)
    ]
    return [*samples, LintSample(None, _with_properties(repo, EMPTY_VARIABLES))]


def lint_renders(
    subject: str, body: str, samples: Sequence[LintSample], budget: Budget | None = None
) -> list[LintFailure]:
    """Render against every sample (no transaction should be open: each render may take the
    whole budget); every failure with its ticket. After a few renders over the time limit
    the rest are not tried (that is said)."""
    failures: list[LintFailure] = []
    overruns = 0
    for index, sample in enumerate(samples):
        try:
            render_within(subject, body, sample.variables, budget)
        except OverBudget as exc:
            failures.append(LintFailure(sample.ticket, str(exc)))
            overruns += 1
            if overruns >= LINT_MAX_OVERRUNS and index + 1 < len(samples):
                untried = len(samples) - index - 1
                failures.append(LintFailure(None, f"{untried} more not tried"))
                break
        except TemplateRenderError as exc:
            failures.append(LintFailure(sample.ticket, str(exc)))
    return failures


def lint(subject: str, body: str, samples: Sequence[LintSample]) -> list[str]:
    """The static check's problems, else the renders' failures: one line each, none when fine."""
    problems = check_template(subject, body)
    if problems:
        return problems
    return [str(failure) for failure in lint_renders(subject, body, samples)]


# --- changes ------------------------------------------------------------------------------------


def set_template(
    repo: AdminRepository, user: UserLike, name: str, *, subject: str | None, body: str | None
) -> TemplateLike:
    """Save a template once the static check passes (B7: unknown names are errors). The lint's
    renders are the caller's, before this transaction (D10)."""
    require_admin(user)
    name = " ".join(name.split())
    if not name:
        raise SettingsError("a template needs a name")
    current = repo.template_by_name(name)
    subject = subject if subject is not None else (current.subject if current else None)
    body = body if body is not None else (current.body if current else None)
    if not subject or not body:
        raise SettingsError("a new template needs both --subject and a body")
    check_text(subject, body)
    return repo.set_template(name, subject, body)


def template_named(repo: AdminRepository, name: str) -> TemplateLike:
    template = repo.template_by_name(name)
    if template is None:
        known = ", ".join(t.name for t in repo.templates())
        raise SettingsError(f"no template {name!r} (templates: {known})")
    return template


def _custom(repo: AdminRepository, name: str, doing: str) -> TemplateLike:
    template = template_named(repo, name)
    if getattr(template, "builtin", False):
        raise SettingsError(f"“{template.name}” is a built-in template: it cannot be {doing}")
    return template


def rename_template(
    repo: AdminRepository, user: UserLike, name: str, new_name: str
) -> TemplateLike:
    """A custom template's new name; the actions that send it keep sending it."""
    require_admin(user)
    template = _custom(repo, name, "renamed")
    new_name = " ".join(new_name.split())
    if not new_name:
        raise SettingsError("a template needs a name")
    taken = {t.name.casefold() for t in repo.templates() if t.id != template.id}
    if new_name.casefold() in taken:
        raise SettingsError(f"a template named “{new_name}” exists already")
    template.name = new_name
    return template


def template_users(repo: AdminRepository, template: TemplateLike) -> list[ActionLike]:
    """The actions that send this template."""
    return [
        action
        for action in repo.workflow_actions_of_kind(SEND_EMAIL)
        if action.config.get("template_id") == template.id
    ]


def template_uses(repo: AdminRepository, name: str) -> list[str]:
    """Where a template is sent from, in words: one line per action."""
    return [_where(repo, action) for action in template_users(repo, template_named(repo, name))]


def uses_by_template(repo: AdminRepository) -> dict[int, list[str]]:
    """Every template's uses (template id -> where, in words), in one pass."""
    found: dict[int, list[str]] = {}
    for action in repo.workflow_actions_of_kind(SEND_EMAIL):
        template_id = action.config.get("template_id")
        if isinstance(template_id, int):
            found.setdefault(template_id, []).append(_where(repo, action))
    return found


def _where(repo: AdminRepository, action: ActionLike) -> str:
    step = f"action {action.position + 1}" + (" in a branch" if action.parent_id else "")
    return f"workflow “{repo.workflow_name(action.workflow_id)}”, {step}"


def delete_template(
    repo: AdminRepository, user: UserLike, name: str, *, replace_with: str | None = None
) -> int:
    """Delete a custom template. The actions that send it send `replace_with` from now on; a
    template in use is kept when none is named. Returns how many actions were switched."""
    require_admin(user)
    template = _custom(repo, name, "deleted")
    users = template_users(repo, template)
    if users and replace_with is None:
        where = "; ".join(_where(repo, action) for action in users)
        raise SettingsError(
            f"“{template.name}” is sent by {_actions(len(users))} ({where}): name the "
            "template they send instead (--replace-with NAME)"
        )
    if users and replace_with is not None:
        replacement = template_named(repo, replace_with)
        if replacement.id == template.id:
            raise SettingsError("the replacement is the template being deleted")
        for action in users:
            action.config = {**action.config, "template_id": replacement.id}
    repo.delete_template(template)
    return len(users)


def _actions(count: int) -> str:
    return "1 action" if count == 1 else f"{count} actions"
