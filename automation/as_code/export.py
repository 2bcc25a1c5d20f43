"""The desk's automation as one document (SPEC B4, B4.1): deterministic, every object keyed by
name (a workflow by "pipeline/status/name"), no secret and no secret reference.

`document` builds plain data; `export_text` writes it as TOML (`toml_out`).
"""

from __future__ import annotations

from typing import Any, cast

from automation.admin.limits import loop_limits, max_message_mb, undo_window
from automation.as_code.actions import fields_of
from automation.as_code.toml_out import dumps
from automation.flow import PATHS, path
from automation.outbound import old_mail_hours
from automation.ports import ActionLike, AdminRepository, PipelineLike, WorkflowLike
from automation.snippets import SnippetRepository
from automation.templates import BUILTIN_TEMPLATES, builtin_template_text
from automation.triggers import TRIGGER_NAMES

FORMAT = 1
TRIGGER_KEYS = {"email_sent": "email-sent", "customer_replied": "customer-replied"}
# B4.1: the mail settings a file carries; imap_secret and smtp_secret never leave the desk.
CHANNEL_MAIL_FIELDS = (
    "imap_host",
    "imap_port",
    "imap_tls",
    "imap_user",
    "imap_folder",
    "smtp_host",
    "smtp_port",
    "smtp_tls",
    "smtp_user",
    "auth",
)
INLINE_KEYS = ("conditions", "condition", "config")
HEADER = (
    "Deskline automation (deskline automation export).\n"
    "Check it with `deskline automation check FILE`, see what it changes with\n"
    "`deskline automation diff FILE`, apply it with `deskline automation apply FILE`.\n"
    "Secrets and secret references are never written here; personal snippets neither."
)


def workflow_key(pipeline: str, status: str, name: str) -> str:
    return f"{pipeline}/{status}/{name}"


def limits_section(repo: AdminRepository) -> dict[str, Any]:
    limits = loop_limits(repo)
    return {
        "old_mail_hours": old_mail_hours(repo),
        "undo_seconds": undo_window(repo),
        "max_message_mb": max_message_mb(repo),
        "per_ticket": _limits_text(limits["per_ticket"]),
        "per_recipient": _limits_text(limits["per_recipient"]),
        "branding": bool(repo.setting("branding", True)),
    }


def _limits_text(rows: list[list[int]]) -> str:
    return ",".join(f"{count}/{minutes}" for count, minutes in rows)


def pipeline_section(
    repo: AdminRepository, pipeline: PipelineLike, position: int
) -> dict[str, Any]:
    statuses = {
        status.label: {"state": status.state.lower(), "position": index + 1}
        for index, status in enumerate(repo.statuses(pipeline.id))
    }
    triggers = {}
    for kind, name in TRIGGER_KEYS.items():
        trigger = repo.trigger(pipeline.id, kind)
        if trigger is not None:
            target = repo.status(trigger.target_status_id)
            triggers[name] = {
                "enabled": bool(trigger.enabled),
                "target": target.label if target is not None else None,
            }
    return {"position": position, "statuses": statuses, "triggers": triggers}


def templates_section(repo: AdminRepository) -> dict[str, Any]:
    """Custom templates, and a built-in one only when it was changed."""
    found: dict[str, Any] = {}
    for template in sorted(repo.templates(), key=lambda t: t.name):
        builtin = bool(getattr(template, "builtin", False)) and template.name in BUILTIN_TEMPLATES
        if builtin and (template.subject, template.body) == builtin_template_text(template.name):
            continue
        found[template.name] = {"subject": template.subject, "body": template.body}
    return found


def snippets_section(repo: AdminRepository) -> dict[str, Any]:
    """The shared snippets by name; a rep's own never leave the desk (B4.1)."""
    rows = cast(SnippetRepository, repo).snippets_for(None)
    return {row.name: {"body": row.body} for row in sorted(rows, key=lambda r: r.name)}


def channels_section(repo: AdminRepository, pipelines: set[int] | None) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for channel in sorted(repo.channels(), key=lambda c: c.name):
        if pipelines is not None and channel.pipeline_id not in pipelines:
            continue
        entry: dict[str, Any] = {
            "kind": channel.kind,
            "address": channel.address,
            "pipeline": repo.pipeline(channel.pipeline_id).name,
            "ticket_automation": bool(channel.ticket_automation),
            "bulk_opens_tickets": bool(getattr(channel, "bulk_opens_tickets", False)),
        }
        if channel.kind == "email":
            entry.update({name: getattr(channel, name, None) for name in CHANNEL_MAIL_FIELDS})
        found[channel.name] = entry
    return found


def action_entry(repo: AdminRepository, action: ActionLike) -> dict[str, Any]:
    entry: dict[str, Any] = {"kind": action.kind}
    entry.update(fields_of(repo, action.kind, dict(action.config or {})))
    comments = [comment.body for comment in action.comments]
    if comments:
        entry["comments"] = comments
    for which in PATHS:
        children = path(action, which)
        if children:
            entry[which] = [action_entry(repo, child) for child in children]
    return entry


def workflow_entry(
    repo: AdminRepository, workflow: WorkflowLike, keys: dict[int, str]
) -> dict[str, Any]:
    status = repo.status(workflow.status_id)
    return {
        "pipeline": repo.pipeline(workflow.pipeline_id).name,
        "status": status.label if status is not None else None,
        "name": workflow.name,
        "builtin": bool(workflow.builtin),
        "enabled": bool(workflow.enabled),
        "reenroll": bool(workflow.reenroll),
        "cloned_from": keys.get(getattr(workflow, "cloned_from_id", None) or 0),
        "conditions": dict(workflow.conditions or {}),
        "actions": [action_entry(repo, action) for action in workflow.actions],
    }


def keyed_workflows(
    repo: AdminRepository, pipelines: list[PipelineLike]
) -> dict[str, WorkflowLike]:
    """The workflows of these pipelines by key, in order (status, then age)."""
    found: dict[str, WorkflowLike] = {}
    for pipeline in pipelines:
        for status in repo.statuses(pipeline.id):
            for workflow in repo.status_workflows(status.id):
                key = workflow_key(pipeline.name, status.label, workflow.name)
                number = 2
                while key in found:  # two clones of one name: keyed by their order
                    key = workflow_key(pipeline.name, status.label, f"{workflow.name} #{number}")
                    number += 1
                found[key] = workflow
    return found


def workflows_section(repo: AdminRepository, pipelines: list[PipelineLike]) -> dict[str, Any]:
    found = keyed_workflows(repo, pipelines)
    keys = {workflow.id: key for key, workflow in found.items()}
    return {key: workflow_entry(repo, workflow, keys) for key, workflow in found.items()}


def document(repo: AdminRepository, pipeline_name: str | None = None) -> dict[str, Any]:
    """The automation of the desk (or of one pipeline, with the desk-wide sections)."""
    every = list(repo.pipelines())
    chosen = [p for p in every if pipeline_name is None or p.name == pipeline_name]
    positions = {p.id: index + 1 for index, p in enumerate(every)}
    return {
        "format": FORMAT,
        "limits": limits_section(repo),
        "pipelines": {p.name: pipeline_section(repo, p, positions[p.id]) for p in chosen},
        "templates": templates_section(repo),
        "snippets": snippets_section(repo),
        "channels": channels_section(
            repo, {p.id for p in chosen} if pipeline_name is not None else None
        ),
        "workflows": workflows_section(repo, chosen),
    }


def export_text(repo: AdminRepository, pipeline_name: str | None = None) -> str:
    return dumps(document(repo, pipeline_name), inline=INLINE_KEYS, header=HEADER)


__all__ = ["FORMAT", "TRIGGER_NAMES", "document", "export_text", "workflow_key"]
