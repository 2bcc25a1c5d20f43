"""What a file would change (`diff`) and the change (`apply`), through `automation.admin` (SPEC
B4.2): objects match by key and are updated in place (a workflow keeps its id and enrollment
history, E7); a section the file has rules that section only; a status that holds tickets and is
no longer in the file needs `moved_to`; templates pass the template check; secret references
stay as they are. Run `apply` in one transaction: any refusal leaves the desk unchanged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from automation import admin, snippets
from automation.as_code.actions import FIELD_NAMES
from automation.as_code.export import (
    CHANNEL_MAIL_FIELDS,
    TRIGGER_KEYS,
    document,
    keyed_workflows,
)
from automation.conditions import ConditionError, check_values
from automation.conditions import check as check_conditions
from automation.ports import ActionLike, AdminRepository, UserLike, WorkflowLike
from automation.snippets import SnippetRepository
from automation.templates import BUILTIN_TEMPLATES, builtin_template_text

SECTIONS = ("limits", "pipelines", "templates", "snippets", "channels", "workflows")


@dataclass(frozen=True)
class Change:
    section: str
    key: str
    what: str  # "added", "removed", "changed"
    fields: tuple[str, ...] = ()

    def __str__(self) -> str:
        detail = f" ({', '.join(self.fields)})" if self.fields else ""
        return f"{self.section}: {self.what} “{self.key}”{detail}"


def diff(repo: AdminRepository, file: dict[str, Any]) -> list[Change]:
    """Per object key, what applying the file would add, remove or change (no writes)."""
    current = document(repo)
    changes: list[Change] = []
    for section in SECTIONS:
        if section not in file:
            continue
        mine, theirs = current[section], file[section]
        if section == "limits":
            changed = tuple(k for k, v in theirs.items() if mine.get(k) != v)
            changes += [Change(section, "limits", "changed", changed)] if changed else []
            continue
        for key, entry in theirs.items():
            if key not in mine:
                changes.append(Change(section, key, "added"))
            else:
                fields = tuple(
                    k for k in sorted({*entry, *mine[key]}) if _differs(mine[key], entry, k)
                )
                if fields:
                    changes.append(Change(section, key, "changed", fields))
        if section != "pipelines" and section != "channels":
            changes += [Change(section, key, "removed") for key in mine if key not in theirs]
    return changes


def _differs(mine: dict[str, Any], theirs: dict[str, Any], key: str) -> bool:
    if key == "moved_to":
        return False
    return mine.get(key) != theirs.get(key)


def apply(repo: AdminRepository, user: UserLike, file: dict[str, Any]) -> list[Change]:
    """Make the desk say what the file says; returns what changed."""
    admin.require_admin(user)
    changes = diff(repo, file)
    if "limits" in file:
        _limits(repo, user, file["limits"])
    if "templates" in file:
        _templates(repo, user, file["templates"])
    if "snippets" in file:
        _snippets(cast(SnippetRepository, repo), user, file["snippets"])
    for name, entry in file.get("pipelines", {}).items():
        _pipeline(repo, user, name, entry)
    if "workflows" in file:
        _workflows(repo, user, file["workflows"], set(file.get("pipelines", {})) or None)
    for name, entry in file.get("channels", {}).items():
        _channel(repo, user, name, entry)
    if "templates" in file:
        _drop_templates(repo, user, file["templates"])
    repo.flush()
    return changes


def _limits(repo: AdminRepository, user: UserLike, limits: dict[str, Any]) -> None:
    from automation.admin.limits import set_max_message_mb

    if "old_mail_hours" in limits:
        admin.set_old_mail_hours(repo, user, limits["old_mail_hours"])
    if "undo_seconds" in limits:
        admin.set_undo_seconds(repo, user, limits["undo_seconds"])
    if "max_message_mb" in limits:
        set_max_message_mb(repo, user, float(limits["max_message_mb"]))
    admin.set_loop_limits(
        repo, user, per_ticket=limits.get("per_ticket"), per_recipient=limits.get("per_recipient")
    )
    if "branding" in limits:
        admin.set_branding(repo, user, bool(limits["branding"]))


def _templates(repo: AdminRepository, user: UserLike, templates: dict[str, Any]) -> None:
    for name, entry in templates.items():
        current = repo.template_by_name(name)
        if current is None or (current.subject, current.body) != (entry["subject"], entry["body"]):
            admin.set_template(repo, user, name, subject=entry["subject"], body=entry["body"])
    for name in BUILTIN_TEMPLATES:  # a built-in the file leaves out is the built-in text
        current = repo.template_by_name(name)
        subject, body = builtin_template_text(name)
        if (
            name not in templates
            and current is not None
            and (current.subject, current.body) != (subject, body)
        ):
            admin.set_template(repo, user, name, subject=subject, body=body)


def _snippets(repo: SnippetRepository, user: UserLike, entries: dict[str, Any]) -> None:
    """The shared snippets become the file's (their static check on save, D10); a rep's own
    are not the file's business (B4.1)."""
    for name, entry in entries.items():
        row = repo.snippet_row(None, name)
        if row is None or row.body != entry["body"]:
            snippets.save(repo, user, name, entry["body"], shared=True)
    wanted = {name.casefold() for name in entries}
    for row in list(repo.snippets_for(None)):
        if row.name.casefold() not in wanted:
            snippets.delete(repo, user, row.name, shared=True)


def _drop_templates(repo: AdminRepository, user: UserLike, templates: dict[str, Any]) -> None:
    for template in list(repo.templates()):
        if not getattr(template, "builtin", False) and template.name not in templates:
            admin.delete_template(repo, user, template.name)


def _pipeline(repo: AdminRepository, user: UserLike, name: str, entry: dict[str, Any]) -> None:
    statuses = sorted(entry["statuses"].items(), key=lambda item: item[1].get("position", 0))
    pipeline = repo.pipeline_by_name(name)
    if pipeline is None:
        pairs = tuple((label, s["state"].upper()) for label, s in statuses)
        pipeline = admin.add_pipeline(repo, user, name, pairs)
    have = {s.label for s in repo.statuses(pipeline.id)}
    for label, status in statuses:
        if label not in have:
            admin.add_status(repo, user, name, label, status["state"].upper())
    moved_to = entry.get("moved_to", {})
    for status in list(repo.statuses(pipeline.id)):
        if status.label not in entry["statuses"]:
            admin.remove_status(repo, user, name, status.label, move_to=moved_to.get(status.label))
    for label, status in statuses:
        found = admin.status_in(repo, pipeline, label)
        if found.state.lower() != status["state"]:
            raise admin.SettingsError(
                f"{name} / {label}: a file does not change a status's state "
                f"(it is {found.state.lower()})"
            )
    for index, (label, _) in enumerate(statuses):
        admin.move_status(repo, user, name, label, index + 1)
    if "position" in entry:
        admin.move_pipeline(repo, user, name, min(entry["position"], len(repo.pipelines())))
    for trigger_name, trigger in entry.get("triggers", {}).items():
        admin.set_trigger(
            repo,
            user,
            name,
            trigger_name,
            enabled=trigger.get("enabled"),
            target_label=trigger.get("target"),
        )


def _workflows(
    repo: AdminRepository, user: UserLike, workflows: dict[str, Any], pipelines: set[str] | None
) -> None:
    chosen = [p for p in repo.pipelines() if pipelines is None or p.name in pipelines]
    existing = keyed_workflows(repo, chosen)
    current = document(repo)["workflows"]
    settled: dict[str, WorkflowLike] = {}
    for key, entry in workflows.items():
        workflow = existing.get(key) or _new_workflow(repo, entry)
        _settle_workflow(repo, user, workflow, entry)
        if key not in current or current[key]["actions"] != entry.get("actions", []):
            _replace_actions(repo, user, workflow, entry.get("actions", []))
        settled[key] = workflow
    for key, workflow in existing.items():
        if key not in workflows:
            admin.delete_workflow(repo, user, workflow.id)
    for key, entry in workflows.items():
        original = settled.get(entry.get("cloned_from") or "")
        if not settled[key].builtin:
            settled[key].cloned_from_id = original.id if original is not None else None  # type: ignore[attr-defined]


def _new_workflow(repo: AdminRepository, entry: dict[str, Any]) -> WorkflowLike:
    pipeline = admin.pipeline_or_default(repo, entry["pipeline"])
    status = admin.status_in(repo, pipeline, entry["status"])
    if entry.get("builtin", False):
        return admin.status_workflow(repo, status)
    workflow = repo.add_workflow(
        name=entry["name"],
        pipeline_id=pipeline.id,
        status_id=status.id,
        builtin=False,
        enabled=False,
    )
    repo.flush()
    return workflow


def _settle_workflow(
    repo: AdminRepository, user: UserLike, workflow: WorkflowLike, entry: dict[str, Any]
) -> None:
    admin.set_workflow(repo, user, workflow.id, enabled=entry.get("enabled", True))
    conditions = entry.get("conditions", {})
    reenroll = entry.get("reenroll", False)
    if workflow.builtin:
        if (dict(workflow.conditions or {}), bool(workflow.reenroll)) != (conditions, reenroll):
            raise admin.SettingsError(
                f"“{workflow.name}” is a built-in workflow: its enrollment and "
                "re-enrollment are not edited"
            )
        return
    rest = {k: v for k, v in conditions.items() if k not in ("sources", "exclude_sources")}
    try:
        if rest:
            check_conditions(rest)
            rest = check_values(repo, rest)
    except ConditionError as exc:
        raise admin.SettingsError(f"{entry['name']}: condition: {exc}") from exc
    workflow.name = entry["name"]
    workflow.reenroll = reenroll
    workflow.conditions = {**conditions, **rest}


def _replace_actions(
    repo: AdminRepository, user: UserLike, workflow: WorkflowLike, actions: list[dict[str, Any]]
) -> None:
    """The workflow keeps its id and enrollments (E7); its action list becomes the file's."""
    if workflow.actions:
        admin.delete_action(repo, user, workflow.actions[0].id, and_following=True)
    repo.flush()
    _add_actions(repo, user, workflow, actions, None)


def _add_actions(
    repo: AdminRepository,
    user: UserLike,
    workflow: WorkflowLike,
    actions: list[dict[str, Any]],
    into: tuple[int, str] | None,
) -> None:
    for entry in actions:
        fields = {name: entry[name] for name in FIELD_NAMES if entry.get(name) is not None}
        action: ActionLike = admin.add_action_to_workflow(
            repo, user, workflow.id, entry["kind"], into=into, **fields
        )
        repo.flush()
        for comment in entry.get("comments", []):
            admin.comment_action(repo, user, action.id, comment)
        for which in ("yes", "no"):
            _add_actions(repo, user, workflow, entry.get(which, []), (action.id, which))


def _channel(repo: AdminRepository, user: UserLike, name: str, entry: dict[str, Any]) -> None:
    """A channel's settings; its secret references are never touched (B4.2)."""
    if repo.channel_by_name(name) is None:
        admin.add_channel(
            repo,
            user,
            name=name,
            kind=entry["kind"],
            address=entry.get("address"),
            pipeline_name=entry.get("pipeline"),
            ticket_automation=entry.get("ticket_automation"),
        )
    admin.set_channel(
        repo,
        user,
        name,
        address=entry.get("address") if entry["kind"] == "email" else None,
        pipeline_name=entry.get("pipeline"),
        ticket_automation=entry.get("ticket_automation"),
        bulk_opens_tickets=entry.get("bulk_opens_tickets"),
    )
    mail = {field: entry[field] for field in CHANNEL_MAIL_FIELDS if field in entry}
    if entry["kind"] == "email" and mail:
        admin.set_channel_mail(repo, user, name, **mail)


__all__ = ["TRIGGER_KEYS", "Change", "apply", "diff"]
